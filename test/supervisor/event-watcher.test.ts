import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PodmanEvent } from '../../src/podman/podman.ts';
import { EventWatcher } from '../../src/supervisor/event-watcher.ts';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { FakePodman } from '../podman/fake-podman.ts';

const died = (id: string, time: number): PodmanEvent => ({
  type: 'container',
  status: 'died',
  id,
  name: id,
  time,
  exitCode: 1,
  podId: undefined,
  attributes: {},
});

describe('EventWatcher', () => {
  it('passes events on, reopens on request at once and from the last event seen', async () => {
    const podman = new FakePodman();
    const clock = new FakeClock();
    const seen: string[] = [];
    const watcher = new EventWatcher({
      podman,
      clock,
      logger: memoryLogger().logger,
      onEvent: (event) => seen.push(event.id),
    });
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
    const watcher = new EventWatcher({
      podman,
      clock,
      logger: memoryLogger().logger,
      onEvent: (event) => seen.push(event.id),
    });
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

describe('EventWatcher: relisting while the stream is down', () => {
  it('asks for a relist when the stream ends, every relistMs while it is down, and once when it is open again', async () => {
    const podman = new FakePodman();
    const clock = new FakeClock();
    let opens = 0;
    // The first two streams end at once (podman's events process died); the third stays open.
    const open = podman.streamEvents.bind(podman);
    podman.streamEvents = (options) => {
      opens += 1;
      if (opens <= 2) return (async function* () {})();
      return open(options);
    };
    let relists = 0;
    const watcher = new EventWatcher({
      podman,
      clock,
      logger: memoryLogger().logger,
      onEvent: () => undefined,
      onRelist: () => (relists += 1),
      relistMs: 10_000,
      initialBackoffMs: 15_000,
    });
    const stop = new AbortController();
    const running = watcher.run(stop.signal);
    await flushMicrotasks();
    assert.equal(opens, 1);
    assert.equal(watcher.streaming, false);
    assert.equal(relists, 1, 'the stream ended: a look at once');
    await clock.advance(10_000);
    await flushMicrotasks();
    assert.equal(relists, 2, 'still down after 10 s: another look');
    await clock.advance(5_000);
    await flushMicrotasks();
    assert.equal(opens, 2, 'reopened after the 15 s backoff');
    assert.equal(relists, 4, 'one look for the reopening, one as it ended again');
    await clock.advance(30_000);
    await flushMicrotasks();
    assert.equal(opens, 3);
    assert.equal(watcher.streaming, true);
    const settled = relists;
    await clock.advance(600_000);
    await flushMicrotasks();
    assert.equal(relists, settled, 'no timed looks from the watcher while the stream is open');
    stop.abort();
    await running;
  });

  it('asks for no relist while the first stream stays open', async () => {
    const podman = new FakePodman();
    const clock = new FakeClock();
    let relists = 0;
    const watcher = new EventWatcher({
      podman,
      clock,
      logger: memoryLogger().logger,
      onEvent: () => undefined,
      onRelist: () => (relists += 1),
    });
    const stop = new AbortController();
    const running = watcher.run(stop.signal);
    await flushMicrotasks();
    await clock.advance(60_000);
    assert.equal(watcher.streaming, true);
    assert.equal(relists, 0);
    stop.abort();
    await running;
  });
});
