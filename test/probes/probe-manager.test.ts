import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { ProbeManager, type ProbeManagerOptions, type ProbeTarget } from '../../src/probes/probe-manager.ts';
import { StaleNeighbours } from '../../src/probes/stale-neighbours.ts';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { FakePodman } from '../podman/fake-podman.ts';
import { FakeExecutors } from './fake-executors.ts';

const UNIT = '/etc/runner/manifests/web.yaml#Pod/web';

const targetOf = (
  container: string,
  overrides: Partial<ProbeTarget> = {},
  startedAt = Date.UTC(2026, 0, 1),
): ProbeTarget => ({
  key: `${UNIT}/${container}`,
  unitKey: UNIT,
  podName: 'web',
  containerName: container,
  containerId: `id-${container}`,
  startedAt,
  podId: 'pod0001',
  hostNetwork: false,
  ...overrides,
});

const LIVE = { exec: { command: ['live'] }, periodSeconds: 10, failureThreshold: 3 };

/** A manager over FakePodman (exec goes through `execInContainer`) on a fake clock. */
const setup = (overrides: Partial<ProbeManagerOptions> = {}, options: { fakeExecutors?: boolean } = {}) => {
  const clock = new FakeClock();
  const executors = new FakeExecutors(() => clock.now());
  const podman = new FakePodman();
  podman.now = () => clock.now();
  const { logger, lines } = memoryLogger();
  const liveness: [string, string][] = [];
  const startup: [string, string][] = [];
  const changes: string[] = [];
  // The host's ARP table, as /proc/net/arp shows it; never this machine's own.
  const neighbourTable = { text: 'IP address       HW type     Flags       HW address            Mask     Device\n' };
  const deletedNeighbours: [string, string][] = [];
  const neighbours = new StaleNeighbours({
    logger,
    readArpTable: () => Promise.resolve(neighbourTable.text),
    deleteNeighbour: (ip, device) => {
      deletedNeighbours.push([ip, device]);
      return Promise.resolve();
    },
  });
  const manager = new ProbeManager({
    podman,
    clock,
    logger,
    onLivenessFailure: (target, message) => liveness.push([target.key, message]),
    onStartupFailure: (target, message) => startup.push([target.key, message]),
    onChange: (key) => changes.push(key),
    neighbours,
    ...(options.fakeExecutors ? { executors } : {}),
    ...overrides,
  });
  const t0 = clock.now();
  const to = async (seconds: number): Promise<void> => {
    await flushMicrotasks();
    while (clock.now() < t0 + seconds * 1000) await clock.advance(Math.min(1000, t0 + seconds * 1000 - clock.now()));
  };
  const execs = (id?: string) =>
    podman.callsOf('execInContainer').filter((call) => id === undefined || call.args[0] === id);
  return {
    clock,
    podman,
    executors,
    logger,
    lines,
    liveness,
    startup,
    changes,
    manager,
    t0,
    to,
    execs,
    neighbourTable,
    deletedNeighbours,
  };
};

