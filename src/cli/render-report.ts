import * as v from 'valibot';
import {
  POD_STATUSES,
  podStatusSchema,
  STATUS_API_VERSION,
  statusSchema,
  type PodStatus,
  type PodStatusName,
  type StatusDocument,
} from '../status/status-schema.ts';

/** Exit codes of `runner status`, for monitoring checks (docs/status.md). */
export const EXIT_HEALTHY = 0;
export const EXIT_DEGRADED = 1;
export const EXIT_NOT_RUNNING = 3;

export const DAEMON_STATES = ['running', 'stale', 'absent'] as const;

const countsSchema = v.object(
  Object.fromEntries(POD_STATUSES.map((status) => [status, v.number()])) as Record<
    PodStatusName,
    v.NumberSchema<undefined>
  >,
);

/**
 * `runner status --json`: the status document as the CLI judged it. Same
 * apiVersion as the status file; fields may be added within a version, never
 * removed or changed in meaning. docs/status.md documents every field.
 */
export const statusReportSchema = v.object({
  apiVersion: v.literal(STATUS_API_VERSION),
  kind: v.literal('StatusReport'),
  daemon: v.object({
    /** running: a live daemon wrote the status; stale: a dead or hung one did; absent: no readable status file. */
    state: v.picklist(DAEMON_STATES),
    /** Why the daemon is not `running`. */
    reason: v.optional(v.string()),
    ...v.partial(statusSchema.entries.daemon).entries,
  }),
  /** `daemon`: from the status file; `podman`: no live daemon, so straight from podman's pod list. */
  observedBy: v.picklist(['daemon', 'podman']),
  manifestDir: v.string(),
  pods: v.array(podStatusSchema),
  invalidManifests: statusSchema.entries.invalidManifests,
  summary: v.object({
    pods: v.number(),
    /** Pods with every container ready (Completed pods count as ready). */
    ready: v.number(),
    notReady: v.number(),
    byStatus: countsSchema,
    invalidManifests: v.number(),
    /** The exit code `runner status` returns for this report. */
    exitCode: v.picklist([EXIT_HEALTHY, EXIT_DEGRADED, EXIT_NOT_RUNNING]),
  }),
});

export type StatusReport = v.InferOutput<typeof statusReportSchema>;

export interface ReportInput {
  daemon: { state: (typeof DAEMON_STATES)[number]; reason?: string; doc?: Partial<StatusDocument['daemon']> };
  observedBy: 'daemon' | 'podman';
  manifestDir: string;
  pods: PodStatus[];
  invalidManifests: StatusDocument['invalidManifests'];
}

export const isPodReady = (pod: PodStatus): boolean =>
  pod.status === 'Completed' || (pod.status === 'Running' && pod.readyContainers === pod.totalContainers);

/** Healthy: what the manifest asks for runs (or has completed), every container is ready, and its file is valid. */
export const isPodHealthy = (pod: PodStatus): boolean => isPodReady(pod) && pod.manifestProblems.length === 0;

export const buildReport = (input: ReportInput): StatusReport => {
  const byStatus = Object.fromEntries(POD_STATUSES.map((status) => [status, 0])) as Record<PodStatusName, number>;
  for (const pod of input.pods) byStatus[pod.status] += 1;
  const ready = input.pods.filter(isPodReady).length;
  const daemonTrouble = input.daemon.doc?.podmanError !== undefined || input.daemon.doc?.stateError !== undefined;
  const healthy = input.pods.every(isPodHealthy) && input.invalidManifests.length === 0 && !daemonTrouble;
  const exitCode = input.daemon.state !== 'running' ? EXIT_NOT_RUNNING : healthy ? EXIT_HEALTHY : EXIT_DEGRADED;
  return {
    apiVersion: STATUS_API_VERSION,
    kind: 'StatusReport',
    daemon: {
      state: input.daemon.state,
      ...(input.daemon.reason ? { reason: input.daemon.reason } : {}),
      ...input.daemon.doc,
    },
    observedBy: input.observedBy,
    manifestDir: input.manifestDir,
    pods: input.pods,
    invalidManifests: input.invalidManifests,
    summary: {
      pods: input.pods.length,
      ready,
      notReady: input.pods.length - ready,
      byStatus,
      invalidManifests: input.invalidManifests.length,
      exitCode,
    },
  };
};

/** Narrows a report to one pod (and its file's problems): `runner status POD`'s exit code is about that pod. */
export const reportForPod = (report: StatusReport, pods: PodStatus[], files: Set<string>): StatusReport =>
  buildReport({
    daemon: { state: report.daemon.state, reason: report.daemon.reason, doc: withoutStateAndReason(report.daemon) },
    observedBy: report.observedBy,
    manifestDir: report.manifestDir,
    pods,
    invalidManifests: report.invalidManifests.filter((item) => files.has(item.file)),
  });

const withoutStateAndReason = ({
  state: _state,
  reason: _reason,
  ...rest
}: StatusReport['daemon']): Partial<StatusDocument['daemon']> => rest;

const STATUS_WORDS: Record<PodStatusName, string> = {
  Running: 'running',
  Pending: 'pending',
  ContainerCreating: 'creating',
  CrashLoopBackOff: 'crash-looping',
  Error: 'in error',
  ImageMissing: 'missing an image',
  Invalid: 'invalid',
  Completed: 'completed',
  Failed: 'failed',
  Terminating: 'terminating',
  Conflict: 'in conflict',
  Unknown: 'unknown',
};

/** `4 pods: 3 running (1 not ready), 1 crash-looping; 1 manifest invalid`. */
export const summaryLine = (report: StatusReport): string => {
  const { summary } = report;
  const parts = POD_STATUSES.filter((status) => summary.byStatus[status] > 0).map((status) => {
    const count = summary.byStatus[status];
    const notReady =
      status === 'Running' ? report.pods.filter((pod) => pod.status === 'Running' && !isPodReady(pod)).length : 0;
    return `${count} ${STATUS_WORDS[status]}${notReady > 0 ? ` (${notReady} not ready)` : ''}`;
  });
  const head = `${summary.pods} ${summary.pods === 1 ? 'pod' : 'pods'}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
  const invalid =
    summary.invalidManifests > 0
      ? `; ${summary.invalidManifests} ${summary.invalidManifests === 1 ? 'manifest' : 'manifests'} invalid`
      : '';
  return `${head}${invalid}`;
};

/** The first line when the daemon is not live: plain words first, then the reason. */
export const daemonLine = (report: StatusReport): string => {
  const tail = report.observedBy === 'podman' ? '; showing what podman reports' : '';
  return `runner is not running (${report.daemon.reason ?? report.daemon.state})${tail}`;
};
