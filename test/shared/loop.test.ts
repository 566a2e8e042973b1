import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Loop, type LoopBody } from '../../src/shared/loop.ts';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.ts';

/** A body that records each pass (time and whether it was woken), and can be held open. */
const recorder = (clock: FakeClock) => {
  const passes: { at: number; woken: boolean }[] = [];
  let hold: Promise<void> | undefined;
  const body: LoopBody = async ({ woken }) => {
    passes.push({ at: clock.now(), woken });
    await hold;
  };
  return {
    passes,
    body,
    holdWith: (promise: Promise<void> | undefined): void => {
      hold = promise;
    },
  };
};

describe('Loop', () => {
  it('runs a pass when the idle time runs out, asking for it again after each pass', async () => {
    const clock = new FakeClock(0);
    let idle = 1_000;
    const loop = new Loop({ clock, idleMs: () => idle });
    const { passes, body } = recorder(clock);
    const controller = new AbortController();
    const running = loop.run(controller.signal, body);
    await clock.advance(999);
    assert.equal(passes.length, 0);
    await clock.advance(1);
    assert.deepEqual(passes, [{ at: 1_000, woken: false }]);
    idle = 300;
    await clock.advance(1_000); // the sleep after the first pass asked before `idle` changed
    await clock.advance(300);
    assert.deepEqual(
      passes.map((pass) => pass.at),
      [1_000, 2_000, 2_300],
    );
    controller.abort();
    await running;
  });

  it('coalesces wakes: any number before a pass starts make one pass; one during a pass makes the next start at once', async () => {
    const clock = new FakeClock(0);
    const loop = new Loop({ clock, idleMs: () => 60_000 });
    const { passes, body, holdWith } = recorder(clock);
    loop.wake();
    loop.wake();
    assert.equal(loop.pending, true, 'a wake before run is kept');
    let release!: () => void;
    holdWith(new Promise<void>((resolve) => (release = resolve)));
    const controller = new AbortController();
    const running = loop.run(controller.signal, body);
    await flushMicrotasks();
    assert.deepEqual(passes, [{ at: 0, woken: true }], 'two wakes, one pass');
    loop.wake();
    loop.wake();
    holdWith(undefined);
    release();
    await flushMicrotasks();
    assert.deepEqual(
      passes,
      [
        { at: 0, woken: true },
        { at: 0, woken: true },
      ],
      'woken during the pass: the next starts without sleeping',
    );
    await flushMicrotasks();
    assert.equal(passes.length, 2, 'and then it sleeps');
    assert.equal(clock.pendingSleeps, 1);
    controller.abort();
    await running;
  });

  it('`answered` drops the wakes so far: the pass under way stands for them', async () => {
    const clock = new FakeClock(0);
    const loop = new Loop({ clock, idleMs: () => 60_000 });
    let passes = 0;
    const controller = new AbortController();
    const running = loop.run(controller.signal, async () => {
      passes += 1;
      loop.wake(); // what the pass was about to look at anyway
      loop.answered();
    });
    loop.wake();
    await flushMicrotasks();
    assert.equal(passes, 1);
    assert.equal(loop.pending, false);
    controller.abort();
    await running;
  });

  it('abort ends a sleeping loop at once and lets a pass under way finish (drain); stop does the same', async () => {
    const clock = new FakeClock(0);
    const sleeping = new Loop({ clock, idleMs: () => 60_000 });
    const controller = new AbortController();
    let passes = 0;
    const done = sleeping.run(controller.signal, async () => void (passes += 1));
    await flushMicrotasks();
    controller.abort();
    await done;
    assert.equal(passes, 0);
    assert.equal(clock.pendingSleeps, 0, 'no timer left behind');

    const busy = new Loop({ clock, idleMs: () => 60_000, pending: true });
    let release!: () => void;
    let seen: AbortSignal | undefined;
    let finished = false;
    busy.start(new AbortController().signal, async ({ signal }) => {
      seen = signal;
      await new Promise<void>((resolve) => (release = resolve));
      finished = true;
    });
    await flushMicrotasks();
    let stopped = false;
    const stopping = busy.stop().then(() => (stopped = true));
    await flushMicrotasks();
    assert.equal(seen?.aborted, true, 'the body is told through its signal');
    assert.equal(stopped, false, 'stop waits for the pass under way');
    release();
    await stopping;
    assert.equal(finished, true);
  });

  it('an error in the body ends the loop and rejects run', async () => {
    const loop = new Loop({ clock: new FakeClock(0), idleMs: () => 1_000, pending: true });
    await assert.rejects(
      loop.run(new AbortController().signal, async () => {
        throw new Error('boom');
      }),
      /boom/,
    );
  });

  describe('debounce', () => {
    it('quietMs: the pass waits until no wake came for that long, and looks at each wake first', async () => {
      const clock = new FakeClock(0);
      let looks = 0;
      const loop = new Loop({
        clock,
        idleMs: () => 60_000,
        debounce: { quietMs: 150, eachWake: async () => void (looks += 1) },
      });
      const { passes, body } = recorder(clock);
      const controller = new AbortController();
      const running = loop.run(controller.signal, body);
      loop.wake();
      await flushMicrotasks();
      await clock.advance(100);
      loop.wake();
      await flushMicrotasks();
      await clock.advance(100);
      assert.equal(passes.length, 0, 'the second wake restarted the quiet time');
      assert.equal(looks, 2);
      await clock.advance(50);
      assert.deepEqual(passes, [{ at: 250, woken: true }]);
      await clock.advance(60_000);
      assert.deepEqual(passes.at(-1), { at: 60_250, woken: false }, 'a timed pass has no debounce');
      assert.equal(looks, 2);
      controller.abort();
      await running;
    });

    it('quietMs: a stop during the quiet time runs no pass', async () => {
      const clock = new FakeClock(0);
      const loop = new Loop({ clock, idleMs: () => 60_000, debounce: { quietMs: 150 } });
      const { passes, body } = recorder(clock);
      loop.start(new AbortController().signal, body);
      loop.wake();
      await clock.advance(100);
      await loop.stop();
      assert.equal(passes.length, 0);
    });

    it('delayMs: a fixed delay that later wakes join and cannot extend; the pass still runs when stopped meanwhile', async () => {
      const clock = new FakeClock(0);
      const loop = new Loop({ clock, idleMs: () => 5_000, debounce: { delayMs: 200 }, pending: true });
      const { passes, body } = recorder(clock);
      const controller = new AbortController();
      const running = loop.run(controller.signal, body);
      await clock.advance(150);
      loop.wake();
      await clock.advance(50);
      assert.deepEqual(passes, [{ at: 200, woken: true }], 'the wake at 150 joined the pass at 200');
      assert.equal(loop.pending, false);
      loop.wake();
      await clock.advance(100);
      controller.abort();
      await running;
      assert.deepEqual(passes.at(-1), { at: 300, woken: true }, 'asked before the stop: done');
    });
  });
});