describe('ProbeManager: sync', () => {
  it('starts probing a new target through podman exec', async () => {
    const { manager, to, execs } = setup();
    manager.sync([targetOf('app', { livenessProbe: LIVE })]);
    await to(20);
    assert.deepEqual(
      execs().map((call) => call.args),
      [0, 1, 2].map(() => ['id-app', ['live'], 1000]),
    );
    await manager.stop();
  });

  it('keeps the worker (and its counters) when the same container start is synced again', async () => {
    const { manager, podman, to, execs } = setup();
    podman.execResults.set('id-app', { exitCode: 1, output: 'no' });
    const target = targetOf('app', { livenessProbe: LIVE });
    manager.sync([target]);
    await to(10);
    manager.sync([{ ...target, livenessProbe: { ...LIVE } }]);
    await to(15);
    assert.equal(execs().length, 2);
    assert.equal(manager.status(target.key)?.liveness?.consecutiveFailures, 2);
    await manager.stop();
  });

  it('stops probing a target that is no longer synced', async () => {
    const { manager, clock, to, execs } = setup();
    manager.sync([targetOf('app', { livenessProbe: LIVE }), targetOf('side', { livenessProbe: LIVE })]);
    await to(10);
    assert.equal(execs().length, 4);
    manager.sync([targetOf('side', { livenessProbe: LIVE })]);
    await to(40);
    assert.equal(execs('id-app').length, 2);
    assert.equal(execs('id-side').length, 5);
    assert.deepEqual([...manager.statuses().keys()], [`${UNIT}/side`]);
    assert.equal(manager.status(`${UNIT}/app`), undefined);
    manager.sync([]);
    await flushMicrotasks();
    assert.equal(clock.pendingSleeps, 0);
    await manager.stop();
  });

  it('probes a restarted container (new startedAt) anew: initial delay and counters from scratch', async () => {
    const { manager, podman, clock, to, execs, liveness, t0 } = setup();
    podman.execResults.set('id-app', { exitCode: 1, output: 'dead' });
    const spec = { ...LIVE, initialDelaySeconds: 5 };
    manager.sync([targetOf('app', { livenessProbe: spec }, t0)]);
    await to(25);
    assert.equal(liveness.length, 1);
    assert.equal(execs().length, 3);
    // The supervisor restarted it at t0+30 s.
    await to(30);
    manager.sync([targetOf('app', { livenessProbe: spec }, t0 + 30_000)]);
    await to(34);
    assert.equal(execs().length, 3, 'the initial delay counts from the new start');
    assert.deepEqual(manager.status(`${UNIT}/app`)?.liveness, {
      result: 'unknown',
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
    });
    await to(35);
    assert.equal(execs().length, 4);
    await to(55);
    assert.equal(liveness.length, 2, 'a new container start is a new streak');
    assert.equal(clock.now(), t0 + 55_000);
    await manager.stop();
  });

  it('restarts probing when the container ID changes', async () => {
    const { manager, to, execs } = setup();
    manager.sync([targetOf('app', { livenessProbe: LIVE })]);
    await to(10);
    manager.sync([targetOf('app', { livenessProbe: LIVE, containerId: 'id-new' })]);
    await to(10);
    assert.deepEqual(
      execs().map((call) => call.args[0]),
      ['id-app', 'id-app', 'id-new'],
    );
    await manager.stop();
  });

  it('reports a target without probes as started and ready', async () => {
    const { manager } = setup();
    manager.sync([targetOf('plain')]);
    assert.deepEqual(manager.statuses(), new Map([[`${UNIT}/plain`, { started: true, ready: true }]]));
    await manager.stop();
  });
});

