import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../../src/shared/clock.ts';
import { createLimit } from '../../src/shared/limit.ts';
import { createLogger } from '../../src/shared/logger.ts';
import { Wakeup } from '../../src/shared/wakeup.ts';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.ts';

describe('systemClock.sleep', () => {
  it('resolves after the delay', async () => {
    const started = Date.now();
    await systemClock.sleep(20);
    assert.ok(Date.now() - started >= 15);
  });

  it('rejects with the reason when aborted, before or during', async () => {
    const reason = new Error('stop');
    await assert.rejects(systemClock.sleep(10, AbortSignal.abort(reason)), (error) => error === reason);
    const controller = new AbortController();
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort(reason);
    await assert.rejects(sleeping, (error) => error === reason);
  });
});

describe('FakeClock', () => {
  it('sleeps resolve only when time is advanced past them, in order', async () => {
    const clock = new FakeClock(1_000);
    const woken: number[] = [];
    void clock.sleep(200).then(() => woken.push(200));
    void clock.sleep(100).then(() => woken.push(100));
    await clock.advance(99);
    assert.deepEqual(woken, []);
    assert.equal(clock.now(), 1_099);
    await clock.advance(1);
    assert.deepEqual(woken, [100]);
    await clock.advance(500);
    assert.deepEqual(woken, [100, 200]);
    assert.equal(clock.pendingSleeps, 0);
  });

  it('honours AbortSignal', async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(1_000, controller.signal);
    controller.abort(new Error('stop'));
    await assert.rejects(sleeping, /stop/);
    assert.equal(clock.pendingSleeps, 0);
    await assert.rejects(clock.sleep(1, AbortSignal.abort(new Error('already'))), /already/);
  });
});

describe('Wakeup', () => {
  it('wait returns on timeout, on wake() and on abort, never throwing', async () => {
    const clock = new FakeClock();
    const wakeup = new Wakeup(clock);
    const controller = new AbortController();
    let done = false;
    const waiting = wakeup.wait(1_000, controller.signal).then(() => (done = true));
    await flushMicrotasks();
    assert.equal(done, false);
    wakeup.wake();
    await waiting;

    const timed = wakeup.wait(1_000, controller.signal);
    await clock.advance(1_000);
    await timed;

    const aborted = wakeup.wait(1_000, controller.signal);
    controller.abort();
    await aborted;
  });
});

describe('createLimit', () => {
  it('runs at most N tasks at once, in FIFO order, and survives failures', async () => {
    const limit = createLimit(2);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const task =
      (n: number, fail = false) =>
      async () => {
        active += 1;
        peak = Math.max(peak, active);
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push(n);
        active -= 1;
        if (fail) throw new Error(`task ${n}`);
        return n;
      };
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((n) => limit(task(n, n === 2))));
    assert.equal(peak, 2);
    assert.deepEqual(order.slice(2).sort(), [3, 4, 5]);
    assert.deepEqual(
      results.map((result) => result.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled'],
    );
  });
});

describe('createLogger', () => {
  it('json: one object per line with component and fields as top-level keys', () => {
    const lines: string[] = [];
    const logger = createLogger({ level: 'info', format: 'json', write: (line) => lines.push(line) });
    logger.withTag('reconciler').warn('pod failed', { pod: 'web', file: '/m/web.yaml' });
    logger.debug('hidden at info level');
    assert.equal(lines.length, 1);
    assert.ok(lines[0]?.endsWith('\n'));
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(entry.level, 'warn');
    assert.equal(entry.component, 'reconciler');
    assert.equal(entry.msg, 'pod failed');
    assert.equal(entry.pod, 'web');
    assert.equal(entry.file, '/m/web.yaml');
  });

  it('silent writes nothing; pretty writes one line without colour codes when captured', () => {
    const lines: string[] = [];
    createLogger({ level: 'silent', format: 'json', write: (line) => lines.push(line) }).error('x');
    assert.equal(lines.length, 0);
    createLogger({ level: 'info', format: 'pretty', write: (line) => lines.push(line) }).info('hello', { pod: 'web' });
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d INFO {2}hello\n$/);
  });

  it('pretty: a message quoting a manifest or a container stays one inert line', () => {
    const lines: string[] = [];
    createLogger({ level: 'info', format: 'pretty', write: (line) => lines.push(line) }).warn(
      'probe failed: \u001b[2Jgone\n12:00:00 INFO  all good',
    );
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /^\d\d:\d\d:\d\d WARN {2}probe failed: \\x1b\[2Jgone\\n12:00:00 INFO {2}all good\n$/);
  });
});
