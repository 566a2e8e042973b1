import path from 'node:path';
import type { DesiredUnit } from '../desired/desired-unit.ts';
import type { Podman } from '../podman/podman.ts';
import { podmanErrorKind } from '../podman/podman-error.ts';
import { playKept, type KeeperImage } from '../podman/play-kept.ts';
import type { Clock } from '../shared/clock.ts';
import { describeError, RunnerError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { EventSink } from '../shared/event-sink.ts';
import { sourceOf } from '../shared/ownership.ts';
import type { AppliedStore } from '../state/applied-store.ts';
import type { OwnedSecrets } from '../state/owned-secrets.ts';
import { withKeeperContainer } from './keeper-in-yaml.ts';
import { observePods } from './observed-pods.ts';
import type { Action } from './plan-actions.ts';
import { withoutClaims } from './strip-existing.ts';

export interface ExecuteDeps {
  events: EventSink;
  podman: Podman;
  store: AppliedStore;
  secrets: OwnedSecrets;
  clock: Clock;
  logger: Logger;
  /** The keeper image learned by earlier plays (play-kept.ts); without it every play inspects its pod for it. */
  keeperImage?: KeeperImage;
  /** The keeper is made before the pod's containers start (needsKeeperFirst); true unless said otherwise. */
  keeperFirst?: boolean;
}

/**
 * Carries out one action against podman. Throws on failure, after cleaning up
 * what a failed play leaves behind (podman keeps the half-created pod).
 * Callers guarantee that no two actions for the same unit run at once.
 */
export const executeAction = async (action: Action, deps: ExecuteDeps, signal: AbortSignal): Promise<void> => {
  const { podman, store, logger } = deps;
  switch (action.type) {
    case 'create': {
      await requireOwnSecrets(action.unit, deps, signal);
      await play(action.unit, deps, signal);
      const again = action.recovers ? ` again (${action.reason})` : '';
      logger.info(`started pod ${action.unit.name}${again} from ${action.unit.file}`, fields(action.unit));
      deps.events.record({
        type: 'Applied',
        ...fields(action.unit),
        message: `started pod ${action.unit.name}${again}`,
      });
      return;
    }
    case 'replace': {
      // Checked before the old pod goes: a refused play must leave it running.
      await requireOwnSecrets(action.unit, deps, signal);
      // Down, then play. The new pod cannot be played beside the old one:
      // it takes the old pod's name and container names (and, on
      // hostNetwork, its ports). `kube play --replace` would save one podman
      // process, but podman 4.3 stops the old containers after their
      // StopTimeout (10 s), not the manifest's terminationGracePeriodSeconds
      // (measured: a container ignoring SIGTERM, 2 s of grace, took over
      // 10 s to go); removePod gives the grace the old spec asked for.
      const previous = store.get(action.key);
      for (const id of action.podIds)
        await podman.removePod(id, previous?.stopTimeoutSeconds ?? action.unit.stopTimeoutSeconds, { signal });
      await play(action.unit, deps, signal);
      logger.info(`replaced pod ${action.unit.name} (${action.reason})`, fields(action.unit));
      deps.events.record({
        type: 'Replaced',
        ...fields(action.unit),
        message: `replaced pod ${action.unit.name} (${action.reason})`,
      });
      return;
    }
    case 'remove':
      for (const id of action.podIds) await podman.removePod(id, action.stopTimeoutSeconds, { signal });
      if (action.reason !== 'duplicate pod') await store.delete(action.key);
      logger.info(`removed pod ${action.podNames.join(', ')} (${action.reason})`, {
        pod: action.podNames.join(','),
        key: action.key,
      });
      deps.events.record({
        type: 'Removed',
        pod: action.podNames.join(','),
        file: sourceOf(action.key),
        message: `removed pod ${action.podNames.join(', ')} (${action.reason})`,
      });
      return;
    case 'blocked':
      return;
  }
};

/**
 * `kube play` deletes and replaces any secret named like a Secret in the
 * YAML. Refuses the unit (throws, before anything is changed) when such a
 * secret exists and is not one the runner's plays made (src/state/owned-secrets.ts).
 */
const requireOwnSecrets = async (unit: DesiredUnit, deps: ExecuteDeps, signal: AbortSignal): Promise<void> => {
  if (unit.secrets.length === 0) return;
  const present = await deps.podman.listSecrets({ signal });
  const foreign = unit.secrets.filter((name) =>
    present.some((secret) => secret.name === name && !deps.secrets.owns(name, secret.id)),
  );
  if (foreign.length === 0) return;
  const names = foreign.map((name) => `"${name}"`).join(', ');
  const [it, them] = foreign.length === 1 ? ['secret', 'it'] : ['secrets', 'them'];
  throw new RunnerError(
    'SECRET_NOT_OWNED',
    `podman already has ${it} ${names}, not created by the runner: playing ${unit.file} would replace ${them}, so the runner refuses (rename the Secret in the manifest, or remove the other ${it} with "podman secret rm ${foreign.join(' ')}" if nothing needs ${them})`,
  );
};

const play = async (unit: DesiredUnit, deps: ExecuteDeps, signal: AbortSignal): Promise<void> => {
  const { podman, store, clock } = deps;
  const existing = new Set<string>();
  for (const name of unit.volumes) if (await podman.volumeExists(name, { signal })) existing.add(name);
  if (unit.secrets.length > 0) await deps.secrets.claim(unit.secrets);
  try {
    // A Secret in the manifest is the runner's to (re)define on every play (requireOwnSecrets made sure the old one is its own).
    for (const name of unit.secrets) await podman.removeSecret(name, { signal });
    // A pod whose containers the supervisor restarts gets its infra keeper before they
    // start (play-kept.ts), on a podman that needs it so; else the supervisor makes it after.
    const yaml = withoutClaims(unit.yaml, existing);
    if (unit.restartPolicy === 'Never' || deps.keeperFirst === false) await podman.playKube(yaml, { signal });
    else
      await playKept(
        podman,
        yaml,
        { signal },
        {
          podName: unit.podName,
          keeperImage: deps.keeperImage,
          withKeeper: (image) => withKeeperContainer(yaml, unit, image),
          removeLeftovers: () => removeLeftovers(unit, deps, signal),
        },
      );
  } catch (error) {
    // A refused name means this play made no pod, and the pod that has the
    // name (missed by a stale look, or someone else's) is not a leftover.
    if (podmanErrorKind(error) !== 'name-in-use') await removeLeftovers(unit, deps, signal);
    throw error;
  } finally {
    await pinSecrets(unit, deps, signal);
  }
  await store.put(unit, new Date(clock.now()));
};

/** Records the IDs of the secrets this play made (a play that failed may have made them too). */
const pinSecrets = async (unit: DesiredUnit, deps: ExecuteDeps, signal: AbortSignal): Promise<void> => {
  if (unit.secrets.length === 0) return;
  try {
    await deps.secrets.pin(unit.secrets, await deps.podman.listSecrets({ signal }));
  } catch (error) {
    // The names stay claimed, so what the play made is still the runner's; the next play pins them.
    deps.logger.warn(`could not record the secrets of ${unit.name}: ${describeError(error)}`, fields(unit));
  }
};

/** A failed play leaves its pod in Created/Exited; take down every pod labelled with this unit. */
const removeLeftovers = async (unit: DesiredUnit, deps: ExecuteDeps, signal: AbortSignal): Promise<void> => {
  try {
    const pods = observePods(await deps.podman.listPods({ signal }), path.dirname(unit.file)).filter(
      (pod) => pod.key === unit.key,
    );
    for (const pod of pods) await deps.podman.removePod(pod.id, 0, { signal });
  } catch (error) {
    deps.logger.warn(
      `could not clean up after a failed play of ${unit.name}; the next pass will: ${(error as Error).message}`,
      fields(unit),
    );
  }
};

export const fields = (unit: DesiredUnit): { pod: string; file: string } => ({ pod: unit.name, file: unit.file });