describe('ProbeManager: callbacks, logs and counts', () => {
  it('calls onLivenessFailure once per streak and logs the first failure at warn with pod and container', async () => {
    const { manager, podman, to, liveness, lines } = setup();
    podman.execResults.set('id-app', { exitCode: 1, output: 'unhealthy\n' });
    manager.sync([targetOf('app', { livenessProbe: LIVE })]);
    await to(60);
    assert.deepEqual(liveness, [[`${UNIT}/app`, 'exec: exit code 1: unhealthy']]);
    const warnings = lines.filter((line) => line.level === 'warn');
    assert.deepEqual(
      warnings.map((line) => [line.component, line.pod, line.container, line.probe]),
      [
        ['probes', 'web', 'app', 'liveness'],
        ['probes', 'web', 'app', 'liveness'],
      ],
    );
    assert.match(String(warnings[0]?.msg), /Liveness probe of web\/app failed: exec: exit code 1: unhealthy/);
    assert.match(String(warnings[1]?.msg), /failed too often/);
    podman.execResults.delete('id-app');
    await to(70);
    podman.execResults.set('id-app', { exitCode: 1, output: 'again' });
    await to(100);
    assert.equal(liveness.length, 2);
    await manager.stop();
  });

  it('calls onStartupFailure and keeps liveness and readiness waiting', async () => {
    const { manager, podman, to, startup, execs } = setup();
    podman.execResults.set('id-app', { exitCode: 1, output: '' });
    manager.sync([
      targetOf('app', {
        startupProbe: { exec: { command: ['startup'] }, failureThreshold: 2 },
        livenessProbe: LIVE,
        readinessProbe: { exec: { command: ['ready'] } },
      }),
    ]);
    await to(30);
    assert.deepEqual(startup, [[`${UNIT}/app`, 'exec: exit code 1']]);
    assert.deepEqual(new Set(execs().map((call) => (call.args[1] as string[])[0])), new Set(['startup']));
    assert.deepEqual(manager.status(`${UNIT}/app`)?.started, false);
    assert.deepEqual(manager.status(`${UNIT}/app`)?.ready, false);
    await manager.stop();
  });

  it('tells onChange when readiness flips', async () => {
    const { manager, podman, to, changes } = setup();
    const key = `${UNIT}/app`;
    podman.execResults.set('id-app', { exitCode: 1, output: '' });
    manager.sync([targetOf('app', { readinessProbe: { exec: { command: ['ready'] }, failureThreshold: 1 } })]);
    await to(0);
    changes.length = 0;
    assert.equal(manager.status(key)?.ready, false);
    podman.execResults.delete('id-app');
    await to(10);
    assert.equal(manager.status(key)?.ready, true);
    assert.deepEqual(changes, [key]);
    await to(20);
    assert.deepEqual(changes, [key], 'no change, no call');
    await manager.stop();
  });

  it('counts probe results per kind', async () => {
    const { manager, podman, to } = setup();
    podman.execResults.set('id-bad', { exitCode: 1, output: '' });
    manager.sync([
      targetOf('good', { livenessProbe: LIVE, readinessProbe: { exec: { command: ['ready'] } } }),
      targetOf('bad', { containerId: 'id-bad', livenessProbe: LIVE }),
    ]);
    await to(20);
    assert.deepEqual(manager.probeCounts(), {
      liveness: { success: 3, failure: 3 },
      readiness: { success: 3, failure: 0 },
      startup: { success: 0, failure: 0 },
    });
    await manager.stop();
  });

  it('survives a callback that throws', async () => {
    const { manager, podman, to, lines } = setup({
      onLivenessFailure: () => {
        throw new Error('supervisor bug');
      },
    });
    podman.execResults.set('id-app', { exitCode: 1, output: '' });
    manager.sync([targetOf('app', { livenessProbe: { ...LIVE, failureThreshold: 1 } })]);
    await to(10);
    assert.ok(lines.some((line) => line.level === 'error' && String(line.msg).includes('supervisor bug')));
    await manager.stop();
  });

  it('logs and skips a probe it cannot normalize instead of guessing', async () => {
    const { manager, to, execs, lines } = setup();
    manager.sync([
      targetOf('app', {
        livenessProbe: { tcpSocket: { port: 'http' } },
        readinessProbe: { exec: { command: ['ready'] } },
      }),
    ]);
    await to(0);
    assert.equal(execs().length, 1);
    assert.equal(manager.status(`${UNIT}/app`)?.liveness, undefined);
    assert.ok(lines.some((line) => line.level === 'error' && line.probe === 'liveness' && line.container === 'app'));
    await manager.stop();
  });
});

