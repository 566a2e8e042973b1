/**
 * CrashLoopBackOff, as the kubelet does it, as a pure function of the
 * backoff step: the first restart after a crash is immediate (step 0), then
 * `initialMs`, doubling, capped at `maxMs`. The step goes back to 0 once the
 * container has run for `resetAfterMs` without exiting.
 */
export interface CrashLoopPolicy {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

/** The kubelet's numbers: 10 s doubling to 5 min, reset after 10 min of clean running. */
export const KUBELET_CRASH_LOOP: CrashLoopPolicy = { initialMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

export const restartDelayMs = (step: number, policy: CrashLoopPolicy): number => {
  if (step <= 0) return 0;
  return Math.min(policy.maxMs, policy.initialMs * 2 ** Math.min(step - 1, 30));
};

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/** Kubernetes restartPolicy: Always restarts on any exit, OnFailure on a non-zero exit, Never not at all. */
export const shouldRestart = (policy: RestartPolicy, exitCode: number): boolean =>
  policy === 'Always' || (policy === 'OnFailure' && exitCode !== 0);

/**
 * The same after an exit the host's reboot or power cut caused: the exit code
 * is the shutdown's (a daemon ends 0 on SIGTERM) or a stale one, so Always
 * and OnFailure both run the container again. Never does not: as the
 * kubelet, the runner does not run again a Never pod's containers that ran.
 */
export const restartsAfter = (policy: RestartPolicy, exitCode: number, endedByReboot: boolean): boolean =>
  endedByReboot ? policy !== 'Never' : shouldRestart(policy, exitCode);

/**
 * When the restart after one exit is due, and the backoff step it is due at:
 * the step goes back to 0 if the container had run `resetAfterMs` before
 * this exit, and the delay counts from the exit or from the last restart
 * attempt, whichever is later (a failed start backs off too). The one rule
 * for both ways a death is found: its `died` event and a listing.
 */
export const restartDue = (
  exit: { step: number; exitedAt: number; startedAt: number | undefined; lastRestartAt: number | undefined },
  policy: CrashLoopPolicy,
): { step: number; due: number } => {
  const step =
    exit.step > 0 && exit.startedAt !== undefined && exit.exitedAt - exit.startedAt >= policy.resetAfterMs
      ? 0
      : exit.step;
  return { step, due: Math.max(exit.exitedAt, exit.lastRestartAt ?? 0) + restartDelayMs(step, policy) };
};
