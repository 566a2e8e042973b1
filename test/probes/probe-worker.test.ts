import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeProbe, type ProbeKind, type ProbeSpec } from '../../src/manifest/probe-schema.ts';
import { ProbeWorker, type ProbeWorkerEvent } from '../../src/probes/probe-worker.ts';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.ts';
import { FakeExecutors } from './fake-executors.ts';

const exec = (word: string, extra: Record<string, unknown> = {}): ProbeSpec =>
  normalizeProbe({ exec: { command: [word] }, ...extra });

/** A worker on a fake clock and fake executors; the container started at the clock's start. */
const setup = (
  probes: Partial<Record<ProbeKind, ProbeSpec>>,
  options: { startedAt?: number; execOverheadMs?: number } = {},
) => {
  const clock = new FakeClock();
  const executors = new FakeExecutors(() => clock.now());
  const events: ProbeWorkerEvent[] = [];
  const hosts: string[] = [];
  const worker = new ProbeWorker({
    containerId: 'c1',
    startedAt: options.startedAt ?? clock.now(),
    probes,
    executors,
    clock,
    ...(options.execOverheadMs !== undefined ? { execOverheadMs: options.execOverheadMs } : {}),
    resolveHost: async () => {
      hosts.push('lookup');
      return '10.89.0.5';
    },
    onEvent: (event) => events.push(event),
  });
  const t0 = clock.now();
  const of = (type: ProbeWorkerEvent['type']) => events.filter((event) => event.type === type);
  /** Moves time to `seconds` after t0 one second at a time, so every due sleep runs in turn. */
  const to = async (seconds: number): Promise<void> => {
    await flushMicrotasks();
    while (clock.now() < t0 + seconds * 1000) await clock.advance(Math.min(1000, t0 + seconds * 1000 - clock.now()));
  };
  return { clock, executors, events, worker, t0, of, to, hosts };
};

/** Seconds after t0 at which `word` was called. */
const times = (executors: FakeExecutors, word: string, t0: number): number[] =>
  executors.callsOf(word).map((call) => (call.at - t0) / 1000);

describe('ProbeWorker: timing', () => {
  it('waits initialDelaySeconds after the container started, then probes every periodSeconds', async () => {
    const { executors, worker, t0, to } = setup({
      liveness: exec('live', { initialDelaySeconds: 5, periodSeconds: 10 }),
    });
    worker.start();
    await flushMicrotasks();
    assert.deepEqual(times(executors, 'live', t0), []);
    await to(4);
    assert.deepEqual(times(executors, 'live', t0), []);
    await to(5);
    assert.deepEqual(times(executors, 'live', t0), [5]);
    await to(14);
    assert.deepEqual(times(executors, 'live', t0), [5]);
    await to(35);
    assert.deepEqual(times(executors, 'live', t0), [5, 15, 25, 35]);
    await worker.stop();
  });

  it('counts the initial delay from startedAt, not from when the worker was made', async () => {
    // The container started 25 s ago: the first probe is 5 s away.
    const { executors, worker, t0, to } = setup(
      { liveness: exec('live', { initialDelaySeconds: 30 }) },
      { startedAt: new FakeClock().now() - 25_000 },
    );
    worker.start();
    await to(4);
    assert.deepEqual(times(executors, 'live', t0), []);
    await to(5);
    assert.deepEqual(times(executors, 'live', t0), [5]);
    await worker.stop();
  });

  it('probes at once when the initial delay has already passed', async () => {
    const { executors, worker, t0 } = setup(
      { readiness: exec('ready') },
      { startedAt: new FakeClock().now() - 60_000 },
    );
    worker.start();
    await flushMicrotasks();
    assert.deepEqual(times(executors, 'ready', t0), [0]);
    await worker.stop();
  });
});

