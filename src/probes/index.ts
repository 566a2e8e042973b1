export { createProbeExecutors, type HttpProbeRequest, type ProbeExecutors, type ProbeResult } from './probe-executors.ts';
export { ProbeManager, type ProbeCounts, type ProbeManagerOptions, type ProbeTarget } from './probe-manager.ts';
export { containerProbeChecks, normalizeProbe, probeSchema, PROBE_KINDS, type ContainerPortRef, type ProbeHandler, type ProbeKind, type ProbeSpec } from './probe-schema.ts';
export type { ContainerProbeStatus, ProbeState } from './probe-state.ts';
