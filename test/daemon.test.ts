import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DEFAULT_CONFIG, type RunnerConfig } from '../src/config/defaults.ts';
import { runDaemon } from '../src/daemon.ts';
import { largeConfigMapManifest } from './helpers/large-manifests.ts';
import { memoryLogger } from './helpers/memory-logger.ts';
import { makeTempDir, removeTempDir } from './helpers/temp-dir.ts';
import { FakePodman } from './podman/fake-podman.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let dir: string | undefined;
let config: RunnerConfig;

beforeEach(async () => {
  dir = await makeTempDir('daemon');
  config = {
    ...DEFAULT_CONFIG,
    manifestDir: path.join(dir, 'manifests'),
    stateDir: path.join(dir, 'state'),
    imagesDir: path.join(dir, 'images'),
    statusGroup: '',
    logLevel: 'warn',
  };
  await mkdir(config.manifestDir, { mode: 0o755 });
  await mkdir(config.imagesDir, { mode: 0o755 });
});

afterEach(() => removeTempDir(dir));

describe('runDaemon: a failed play of a unit with a large ConfigMap', () => {
  // Issue 12: after a failed play the daemon looked for missing images by
  // parsing the unit's YAML again with yaml's duplicate-key check, which
  // compares every key with every other: 50,000 keys froze the event loop
  // for 101 s and 99,900 keys (just under the scalar cap) for over 4.5
  // minutes, on every retry. The bound below is generous: the work is a
  // few seconds on a slow machine; it only has to separate seconds from minutes.
  it('reports ImageMissing for a 99,900-key ConfigMap without stalling for minutes', { timeout: 180_000 }, async () => {
    const image = 'localhost/absent:1';
    await writeFile(path.join(config.manifestDir, 'big.yaml'), largeConfigMapManifest(99_900, { image }), { mode: 0o644 });
    const podman = new FakePodman();
    podman.absentImages.add(image);
    podman.failNext('playKube', new Error(`${image}: image not known`));
    const controller = new AbortController();
    const started = Date.now();
    const running = runDaemon({ config, logger: memoryLogger().logger, podman }, controller.signal);
    try {
      while (!podman.callsOf('imageExists').some((call) => call.args[0] === image)) {
        if (Date.now() - started > 120_000) assert.fail('the failed play was not explained within 120 s');
        await sleep(50);
      }
    } finally {
      controller.abort();
      await running;
    }
    const elapsed = Date.now() - started;
    assert.equal(podman.callsOf('playKube').length, 1, 'one play, which failed');
    const events = (await readFile(path.join(config.stateDir, 'events.jsonl'), 'utf8')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; message: string });
    assert.ok(
      events.some((event) => event.type === 'ApplyFailed' && event.message.includes(`ImageMissing: image ${image} is not in podman's storage`)),
      'the failure is recorded as ImageMissing',
    );
    assert.ok(elapsed < 60_000, `start, failed play, image check and stop took ${elapsed} ms`);
  });
});
