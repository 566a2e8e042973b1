import type { DesiredUnit } from '../desired/desired-unit.ts';
import { runKeeper } from '../podman/play-kept.ts';
import type { Podman, PodmanContainer } from '../podman/podman.ts';
import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import { createLimit } from '../shared/limit.ts';
import type { Logger } from '../shared/logger.ts';
import { shouldRestart, type RestartPolicy } from './restart-backoff.ts';

export type KeeperAction =
  { type: 'create'; image: string } | { type: 'start'; id: string } | { type: 'stop'; id: string };

/**
 * What one pod's infra keeper (src/shared/infra-keeper.ts) needs, from a
 * listing. Pure.
 *
 * A keeper is wanted while a container of the pod runs or will be started
 * again: restartPolicy Never wants none (the pod ends as podman ends it), and
 * once every container has finished for good (OnFailure, exit 0) the keeper
 * is stopped, so that podman's exit policy stops the pod as it would have.
 * It is made from the infra container's image, which podman itself keeps
 * (none is made when the infra has no image: podman 5.5+ runs it from a
 * rootfs).
 */
export const keeperAction = (
  restartPolicy: RestartPolicy,
  app: readonly PodmanContainer[],
  infra: PodmanContainer | undefined,
  keeper: PodmanContainer | undefined,
): KeeperAction | undefined => {
  if (restartPolicy === 'Never') return undefined;
  const finished = (container: PodmanContainer): boolean =>
    (container.state === 'exited' || container.state === 'stopped') &&
    !shouldRestart(restartPolicy, container.exitCode);
  if (app.length > 0 && app.every(finished))
    return keeper?.state === 'running' ? { type: 'stop', id: keeper.id } : undefined;
  if (!keeper) return infra?.imageId ? { type: 'create', image: infra.imageId } : undefined;
  return keeper.state === 'running' ? undefined : { type: 'start', id: keeper.id };
};

export interface InfraKeepersOptions {
  podman: Podman;
  clock: Clock;
  logger: Logger;
  /** After a failure, the pod's keeper is left alone this long; KEEPER_RETRY_MS unless a test says otherwise. */
  retryMs?: number;
}

/**
 * A failed keeper is tried again at the supervisor's first pass this long
 * after (passes come with podman's events, or every resyncIntervalSeconds):
 * not the resync interval itself, which is minutes now.
 */
export const KEEPER_RETRY_MS = 60_000;

/** Keeper actions podman runs at once: a runner upgraded or started on a host of many pods makes them all. */
const KEEPER_PARALLELISM = 2;

/**
 * Carries out keeper actions for the supervisor, which runs them in its slot
 * for the keeper (one action per container at a time), a few at a time: a
 * keeper is never urgent. A failure is logged and not tried again before
 * `retryMs`: without a keeper a restart is slower, not wrong.
 */
export class InfraKeepers {
  private readonly retryAt = new Map<string, number>();
  private readonly limit = createLimit(KEEPER_PARALLELISM);

  constructor(private readonly options: InfraKeepersOptions) {}

  /** The action the pod's keeper needs now, unless it failed lately. */
  plan(
    podId: string,
    restartPolicy: RestartPolicy,
    app: readonly PodmanContainer[],
    infra: PodmanContainer | undefined,
    keeper: PodmanContainer | undefined,
  ): KeeperAction | undefined {
    if ((this.retryAt.get(podId) ?? 0) > this.options.clock.now()) return undefined;
    return keeperAction(restartPolicy, app, infra, keeper);
  }

  async apply(
    action: KeeperAction,
    unit: DesiredUnit,
    pod: { id: string; name: string },
    signal: AbortSignal,
  ): Promise<void> {
    const { podman, clock, logger, retryMs = KEEPER_RETRY_MS } = this.options;
    try {
      await this.limit(async () => {
        if (action.type === 'create') await runKeeper(podman, pod.id, pod.name, action.image, { signal });
        else if (action.type === 'start') await podman.startContainer(action.id, { signal });
        else await podman.stopContainer(action.id, 1, { signal });
      });
      this.retryAt.delete(pod.id);
    } catch (error) {
      this.retryAt.set(pod.id, clock.now() + retryMs);
      logger.warn(
        `cannot ${action.type} the infra keeper of pod ${pod.name}: ${describeError(error)}; until it runs, a restart waits for podman to bring the pod's infra back`,
        { pod: unit.name, file: unit.file },
      );
    }
  }

  /** Forgets pods that are gone. */
  retain(podIds: ReadonlySet<string>): void {
    for (const id of this.retryAt.keys()) if (!podIds.has(id)) this.retryAt.delete(id);
  }
}