describe('ProbeWorker: liveness', () => {
  it('reports livenessFailed after exactly failureThreshold failures, once per streak', async () => {
    const { executors, worker, of, to } = setup({ liveness: exec('live', { failureThreshold: 3 }) });
    executors.fail('live', 'exec: exit code 1: unhealthy');
    worker.start();
    await flushMicrotasks();
    assert.equal(of('livenessFailed').length, 0);
    await to(10);
    assert.equal(of('livenessFailed').length, 0);
    await to(20);
    assert.deepEqual(of('livenessFailed'), [{ type: 'livenessFailed', message: 'exec: exit code 1: unhealthy' }]);
    await to(60);
    assert.equal(executors.callsOf('live').length, 7);
    assert.equal(of('livenessFailed').length, 1);
    assert.deepEqual(of('failing'), [{ type: 'failing', kind: 'liveness', message: 'exec: exit code 1: unhealthy' }]);
    await worker.stop();
  });

  it('starts counting again after a success', async () => {
    const { executors, worker, of, to } = setup({ liveness: exec('live', { failureThreshold: 2 }) });
    executors.fail('live');
    worker.start();
    await to(10);
    assert.equal(of('livenessFailed').length, 1);
    executors.succeed('live');
    await to(20);
    assert.equal(worker.status().liveness?.result, 'success');
    executors.fail('live');
    await to(30);
    assert.equal(of('livenessFailed').length, 1, 'one failure after a success is not enough');
    await to(40);
    assert.equal(of('livenessFailed').length, 2);
    assert.equal(of('failing').length, 2);
    await worker.stop();
  });

  it('keeps status: counters, message and time of the last probe', async () => {
    const { executors, worker, to, t0 } = setup({ liveness: exec('live') });
    executors.fail('live', 'exec: exit code 1');
    worker.start();
    await to(10);
    assert.deepEqual(worker.status(), {
      started: true,
      ready: true,
      liveness: {
        result: 'unknown',
        consecutiveFailures: 2,
        consecutiveSuccesses: 0,
        lastMessage: 'exec: exit code 1',
        lastProbeAt: t0 + 10_000,
      },
    });
    await worker.stop();
  });
});

describe('ProbeWorker: startup', () => {
  const probes = () => ({
    startup: exec('startup', { failureThreshold: 3, periodSeconds: 10 }),
    liveness: exec('live', { periodSeconds: 10 }),
    readiness: exec('ready', { periodSeconds: 10 }),
  });

  it('gates liveness and readiness until it succeeds, then never runs again', async () => {
    const { executors, worker, to, t0, of } = setup(probes());
    executors.fail('startup');
    worker.start();
    await flushMicrotasks();
    assert.deepEqual(worker.status().started, false);
    await to(20);
    assert.deepEqual(times(executors, 'startup', t0), [0, 10, 20]);
    assert.deepEqual(times(executors, 'live', t0), []);
    assert.deepEqual(times(executors, 'ready', t0), []);
    assert.deepEqual(worker.status().ready, false);
    assert.deepEqual(of('startupFailed'), [{ type: 'startupFailed', message: 'startup failed' }]);

    executors.succeed('startup');
    await to(30);
    assert.equal(worker.status().started, true);
    assert.deepEqual(times(executors, 'live', t0), [30]);
    assert.deepEqual(times(executors, 'ready', t0), [30]);
    assert.equal(worker.status().ready, true);
    await to(60);
    assert.deepEqual(times(executors, 'startup', t0), [0, 10, 20, 30]);
    assert.deepEqual(times(executors, 'live', t0), [30, 40, 50, 60]);
    assert.equal(of('startupFailed').length, 1);
    await worker.stop();
  });

  it('lets liveness wait for its own initial delay after startup succeeded', async () => {
    const { executors, worker, to, t0 } = setup({
      startup: exec('startup'),
      liveness: exec('live', { initialDelaySeconds: 15 }),
    });
    worker.start();
    await flushMicrotasks();
    assert.deepEqual(times(executors, 'startup', t0), [0]);
    await to(14);
    assert.deepEqual(times(executors, 'live', t0), []);
    await to(15);
    assert.deepEqual(times(executors, 'live', t0), [15]);
    await worker.stop();
  });

  it('does not report a liveness failure while startup has not succeeded', async () => {
    const { executors, worker, to, of } = setup({
      startup: exec('startup', { failureThreshold: 30 }),
      liveness: exec('live', { failureThreshold: 1 }),
    });
    executors.fail('startup');
    executors.fail('live');
    worker.start();
    await to(100);
    assert.equal(of('livenessFailed').length, 0);
    assert.equal(executors.callsOf('live').length, 0);
    await worker.stop();
  });
});

