import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InFlight } from '../../src/shared/in-flight.ts';
import { flushMicrotasks } from '../helpers/fake-clock.ts';

/** A piece of work the test ends by hand. */
const held = (): { work: () => Promise<void>; finish: () => void; fail: (error: Error) => void } => {
  let finish!: () => void;
  let fail!: (error: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  return { work: () => done, finish, fail };
};

describe('InFlight', () => {
  it('a key is busy from run until its work settles, with its label; onEnd sees it free', async () => {
    const tracker = new InFlight<'create' | 'remove'>();
    const a = held();
    let freeAtEnd: boolean | undefined;
    const job = tracker.run('a', a.work, { label: 'create', onEnd: () => (freeAtEnd = !tracker.has('a')) });
    assert.equal(tracker.has('a'), true);
    assert.equal(tracker.size, 1);
    assert.deepEqual([...tracker.labels], [['a', 'create']]);
    a.finish();
    await job;
    assert.equal(freeAtEnd, true);
    assert.equal(tracker.size, 0);
    assert.deepEqual([...tracker.labels], []);
  });

  it('a mark taken before work ended makes the key busy for that mark only', async () => {
    const tracker = new InFlight();
    const before = tracker.mark();
    const a = held();
    const job = tracker.run('a', a.work);
    const during = tracker.mark();
    a.finish();
    await job;
    const after = tracker.mark();
    assert.equal(tracker.isBusy('a', before), true);
    assert.equal(tracker.isBusy('a', during), true, 'a list taken while it ran is stale');
    assert.equal(tracker.isBusy('a', after), false);
    assert.equal(tracker.isBusy('b', before), false);
    tracker.forget(new Set(), before);
    assert.equal(tracker.isBusy('a', before), true, 'not forgotten while a mark before its end may be in use');
    tracker.forget(new Set(), after);
    assert.equal(tracker.isBusy('a', before), false);
  });

  it('settled waits for every piece (failed ones too, and ones started meanwhile): the drain', async () => {
    const tracker = new InFlight();
    const a = held();
    const b = held();
    const c = held();
    tracker.run('a', a.work).catch(() => undefined);
    void tracker.run('b', b.work, { onEnd: () => void tracker.run('c', c.work) });
    let drained = false;
    const draining = tracker.settled().then(() => (drained = true));
    a.fail(new Error('podman said no'));
    b.finish();
    await flushMicrotasks();
    assert.equal(drained, false, 'c started as b ended');
    assert.equal(tracker.has('c'), true);
    c.finish();
    await draining;
    assert.equal(tracker.size, 0);
  });

  it("idle waits for the key's work only, and passes on its failure", async () => {
    const tracker = new InFlight();
    const a = held();
    const b = held();
    void tracker.run('a', a.work).catch(() => undefined);
    void tracker.run('b', b.work);
    await tracker.idle('c');
    const waiting = tracker.idle('a');
    a.fail(new Error('stop failed'));
    await assert.rejects(waiting, /stop failed/);
    assert.equal(tracker.has('b'), true);
    b.finish();
    await tracker.idle('b');
  });
});
