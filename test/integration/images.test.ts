/**
 * Image archives against the real podman 4.3: build an image, `podman save`
 * it, remove it from storage, and let the ImageLoader bring it back. Asserts
 * on podman's storage (`podman image exists`) and on images.json, not logs.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImageLoader, type LoadedEvent } from '../../src/images/image-loader.ts';
import { missingImages } from '../../src/images/missing-images.ts';
import { CliPodman } from '../../src/podman/cli-podman.ts';
import type { Podman } from '../../src/podman/podman.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { CONTAINERS_CONF, REPO, createWorkspace, podByName, podman, requirePodman, startRunner, uniquePrefix, waitFor, type Workspace } from './harness.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const tag = uniquePrefix('img');
const IMAGE = `localhost/runner-it-${tag}:1`;
const exists = async (ref: string): Promise<boolean> => podman('image', 'exists', ref).then(() => true, () => false);
const removeImage = (ref: string) => podman('rmi', '-f', ref).catch(() => '');

/** CliPodman that counts loads: "not loaded again" is asserted on calls, not on logs. */
const countingPodman = (): { podman: Podman; loads: string[] } => {
  const real = new CliPodman({ path: 'podman', timeoutMs: 120_000, env: { CONTAINERS_CONF } });
  const loads: string[] = [];
  const wrapped = Object.create(real) as CliPodman;
  wrapped.loadImage = async (archive, options) => {
    loads.push(path.basename(archive));
    return real.loadImage(archive, options);
  };
  return { podman: wrapped, loads };
};

