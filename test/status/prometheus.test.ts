import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseLoopbackListen } from '../../src/status/metrics-listen.ts';
import { startMetricsServer } from '../../src/status/metrics-server.ts';
import { escapeLabelValue, renderPrometheus } from '../../src/status/prometheus.ts';
import { POD_STATUSES } from '../../src/status/status-schema.ts';
import { loadStatusFixture } from './status-fixtures.ts';

interface Family {
  help?: string;
  type?: string;
  samples: { labels: Record<string, string>; value: number }[];
}

/** A strict little parser for the text format: every line is HELP, TYPE or a sample of the family declared last. */
const parse = (text: string): Map<string, Family> => {
  const families = new Map<string, Family>();
  let current = '';
  assert.ok(text.endsWith('\n'));
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) ([a-z_:][a-z0-9_:]*) (.+)$/.exec(line);
    if (meta) {
      current = meta[2]!;
      const family = families.get(current) ?? { samples: [] };
      if (meta[1] === 'HELP') family.help = meta[3];
      else family.type = meta[3];
      families.set(current, family);
      continue;
    }
    const sample = /^([a-z_:][a-z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(sample, `not a sample line: ${line}`);
    assert.equal(sample[1], current, `sample ${line} outside its family`);
    const labels: Record<string, string> = {};
    for (const match of (sample[2] ?? '').matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g))
      labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    families.get(current)!.samples.push({ labels, value: Number(sample[3]) });
  }
  return families;
};

describe('renderPrometheus', () => {
  it('every family has HELP and TYPE; pods by status with zeros; restarts, probes, invalid manifests, reconcile time, podman up', () => {
    const doc = loadStatusFixture('mixed');
    const families = parse(renderPrometheus(doc));
    for (const [name, family] of families) {
      assert.ok(family.help && family.type, `${name} has HELP and TYPE`);
      if (family.type === 'counter') assert.ok(name.endsWith('_total'));
    }
    assert.deepEqual(families.get('runner_up')!.samples, [{ labels: {}, value: 1 }]);
    const pods = families.get('runner_pods')!.samples;
    assert.equal(pods.length, POD_STATUSES.length);
    assert.deepEqual(Object.fromEntries(pods.filter((s) => s.value > 0).map((s) => [s.labels.status, s.value])), {
      Running: 3,
      CrashLoopBackOff: 1,
      ImageMissing: 1,
      Completed: 1,
    });
    assert.equal(pods.find((s) => s.labels.status === 'Invalid')!.value, 0);
    assert.deepEqual(
      families.get('runner_container_restarts_total')!.samples.find((s) => s.labels.pod === 'worker'),
      { labels: { pod: 'worker', container: 'main' }, value: 4 },
    );
    assert.equal(families.get('runner_container_restarts_total')!.type, 'counter');
    assert.deepEqual(families.get('runner_probe_failures_total')!.samples, [
      { labels: { probe: 'liveness' }, value: 7 },
      { labels: { probe: 'readiness' }, value: 31 },
    ]);
    assert.equal(families.get('runner_manifests_invalid')!.samples[0]!.value, 2);
    assert.equal(
      families.get('runner_last_reconcile_timestamp_seconds')!.samples[0]!.value,
      doc.daemon.lastReconcileAt! / 1000,
    );
    assert.equal(families.get('runner_podman_up')!.samples[0]!.value, 1);
  });

  it('podman down is 0; label values are escaped', () => {
    const doc = loadStatusFixture('healthy');
    doc.daemon.podmanError = 'hung';
    doc.pods[0]!.name = 'we"ird\\pod\nname';
    const text = renderPrometheus(doc);
    const families = parse(text);
    assert.equal(families.get('runner_podman_up')!.samples[0]!.value, 0);
    assert.ok(text.includes('pod="we\\"ird\\\\pod\\nname"'));
    assert.equal(families.get('runner_container_restarts_total')!.samples[0]!.labels.pod, 'we"ird\\pod\nname');
    assert.equal(escapeLabelValue('a"b'), 'a\\"b');
  });
});

describe('renderPrometheus: event-loop delay', () => {
  it("gauges in seconds when the daemon reports its event loop; none from an older runner's file", () => {
    const doc = loadStatusFixture('healthy');
    assert.ok(![...parse(renderPrometheus(doc)).keys()].some((name) => name.includes('event_loop')));
    doc.daemon.eventLoop = { windowSeconds: 64.5, maxDelayMs: 250, p99DelayMs: 1.5, maxDelaySinceStartMs: 4000 };
    const families = parse(renderPrometheus(doc));
    const value = (name: string): number | undefined => {
      const family = families.get(name);
      assert.equal(family?.type, 'gauge', name);
      return family?.samples[0]?.value;
    };
    assert.equal(value('runner_event_loop_delay_max_seconds'), 0.25);
    assert.equal(value('runner_event_loop_delay_p99_seconds'), 0.0015);
    assert.equal(value('runner_event_loop_delay_max_since_start_seconds'), 4);
    assert.equal(value('runner_event_loop_window_seconds'), 64.5);
  });
});

describe('metrics server', () => {
  it('refuses anything but loopback, before binding', () => {
    for (const bad of [
      '0.0.0.0:9464',
      '192.168.1.10:9464',
      '[::]:9464',
      'example.com:9464',
      '9464',
      '127.0.0.1:99999',
    ]) {
      assert.throws(() => parseLoopbackListen(bad), /loopback|HOST:PORT|at most 65535/, bad);
    }
    assert.deepEqual(parseLoopbackListen('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(parseLoopbackListen('[::1]:9464'), { host: '::1', port: 9464 });
    assert.deepEqual(parseLoopbackListen('localhost:9464'), { host: '127.0.0.1', port: 9464 });
  });

  it('serves /metrics on 127.0.0.1 and closes on abort', async () => {
    const controller = new AbortController();
    const server = await startMetricsServer({
      listen: '127.0.0.1:0',
      render: () => renderPrometheus(loadStatusFixture('healthy')),
      signal: controller.signal,
    });
    try {
      const response = await fetch(`http://127.0.0.1:${server.address.port}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
      assert.match(await response.text(), /^runner_up 1$/m);
      assert.equal((await fetch(`http://127.0.0.1:${server.address.port}/nope`)).status, 404);
    } finally {
      controller.abort();
      await server.closed;
    }
    await assert.rejects(
      startMetricsServer({ listen: '0.0.0.0:0', render: () => '', signal: controller.signal }),
      /loopback/,
    );
  });
});
