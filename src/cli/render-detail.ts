import { printable, printableData } from '../shared/printable.ts';
import type { RunnerEvent } from '../shared/event-sink.ts';
import type { ContainerStatus, PodStatus, ProbeStateView } from '../status/status-schema.ts';
import { colourStatus } from './render-colour.ts';
import { formatTimestamp, humanDuration, relative } from './render-duration.ts';
import { daemonLine, type StatusReport } from './render-report.ts';
import { formatEvent } from './render-events.ts';
import { slowLoop } from './render-table.ts';

export interface DetailOptions {
  now: number;
  colour: boolean;
  timeZone?: 'local' | 'UTC';
  /** Recent events about this pod, oldest first; the last `EVENT_LINES` are shown. */
  events: RunnerEvent[];
}

export const EVENT_LINES = 10;

/**
 * `runner status POD`: everything known about one pod, in the order an
 * operator asks: what is it doing, where does it come from, each container,
 * what happened lately. For a file that cannot be applied, every problem in
 * the shared `file:line:col: field: message` form (as `runner validate`).
 * Every string from the report is printed escaped (src/shared/printable.ts).
 */
export const renderDetail = (
  input: StatusReport,
  podInput: PodStatus | undefined,
  problemsInput: string[],
  options: DetailOptions,
): string => {
  const report = printableData(input);
  const pod = printableData(podInput);
  const problems = problemsInput.map(printable);
  const lines: string[] = [];
  const field = (name: string, value: string, indent = ''): void => {
    lines.push(`${indent}${`${name}:`.padEnd(indent ? 16 : 18)}${value}`);
  };
  const at = (ms: number): string => `${formatTimestamp(ms, options.timeZone)} (${relative(ms, options.now)})`;
  if (report.daemon.state !== 'running') lines.push(daemonLine(report), '');
  if (pod) {
    const status = report.observedBy === 'podman' ? (pod.podmanStatus ?? pod.status) : pod.status;
    field('Name', pod.name);
    field('Unit', pod.unit);
    field('Status', colourStatus(status, status, options.colour));
    if (pod.message) field('Message', pod.message);
    field('Ready', `${pod.readyContainers}/${pod.totalContainers}`);
    field(
      'Restarts',
      pod.lastRestartAt !== undefined && pod.restarts > 0
        ? `${pod.restarts} (last ${relative(pod.lastRestartAt, options.now)})`
        : String(pod.restarts),
    );
    field('Source', pod.source);
    if (pod.hash) field('Spec hash', pod.hash);
    if (pod.restartPolicy) field('Restart policy', pod.restartPolicy);
    field(
      'Podman pod',
      pod.podId
        ? `${pod.podName ?? pod.name} (${pod.podId.slice(0, 12)}), ${pod.podmanStatus ?? 'status unknown'}`
        : 'none',
    );
    if (pod.createdAt !== undefined) field('Created', at(pod.createdAt));
    lines.push('Containers:');
    for (const container of pod.containers) lines.push(...containerLines(container, options.now, at));
  }
  const invalidFile = report.invalidManifests[0]?.file;
  if (!pod && invalidFile) {
    field('File', invalidFile);
    field('Status', colourStatus('Invalid', 'Invalid', options.colour));
  }
  if (problems.length > 0) {
    const running = pod?.podId ? ' (the pod keeps running its last good spec)' : '';
    lines.push(`Manifest problems${running}:`, ...problems.map((problem) => `  ${problem}`));
  }
  const events = options.events.slice(-EVENT_LINES);
  lines.push(
    events.length > 0 ? 'Events:' : 'Events:           <none>',
    ...events.map((event) => `  ${formatEvent(event, options.timeZone)}`),
  );
  const loop = slowLoop(report);
  if (loop) lines.push('', loop);
  return `${lines.join('\n')}\n`;
};

const containerLines = (container: ContainerStatus, now: number, at: (ms: number) => string): string[] => {
  const lines: string[] = [`  ${container.name}:`];
  const field = (name: string, value: string): void => {
    lines.push(`    ${`${name}:`.padEnd(16)}${value}`);
  };
  field('Image', container.image || '<unknown>');
  if (container.id) field('Container ID', container.id.slice(0, 12));
  field(
    'State',
    `${container.state}${container.state !== 'running' && container.exitCode !== undefined ? ` (exit code ${container.exitCode})` : ''}`,
  );
  if (container.startedAt !== undefined) field('Started', at(container.startedAt));
  field('Ready', String(container.ready));
  field('Restarts', String(container.restartCount));
  if (container.lastRestartAt !== undefined || container.lastReason) {
    const parts = [
      container.lastReason,
      container.lastExitCode !== undefined ? `exit code ${container.lastExitCode}` : undefined,
    ].filter(Boolean);
    field(
      'Last restart',
      `${container.lastRestartAt !== undefined ? relative(container.lastRestartAt, now) : 'time unknown'}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`,
    );
  }
  if (container.nextRestartAt !== undefined)
    field('Next restart', `${relative(container.nextRestartAt, now)} (backing off)`);
  for (const kind of ['startup', 'liveness', 'readiness'] as const) {
    const probe = container.probes[kind];
    if (probe) field(`${kind[0]!.toUpperCase()}${kind.slice(1)}`, probeText(probe, now));
  }
  if (container.recentRestarts.length > 0) {
    lines.push('    Recent restarts:');
    for (const restart of container.recentRestarts) {
      lines.push(
        `      ${humanDuration(now - restart.at).padStart(6)} ago  ${restart.reason}${restart.exitCode !== undefined ? ` (exit code ${restart.exitCode})` : ''}`,
      );
    }
  }
  return lines;
};

const probeText = (probe: ProbeStateView, now: number): string => {
  const streak =
    probe.result === 'failure'
      ? ` (${probe.consecutiveFailures} in a row)`
      : probe.result === 'success'
        ? ` (${probe.consecutiveSuccesses} in a row)`
        : '';
  const when = probe.lastProbeAt !== undefined ? `, last ${relative(probe.lastProbeAt, now)}` : '';
  return `${probe.result}${streak}${when}${probe.lastMessage ? `: ${probe.lastMessage}` : ''}`;
};
