import { KEEPER_LABEL, keeperName } from '../shared/infra-keeper.ts';
import type { CallOptions, PlayResult, Podman } from './podman.ts';

/**
 * `kube play` of a pod that is to keep its infra (src/shared/infra-keeper.ts):
 * no app container of the pod may exit while the pod has no keeper.
 *
 * Why: when the last app container of a kube-play pod exits and nothing else
 * runs, podman's exit policy stops the pod from that container's `container
 * cleanup` process. On podman 5.4.2 (systemd cgroup manager) that stop waits
 * for systemd to stop the pod's slice, which holds the conmon scope the
 * cleanup runs in: systemd waits its 90 s stop timeout and kills conmon, and
 * for those 90 s the pod's lock is held, so every `podman start`, `podman
 * run --pod` and `pod ps` touching the pod waits as long (measured in the
 * podman 5 tier machine: 91 s in 2 of 2 plays whose container was killed with
 * no keeper, 0 of 2 with the keeper made first). With the keeper made by the
 * supervisor after the play, an app that died in the second after the play
 * (a crash on start, a kill) always met that window. 4.3 does not hang there,
 * and is played without it (needsKeeperFirst).
 *
 * Two ways, one podman call or three:
 * - Once the keeper image is learned, the keeper is one of the played pod's
 *   own containers (`hints.withKeeper`, src/reconciler/keeper-in-yaml.ts) and
 *   one `kube play` makes and starts it all. Should that play fail and podman
 *   no longer have the image (the pause image rebuilt after every pod was
 *   gone), the image is forgotten, the failed play's pods removed
 *   (`hints.removeLeftovers`), and the pod played the other way.
 * - Otherwise the pods are played stopped, each gets its keeper by `podman
 *   run`, and only then are they started. A keeper that cannot be made is not
 *   a failed play: the pod is started anyway and the supervisor makes the
 *   keeper later (infra-keepers.ts). A failed start is the play's failure (its
 *   caller removes the pods), with podman's start errors in it as from `kube
 *   play`. Three podman calls (play, keeper, start) where the pod's name is
 *   known (`hints.podName`, a Pod's own name) and the image learned; two more
 *   (`pod inspect`, `container inspect`) otherwise, which teach the image.
 */
export const playKept = async (
  podman: Podman,
  yaml: string,
  options: CallOptions,
  hints: KeptPlayHints = {},
): Promise<PlayResult> => {
  const image = hints.keeperImage?.get();
  const kept = image === undefined ? undefined : hints.withKeeper?.(image);
  if (image !== undefined && kept !== undefined) {
    try {
      return await podman.playKube(kept, options);
    } catch (error) {
      if (options.signal?.aborted || (await podman.imageExists(image, options).catch(() => true))) throw error;
      hints.keeperImage?.forget();
      await hints.removeLeftovers?.();
    }
  }
  return playThenKeep(podman, yaml, options, hints);
};

const playThenKeep = async (
  podman: Podman,
  yaml: string,
  options: CallOptions,
  hints: KeptPlayHints,
): Promise<PlayResult> => {
  const result = await podman.playKube(yaml, { ...options, start: false });
  // The name is the unit's only when the play made the one pod it names.
  const podName = result.podIds.length === 1 ? hints.podName : undefined;
  for (const podId of result.podIds) {
    try {
      await makeKeeper(podman, podId, podName, hints.keeperImage, options);
    } catch {
      // Without a keeper a restart is slower, not wrong; the supervisor tries again.
    }
    await podman.startPod(podId, options);
  }
  return result;
};

/**
 * Whether this podman needs the keeper in a pod before any of its app
 * containers starts (playKept), or may have it made after the play.
 *
 * The 90 s hang playKept avoids was seen on 5.4.2 and not on 4.3.1, not even
 * under systemd as PID 1 with the systemd cgroup manager (docs/podman.md).
 * On 4.3 and older a plain `kube play` is the fastest apply, the hand-run
 * play's own speed; the supervisor makes the keeper right after
 * (src/supervisor/infra-keepers.ts), and an app that dies before that only
 * has a slower first restart (podman brings the infra back with it). Every
 * other version, and a podman whose version is unknown, gets the keeper
 * first: the versions between were not measured.
 */
export const needsKeeperFirst = (podmanVersion: string): boolean => {
  const match = /^(\d+)\.(\d+)\./.exec(podmanVersion);
  if (!match) return true;
  const [major, minor] = [Number(match[1]), Number(match[2])];
  return major > 4 || (major === 4 && minor > 3);
};

export interface KeptPlayHints {
  /** The name podman gives the pod, where the manifest fixes it (a Pod's metadata.name). */
  podName?: string;
  keeperImage?: KeeperImage;
  /** The YAML with the keeper as one of its pod's containers, from `image`; undefined where that cannot be done. */
  withKeeper?: (image: string) => string | undefined;
  /** Removes what a failed play left behind, before the pod is played the other way. */
  removeLeftovers?: () => Promise<void>;
}

/**
 * The image keepers run, learned from the first pod played: every pod of one
 * podman gets the same infra image (its locally built pause image, or
 * containers.conf's `infra_image`), so later plays need not inspect for it.
 * A learned image that podman no longer has (the pause image rebuilt after
 * every pod was gone) fails the keeper's `run`; it is then forgotten and
 * learned again from the pod at hand.
 */
export class KeeperImage {
  private known: string | undefined;

  get(): string | undefined {
    return this.known;
  }

  learn(image: string): void {
    this.known = image;
  }

  forget(): void {
    this.known = undefined;
  }
}

/** `podman run` of the infra keeper (src/shared/infra-keeper.ts) of the pod `podName`, from `image`. */
export const runKeeper = (
  podman: Podman,
  podId: string,
  podName: string,
  image: string,
  options: CallOptions,
): Promise<string> => podman.runPauseContainer(podId, keeperName(podName), image, { [KEEPER_LABEL]: 'true' }, options);

const makeKeeper = async (
  podman: Podman,
  podId: string,
  podName: string | undefined,
  memo: KeeperImage | undefined,
  options: CallOptions,
): Promise<void> => {
  const run = (name: string, image: string): Promise<string> => runKeeper(podman, podId, name, image, options);
  const known = memo?.get();
  if (podName !== undefined && known !== undefined) {
    try {
      await run(podName, known);
      return;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      memo?.forget();
    }
  }
  const infra = await podman.podInfra(podId, options);
  // No image: the infra runs from a rootfs (podman 5.5+), so no keeper can be made from it.
  if (!infra?.image) return;
  memo?.learn(infra.image);
  await run(infra.podName, infra.image);
};
