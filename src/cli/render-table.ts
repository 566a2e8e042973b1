import path from 'node:path';
import { printableData } from '../shared/printable.ts';
import type { PodStatus } from '../status/status-schema.ts';
import { colourStatus } from './render-colour.ts';
import { humanDuration, relative } from './render-duration.ts';
import { daemonLine, summaryLine, type StatusReport } from './render-report.ts';

export interface RenderOptions {
  now: number;
  colour: boolean;
}

interface Row {
  name: string;
  ready: string;
  status: string;
  restarts: string;
  age: string;
  source: string;
}

const HEADER: Row = {
  name: 'NAME',
  ready: 'READY',
  status: 'STATUS',
  restarts: 'RESTARTS',
  age: 'AGE',
  source: 'SOURCE',
};
const COLUMNS = ['name', 'ready', 'status', 'restarts', 'age', 'source'] as const;

/**
 * `runner status`: the header line (only when no live daemon), a table like
 * `kubectl get pods`, one note line per pod or file that needs explaining
 * (a MESSAGE column would not fit 80 columns), a summary and warnings.
 * Every string of the report is printed escaped (src/shared/printable.ts).
 */
export const renderTable = (input: StatusReport, options: RenderOptions): string => {
  const report = printableData(input);
  const lines: string[] = [];
  const fromPodman = report.observedBy === 'podman';
  if (report.daemon.state !== 'running') lines.push(daemonLine(report));
  const rows = report.pods.map((pod) => podRow(pod, options.now, fromPodman));
  const invalidRows = report.invalidManifests.map((item) => invalidRow(item.file, report.pods));
  const all = [...rows, ...invalidRows];
  if (all.length === 0) {
    lines.push(fromPodman ? `no pods from ${report.manifestDir} in podman` : `no pods in ${report.manifestDir}`);
  } else {
    const widths = Object.fromEntries(
      COLUMNS.map((column) => [column, Math.max(...[HEADER, ...all].map((row) => row[column].length))]),
    ) as Record<keyof Row, number>;
    const format = (row: Row, colour: boolean): string =>
      COLUMNS.map((column, index) => {
        const last = index === COLUMNS.length - 1;
        const text = last ? row[column] : row[column].padEnd(widths[column]);
        return column === 'status' && row !== HEADER ? colourStatus(row.status, text, colour) : text;
      })
        .join('   ')
        .trimEnd();
    lines.push(format(HEADER, false), ...all.map((row) => format(row, options.colour)));
  }
  const notes = [
    ...report.pods
      .filter((pod) => pod.message)
      .map((pod) => `${pod.name}: ${pod.message}${nextRestart(pod, options.now)}`),
    ...report.pods
      .filter((pod) => !pod.message && pod.status === 'Running' && pod.readyContainers < pod.totalContainers)
      .map((pod) => `${pod.name}: not ready: ${notReady(pod)}`),
    ...report.invalidManifests.map(
      (item) =>
        `${path.basename(item.file)}: ${shortProblem(item.file, item.problems[0] ?? 'invalid')}${item.problems.length > 1 ? ` (and ${item.problems.length - 1} more)` : ''}${stillRunning(item.file, report.pods)}`,
    ),
  ];
  if (notes.length > 0) lines.push('', ...notes.map((note) => `  ${note}`));
  lines.push('', summaryLine(report));
  if (report.daemon.podmanError) lines.push(`warning: podman is not answering: ${report.daemon.podmanError}`);
  if (report.daemon.stateError) lines.push(`warning: the runner cannot write its state: ${report.daemon.stateError}`);
  const loop = slowLoop(report);
  if (loop) lines.push(loop);
  return `${lines.join('\n')}\n`;
};

const podRow = (pod: PodStatus, now: number, fromPodman: boolean): Row => ({
  name: pod.name,
  ready: `${pod.readyContainers}/${pod.totalContainers}`,
  status: fromPodman ? (pod.podmanStatus ?? pod.status) : pod.status,
  restarts:
    pod.lastRestartAt !== undefined && pod.restarts > 0
      ? `${pod.restarts} (${humanDuration(now - pod.lastRestartAt)} ago)`
      : String(pod.restarts),
  age: pod.createdAt !== undefined ? humanDuration(now - pod.createdAt) : '-',
  source: path.basename(pod.source),
});

const invalidRow = (file: string, pods: PodStatus[]): Row => {
  const names = podsOf(file, pods);
  return {
    name: names.length > 0 ? names.join(',') : path.basename(file),
    ready: '-',
    status: 'Invalid',
    restarts: '-',
    age: '-',
    source: path.basename(file),
  };
};

const podsOf = (file: string, pods: PodStatus[]): string[] =>
  pods.filter((pod) => pod.source === file && pod.manifestProblems.length > 0).map((pod) => pod.name);

const stillRunning = (file: string, pods: PodStatus[]): string => {
  const running = pods.filter((pod) => pod.source === file && pod.podId !== undefined).map((pod) => pod.name);
  return running.length > 0 ? `; ${running.join(', ')} keeps running the last good spec` : '';
};

/** Problems are `file:line:col: …`; under a table whose SOURCE column already names the file, the directory is noise. */
const shortProblem = (file: string, problem: string): string => {
  if (!problem.startsWith(`${file}:`)) return problem;
  const rest = problem.slice(file.length + 1);
  return /^\d/.test(rest) ? `line ${rest}` : rest.trim();
};

/** `container app (readiness: HTTP probe failed with statuscode: 503)`. */
const notReady = (pod: PodStatus): string =>
  pod.containers
    .filter((container) => !container.ready)
    .map((container) => {
      const probe =
        container.probes.readiness?.result === 'failure'
          ? container.probes.readiness
          : container.probes.startup?.result !== 'success'
            ? container.probes.startup
            : undefined;
      const why = probe
        ? ` (${probe === container.probes.readiness ? 'readiness' : 'startup'}: ${probe.lastMessage ?? probe.result})`
        : container.state !== 'running'
          ? ` (${container.state})`
          : '';
      return `container ${container.name}${why}`;
    })
    .join(', ');

/** The daemon's message has no countdown (it may be read long after it was written); the reader adds it from nextRestartAt. */
const nextRestart = (pod: PodStatus, now: number): string => {
  const next = Math.min(...pod.containers.map((container) => container.nextRestartAt ?? Number.POSITIVE_INFINITY));
  return Number.isFinite(next) ? `; next restart ${next > now ? relative(next, now) : 'due now'}` : '';
};

/**
 * Worst event-loop delays from here on are shown: twice the 50 ms the runner
 * aims for (issue 12), since a GC pause on a loaded 2-core box can reach the
 * goal itself. At this size an exec probe of 1 s loses a tenth of its time.
 */
export const SLOW_LOOP_MS = 100;

/** The warning line about a slow event loop of a live daemon, or undefined; `runner status POD` prints it too. */
export const slowLoop = (report: StatusReport): string | undefined => {
  const loop = report.daemon.state === 'running' ? report.daemon.eventLoop : undefined;
  if (!loop || loop.maxDelayMs < SLOW_LOOP_MS) return undefined;
  return `warning: the runner's event loop was blocked for up to ${formatMs(loop.maxDelayMs)} in the last ${Math.round(loop.windowSeconds)} s (99th percentile ${formatMs(loop.p99DelayMs)}; worst since start ${formatMs(loop.maxDelaySinceStartMs)}); probes and restarts wait that long`;
};

const formatMs = (ms: number): string => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`);