describe('ProbeWorker: readiness', () => {
  it('is not ready until the first success, then flips with the thresholds', async () => {
    const { executors, worker, to, of } = setup({
      readiness: exec('ready', { successThreshold: 2, failureThreshold: 2, periodSeconds: 5 }),
    });
    executors.fail('ready');
    worker.start();
    await flushMicrotasks();
    assert.equal(worker.status().ready, false);
    assert.equal(worker.status().started, true);
    executors.succeed('ready');
    await to(5);
    assert.equal(worker.status().ready, false, 'one success is below successThreshold 2');
    await to(10);
    assert.equal(worker.status().ready, true);
    executors.fail('ready');
    await to(15);
    assert.equal(worker.status().ready, true, 'one failure is below failureThreshold 2');
    await to(20);
    assert.equal(worker.status().ready, false);
    assert.equal(worker.status().readiness?.result, 'failure');
    assert.equal(of('livenessFailed').length + of('startupFailed').length, 0);
    assert.ok(of('changed').length >= 2);
    await worker.stop();
  });

  it('is ready at once without a readiness probe', () => {
    const { worker } = setup({ liveness: exec('live') });
    assert.deepEqual(worker.status(), {
      started: true,
      ready: true,
      liveness: { result: 'unknown', consecutiveFailures: 0, consecutiveSuccesses: 0 },
    });
  });
});

