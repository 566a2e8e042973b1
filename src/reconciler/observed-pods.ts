import path from 'node:path';
import { unitKey } from '../desired/desired-unit.ts';
import type { PodmanPod } from '../podman/podman.ts';
import { isKeeper } from '../shared/infra-keeper.ts';
import { HASH_LABEL, MANAGED_LABEL, MANAGED_VALUE, SOURCE_LABEL, UNIT_LABEL } from '../shared/labels.ts';

/** A pod podman reports, with what its labels say about ownership. */
export interface ObservedPod extends PodmanPod {
  /** Unit key from the labels; undefined when the runner does not manage the pod. */
  key?: string;
  hash?: string;
}

/**
 * Marks the pods this runner owns: the runner's labels, with a source file
 * directly in *this* runner's manifest directory. A pod labelled by a runner
 * watching another directory (a second instance, a test, an old
 * `manifestDir`) is someone else's and is never touched. An owned pod is
 * seen without its infra keeper (src/shared/infra-keeper.ts): its containers
 * are the manifest's.
 */
export const observePods = (pods: readonly PodmanPod[], manifestDir: string): ObservedPod[] =>
  pods.map((pod) => {
    const source = pod.labels[SOURCE_LABEL];
    const unit = pod.labels[UNIT_LABEL];
    if (!ownedBy(pod.labels, manifestDir) || !source || !unit) return pod;
    return { ...pod, key: unitKey(source, unit), hash: pod.labels[HASH_LABEL], containers: pod.containers.filter((container) => !isKeeper(container.name)) };
  });

/** Whether labels (a pod's, or a container's: it carries its pod's) mark a pod of the runner watching `manifestDir`. */
export const ownedBy = (labels: Readonly<Record<string, string>>, manifestDir: string): boolean =>
  labels[MANAGED_LABEL] === MANAGED_VALUE && labels[UNIT_LABEL] !== undefined && labels[SOURCE_LABEL] !== undefined && path.dirname(labels[SOURCE_LABEL]) === manifestDir;

/** Which file each unit (`Kind/name`) runs from now, for name-clash decisions. */
export const currentOwners = (pods: readonly ObservedPod[]): Map<string, string> => {
  const owners = new Map<string, string>();
  for (const pod of pods) {
    const unit = pod.labels[UNIT_LABEL];
    if (pod.key && unit && !owners.has(unit)) owners.set(unit, pod.labels[SOURCE_LABEL]!);
  }
  return owners;
};
