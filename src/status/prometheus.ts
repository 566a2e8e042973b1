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
  const metrics = [...podMetrics(doc), ...daemonMetrics(doc), ...loopMetrics(doc)];
  const out = metrics.flatMap(({ name, type, help, samples }) => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} ${type}`,
    ...samples.map(([labels, value]) => `${name}${formatLabels(labels)} ${formatValue(value)}`),
  ]);
  return `${out.join('\n')}\n`;
};

interface Metric {
  name: string;
  type: 'gauge' | 'counter';
  help: string;
  samples: [Record<string, string>, number][];
}

/** A metric of one sample without labels. */
const single = (name: string, help: string, value: number): Metric => ({
  name,
  type: 'gauge',
  help,
  samples: [[{}, value]],
});

const podMetrics = (doc: StatusDocument): Metric[] => [
  single(
    'runner_up',
    'Whether the runner daemon wrote these metrics (always 1; a stale file is detected by node_exporter file mtime).',
    1,
  ),
  {
    name: 'runner_pods',
    type: 'gauge',
    help: 'Pods from the manifest directory, by status as runner status shows it.',
    samples: POD_STATUSES.map((status) => [{ status }, doc.pods.filter((pod) => pod.status === status).length]),
  },
  single(
    'runner_pods_ready',
    'Pods whose containers are all ready.',
    doc.pods.filter((pod) => pod.totalContainers > 0 && pod.readyContainers === pod.totalContainers).length,
  ),
  {
    name: 'runner_container_restarts_total',
    type: 'counter',
    help: 'Restarts the runner made of a container (kept across runner restarts; reset when the pod is replaced).',
    samples: doc.pods.flatMap((pod) =>
      pod.containers.map((container): [Record<string, string>, number] => [
        { pod: pod.name, container: container.name },
        container.restartCount,
      ]),
    ),
  },
];

const daemonMetrics = (doc: StatusDocument): Metric[] => [
  {
    name: 'runner_probe_failures_total',
    type: 'counter',
    help: 'Failed probe attempts since the daemon started, by probe kind.',
    samples: Object.entries(doc.counters.probeFailures)
      .sort(([a], [b]) => compareText(a, b))
      .map(([probe, count]) => [{ probe }, count]),
  },
  single('runner_manifests_invalid', 'Manifest files that cannot be applied.', doc.invalidManifests.length),
  ...(doc.daemon.lastReconcileAt === undefined
    ? []
    : [
        single(
          'runner_last_reconcile_timestamp_seconds',
          "Unix time of the last reconcile pass that listed podman's pods.",
          doc.daemon.lastReconcileAt / 1000,
        ),
      ]),
  single(
    'runner_podman_up',
    'Whether podman answers (0 while it hangs or fails).',
    doc.daemon.podmanError === undefined ? 1 : 0,
  ),
];

/** Seconds, the base unit (Prometheus naming conventions); the status file keeps ms. */
const loopMetrics = (doc: StatusDocument): Metric[] => {
  const loop = doc.daemon.eventLoop;
  if (!loop) return [];
  return [
    single(
      'runner_event_loop_delay_max_seconds',
      'Worst event-loop delay of the runner over the last runner_event_loop_window_seconds.',
      loop.maxDelayMs / 1000,
    ),
    single(
      'runner_event_loop_delay_p99_seconds',
      "99th percentile of the runner's event-loop delay over the last runner_event_loop_window_seconds.",
      loop.p99DelayMs / 1000,
    ),
    single(
      'runner_event_loop_delay_max_since_start_seconds',
      'Worst event-loop delay of the runner since it started.',
      loop.maxDelaySinceStartMs / 1000,
    ),
    single(
      'runner_event_loop_window_seconds',
      'How many seconds the event-loop delay window covers.',
      loop.windowSeconds,
    ),
  ];
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
