import type { PodmanPod } from '../podman/podman.ts';
import { isKeeper } from '../shared/infra-keeper.ts';
import { ownerIn, ownerOf, type UnitKey } from '../shared/ownership.ts';

/** A pod podman reports, with what its labels say about ownership. */
export interface ObservedPod extends PodmanPod {
  /** Unit key from the labels; undefined when the runner does not manage the pod. */
  key?: UnitKey;
  hash?: string;
}

/**
 * Marks the pods this runner owns (ownerIn: the runner's labels, with a
 * source file directly in *this* runner's manifest directory). An owned pod
 * is seen without its infra keeper (src/shared/infra-keeper.ts): its
 * containers are the manifest's.
 */
export const observePods = (pods: readonly PodmanPod[], manifestDir: string): ObservedPod[] =>
  pods.map((pod) => {
    const owner = ownerIn(pod.labels, manifestDir);
    if (owner === undefined) return pod;
    return {
      ...pod,
      key: owner.key,
      hash: owner.hash,
      containers: pod.containers.filter((container) => !isKeeper(container.name)),
    };
  });

/** Which file each unit (`Kind/name`) runs from now, for name-clash decisions. */
export const currentOwners = (pods: readonly ObservedPod[]): Map<string, string> => {
  const owners = new Map<string, string>();
  for (const pod of pods) {
    const owner = pod.key === undefined ? undefined : ownerOf(pod.labels);
    if (owner !== undefined && !owners.has(owner.unit)) owners.set(owner.unit, owner.source);
  }
  return owners;
};