describe('ProbeManager: where network probes go', () => {
  const http8080 = { httpGet: { port: 'web', path: '/healthz' } };
  const ports = [{ name: 'web', containerPort: 8080 }];

  it('looks the pod IP up once per container start and resolves named ports', async () => {
    const { manager, podman, executors, to } = setup({}, { fakeExecutors: true });
    const { id: podId } = podman.addPod({ name: 'web' });
    manager.sync([
      targetOf('a', { podId, readinessProbe: http8080, ports }),
      targetOf('b', {
        podId,
        livenessProbe: { tcpSocket: { port: 9000 } },
        readinessProbe: { tcpSocket: { port: 9001 } },
      }),
    ]);
    await to(20);
    assert.equal(podman.callsOf('podAddress').length, 2, 'one per container start, shared by its probes');
    const ip = (await podman.podAddress(podId))?.ip;
    assert.match(ip ?? '', /^10\.89\.0\.\d+$/);
    assert.equal(executors.callsOf(`${ip}:8080`).length, 3);
    assert.equal((executors.callsOf(`${ip}:8080`)[0]?.args[0] as { path: string }).path, '/healthz');
    assert.equal(executors.callsOf(`${ip}:9000`).length, 3);
    assert.equal(executors.callsOf(`${ip}:9001`).length, 3);
    await manager.stop();
  });

  it('a pod started again with another IP is probed at the new one', async () => {
    const { manager, podman, executors, to, clock } = setup({}, { fakeExecutors: true });
    const { id: podId } = podman.addPod({ name: 'web' });
    podman.returnNext('podAddress', { ip: '10.88.0.3' });
    manager.sync([targetOf('a', { podId, livenessProbe: { tcpSocket: { port: 80 } } })]);
    await to(10);
    assert.equal(executors.callsOf('10.88.0.3:80').length, 2);
    // The pod was stopped and started: its container has a new start time, its infra a new IP.
    podman.returnNext('podAddress', { ip: '10.88.0.6' });
    manager.sync([targetOf('a', { podId, livenessProbe: { tcpSocket: { port: 80 } } }, clock.now())]);
    await to(20);
    assert.equal(executors.callsOf('10.88.0.3:80').length, 2, 'the old IP is never probed again');
    assert.equal(executors.callsOf('10.88.0.6:80').length, 2);
    await manager.stop();
  });

  // A reused pod IP whose host neighbour entry still named its earlier holder: probes timed out for 8.7 s (stale-neighbours.ts).
  it("clears the host's neighbour entry for the pod IP when it names another MAC, before the first probe", async () => {
    const { manager, podman, executors, to, neighbourTable, deletedNeighbours } = setup({}, { fakeExecutors: true });
    podman.returnNext('podAddress', { ip: '10.89.0.185', mac: 'C6:A0:00:6C:70:AB' });
    neighbourTable.text +=
      '10.89.0.185      0x1         0x2         76:bc:96:e3:d2:29     *        cni-podman1\n' +
      '10.89.0.186      0x1         0x2         11:22:33:44:55:66     *        cni-podman1\n';
    manager.sync([targetOf('a', { livenessProbe: { tcpSocket: { port: 80 } } })]);
    await to(0);
    assert.deepEqual(deletedNeighbours, [['10.89.0.185', 'cni-podman1']]);
    assert.equal(executors.callsOf('10.89.0.185:80').length, 1);
    await manager.stop();
  });

  it('uses 127.0.0.1 for host-network pods without asking podman', async () => {
    const { manager, podman, executors, to } = setup({}, { fakeExecutors: true });
    manager.sync([targetOf('a', { hostNetwork: true, livenessProbe: { tcpSocket: { port: 2381 } } })]);
    await to(0);
    assert.equal(podman.callsOf('podAddress').length, 0);
    assert.equal(executors.callsOf('127.0.0.1:2381').length, 1);
    await manager.stop();
  });

  it('retries a failed pod IP look-up at the next probe', async () => {
    const { manager, podman, to } = setup({}, { fakeExecutors: true });
    podman.failNext('podAddress', new Error('no such pod'));
    manager.sync([targetOf('a', { livenessProbe: { tcpSocket: { port: 80 } } })]);
    await to(0);
    assert.equal(manager.status(`${UNIT}/a`)?.liveness?.lastMessage, 'not probed: cannot find the pod IP: no such pod');
    assert.equal(manager.status(`${UNIT}/a`)?.liveness?.consecutiveFailures, 0);
    await to(10);
    assert.equal(podman.callsOf('podAddress').length, 2);
    assert.equal(manager.status(`${UNIT}/a`)?.liveness?.result, 'success');
    await manager.stop();
  });

  it('probes a real HTTP server on a host-network pod', async () => {
    const server = http.createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? 200 : 500;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const { manager } = setup();
    try {
      const key = `${UNIT}/a`;
      manager.sync([
        targetOf('a', {
          hostNetwork: true,
          readinessProbe: { httpGet: { port, path: '/healthz' } },
          livenessProbe: { httpGet: { port, path: '/other' }, failureThreshold: 1 },
        }),
      ]);
      for (
        let i = 0;
        i < 200 &&
        (manager.status(key)?.readiness?.result === 'unknown' || manager.status(key)?.liveness?.result === 'unknown');
        i += 1
      )
        await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(manager.status(key)?.ready, true);
      assert.equal(manager.status(key)?.liveness?.lastMessage, 'HTTP probe failed with statuscode: 500');
    } finally {
      await manager.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('ProbeManager: stop', () => {
  it('aborts in-flight probes, ends every loop and leaves nothing running', async () => {
    const { manager, podman, clock, to, execs, liveness } = setup();
    const gate = podman.hangNext('execInContainer');
    manager.sync([
      targetOf('app', { livenessProbe: LIVE }),
      targetOf('side', { readinessProbe: { exec: { command: ['ready'] }, initialDelaySeconds: 60 } }),
    ]);
    await gate.started;
    await to(5);
    await manager.stop();
    assert.equal(clock.pendingSleeps, 0);
    const count = execs().length;
    await to(300);
    assert.equal(execs().length, count);
    assert.deepEqual(liveness, []);
    manager.sync([targetOf('app', { livenessProbe: LIVE })]);
    await to(310);
    assert.equal(execs().length, count, 'sync after stop() is a no-op');
    assert.equal(manager.statuses().size, 0);
  });
});
