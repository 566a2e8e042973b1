export {
  createProbeExecutors,
  type HttpProbeRequest,
  type ProbeExecutors,
  type ProbeResult,
} from './probe-executors.ts';
export { ProbeManager, type ProbeCounts, type ProbeManagerOptions, type ProbeTarget } from './probe-manager.ts';
export type { ContainerProbeStatus, ProbeState } from './probe-state.ts';
