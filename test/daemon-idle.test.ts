import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { DEFAULT_CONFIG, type RunnerConfig } from '../src/config/defaults.ts';
import { runDaemon } from '../src/daemon.ts';
import { SharedListing } from '../src/podman/shared-listing.ts';
import { systemClock } from '../src/shared/clock.ts';
import { memoryLogger } from './helpers/memory-logger.ts';
import { makeTempDir, removeTempDir } from './helpers/temp-dir.ts';
import { FakePodman } from './podman/fake-podman.ts';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

let dir: string | undefined;
let config: RunnerConfig;

beforeEach(async () => {
  dir = await makeTempDir('daemon-idle');
  // The default config (resyncIntervalSeconds 300): only the paths are the test's.
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

const podYaml = (name: string): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n  - name: main\n    image: localhost/web:1\n`;

const waitFor = async (what: string, done: () => boolean, ms = 20_000): Promise<void> => {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > ms) assert.fail(`${what} within ${ms / 1000} s`);
    await sleep(20);
  }
};

describe('runDaemon with the default resync (5 min): events drive the passes', () => {
  it(
    'one listing per look, none while idle; outside changes are acted on from their events; a stream that ends brings relists',
    { timeout: 90_000 },
    async () => {
      assert.equal(config.resyncIntervalSeconds, 300);
      await writeFile(path.join(config.manifestDir, 'web.yaml'), podYaml('web'), { mode: 0o644 });
      await writeFile(path.join(config.manifestDir, 'db.yaml'), podYaml('db'), { mode: 0o644 });
      const fake = new FakePodman();
      const podman = new SharedListing(fake, systemClock);
      const controller = new AbortController();
      const running = runDaemon({ config, logger: memoryLogger().logger, podman }, controller.signal);
      try {
        await waitFor(
          'both pods played',
          () => fake.podByName('web') !== undefined && fake.podByName('db') !== undefined,
        );
        await sleep(1_500); // the looks that follow the plays
        assert.equal(fake.callsOf('listPods').length, 0, 'no `pod ps`: pods come from the one `ps`');

        // Idle: nothing lists podman.
        const settled = fake.callsOf('listContainers').length;
        await sleep(3_000);
        assert.equal(fake.callsOf('listContainers').length, settled, 'no listing while nothing happens');

        // `podman pod rm -f web` from outside: its events make a pass, which plays the pod again.
        const web = fake.podByName('web')!;
        fake.deleteBehindBack(web.id);
        const now = Date.now();
        fake.emitEvent({
          type: 'container',
          status: 'remove',
          id: web.containers[0]!.id,
          name: web.containers[0]!.name,
          time: now,
          exitCode: undefined,
          podId: undefined,
          attributes: {},
        });
        fake.emitEvent({
          type: 'pod',
          status: 'remove',
          id: web.id,
          name: 'web',
          time: now,
          exitCode: undefined,
          podId: undefined,
          attributes: {},
        });
        await waitFor(
          'web played again from the remove events',
          () => fake.podByName('web') !== undefined && fake.podByName('web')!.id !== web.id,
          10_000,
        );

        // `podman pod stop db` from outside: started again from the stop event.
        const db = fake.podByName('db')!;
        fake.setStatus(db.id, 'Exited');
        for (const container of db.containers)
          fake.containerFacts.set(container.id, { exitCode: 143, exitedAt: Date.now() });
        fake.emitEvent({
          type: 'pod',
          status: 'stop',
          id: db.id,
          name: 'db',
          time: Date.now(),
          exitCode: undefined,
          podId: undefined,
          attributes: {},
        });
        await waitFor(
          'db started again from the stop event',
          () => fake.callsOf('startContainer').some((call) => call.args[0] === db.containers[0]!.id),
          10_000,
        );

        // The events stream ends and cannot be reopened: podman is listed at once and then every 10 s.
        fake.streamEvents = () => (async function* () {})();
        await sleep(1_500);
        const before = fake.callsOf('listContainers').length;
        fake.closeEventStreams();
        await waitFor('a listing once the stream ended', () => fake.callsOf('listContainers').length > before, 10_000);
      } finally {
        controller.abort();
        await running;
      }
    },
  );
});
