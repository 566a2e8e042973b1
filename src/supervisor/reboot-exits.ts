/**
 * Which exits a reboot or a power cut caused, so that they restart a
 * container whatever its exit code and add no step of backoff. Pure; the
 * supervisor asks for every exited container it lists.
 *
 * Two kinds, told apart by podman's own times and the runner's records:
 * - **lost with the machine**: podman recorded no end of the container's last
 *   run: it has a start time but no exit time at or after it. Only a power
 *   cut leaves that: podman kept its runtime state in /run and, when it set
 *   up again after the boot, marked what it lost `created` (4.3) or `exited`
 *   (5.x: exit code left as it was, 0 for a container that never exited
 *   before, exit time zero, `-62135596800`, or the time of an older exit;
 *   libpod/container_internal.go, resetState / resetContainerState).
 * - **stopped by the shutdown**: after a reboot (the boot ID changed since
 *   the last runner ran), a container that ended before this runner started,
 *   unless the last runner recorded that very exit as a completion well
 *   before it stopped. The shutdown signals the runner and the containers'
 *   scopes at about the same moment, so the last runner may have seen the
 *   shutdown's exit too: an exit it recorded within SHUTDOWN_WINDOW_MS of
 *   its last status write counts as the shutdown's.
 */
import type { ContainerHistory } from './restart-history.ts';

/** Known after a reboot, from the daemon (src/daemon.ts). */
export interface RebootFacts {
  /** When this runner started (ms): nothing started the runner's containers after the boot but the runner. */
  cutoff: number;
  /** The last runner's last status write before the reboot (ms), when its status file said. */
  previousRunnerSeenAt?: number;
}

/**
 * How close before the last runner's last status write an exit it recorded
 * may be and still be the shutdown's. The status is written on every change
 * and every 5 s; the runner stops within seconds of SIGTERM. A job that
 * completed this close to a reboot is run again (README, "Reboots").
 */
export const SHUTDOWN_WINDOW_MS = 30_000;

/** ps reports whole seconds; inspect and events report finer times of the same exit. */
const SAME_EXIT_MS = 1_000;

export interface ListedExit {
  state: string;
  startedAt: number | undefined;
  exitedAt: number | undefined;
}

/**
 * podman has a start but no end of the container's last run (see the top of
 * this file), and the run began before this runner started: one that began
 * since cannot have been lost with the machine, which has been up since
 * (this keeps a podman that lists a fresh death before its exit time from
 * passing for a power cut, which would skip the backoff).
 */
export const lostWithMachine = (container: ListedExit, runnerStartedAt: number): boolean =>
  container.state !== 'running' &&
  container.startedAt !== undefined &&
  container.startedAt + SAME_EXIT_MS <= runnerStartedAt &&
  (container.exitedAt === undefined || container.exitedAt < container.startedAt);

/** The identity of a listed exit in the history: its time, or for a lost run (no exit time) its start. */
export const exitMark = (container: ListedExit, lost: boolean): number | undefined =>
  lost ? container.startedAt : container.exitedAt;

/**
 * Whether the history's last recorded exit is this one: the same time, give
 * or take the rounding of ps (and a `died` event's own time), and no start
 * of the container came between the two.
 */
export const isRecordedExit = (entry: ContainerHistory, mark: number | undefined): boolean => {
  const { lastExitAt, lastRestartAt } = entry;
  if (mark === undefined || lastExitAt === undefined || Math.abs(lastExitAt - mark) >= SAME_EXIT_MS) return false;
  return !(lastRestartAt !== undefined && lastExitAt < lastRestartAt && lastRestartAt < mark);
};

/** Whether the reboot or power cut ended this run (see the top of this file); `lost` from lostWithMachine. */
export const endedByReboot = (
  container: ListedExit,
  lost: boolean,
  entry: ContainerHistory,
  reboot: RebootFacts | undefined,
): boolean => {
  if (lost) return true;
  if (!reboot || container.exitedAt === undefined || container.exitedAt >= reboot.cutoff) return false;
  if (!isRecordedExit(entry, container.exitedAt) || entry.lastReason === 'HostRebooted') return true;
  // The last runner saw this exit: its own doing only if well before that runner's end.
  return reboot.previousRunnerSeenAt === undefined
    ? false
    : container.exitedAt >= reboot.previousRunnerSeenAt - SHUTDOWN_WINDOW_MS;
};

/**
 * Whether the restart of a reboot's exit is due at once: yes, unless a start
 * after that exit was already tried (it failed: then it backs off as any
 * failed start does).
 */
export const firstStartAfterReboot = (container: ListedExit, lost: boolean, entry: ContainerHistory): boolean => {
  const mark = exitMark(container, lost);
  return entry.lastRestartAt === undefined || mark === undefined || entry.lastRestartAt <= mark + SAME_EXIT_MS;
};
