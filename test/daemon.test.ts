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
    await writeFile(path.join(config.manifestDir, 'big.yaml'), largeConfigMapManifest(99_900, { image }), {
      mode: 0o644,
    });
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
    const events = (await readFile(path.join(config.stateDir, 'events.jsonl'), 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { type: string; message: string });
    assert.ok(
      events.some(
        (event) =>
          event.type === 'ApplyFailed' &&
          event.message.includes(`ImageMissing: image ${image} is not in podman's storage`),
      ),
      'the failure is recorded as ImageMissing',
    );
    assert.ok(elapsed < 60_000, `start, failed play, image check and stop took ${elapsed} ms`);
  });
});

describe('runDaemon: systemd notification (Type=notify)', () => {
  it(
    'sends READY=1 only after the manifests are read and podman is listed; pings the watchdog; STOPPING=1 on stop',
    { timeout: 60_000 },
    async () => {
      await writeFile(
        path.join(config.manifestDir, 'web.yaml'),
        'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: main\n    image: localhost/web:1\n',
        { mode: 0o644 },
      );
      const podman = new FakePodman();
      const listing = podman.hangNext('listPods');
      const sent: { args: string[]; listings: number }[] = [];
      const notify = {
        target: { socket: '/run/systemd/notify', watchdogMs: 600_000 },
        spawn: async (args: readonly string[]) => {
          sent.push({ args: [...args], listings: podman.callsOf('listPods').length });
        },
      };
      const controller = new AbortController();
      const running = runDaemon({ config, logger: memoryLogger().logger, podman, notify }, controller.signal);
      const waitFor = async (what: string, done: () => boolean): Promise<void> => {
        const started = Date.now();
        while (!done()) {
          if (Date.now() - started > 30_000) assert.fail(`${what} within 30 s`);
          await sleep(20);
        }
      };
      try {
        // The reconciler lists only once it has a snapshot: the manifests were read by then.
        await listing.started;
        await sleep(200);
        assert.ok(!sent.some((item) => item.args[0] === 'READY=1'), 'no READY=1 while the first listing hangs');
        assert.equal(sent[0]?.args[0], 'WATCHDOG=1', 'the watchdog pings from the start');
        listing.release();
        await waitFor('READY=1', () => sent.some((item) => item.args[0] === 'READY=1'));
        const ready = sent.find((item) => item.args[0] === 'READY=1')!;
        assert.ok(ready.listings >= 1);
        assert.match(ready.args[1] ?? '', /^STATUS=\d+\/1 pods ready$/);
      } finally {
        controller.abort();
        await running;
      }
      assert.equal(sent.filter((item) => item.args[0] === 'READY=1').length, 1, 'READY=1 once');
      assert.equal(sent.at(-1)?.args[0], 'STOPPING=1');
    },
  );

  it(
    'a first listing that fails still makes the runner ready (it retries; systemd need not kill it)',
    { timeout: 60_000 },
    async () => {
      const podman = new FakePodman();
      podman.failNext('listPods', new Error('cannot connect to podman'));
      const sent: string[] = [];
      const controller = new AbortController();
      const running = runDaemon(
        {
          config,
          logger: memoryLogger().logger,
          podman,
          notify: { target: { socket: '/run/systemd/notify' }, spawn: async (args) => void sent.push(args[0]!) },
        },
        controller.signal,
      );
      try {
        const started = Date.now();
        while (!sent.includes('READY=1')) {
          if (Date.now() - started > 30_000) assert.fail('READY=1 within 30 s');
          await sleep(20);
        }
        assert.ok(podman.callsOf('listPods').length >= 1);
        assert.ok(!sent.includes('WATCHDOG=1'), 'no pings without WATCHDOG_USEC');
      } finally {
        controller.abort();
        await running;
      }
    },
  );

  it('writes the event-loop delay into status.json', { timeout: 60_000 }, async () => {
    const controller = new AbortController();
    const running = runDaemon(
      {
        config,
        logger: memoryLogger().logger,
        podman: new FakePodman(),
        notify: { target: undefined, spawn: async () => assert.fail('no socket, no spawn') },
      },
      controller.signal,
    );
    const file = path.join(config.stateDir, 'status.json');
    try {
      const started = Date.now();
      for (;;) {
        const text = await readFile(file, 'utf8').catch(() => '');
        if (text.includes('eventLoop')) {
          const loop = (JSON.parse(text) as { daemon: { eventLoop: Record<string, number> } }).daemon.eventLoop;
          assert.deepEqual(Object.keys(loop).sort(), [
            'maxDelayMs',
            'maxDelaySinceStartMs',
            'p99DelayMs',
            'windowSeconds',
          ]);
          assert.ok(Object.values(loop).every((value) => Number.isFinite(value) && value >= 0));
          break;
        }
        if (Date.now() - started > 30_000) assert.fail('status.json with eventLoop within 30 s');
        await sleep(50);
      }
    } finally {
      controller.abort();
      await running;
    }
  });
});