describe('ProbeWorker: calls', () => {
  it('never overlaps a slow probe with itself, and times it out after timeoutSeconds', async () => {
    const { executors, worker, to, t0, clock } = setup({
      liveness: exec('live', { periodSeconds: 10, timeoutSeconds: 2, failureThreshold: 1 }),
    });
    const release = executors.hold('live');
    worker.start();
    await flushMicrotasks();
    assert.deepEqual(times(executors, 'live', t0), [0]);
    await to(1);
    assert.equal(worker.status().liveness?.consecutiveFailures, 0);
    await to(2);
    assert.deepEqual(worker.status().liveness?.lastMessage, 'timeout after 2s');
    assert.equal(worker.status().liveness?.result, 'failure');
    // The call ignores its abort and hangs on: no second call, however long.
    await to(45);
    assert.deepEqual(times(executors, 'live', t0), [0]);
    release();
    await flushMicrotasks();
    assert.deepEqual(times(executors, 'live', t0), [0, 45], 'the overdue probe runs as soon as the slow one ends');
    await to(55);
    assert.deepEqual(times(executors, 'live', t0), [0, 45, 55]);
    assert.equal(executors.maxInFlight.get('live'), 1);
    assert.equal(worker.status().liveness?.result, 'success');
    await worker.stop();
    assert.equal(clock.pendingSleeps, 0);
  });

  it('passes the container, command and timeout to exec', async () => {
    const { executors, worker } = setup({ liveness: exec('live', { timeoutSeconds: 4 }) });
    worker.start();
    await flushMicrotasks();
    assert.deepEqual(executors.callsOf('live')[0]?.args, ['c1', ['live'], 4000]);
    await worker.stop();
  });

  it("gives exec probes, and only them, podman exec's overhead on top of timeoutSeconds", async () => {
    const { executors, worker, to } = setup(
      {
        liveness: exec('live', { timeoutSeconds: 1, failureThreshold: 1, periodSeconds: 10 }),
        readiness: normalizeProbe({ tcpSocket: { port: 5432, host: '192.0.2.1' }, timeoutSeconds: 1 }),
      },
      { execOverheadMs: 1000 },
    );
    const release = executors.hold('live');
    worker.start();
    await flushMicrotasks();
    assert.deepEqual(
      executors.callsOf('live')[0]?.args,
      ['c1', ['live'], 2000],
      'podman exec is killed at timeout + overhead',
    );
    assert.deepEqual(
      executors.callsOf('192.0.2.1:5432')[0]?.args,
      ['192.0.2.1', 5432, 1000],
      'network probes keep their timeout',
    );
    await to(1.5);
    assert.equal(worker.status().liveness?.consecutiveFailures, 0, 'a 1.5 s podman exec is not a timeout');
    await to(2);
    assert.equal(worker.status().liveness?.lastMessage, 'timeout after 1s (+1s for podman exec)');
    assert.equal(worker.status().liveness?.result, 'failure');
    release();
    await worker.stop();
  });

  it('sends httpGet and tcpSocket probes to the resolved host unless the probe names one', async () => {
    const { executors, worker, hosts } = setup({
      liveness: normalizeProbe({
        httpGet: { port: 8080, path: '/healthz', httpHeaders: [{ name: 'X', value: 'y' }] },
        timeoutSeconds: 3,
      }),
      readiness: normalizeProbe({ tcpSocket: { port: 5432, host: '192.0.2.1' } }),
    });
    worker.start();
    await flushMicrotasks();
    assert.deepEqual(executors.callsOf('10.89.0.5:8080')[0]?.args, [
      {
        scheme: 'HTTP',
        host: '10.89.0.5',
        port: 8080,
        path: '/healthz',
        headers: [{ name: 'X', value: 'y' }],
        timeoutMs: 3000,
      },
    ]);
    assert.deepEqual(executors.callsOf('192.0.2.1:5432')[0]?.args, ['192.0.2.1', 5432, 1000]);
    assert.equal(hosts.length, 1);
    await worker.stop();
  });

  it('a failed pod-IP look-up is noted but never counted; the probe runs once the look-up works', async () => {
    const clock = new FakeClock();
    const executors = new FakeExecutors(() => clock.now());
    const events: ProbeWorkerEvent[] = [];
    let lookups = 0;
    const worker = new ProbeWorker({
      containerId: 'c1',
      startedAt: clock.now(),
      probes: { liveness: normalizeProbe({ tcpSocket: { port: 80 }, periodSeconds: 1, failureThreshold: 1 }) },
      executors,
      clock,
      resolveHost: async () => {
        lookups += 1;
        if (lookups <= 3) throw new Error('no pod with ID p1');
        return '10.89.0.5';
      },
      onEvent: (event) => events.push(event),
    });
    worker.start();
    await flushMicrotasks();
    for (let second = 0; second < 2; second += 1) await clock.advance(1000);
    const noted = worker.status().liveness;
    assert.equal(noted?.lastMessage, 'not probed: cannot find the pod IP: no pod with ID p1');
    assert.equal(noted?.result, 'unknown');
    assert.equal(noted?.consecutiveFailures, 0, "podman's trouble is not the container's failure");
    assert.equal(executors.calls.length, 0);
    assert.deepEqual(
      events.filter((event) => event.type !== 'changed'),
      [],
      'no result, no liveness failure',
    );
    await clock.advance(1000);
    assert.deepEqual(
      executors.callsOf('10.89.0.5:80').map((call) => call.args),
      [['10.89.0.5', 80, 1000]],
    );
    assert.equal(worker.status().liveness?.result, 'success');
    await worker.stop();
  });

  it("a slow pod-IP look-up does not eat into the probe's timeout", async () => {
    const clock = new FakeClock();
    const executors = new FakeExecutors(() => clock.now());
    const events: ProbeWorkerEvent[] = [];
    const worker = new ProbeWorker({
      containerId: 'c1',
      startedAt: clock.now(),
      probes: { liveness: normalizeProbe({ tcpSocket: { port: 80 }, timeoutSeconds: 1, failureThreshold: 1 }) },
      executors,
      clock,
      // Three seconds of a busy podman, three times the probe's timeout.
      resolveHost: async (signal) => {
        await clock.sleep(3000, signal);
        return '10.89.0.5';
      },
      onEvent: (event) => events.push(event),
    });
    worker.start();
    for (let second = 0; second < 4; second += 1) await clock.advance(1000);
    assert.equal(executors.callsOf('10.89.0.5:80').length, 1);
    assert.equal(worker.status().liveness?.result, 'success');
    assert.deepEqual(
      events.filter((event) => event.type === 'livenessFailed' || event.type === 'failing'),
      [],
    );
    await worker.stop();
  });

  it('stop() ends every loop, aborts waits and leaves no sleep behind', async () => {
    const { executors, worker, clock, to, events } = setup({
      startup: exec('startup'),
      liveness: exec('live'),
      readiness: exec('ready', { initialDelaySeconds: 100 }),
    });
    executors.fail('startup');
    worker.start();
    await to(10);
    assert.ok(clock.pendingSleeps > 0);
    await worker.stop();
    assert.equal(clock.pendingSleeps, 0);
    const count = executors.calls.length;
    const eventCount = events.length;
    await to(200);
    assert.equal(executors.calls.length, count);
    assert.equal(events.length, eventCount);
  });

  it('stop() during an in-flight call reports nothing for it', async () => {
    const { executors, worker, events } = setup({ liveness: exec('live', { failureThreshold: 1 }) });
    executors.fail('live');
    const release = executors.hold('live');
    worker.start();
    await flushMicrotasks();
    const stopped = worker.stop();
    release();
    await stopped;
    assert.deepEqual(events, []);
  });
});
