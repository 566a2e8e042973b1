import { POD_STATUSES, type StatusDocument } from './status-schema.ts';
import { compareText } from '../shared/compare-text.ts';

/**
 * The status document in Prometheus text exposition format 0.0.4, for
 * node_exporter's textfile collector (the daemon writes it atomically to the
 * configured path) or the optional loopback listener. Pure.
 *
 * Note for the textfile collector: it rejects files with timestamps, so none
 * are written; `runner_last_reconcile_timestamp_seconds` is a plain gauge.
 */
export const renderPrometheus = (doc: StatusDocument): string => {
  const out: string[] = [];
  const metric = (
    name: string,
    type: 'gauge' | 'counter',
    help: string,
    samples: [Record<string, string>, number][],
  ): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
  };
  metric(
    'runner_up',
    'gauge',
    'Whether the runner daemon wrote these metrics (always 1; a stale file is detected by node_exporter file mtime).',
    [[{}, 1]],
  );
  metric(
    'runner_pods',
    'gauge',
    'Pods from the manifest directory, by status as runner status shows it.',
    POD_STATUSES.map((status) => [{ status }, doc.pods.filter((pod) => pod.status === status).length]),
  );
  metric('runner_pods_ready', 'gauge', 'Pods whose containers are all ready.', [
    [{}, doc.pods.filter((pod) => pod.totalContainers > 0 && pod.readyContainers === pod.totalContainers).length],
  ]);
  metric(
    'runner_container_restarts_total',
    'counter',
    'Restarts the runner made of a container (kept across runner restarts; reset when the pod is replaced).',
    doc.pods.flatMap((pod) =>
      pod.containers.map((container): [Record<string, string>, number] => [
        { pod: pod.name, container: container.name },
        container.restartCount,
      ]),
    ),
  );
  metric(
    'runner_probe_failures_total',
    'counter',
    'Failed probe attempts since the daemon started, by probe kind.',
    Object.entries(doc.counters.probeFailures)
      .sort(([a], [b]) => compareText(a, b))
      .map(([probe, count]) => [{ probe }, count]),
  );
  metric('runner_manifests_invalid', 'gauge', 'Manifest files that cannot be applied.', [
    [{}, doc.invalidManifests.length],
  ]);
  if (doc.daemon.lastReconcileAt !== undefined) {
    metric(
      'runner_last_reconcile_timestamp_seconds',
      'gauge',
      "Unix time of the last reconcile pass that listed podman's pods.",
      [[{}, doc.daemon.lastReconcileAt / 1000]],
    );
  }
  metric('runner_podman_up', 'gauge', 'Whether podman answers (0 while it hangs or fails).', [
    [{}, doc.daemon.podmanError === undefined ? 1 : 0],
  ]);
  const loop = doc.daemon.eventLoop;
  if (loop) {
    // Seconds, the base unit (Prometheus naming conventions); the status file keeps ms.
    metric(
      'runner_event_loop_delay_max_seconds',
      'gauge',
      'Worst event-loop delay of the runner over the last runner_event_loop_window_seconds.',
      [[{}, loop.maxDelayMs / 1000]],
    );
    metric(
      'runner_event_loop_delay_p99_seconds',
      'gauge',
      "99th percentile of the runner's event-loop delay over the last runner_event_loop_window_seconds.",
      [[{}, loop.p99DelayMs / 1000]],
    );
    metric(
      'runner_event_loop_delay_max_since_start_seconds',
      'gauge',
      'Worst event-loop delay of the runner since it started.',
      [[{}, loop.maxDelaySinceStartMs / 1000]],
    );
    metric('runner_event_loop_window_seconds', 'gauge', 'How many seconds the event-loop delay window covers.', [
      [{}, loop.windowSeconds],
    ]);
  }
  return `${out.join('\n')}\n`;
};

/** Label values escape backslash, double quote and newline (exposition format). */
export const escapeLabelValue = (value: string): string =>
  value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

const formatLabels = (labels: Record<string, string>): string => {
  const entries = Object.entries(labels);
  return entries.length === 0
    ? ''
    : `{${entries.map(([key, value]) => `${key}="${escapeLabelValue(value)}"`).join(',')}}`;
};

const formatValue = (value: number): string =>
  Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