describe('images: archives loaded into the real podman', () => {
  let ws: Workspace;
  let archives: string;
  let imagesDir: string;
  const loaders: ImageLoader[] = [];
  const controller = new AbortController();

  const newLoader = (podmanImpl: Podman): ImageLoader => {
    const loader = new ImageLoader({ podman: podmanImpl, clock: systemClock, logger: memoryLogger().logger, imagesDir, stateDir: ws.stateDir, stableMs: 300, debounceMs: 50 });
    loaders.push(loader);
    return loader;
  };

  before(async () => {
    await requirePodman();
    ws = await createWorkspace();
    archives = path.join(ws.dir, 'archives');
    imagesDir = path.join(ws.dir, 'images');
    await mkdir(archives, { recursive: true });
    await mkdir(imagesDir, { recursive: true });
    await run(path.join(REPO, 'scripts/build-busybox-image.sh'), [IMAGE], { env: { ...process.env, CONTAINERS_CONF } });
    await podman('save', '--format', 'docker-archive', '-o', path.join(archives, 'app.tar'), IMAGE);
    await podman('save', '--format', 'oci-archive', '-o', path.join(archives, 'app-oci.tar'), IMAGE);
    await run('sh', ['-c', `gzip -c "${archives}/app.tar" > "${archives}/app.tar.gz"`]);
    await removeImage(IMAGE);
  });
  after(async () => {
    controller.abort();
    for (const loader of loaders) await loader.stop();
    await removeImage(IMAGE);
    await ws?.cleanup();
  });

  it('an archive dropped into the directory is loaded; a restart does not load it again', async () => {
    assert.equal(await exists(IMAGE), false);
    const { podman: counted, loads } = countingPodman();
    assert.deepEqual(await missingImages([IMAGE], counted), [IMAGE]);
    const loader = newLoader(counted);
    const loaded = new Promise<LoadedEvent>((resolve) => loader.onLoaded(resolve));
    await loader.start(controller.signal);
    // As an operator copies: to a temp name, then renamed into place.
    await copyFile(path.join(archives, 'app.tar'), path.join(imagesDir, '.app.tar.part'));
    await rename(path.join(imagesDir, '.app.tar.part'), path.join(imagesDir, 'app.tar'));
    const event = await loaded;
    assert.deepEqual(event.refs, [IMAGE]);
    assert.equal(await exists(IMAGE), true);
    assert.deepEqual(await missingImages([IMAGE], counted), []);
    await loader.stop();
    const state = await readFile(path.join(ws.stateDir, 'images.json'), 'utf8');

    const again = countingPodman();
    const restarted = newLoader(again.podman);
    await restarted.start(controller.signal);
    await restarted.scan();
    assert.deepEqual(again.loads, [], 'not loaded again after a restart');
    assert.equal(await readFile(path.join(ws.stateDir, 'images.json'), 'utf8'), state, 'images.json unchanged');
    assert.deepEqual(loads, ['app.tar']);
    await restarted.stop();
  });

  for (const name of ['app-oci.tar', 'app.tar.gz']) {
    it(`${name} loads too (podman 4.3.1; gzip is streamed by the runner)`, async () => {
      await removeImage(IMAGE);
      const dir = path.join(ws.dir, `only-${name}`);
      await mkdir(dir);
      await copyFile(path.join(archives, name), path.join(dir, name));
      const loader = new ImageLoader({ podman: countingPodman().podman, clock: systemClock, logger: memoryLogger().logger, imagesDir: dir, stateDir: path.join(dir, 'state'), stableMs: 0 });
      await mkdir(path.join(dir, 'state'));
      await loader.scan();
      assert.equal(await exists(IMAGE), true);
      assert.deepEqual(loader.status().loaded[0]?.refs, [IMAGE]);
    });
  }

  it('a corrupt archive and a bad checksum are refused without harm; a good archive beside them still loads', async () => {
    await removeImage(IMAGE);
    const dir = path.join(ws.dir, 'mixed');
    await mkdir(path.join(dir, 'state'), { recursive: true });
    const good = await readFile(path.join(archives, 'app.tar'));
    await writeFile(path.join(dir, 'corrupt.tar'), good.subarray(0, 100_000));
    await writeFile(path.join(dir, 'checked.tar'), good);
    await writeFile(path.join(dir, 'checked.tar.sha256'), `${'0'.repeat(64)}  checked.tar\n`);
    await copyFile(path.join(archives, 'app-oci.tar'), path.join(dir, 'good.tar'));
    const { podman: counted, loads } = countingPodman();
    const loader = new ImageLoader({ podman: counted, clock: systemClock, logger: memoryLogger().logger, imagesDir: dir, stateDir: path.join(dir, 'state'), stableMs: 0 });
    await loader.scan();
    const refused = Object.fromEntries(loader.status().refused.map((item) => [path.basename(item.archive), item.code]));
    assert.deepEqual(refused, { 'checked.tar': 'ARCHIVE_CHECKSUM', 'corrupt.tar': 'ARCHIVE_LOAD' });
    assert.deepEqual(loads.sort(), ['corrupt.tar', 'good.tar'], 'the bad checksum never reached podman');
    assert.equal(await exists(IMAGE), true);
    assert.deepEqual(await readFile(path.join(dir, 'checked.tar')), good, 'archives are left as they are');
    assert.equal((await readFile(path.join(dir, 'corrupt.tar'))).length, 100_000);
  });

  it('runner run: a pod whose image is missing waits (ImageMissing) and starts when its archive lands', async () => {
    await removeImage(IMAGE);
    const runnerImages = path.join(ws.dir, 'runner-images');
    await mkdir(runnerImages);
    const name = `${tag}-app`;
    await writeFile(
      path.join(ws.manifestDir, 'app.yaml'),
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n    - name: main\n      image: ${IMAGE}\n      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]\n`,
    );
    const runner = await startRunner(ws, ['--images-dir', runnerImages, '--pull', 'never']);
    try {
      await waitFor('ImageMissing to be reported', async () => runner.logs.some((log) => JSON.stringify(log).includes('ImageMissing')), 15_000);
      assert.notEqual((await podByName(name))?.status, 'Running');
      await copyFile(path.join(archives, 'app.tar'), path.join(runnerImages, 'app.tar'));
      const started = Date.now();
      await waitFor('the pod to run once its archive is loaded', async () => (await podByName(name))?.status === 'Running', 30_000);
      // Started by the load, not by the next resync tick of a retry loop.
      assert.ok(Date.now() - started < 15_000);
      assert.equal(await exists(IMAGE), true);
    } finally {
      await runner.stop();
    }
  });
});
