import { watch, type FSWatcher } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { Loop } from '../shared/loop.ts';
import { answerRestartRequest, listRestartRequests, requestsDir } from './restart-request.ts';

export interface RestartRequestsOptions {
  stateDir: string;
  clock: Clock;
  logger: Logger;
  /** Restarts the pod with this name; resolves with what to tell the operator, ok or not. */
  restart: (pod: string) => Promise<{ ok: boolean; message: string }>;
  /**
   * How often the requests directory is read with no change heard: a request
   * the directory watch missed (or a host where inotify is out of watches)
   * waits at most this long. `runner restart` waits 30 s for its answer.
   */
  pollMs?: number;
  /** Injected by tests: watches the directory, calling `onChange` on any entry's change. */
  watchDir?: (dir: string, onChange: () => void) => { close(): void };
}

/** Reading the directory twice a second cost more idle CPU than anything else the runner did with 100 pods (issue 12). */
export const RESTART_REQUESTS_POLL_MS = 5_000;

const inotifyWatch = (dir: string, onChange: () => void): FSWatcher => {
  const watcher = watch(dir, { persistent: false }, () => onChange());
  watcher.on('error', () => watcher.close());
  return watcher;
};

/**
 * The daemon's side of `runner restart POD`: requests are files in
 * `<stateDir>/requests/` (only root can write there), answered in place.
 * A file protocol, like the status file, keeps the daemon free of any
 * listening socket. The directory is watched (inotify), so a request is
 * answered at once; a slow poll covers a missed event.
 */
export const serveRestartRequests = async (options: RestartRequestsOptions, signal: AbortSignal): Promise<void> => {
  const { stateDir, clock, logger, restart, pollMs = RESTART_REQUESTS_POLL_MS, watchDir = inotifyWatch } = options;
  const loop = new Loop({ clock, idleMs: () => pollMs, pending: true });
  const dir = requestsDir(stateDir);
  let watcher: { close(): void } | undefined;
  try {
    await mkdir(dir, { recursive: true, mode: 0o750 });
    // A change heard while the requests are read is read right after, not after the poll.
    watcher = watchDir(dir, () => loop.wake());
  } catch (error) {
    logger.debug(`cannot watch ${dir}, reading it every ${pollMs / 1000}s: ${describeError(error)}`);
  }
  try {
    await loop.run(signal, async () => {
      try {
        for (const request of await listRestartRequests(stateDir, clock.now())) {
          const answer = await restart(request.pod).catch((error: unknown) => ({
            ok: false,
            message: describeError(error),
          }));
          await answerRestartRequest(stateDir, request.id, answer.ok, answer.message);
          logger.info(`restart of pod ${request.pod} requested by an operator: ${answer.message}`, {
            pod: request.pod,
          });
        }
      } catch (error) {
        logger.debug(`cannot read restart requests: ${describeError(error)}`);
      }
    });
  } finally {
    watcher?.close();
  }
};
