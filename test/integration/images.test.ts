/**
 * Image archives against the real podman 4.3: build an image, `podman save`
 * it, remove it from storage, and let the ImageLoader bring it back. Asserts
 * on podman's storage (`podman image exists`) and on images.json, not logs.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, readdir, readFile, rename, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ImageLoader, type LoadedEvent } from '../../src/images/image-loader.ts';
import { missingImages } from '../../src/images/missing-images.ts';
import { CliPodman } from '../../src/podman/cli-podman.ts';
import type { Podman } from '../../src/podman/podman.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import type { LoadedArchive } from '../../src/images/image-state.ts';
import {
  CONTAINERS_CONF,
  REPO,
  childProcesses,
  createWorkspace,
  podByName,
  podman,
  readProcess,
  requirePodman,
  startRunner,
  uniquePrefix,
  waitFor,
  type ProcessEntry,
  type Workspace,
} from './harness.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);
const tag = uniquePrefix('img');
const IMAGE = `localhost/runner-it-${tag}:1`;
const exists = async (ref: string): Promise<boolean> =>
  podman('image', 'exists', ref).then(
    () => true,
    () => false,
  );
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
    const loader = new ImageLoader({
      podman: podmanImpl,
      clock: systemClock,
      logger: memoryLogger().logger,
      imagesDir,
      stateDir: ws.stateDir,
      stableMs: 300,
      debounceMs: 50,
    });
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
      const loader = new ImageLoader({
        podman: countingPodman().podman,
        clock: systemClock,
        logger: memoryLogger().logger,
        imagesDir: dir,
        stateDir: path.join(dir, 'state'),
        stableMs: 0,
      });
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
    const loader = new ImageLoader({
      podman: counted,
      clock: systemClock,
      logger: memoryLogger().logger,
      imagesDir: dir,
      stateDir: path.join(dir, 'state'),
      stableMs: 0,
    });
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
      await waitFor(
        'ImageMissing to be reported',
        async () => runner.logs.some((log) => JSON.stringify(log).includes('ImageMissing')),
        15_000,
      );
      assert.notEqual((await podByName(name))?.status, 'Running');
      await copyFile(path.join(archives, 'app.tar'), path.join(runnerImages, 'app.tar'));
      const started = Date.now();
      await waitFor(
        'the pod to run once its archive is loaded',
        async () => (await podByName(name))?.status === 'Running',
        30_000,
      );
      // Started by the load, not by the next resync tick of a retry loop.
      assert.ok(Date.now() - started < 15_000);
      assert.equal(await exists(IMAGE), true);
    } finally {
      await runner.stop();
    }
  });
});

/**
 * Builds a docker-archive by hand (no podman): one layer with a static
 * busybox (for the pod's command) and `randomMiB` of random bytes, so that
 * `podman load` takes seconds and a kill can land inside it. Returns the
 * layer's diff ID (sha256 of the layer tar, hex).
 */
const buildSlowArchive = async (file: string, ref: string, randomMiB: number): Promise<string> => {
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch] ?? process.arch;
  const script = `set -eu
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cd "$work"; mkdir -p root/bin root/etc root/tmp arc
cp /bin/busybox root/bin/busybox; ln -s busybox root/bin/sh; ln -s busybox root/bin/sleep
echo 'root:x:0:0:root:/:/bin/sh' > root/etc/passwd; echo 'root:x:0:' > root/etc/group
head -c $(($3 * 1024 * 1024)) /dev/urandom > root/payload
tar -C root -cf layer.tar .
diff=$(sha256sum layer.tar | cut -d' ' -f1)
mkdir "arc/$diff"; mv layer.tar "arc/$diff/layer.tar"
printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$4" "$diff" > config.json
config=$(sha256sum config.json | cut -d' ' -f1); mv config.json "arc/$config.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["%s/layer.tar"]}]' "$config" "$2" "$diff" > arc/manifest.json
tar -C arc -cf "$1" manifest.json "$config.json" "$diff"
echo "$diff"`;
  const { stdout } = await run('sh', ['-c', script, 'sh', file, ref, String(randomMiB), arch]);
  return stdout.trim();
};

