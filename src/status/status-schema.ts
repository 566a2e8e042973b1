import * as v from 'valibot';

/**
 * The status document: what `runner status` (and `--json`) shows, as the
 * daemon writes it to `<stateDir>/status.json`. Versioned by `apiVersion`;
 * a field may be added within a version, never removed or changed in meaning.
 * docs/status.md documents every field.
 */
export const STATUS_API_VERSION = 'static-pod-runner/v1';

export const POD_STATUSES = [
  'Running',
  'Pending',
  'ContainerCreating',
  'CrashLoopBackOff',
  'Error',
  'ImageMissing',
  'Invalid',
  'Completed',
  'Failed',
  'Terminating',
  'Conflict',
  'Unknown',
] as const;
export type PodStatusName = (typeof POD_STATUSES)[number];

const probeStateSchema = v.object({
  result: v.picklist(['success', 'failure', 'unknown']),
  consecutiveFailures: v.number(),
  consecutiveSuccesses: v.number(),
  lastMessage: v.optional(v.string()),
  /** Unix ms. */
  lastProbeAt: v.optional(v.number()),
});

const restartEventSchema = v.object({
  at: v.number(),
  reason: v.string(),
  exitCode: v.optional(v.number()),
});

export const containerStatusSchema = v.object({
  name: v.string(),
  id: v.optional(v.string()),
  image: v.string(),
  /** podman's container state (running, exited, created, …) or `missing`. */
  state: v.string(),
  ready: v.boolean(),
  exitCode: v.optional(v.number()),
  /** Unix ms. */
  startedAt: v.optional(v.number()),
  restartCount: v.number(),
  lastReason: v.optional(v.string()),
  lastExitCode: v.optional(v.number()),
  lastRestartAt: v.optional(v.number()),
  /** Set while backing off: when the supervisor will start it again. */
  nextRestartAt: v.optional(v.number()),
  recentRestarts: v.array(restartEventSchema),
  probes: v.object({
    liveness: v.optional(probeStateSchema),
    readiness: v.optional(probeStateSchema),
    startup: v.optional(probeStateSchema),
  }),
});

export const podStatusSchema = v.object({
  /** metadata.name in the manifest (for a Deployment, the Deployment's name). */
  name: v.string(),
  /** `Kind/name`. */
  unit: v.string(),
  /** The manifest file. */
  source: v.string(),
  /** Spec hash of what runs (or would run). */
  hash: v.optional(v.string()),
  status: v.picklist(POD_STATUSES),
  /** One line explaining a status other than Running/Completed. */
  message: v.optional(v.string()),
  podId: v.optional(v.string()),
  podName: v.optional(v.string()),
  /** podman's pod status (Running, Degraded, Exited, …). */
  podmanStatus: v.optional(v.string()),
  restartPolicy: v.string(),
  readyContainers: v.number(),
  totalContainers: v.number(),
  restarts: v.number(),
  lastRestartAt: v.optional(v.number()),
  /** Unix ms the pod was created by podman. */
  createdAt: v.optional(v.number()),
  /** The file's current content cannot be applied; the pod (if any) runs its last good spec. */
  manifestProblems: v.array(v.string()),
  containers: v.array(containerStatusSchema),
});

export const statusSchema = v.object({
  apiVersion: v.literal(STATUS_API_VERSION),
  kind: v.literal('Status'),
  daemon: v.object({
    pid: v.number(),
    /** /proc/sys/kernel/random/boot_id when written: a reboot makes the file stale. */
    bootId: v.string(),
    version: v.string(),
    startedAt: v.number(),
    /** Unix ms of the last write; the daemon rewrites at least every heartbeatSeconds. */
    updatedAt: v.number(),
    heartbeatSeconds: v.number(),
    podmanVersion: v.optional(v.string()),
    /** Set while podman does not answer (hangs, fails). */
    podmanError: v.optional(v.string()),
    /** Set when the state directory cannot be written (read-only, full). */
    stateError: v.optional(v.string()),
    /** Unix ms of the last reconcile pass that listed podman's pods. */
    lastReconcileAt: v.optional(v.number()),
    /** How late the daemon's event loop ran (src/shared/loop-delay.ts); absent in files of older runners. */
    eventLoop: v.optional(
      v.object({
        windowSeconds: v.number(),
        maxDelayMs: v.number(),
        p99DelayMs: v.number(),
        maxDelaySinceStartMs: v.number(),
      }),
    ),
  }),
  manifestDir: v.string(),
  pods: v.array(podStatusSchema),
  /** Manifest files that cannot be applied, with every problem (`file:line:col: field: message`). */
  invalidManifests: v.array(v.object({ file: v.string(), problems: v.array(v.string()) })),
  counters: v.object({
    probeFailures: v.record(v.string(), v.number()),
  }),
});

export type StatusDocument = v.InferOutput<typeof statusSchema>;
export type PodStatus = v.InferOutput<typeof podStatusSchema>;
export type ContainerStatus = v.InferOutput<typeof containerStatusSchema>;
export type ProbeStateView = v.InferOutput<typeof probeStateSchema>;
