import type { ProbeResult } from './probe-executors.ts';
import type { ProbeKind } from '../manifest/probe-schema.ts';

/** What one probe of one container has seen so far, for status output. */
export interface ProbeState {
  /** The thresholded result, as the kubelet reports it: it flips only after `successThreshold` / `failureThreshold` results in a row. */
  result: 'success' | 'failure' | 'unknown';
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  lastMessage?: string;
  /** Unix ms of the last result. */
  lastProbeAt?: number;
}

/** Probe status of one container. */
export interface ContainerProbeStatus {
  /** Running, and its startup probe (if any) has succeeded: the kubelet's `started`. */
  started: boolean;
  /** Started, and its readiness probe (if any) has reached `success`. */
  ready: boolean;
  liveness?: ProbeState;
  readiness?: ProbeState;
  startup?: ProbeState;
}

export interface Thresholds {
  successThreshold: number;
  failureThreshold: number;
}

export const initialProbeState = (): ProbeState => ({
  result: 'unknown',
  consecutiveFailures: 0,
  consecutiveSuccesses: 0,
});

export interface Recorded {
  state: ProbeState;
  /** This failure starts a streak (the one to log). */
  streakStarted: boolean;
  /** This failure is the `failureThreshold`-th in a row: exactly once per streak. */
  thresholdReached: boolean;
}

/** Applies one probe result to a state (pure). */
export const recordProbeResult = (
  state: ProbeState,
  outcome: ProbeResult,
  at: number,
  thresholds: Thresholds,
): Recorded => {
  const consecutiveSuccesses = outcome.ok ? state.consecutiveSuccesses + 1 : 0;
  const consecutiveFailures = outcome.ok ? 0 : state.consecutiveFailures + 1;
  let result = state.result;
  if (outcome.ok && consecutiveSuccesses >= thresholds.successThreshold) result = 'success';
  if (!outcome.ok && consecutiveFailures >= thresholds.failureThreshold) result = 'failure';
  return {
    state: { result, consecutiveFailures, consecutiveSuccesses, lastMessage: outcome.message, lastProbeAt: at },
    streakStarted: !outcome.ok && consecutiveFailures === 1,
    thresholdReached: !outcome.ok && consecutiveFailures === thresholds.failureThreshold,
  };
};

/** `started` and `ready` from the probe states; a probe the container does not have is absent. */
export const containerStatus = (
  states: Partial<Record<ProbeKind, ProbeState>>,
  startupSucceeded: boolean,
): ContainerProbeStatus => {
  const started = startupSucceeded;
  const ready = started && (states.readiness === undefined || states.readiness.result === 'success');
  return {
    started,
    ready,
    ...(states.liveness ? { liveness: { ...states.liveness } } : {}),
    ...(states.readiness ? { readiness: { ...states.readiness } } : {}),
    ...(states.startup ? { startup: { ...states.startup } } : {}),
  };
};
