import assert from 'node:assert/strict';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { decodeManifest } from '../../src/manifest/read-manifest-file.ts';
import { parseManifest } from '../../src/manifest/parse-manifest.ts';
import type { ManifestSnapshot, ParseManifestFn } from '../../src/manifest/read-manifest-dir.ts';
import { ManifestSource } from '../../src/manifest/watch-manifest-dir.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { isRunnerError } from '../../src/shared/errors.ts';
import { readManifestFixture } from '../helpers/fixtures.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

const POD = readManifestFixture('pod.yaml');
/** The fixture Pod with a different image tag, so each version has distinct content. */
const podVersion = (tag: string | number, name = 'web'): string =>
  POD.replace('busybox:1.36', `busybox:${tag}`).replace('name: web\n  labels', `name: ${name}\n  labels`);

const imageOf = (snapshot: ManifestSnapshot | undefined, base: string): string | undefined => {
  const file = snapshot?.files.find((item) => path.basename(item.file) === base);
  return (file?.documents[0]?.object as { spec: { containers: { image: string }[] } } | undefined)?.spec.containers[0]
    ?.image;
};

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds; fails with `what` after `timeoutMs`. */
const waitUntil = async (what: string, check: () => boolean, timeoutMs = 5000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(10);
  }
};

/** How long to wait to be sure nothing more comes (debounce + removal grace + margin). */
const QUIET_MS = 400;
/** Past the source's own re-check after start-up (1.1 s), so only the mechanism under test can see a change. */
const RECHECK_WAIT_MS = 1300;

let dir: string;
let source: ManifestSource | undefined;
let controller: AbortController;
let snapshots: ManifestSnapshot[];
let log: ReturnType<typeof memoryLogger>;

const startSource = async (
  options: { resyncMs?: number; parse?: ParseManifestFn; debounceMs?: number } = {},
): Promise<ManifestSource> => {
  source = new ManifestSource({
    dir,
    clock: systemClock,
    logger: log.logger,
    debounceMs: options.debounceMs ?? 30,
    removalGraceMs: 150,
    resyncMs: options.resyncMs ?? 60_000,
    onSnapshot: (snapshot) => snapshots.push(snapshot),
    ...(options.parse ? { parse: options.parse } : {}),
  });
  await source.start(controller.signal);
  return source;
};

/** Simulates lost watcher events (inotify overflow, a filesystem without events) by closing the watcher. */
const blindWatcher = async (watched: ManifestSource): Promise<void> => {
  await (watched as unknown as { watcher: { close(): Promise<void> } }).watcher.close();
};

const last = (): ManifestSnapshot | undefined => snapshots.at(-1);
const names = (snapshot: ManifestSnapshot | undefined): string[] =>
  (snapshot?.files ?? []).map((file) => path.basename(file.file));

beforeEach(async () => {
  dir = await makeTempDir('watch');
  controller = new AbortController();
  snapshots = [];
  log = memoryLogger();
  source = undefined;
});

afterEach(async () => {
  controller.abort();
  await source?.stop();
  await removeTempDir(dir);
});

