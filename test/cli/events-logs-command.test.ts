import assert from 'node:assert/strict';
import { appendFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { eventsCommand } from '../../src/cli/events-command.ts';
import { logsCommand } from '../../src/cli/logs-command.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { FakePodman } from '../podman/fake-podman.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';
import { eventsFixture } from '../status/status-fixtures.ts';

let stateDir: string;
beforeEach(async () => {
  stateDir = await makeTempDir('events');
});
afterEach(async () => {
  await removeTempDir(stateDir);
});

const event = (message: string, pod = 'web'): string =>
  `${JSON.stringify({ time: Date.UTC(2026, 10, 28, 5, 0, 0), type: 'Applied', pod, message })}\n`;

describe('runner events', () => {
  it('human lines oldest first, malformed lines skipped; --json as stored; POD filters', async () => {
    await writeFile(path.join(stateDir, 'events.jsonl'), eventsFixture());
    let out = '';
    assert.equal(await eventsCommand(['--state-dir', stateDir], (text) => (out += text), { timeZone: 'UTC' }), 0);
    const lines = out.trimEnd().split('\n');
    assert.equal(lines.length, 7);
    assert.equal(
      lines[2],
      '2026-11-28 04:40:00  Restarted        pod/worker  container main exited with code 3; restarted',
    );
    assert.equal(
      lines[5],
      '2026-11-28 04:54:00  InvalidManifest  file/broken.yaml  broken.yaml:3:1: metadata.name: must be a DNS-1123 label',
    );
    out = '';
    await eventsCommand(['--state-dir', stateDir, '--json', 'worker'], (text) => (out += text));
    const json = out
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as { pod: string });
    assert.equal(json.length, 4);
    assert.ok(json.every((item) => item.pod === 'worker'));
  });

  it('-f follows appends and a rotation', async () => {
    const file = path.join(stateDir, 'events.jsonl');
    await writeFile(file, event('one'));
    const seen: string[] = [];
    const controller = new AbortController();
    const following = eventsCommand(
      ['--state-dir', stateDir, '-f', '--json'],
      (text) =>
        seen.push(
          ...text
            .trimEnd()
            .split('\n')
            .map((line) => (JSON.parse(line) as { message: string }).message),
        ),
      { signal: controller.signal },
    );
    const waitFor = async (count: number): Promise<void> => {
      for (let i = 0; i < 60 && seen.length < count; i += 1) await systemClock.sleep(100);
    };
    await waitFor(1);
    await appendFile(file, event('two'));
    await waitFor(2);
    await appendFile(file, event('three'));
    await rename(file, `${file}.1`);
    await writeFile(file, event('four'));
    await waitFor(4);
    controller.abort();
    assert.equal(await following, 0);
    assert.deepEqual(seen, ['one', 'two', 'three', 'four']);
  });
});

describe('runner logs', () => {
  const managed = (name: string, containers: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels:
    static-pod-runner/managed: "true"
    static-pod-runner/source: /m/${name}.yaml
    static-pod-runner/unit: Pod/${name}
spec:
  containers: [${containers}]
`;

  it('one container: podman logs of <pod>-<container>, exit code from podman', async () => {
    const podman = new FakePodman();
    await podman.playKube(managed('web', '{ name: main, image: x }'));
    podman.containerLogs.set('web-main', 'a\nb\nc\n');
    assert.equal(
      await logsCommand(['--manifest-dir', '/m', '--tail', '2', '-f', 'web'], () => undefined, { podman }),
      0,
    );
    assert.deepEqual(podman.calls.find((call) => call.method === 'logs')!.args, ['web-main', true, 2]);
  });

  it('several containers need -c (listed); unknown pod or container is exit 1', async () => {
    const podman = new FakePodman();
    await podman.playKube(managed('api', '{ name: app, image: x }, { name: side, image: x }'));
    assert.equal(await logsCommand(['--manifest-dir', '/m', 'api'], () => undefined, { podman }), 1);
    assert.equal(await logsCommand(['--manifest-dir', '/m', '-c', 'nope', 'api'], () => undefined, { podman }), 1);
    assert.equal(await logsCommand(['--manifest-dir', '/m', 'ghost'], () => undefined, { podman }), 1);
    assert.equal(
      await logsCommand(['--manifest-dir', '/other', 'api'], () => undefined, { podman }),
      1,
      'pods of another manifest dir are not ours',
    );
    podman.containerLogs.set('api-side', 'x\n');
    assert.equal(await logsCommand(['--manifest-dir', '/m', '-c', 'side', 'api'], () => undefined, { podman }), 0);
  });
});