describe('images: a runner killed while podman loads an archive', () => {
  let ws: Workspace;
  const killTag = uniquePrefix('kload');
  const SLOW_IMAGE = `localhost/runner-it-${killTag}:1`;
  const orphans: number[] = [];

  before(async () => {
    await requirePodman();
    ws = await createWorkspace();
  });
  after(async () => {
    // Only the load this test orphaned, by its pid, should it still be running.
    for (const pid of orphans) if (await readProcess(pid)) process.kill(pid, 'SIGKILL');
    await removeImage(SLOW_IMAGE);
    await ws?.cleanup();
  });

  it('SIGKILL mid-load: the next start loads the archive again, the image is stored once, the waiting pod runs', async () => {
    const imagesDir = path.join(ws.dir, 'slow-images');
    // podman's temporary copies go under the workspace (image_copy_tmp_dir gives way to TMPDIR): the
    // test watches the copy there, and what the killed load leaves behind is removed with the workspace.
    const podmanTmp = path.join(ws.dir, 'podman-tmp');
    await mkdir(imagesDir);
    await mkdir(podmanTmp);
    const archive = path.join(imagesDir, 'slow.tar');
    const diffId = await buildSlowArchive(archive, SLOW_IMAGE, 256);
    // Older than the loader's 2 s settle time, so the first runner loads it at once.
    const past = new Date(Date.now() - 60_000);
    await utimes(archive, past, past);
    const { size } = await stat(archive);
    const name = `${killTag}-app`;
    await writeFile(
      path.join(ws.manifestDir, 'slow.yaml'),
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n    - name: main\n      image: ${SLOW_IMAGE}\n      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]\n`,
    );
    const args = ['--images-dir', imagesDir, '--pull', 'never'];
    const env = { TMPDIR: podmanTmp };

    const first = await startRunner(ws, args, { env });
    const runnerPid = first.child.pid!;
    let load: ProcessEntry | undefined;
    let copied = 0;
    try {
      // Kill while podman copies the layer towards its storage (its temporary copy of the blob exists).
      load = await waitFor(
        "the runner's `podman load` to be copying the layer",
        async () => {
          const child = (await childProcesses(runnerPid)).find(
            (entry) => entry.argv[1] === 'load' && entry.argv.includes(`--input=${archive}`),
          );
          copied = await tempBlobBytes(podmanTmp);
          return child && copied > 0 ? child : undefined;
        },
        30_000,
      );
    } finally {
      await first.stop('SIGKILL');
    }
    orphans.push(load.pid);
    // Proof that the kill hit mid-load: the runner is gone and its load is still running, orphaned.
    const orphan = await readProcess(load.pid);
    assert.ok(
      orphan,
      `podman load (pid ${load.pid}, ${copied} of ${size} bytes copied) had already ended when the runner was killed`,
    );
    assert.deepEqual(orphan.argv, load.argv);
    assert.notEqual(orphan.ppid, runnerPid);
    assert.equal(await recordedArchive(ws.stateDir, archive), undefined, 'not recorded as loaded');
    assert.notEqual((await podByName(name))?.status, 'Running');

    // Restart at once, as systemd would, while the orphaned load is still going. Called with
    // --quiet, it finishes on its own; with progress lines it died of SIGPIPE at the next one and
    // left an archive-sized temporary copy behind (podman 4.3.1).
    const second = await startRunner(ws, args, { env });
    try {
      await waitFor(
        'the pod to run on the reloaded image',
        async () => (await podByName(name))?.status === 'Running',
        45_000,
      );
      const record = await waitFor(
        'images.json to record the archive',
        async () => recordedArchive(ws.stateDir, archive),
        15_000,
      );
      assert.deepEqual(record.refs, [SLOW_IMAGE]);
      assert.equal(record.size, size);
      assert.equal(record.sha256, await sha256Hex(archive));
      await waitFor('the orphaned podman load to end', async () => (await readProcess(load.pid)) === undefined, 30_000);
      assert.deepEqual((await readdir(podmanTmp)).filter(isTempCopy), [], "no temporary copy left in podman's tmp dir");
      // Once in podman's storage: one image with the name, one layer with the random content.
      const images = JSON.parse(await podman('images', '--all', '--format', 'json')) as { Names?: string[] | null }[];
      assert.equal(images.filter((image) => image.Names?.includes(SLOW_IMAGE)).length, 1, 'one image');
      assert.equal(await layersWithDiff(diffId), 1, 'one layer');
    } finally {
      await second.stop();
    }
    // Stopped cleanly, after a start that swept what the kill left: no temp file at all.
    await assertStateIntact(ws.stateDir);
  });
});

/**
 * Nothing half-written in the state directory: every JSON file parses, every
 * line of the event log parses, and no temp file is left (a kill during a
 * write can leave one, e.g. `.status.json.*.tmp`; the next start removes it).
 */
const assertStateIntact = async (stateDir: string): Promise<void> => {
  const entries = await readdir(stateDir, { recursive: true });
  assert.deepEqual(
    entries.filter((entry) => path.basename(entry).endsWith('.tmp')),
    [],
    'no temp file left',
  );
  for (const entry of entries.filter((item) => item.endsWith('.json') && !path.basename(item).startsWith('.'))) {
    const text = await readFile(path.join(stateDir, entry), 'utf8');
    assert.doesNotThrow(() => JSON.parse(text), `${entry} is whole JSON: ${text.slice(0, 200)}`);
  }
  const events = await readFile(path.join(stateDir, 'events.jsonl'), 'utf8');
  for (const line of events.split('\n').filter(Boolean))
    assert.doesNotThrow(() => JSON.parse(line), `events.jsonl line is whole: ${line}`);
};

/** The images.json record of `archive`; images.json must be valid JSON when it exists. */
const recordedArchive = async (stateDir: string, archive: string): Promise<LoadedArchive | undefined> => {
  let text: string;
  try {
    text = await readFile(path.join(stateDir, 'images.json'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const doc = JSON.parse(text) as { version: number; archives: LoadedArchive[] };
  assert.equal(doc.version, 1);
  const records = doc.archives.filter((item) => item.path === archive);
  assert.ok(records.length <= 1, `one record per archive: ${text}`);
  return records[0];
};

/**
 * Whether `entry` in podman's image_copy_tmp_dir is one of its temporary blob
 * copies. The directory's name comes from containers/image and differs by
 * version: `storage*` on podman 4.3 (Debian 12), `container_images_storage*`
 * on podman 5.x (5.4 on Debian 13). Either counts, so the mid-load kill and
 * the leftover check below hold on both.
 */
const isTempCopy = (entry: string): boolean =>
  entry.startsWith('storage') || entry.startsWith('container_images_storage');

/** Bytes in podman's temporary blob copies (see isTempCopy) under its image_copy_tmp_dir. */
const tempBlobBytes = async (tmp: string): Promise<number> => {
  let total = 0;
  for (const dir of (await readdir(tmp)).filter(isTempCopy)) {
    for (const file of await readdir(path.join(tmp, dir)).catch(() => []))
      total += (await stat(path.join(tmp, dir, file)).catch(() => undefined))?.size ?? 0;
  }
  return total;
};

const sha256Hex = async (file: string): Promise<string> => (await run('sha256sum', [file])).stdout.split(' ')[0]!;

/** How many layers in podman's storage have this diff ID (read from c/storage's layer index). */
const layersWithDiff = async (diffId: string): Promise<number> => {
  const [driver, root] = (await podman('info', '--format', '{{.Store.GraphDriverName}} {{.Store.GraphRoot}}')).split(
    ' ',
  );
  const layers = JSON.parse(await readFile(path.join(root!, `${driver}-layers`, 'layers.json'), 'utf8')) as {
    'diff-digest'?: string;
  }[];
  return layers.filter((layer) => layer['diff-digest'] === `sha256:${diffId}`).length;
};