describe('ManifestSource', () => {
  it('emits the first snapshot before start() resolves', async () => {
    await writeFile(path.join(dir, 'web.yaml'), POD);
    source = new ManifestSource({
      dir,
      clock: systemClock,
      logger: log.logger,
      debounceMs: 30,
      resyncMs: 60_000,
      onSnapshot: (s) => snapshots.push(s),
    });
    await source.start(controller.signal);
    assert.equal(snapshots.length, 1);
    assert.deepEqual(names(last()), ['web.yaml']);
    assert.equal(last()?.dir, dir);
  });

  it('start() throws MANIFEST_DIR when the directory does not exist', async () => {
    const missing = new ManifestSource({
      dir: path.join(dir, 'missing'),
      clock: systemClock,
      logger: log.logger,
      resyncMs: 60_000,
      onSnapshot: (s) => snapshots.push(s),
    });
    await assert.rejects(
      missing.start(controller.signal),
      (error: unknown) => isRunnerError(error) && error.code === 'MANIFEST_DIR',
    );
    assert.equal(snapshots.length, 0);
  });

  it('emits a new snapshot when a file is added, edited and deleted', async () => {
    await startSource();
    assert.deepEqual(names(last()), []);

    await writeFile(path.join(dir, 'web.yaml'), podVersion(1));
    await waitUntil('the added file', () => imageOf(last(), 'web.yaml') === 'docker.io/library/busybox:1');

    await writeFile(path.join(dir, 'web.yaml'), podVersion(2));
    await waitUntil('the edit', () => imageOf(last(), 'web.yaml') === 'docker.io/library/busybox:2');

    await rm(path.join(dir, 'web.yaml'));
    await waitUntil('the deletion', () => names(last()).length === 0);
    // add, edit, delete: one snapshot each after the first
    assert.equal(snapshots.length, 4);
  });

  it('an invalid file is emitted with its problems', async () => {
    await startSource();
    await writeFile(path.join(dir, 'bad.yaml'), 'kind: [\n');
    await waitUntil('the invalid file', () => names(last()).includes('bad.yaml'));
    assert.ok((last()?.files[0]?.problems.length ?? 0) > 0);
  });

  it('atomic saves (write a temp file, rename over) never produce a snapshot without the file', async () => {
    await writeFile(path.join(dir, 'web.yaml'), podVersion(0));
    await startSource();
    for (let i = 1; i <= 20; i += 1) {
      const temp = path.join(dir, `.web.yaml.${i}.tmp`);
      await writeFile(temp, podVersion(i));
      await rename(temp, path.join(dir, 'web.yaml'));
      await sleep(i % 5 === 0 ? 80 : 5); // sometimes let the debounce fire in between
    }
    await waitUntil('the last save', () => imageOf(last(), 'web.yaml') === 'docker.io/library/busybox:20');
    await sleep(QUIET_MS);
    assert.ok(snapshots.length >= 2);
    for (const [index, snapshot] of snapshots.entries())
      assert.deepEqual(names(snapshot), ['web.yaml'], `snapshot ${index}`);
    assert.equal(imageOf(last(), 'web.yaml'), 'docker.io/library/busybox:20');
  });

  // Issue 13: the debounce alone cost as long as podman takes to play a small pod.
  it('a file renamed in (new or over an old one) is emitted without waiting for the debounce', async () => {
    await writeFile(path.join(dir, 'web.yaml'), podVersion(0));
    await startSource({ debounceMs: 60_000 });
    await sleep(RECHECK_WAIT_MS);
    await writeFile(path.join(dir, '.web.yaml.tmp'), podVersion(1));
    await rename(path.join(dir, '.web.yaml.tmp'), path.join(dir, 'web.yaml'));
    await waitUntil('the file renamed over', () => imageOf(last(), 'web.yaml') === 'docker.io/library/busybox:1');
    await writeFile(path.join(dir, '.new.yaml.tmp'), podVersion(2, 'new'));
    await rename(path.join(dir, '.new.yaml.tmp'), path.join(dir, 'new.yaml'));
    await waitUntil('the new file renamed in', () => imageOf(last(), 'new.yaml') === 'docker.io/library/busybox:2');
    assert.deepEqual(names(last()), ['new.yaml', 'web.yaml']);
  });

  it('a file written in place (it may be caught half-written) waits for the debounce', async () => {
    await writeFile(path.join(dir, 'web.yaml'), podVersion(0));
    await startSource({ debounceMs: 1_500 });
    await sleep(RECHECK_WAIT_MS);
    const before = snapshots.length;
    await writeFile(path.join(dir, 'web.yaml'), ''); // truncated, as a writer does before writing
    await sleep(300);
    assert.equal(snapshots.length, before, 'nothing emitted before the debounce');
    await writeFile(path.join(dir, 'web.yaml'), podVersion(1));
    await waitUntil('the written file', () => imageOf(last(), 'web.yaml') === 'docker.io/library/busybox:1');
    assert.ok(
      snapshots.slice(before).every((snapshot) => imageOf(snapshot, 'web.yaml') === 'docker.io/library/busybox:1'),
      'the empty file was never emitted',
    );
  });

  it('vim-style saves (move the file away, write it anew) never produce a snapshot without the file', async () => {
    await writeFile(path.join(dir, 'web.yaml'), podVersion(0));
    await startSource();
    for (let i = 1; i <= 3; i += 1) {
      await rename(path.join(dir, 'web.yaml'), path.join(dir, 'web.yaml~'));
      await sleep(60); // longer than the debounce: the directory is read while the file is missing
      await writeFile(path.join(dir, 'web.yaml'), podVersion(i));
      await rm(path.join(dir, 'web.yaml~'));
      await sleep(250); // past the removal grace before the next save
    }
    await waitUntil('the last save', () => imageOf(last(), 'web.yaml') === 'docker.io/library/busybox:3');
    await sleep(QUIET_MS);
    for (const [index, snapshot] of snapshots.entries())
      assert.deepEqual(names(snapshot), ['web.yaml'], `snapshot ${index}`);
  });

  // Issue 12: every pass parsed every file again; a 1.7 MB file cost 5 to 8 s of blocked event loop each time.
  it('parses a file once per change: re-reads of an unchanged directory parse nothing', async () => {
    const parsed: string[] = [];
    const parse: ParseManifestFn = (file, bytes, options) => {
      parsed.push(path.basename(file));
      return parseManifest(file, decodeManifest(bytes), options);
    };
    const file = path.join(dir, 'web.yaml');
    await writeFile(file, podVersion(1));
    await writeFile(path.join(dir, 'other.yaml'), podVersion(1, 'other'));
    const watched = await startSource({ parse });
    assert.deepEqual(parsed.sort(), ['other.yaml', 'web.yaml'], 'the first read parses each file');
    for (let i = 0; i < 3; i += 1) {
      watched.poke();
      await sleep(QUIET_MS);
    }
    assert.deepEqual(parsed, ['other.yaml', 'web.yaml'], 'three more reads parse nothing');
    await writeFile(file, podVersion(2)); // the same size
    await waitUntil('the edit', () => imageOf(last(), 'web.yaml') === 'docker.io/library/busybox:2');
    assert.deepEqual(parsed, ['other.yaml', 'web.yaml', 'web.yaml'], 'only the changed file is parsed again');
    assert.equal(snapshots.length, 2);
  });

  it('a burst of 200 writes converges on the final content with far fewer snapshots', async () => {
    await startSource();
    const file = path.join(dir, 'web.yaml');
    for (let i = 1; i <= 200; i += 1) await writeFile(file, podVersion(i));
    await waitUntil('the final content', () => imageOf(last(), 'web.yaml') === 'docker.io/library/busybox:200');
    await sleep(QUIET_MS);
    assert.equal(imageOf(last(), 'web.yaml'), 'docker.io/library/busybox:200');
    assert.ok(snapshots.length <= 20, `${snapshots.length} snapshots for 200 writes`);
  });

  it('saving identical content emits nothing', async () => {
    await writeFile(path.join(dir, 'web.yaml'), POD);
    await startSource();
    await writeFile(path.join(dir, 'web.yaml'), POD);
    await writeFile(path.join(dir, 'web.yaml'), `${POD}\n# only a comment changed\n`);
    await sleep(QUIET_MS);
    assert.equal(snapshots.length, 1);
  });

  it('ignored files emit nothing', async () => {
    await writeFile(path.join(dir, 'web.yaml'), POD);
    await startSource();
    await writeFile(path.join(dir, 'web.yaml~'), podVersion(9));
    await writeFile(path.join(dir, '.web.yaml.swp'), 'binary junk');
    await writeFile(path.join(dir, 'web.yaml.dpkg-new'), podVersion(9));
    await writeFile(path.join(dir, 'README.txt'), 'hello');
    await sleep(QUIET_MS);
    assert.equal(snapshots.length, 1);
  });

  it('a directory that becomes unreadable keeps the last snapshot (no empty snapshot)', async () => {
    await writeFile(path.join(dir, 'web.yaml'), POD);
    const watched = await startSource();
    await rm(dir, { recursive: true, force: true });
    watched.poke();
    await waitUntil('a warning', () => log.lines.some((line) => line.level === 'warn'));
    await sleep(QUIET_MS);
    assert.equal(snapshots.length, 1);
    assert.deepEqual(names(last()), ['web.yaml']);
  });

  it('poke() picks up a change the watcher missed', async () => {
    await writeFile(path.join(dir, 'web.yaml'), podVersion(1));
    const watched = await startSource();
    await sleep(RECHECK_WAIT_MS);
    await blindWatcher(watched);
    await writeFile(path.join(dir, 'web.yaml'), podVersion(2));
    await sleep(QUIET_MS);
    assert.equal(snapshots.length, 1, 'the blinded watcher must not have seen the edit');
    watched.poke();
    await waitUntil('the poked re-read', () => imageOf(last(), 'web.yaml') === 'docker.io/library/busybox:2');
    assert.equal(snapshots.length, 2);
  });

  it('the timed resync picks up a change the watcher missed', async () => {
    await writeFile(path.join(dir, 'web.yaml'), podVersion(1));
    const watched = await startSource({ resyncMs: 2000 });
    await sleep(RECHECK_WAIT_MS);
    await blindWatcher(watched);
    await writeFile(path.join(dir, 'other.yaml'), podVersion(1, 'other'));
    await sleep(QUIET_MS);
    assert.equal(snapshots.length, 1, 'the blinded watcher must not have seen the new file');
    await waitUntil('the resync', () => names(last()).includes('other.yaml'), 4000);
    assert.deepEqual(names(last()), ['other.yaml', 'web.yaml']);
  });

  it('stop() ends the loop: no snapshot after it', async () => {
    const watched = await startSource();
    await watched.stop();
    source = undefined;
    await writeFile(path.join(dir, 'web.yaml'), POD);
    watched.poke();
    await sleep(QUIET_MS);
    assert.equal(snapshots.length, 1);
  });
});
