import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { waitForRestartAnswer, writeRestartRequest } from '../../src/status/restart-request.ts';
import { serveRestartRequests } from '../../src/status/restart-requests-loop.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

let stateDir: string;
let controller: AbortController;
beforeEach(async () => {
  stateDir = await makeTempDir('restart-loop');
  controller = new AbortController();
});
afterEach(async () => {
  controller.abort();
  await removeTempDir(stateDir);
});

const serve = (
  pollMs: number,
  watchDir?: (dir: string, onChange: () => void) => { close(): void },
): { restarted: string[]; done: Promise<void> } => {
  const restarted: string[] = [];
  const done = serveRestartRequests(
    {
      stateDir,
      clock: systemClock,
      logger: memoryLogger().logger,
      restart: async (pod) => {
        restarted.push(pod);
        return { ok: true, message: `pod ${pod} restarting` };
      },
      pollMs,
      ...(watchDir ? { watchDir } : {}),
    },
    controller.signal,
  );
  return { restarted, done };
};

const ask = async (pod: string): Promise<boolean | undefined> => {
  const id = await writeRestartRequest(stateDir, pod, Date.now());
  return (await waitForRestartAnswer(stateDir, id, systemClock, { timeoutMs: 5_000 }))?.ok;
};

describe('serveRestartRequests', () => {
  it('answers a request as soon as it is written, not at the next poll (an hour away here)', async () => {
    const { restarted } = serve(3_600_000);
    // The first may be answered by the first read of the directory; the second only by the watch.
    assert.equal(await ask('a'), true);
    assert.equal(await ask('b'), true);
    assert.deepEqual(restarted, ['a', 'b']);
  });

  it('with a watch that hears nothing, the poll still answers', async () => {
    const { restarted } = serve(50, () => ({ close: () => undefined }));
    assert.equal(await ask('a'), true);
    assert.equal(await ask('b'), true);
    assert.deepEqual(restarted, ['a', 'b']);
  });

  it('stops when aborted and closes its watch', async () => {
    let closed = false;
    const { done } = serve(3_600_000, () => ({ close: () => (closed = true) }));
    await ask('a');
    controller.abort();
    await done;
    assert.equal(closed, true);
  });
});
