import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PodmanEvent } from '../../src/podman/podman.ts';
import { EventWatcher } from '../../src/supervisor/event-watcher.ts';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { FakePodman } from '../podman/fake-podman.ts';

const died = (id: string, time: number): PodmanEvent => ({ type: 'container', status: 'died', id, name: id, time, exitCode: 1, podId: undefined, attributes: {} });

describe('EventWatcher', () => {
  it('passes events on, reopens on request at once and from the last event seen', async () => {
    const podman = new FakePodman();
    const clock = new FakeClock();
    const seen: string[] = [];
    const watcher = new EventWatcher({ podman, clock, logger: memoryLogger().logger, onEvent: (event) => seen.push(event.id) });
    const stop = new AbortController();
    const running = watcher.run(stop.signal);
    await flushMicrotasks();
    podman.emitEvent(died('a', clock.now()));
    await flushMicrotasks();
    assert.deepEqual(seen, ['a']);

    watcher.reopen();
    await flushMicrotasks();
    const streams = podman.callsOf('streamEvents');
    assert.equal(streams.length, 2, 'a second stream, with no backoff sleep');
    assert.deepEqual(streams[1]!.args, [new Date(clock.now())], 'from the time of the last event');
    podman.emitEvent(died('b', clock.now() + 1));
    await flushMicrotasks();
    assert.deepEqual(seen, ['a', 'b']);

    stop.abort();
    await running;
  });

  it('drops events older than the last one seen (replayed by --since)', async () => {
    const podman = new FakePodman();
    const clock = new FakeClock();
    const seen: string[] = [];
    const watcher = new EventWatcher({ podman, clock, logger: memoryLogger().logger, onEvent: (event) => seen.push(event.id) });
    const stop = new AbortController();
    const running = watcher.run(stop.signal);
    await flushMicrotasks();
    podman.emitEvent(died('new', clock.now() + 10));
    podman.emitEvent(died('old', clock.now()));
    await flushMicrotasks();
    assert.deepEqual(seen, ['new']);
    stop.abort();
    await running;
  });
});
