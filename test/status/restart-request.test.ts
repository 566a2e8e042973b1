import assert from 'node:assert/strict';
import { readdir, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { restartCommand } from '../../src/cli/restart-command.ts';
import { systemClock } from '../../src/shared/clock.ts';
import {
  answerRestartRequest,
  listRestartRequests,
  REQUEST_MAX_AGE_MS,
  waitForRestartAnswer,
  writeRestartRequest,
} from '../../src/status/restart-request.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';
import { asLive, IMPOSSIBLE_PID, loadStatusFixture, writeStatus } from './status-fixtures.ts';

let stateDir: string;
beforeEach(async () => {
  stateDir = await makeTempDir('restart');
});
afterEach(async () => {
  await removeTempDir(stateDir);
});

/** A stand-in for the daemon: polls the requests and answers each with `answer(pod)`. */
const fakeDaemon = (
  answer: (pod: string) => { ok: boolean; message: string },
  seen: string[] = [],
): AbortController => {
  const controller = new AbortController();
  void (async () => {
    while (!controller.signal.aborted) {
      for (const request of await listRestartRequests(stateDir, Date.now())) {
        seen.push(request.pod);
        const { ok, message } = answer(request.pod);
        await answerRestartRequest(stateDir, request.id, ok, message);
      }
      await systemClock.sleep(20, controller.signal).catch(() => undefined);
    }
  })();
  return controller;
};

const liveStatus = async (): Promise<void> => {
  const doc = asLive(loadStatusFixture('healthy'));
  await writeStatus(stateDir, { ...doc, daemon: { ...doc.daemon, updatedAt: Date.now() } });
};

describe('restart requests', () => {
  it('round trip: CLI writes, the daemon lists and answers once, the CLI reads the answer', async () => {
    const id = await writeRestartRequest(stateDir, 'web', Date.now());
    const [request] = await listRestartRequests(stateDir, Date.now());
    assert.deepEqual({ id: request!.id, pod: request!.pod }, { id, pod: 'web' });
    await answerRestartRequest(stateDir, id, true, 'restarted pod web (2 containers)');
    assert.deepEqual(await listRestartRequests(stateDir, Date.now()), [], 'an answered request is not listed again');
    assert.deepEqual(await waitForRestartAnswer(stateDir, id, systemClock, { timeoutMs: 1000 }), {
      ok: true,
      message: 'restarted pod web (2 containers)',
    });
  });

  it('malformed and old requests are answered as failed by the daemon side, never listed', async () => {
    const dir = path.join(stateDir, 'requests');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, '00000000000000aa.json'), '{not json');
    await writeFile(
      path.join(dir, '00000000000000bb.json'),
      JSON.stringify({ action: 'delete', pod: 'web', requestedAt: Date.now() }),
    );
    const old = await writeRestartRequest(stateDir, 'web', Date.now() - REQUEST_MAX_AGE_MS - 1000);
    assert.deepEqual(await listRestartRequests(stateDir, Date.now()), []);
    for (const id of ['00000000000000aa', '00000000000000bb', old]) {
      const answer = await waitForRestartAnswer(stateDir, id, systemClock, { timeoutMs: 0 });
      assert.equal(answer?.ok, false, id);
    }
    assert.match(
      (await waitForRestartAnswer(stateDir, old, systemClock, { timeoutMs: 0 }))!.message,
      /older than 5 minutes/,
    );
  });

  it("runner restart POD: exit 0 with the daemon's message, both files removed", async () => {
    await liveStatus();
    const seen: string[] = [];
    const daemon = fakeDaemon((pod) => ({ ok: true, message: `restarted pod ${pod}` }), seen);
    let out = '';
    try {
      const code = await restartCommand(['--state-dir', stateDir, 'web'], (text) => (out += text), { timeoutMs: 5000 });
      assert.equal(code, 0);
    } finally {
      daemon.abort();
    }
    assert.equal(out, 'restarted pod web\n');
    assert.deepEqual(seen, ['web']);
    assert.deepEqual(
      (await readdir(path.join(stateDir, 'requests'))).filter((name) => !name.startsWith('.')),
      [],
    );
  });

  it('a refusal is exit 1; no answer in time is exit 1 and the request is withdrawn', async () => {
    await liveStatus();
    const daemon = fakeDaemon(() => ({ ok: false, message: 'pod web is being replaced; try again' }));
    try {
      assert.equal(await restartCommand(['--state-dir', stateDir, 'web'], () => undefined, { timeoutMs: 5000 }), 1);
    } finally {
      daemon.abort();
    }
    assert.equal(await restartCommand(['--state-dir', stateDir, 'web'], () => undefined, { timeoutMs: 300 }), 1);
    assert.deepEqual(await readdir(path.join(stateDir, 'requests')), []);
  });

  it('no live daemon: exit 3 and nothing written', async () => {
    assert.equal(await restartCommand(['--state-dir', stateDir, 'web'], () => undefined), 3);
    const doc = asLive(loadStatusFixture('healthy'));
    await writeStatus(stateDir, { ...doc, daemon: { ...doc.daemon, pid: IMPOSSIBLE_PID, updatedAt: Date.now() } });
    assert.equal(await restartCommand(['--state-dir', stateDir, 'web'], () => undefined), 3);
    assert.deepEqual((await readdir(stateDir)).sort(), ['status.json']);
  });
});
