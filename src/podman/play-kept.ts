import { KEEPER_LABEL, keeperName } from '../shared/infra-keeper.ts';
import type { CallOptions, PlayResult, Podman } from './podman.ts';

/**
 * `kube play` of a pod that is to keep its infra (src/shared/infra-keeper.ts):
 * the pods are created stopped, each gets its keeper, and only then are they
 * started. So no app container can exit while the pod has no keeper.
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
 * and gets the same order.
 *
 * A keeper that cannot be made is not a failed play: the pod is started
 * anyway and the supervisor makes the keeper later (infra-keepers.ts). A
 * failed start is the play's failure (its caller removes the pods), with
 * podman's start errors in it as from `kube play`.
 */
export const playKept = async (podman: Podman, yaml: string, options: CallOptions): Promise<PlayResult> => {
  const result = await podman.playKube(yaml, { ...options, start: false });
  for (const podId of result.podIds) {
    try {
      const infra = await podman.podInfra(podId, options);
      // No image: the infra runs from a rootfs (podman 5.5+), so no keeper can be made from it.
      if (infra?.image)
        await podman.runPauseContainer(
          podId,
          keeperName(infra.podName),
          infra.image,
          { [KEEPER_LABEL]: 'true' },
          options,
        );
    } catch {
      // Without a keeper a restart is slower, not wrong; the supervisor tries again.
    }
    await podman.startPod(podId, options);
  }
  return result;
};
