import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { answerRestartRequest, listRestartRequests } from './restart-request.ts';

export interface RestartRequestsOptions {
  stateDir: string;
  clock: Clock;
  logger: Logger;
  /** Restarts the pod with this name; resolves with what to tell the operator, ok or not. */
  restart: (pod: string) => Promise<{ ok: boolean; message: string }>;
  /** How often the requests directory is looked at: `runner restart` waits for the answer. */
  pollMs?: number;
}

/**
 * The daemon's side of `runner restart POD`: requests are files in
 * `<stateDir>/requests/` (only root can write there), answered in place.
 * A file protocol, like the status file, keeps the daemon free of any
 * listening socket.
 */
export const serveRestartRequests = async (options: RestartRequestsOptions, signal: AbortSignal): Promise<void> => {
  const { stateDir, clock, logger, restart, pollMs = 500 } = options;
  while (!signal.aborted) {
    try {
      for (const request of await listRestartRequests(stateDir, clock.now())) {
        const answer = await restart(request.pod).catch((error: unknown) => ({ ok: false, message: describeError(error) }));
        await answerRestartRequest(stateDir, request.id, answer.ok, answer.message);
        logger.info(`restart of pod ${request.pod} requested by an operator: ${answer.message}`, { pod: request.pod });
      }
    } catch (error) {
      logger.debug(`cannot read restart requests: ${describeError(error)}`);
    }
    await clock.sleep(pollMs, signal).catch(() => undefined);
  }
};
