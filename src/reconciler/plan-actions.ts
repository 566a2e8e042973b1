import type { DesiredUnit } from '../desired/desired-unit.ts';
import { sourceOf } from '../shared/ownership.ts';
import type { ObservedPod } from './observed-pods.ts';

/**
 * What must be done to make podman match the desired state. One action at
 * most per unit key per plan; the executor serializes actions per key.
 */
export type Action =
  | { type: 'create'; key: string; unit: DesiredUnit; reason: string; recovers?: Recovery }
  | { type: 'replace'; key: string; unit: DesiredUnit; podIds: string[]; reason: string; recovers?: Recovery }
  | { type: 'remove'; key: string; podIds: string[]; podNames: string[]; stopTimeoutSeconds: number; reason: string }
  | { type: 'blocked'; key: string; unit: DesiredUnit; reason: string };

/**
 * Set on a create or replace that brings back a pod which ran this very spec:
 * `removed` when the pod, or a container of it, was removed behind the
 * runner's back; `lost` when podman kept only a half-created pod (a power
 * cut). The supervisor counts these as restarts, as the kubelet counts a new
 * sandbox.
 */
export type Recovery = 'removed' | 'lost';

export interface PlanInputs {
  desired: readonly DesiredUnit[];
  observed: readonly ObservedPod[];
  /** Files whose pods must be kept even when nothing desired matches them (held, unreadable). */
  heldFiles: ReadonlySet<string>;
  /** Stop timeout for pods no desired unit describes any more. */
  stopTimeoutFor: (key: string) => number;
  /** The hash of the unit's pod as this runner last saw it in podman, if it has seen one. */
  seenHash?: (key: string) => string | undefined;
}

/**
 * Pod states in which a pod was created but never got going: a failed play,
 * and every pod after a power cut on podman 4.3 (it keeps its runtime state
 * in /run and sets what it lost to Created; measured in the nspawn
 * end-to-end test). podman 5 sets what it lost to Exited instead, its
 * containers exited with no exit time: such a pod is whole, and the
 * supervisor starts its containers again in place, as HostRebooted
 * (src/supervisor/reboot-exits.ts).
 */
const HALF_CREATED = new Set(['Created', 'Error']);

/**
 * Pure: compares desired units with the pods podman reports and lists the
 * actions: pods that must exist, be replaced or go. Starting containers
 * that exited is the supervisor's job. Pods without the runner's labels are never acted on; a desired
 * pod whose name such a pod already uses is `blocked`, not forced.
 */
export const planActions = ({ desired, observed, heldFiles, stopTimeoutFor, seenHash }: PlanInputs): Action[] => {
  const actions: Action[] = [];
  const byKey = new Map<string, ObservedPod[]>();
  for (const pod of observed) if (pod.key) byKey.set(pod.key, [...(byKey.get(pod.key) ?? []), pod]);
  const desiredKeys = new Set(desired.map((unit) => unit.key));
  const orphanKeys = new Set([...byKey.keys()].filter((key) => !desiredKeys.has(key) && !heldFiles.has(sourceOf(key))));

  for (const unit of desired) {
    const pods = byKey.get(unit.key) ?? [];
    const action =
      pods.length === 0 ? planMissing(unit, { observed, byKey, orphanKeys, seenHash }) : planExisting(unit, pods);
    if (action !== undefined) actions.push(action);
  }

  for (const key of orphanKeys) {
    const pods = byKey.get(key) ?? [];
    actions.push({
      type: 'remove',
      key,
      podIds: pods.map((pod) => pod.id),
      podNames: pods.map((pod) => pod.name),
      stopTimeoutSeconds: stopTimeoutFor(key),
      reason: 'manifest removed',
    });
  }
  return actions;
};

/**
 * A unit without a pod of its own: create it, unless a pod of its name is in
 * the way. A pod of an orphaned unit (the manifest moved to another file or
 * kind) is replaced, and taken out of `orphanKeys`; anyone else's blocks it.
 */
const planMissing = (
  unit: DesiredUnit,
  seen: {
    observed: readonly ObservedPod[];
    byKey: ReadonlyMap<string, ObservedPod[]>;
    orphanKeys: Set<string>;
    seenHash: PlanInputs['seenHash'];
  },
): Action => {
  const squatter = unit.podName === undefined ? undefined : seen.observed.find((pod) => pod.name === unit.podName);
  if (!squatter) {
    // Seen with this spec and now gone: removed by hand (`podman pod rm`).
    const removed = seen.seenHash?.(unit.key) === unit.hash;
    return {
      type: 'create',
      key: unit.key,
      unit,
      reason: removed ? 'pod was removed' : 'no pod',
      ...(removed ? { recovers: 'removed' as const } : {}),
    };
  }
  if (squatter.key === undefined) {
    const reason = `a pod named "${squatter.name}" exists that the runner does not manage; it is left alone`;
    return { type: 'blocked', key: unit.key, unit, reason };
  }
  if (!seen.orphanKeys.has(squatter.key)) {
    return {
      type: 'blocked',
      key: unit.key,
      unit,
      reason: `pod "${squatter.name}" belongs to ${sourceOf(squatter.key)}`,
    };
  }
  // The pod moved to another file (or kind): take the old one down first.
  seen.orphanKeys.delete(squatter.key);
  const moved = seen.byKey.get(squatter.key) ?? [];
  const podIds = moved.map((pod) => pod.id);
  return { type: 'replace', key: unit.key, unit, podIds, reason: `moved from ${sourceOf(squatter.key)}` };
};

/**
 * A unit with pods: replace them when the spec changed, a pod never got
 * going or a container was removed; remove duplicates. Stopped or exited
 * containers are the supervisor's: it restarts them as restartPolicy says,
 * with backoff.
 */
const planExisting = (unit: DesiredUnit, pods: readonly ObservedPod[]): Action | undefined => {
  const podIds = pods.map((pod) => pod.id);
  if (pods.some((pod) => pod.hash !== unit.hash)) {
    return { type: 'replace', key: unit.key, unit, podIds, reason: 'spec changed' };
  }
  if (pods.length > 1) {
    // Duplicates (a runner killed mid-apply, say): keep the oldest running one.
    const keep = [...pods].sort((a, b) => rank(a) - rank(b) || a.created.localeCompare(b.created))[0]!;
    const extra = pods.filter((pod) => pod !== keep);
    return {
      type: 'remove',
      key: unit.key,
      podIds: extra.map((pod) => pod.id),
      podNames: extra.map((pod) => pod.name),
      stopTimeoutSeconds: unit.stopTimeoutSeconds,
      reason: 'duplicate pod',
    };
  }
  const pod = pods[0]!;
  if (HALF_CREATED.has(pod.status)) {
    const reason = `pod is ${pod.status}: it never got going, or podman lost its state (a power cut)`;
    return { type: 'replace', key: unit.key, unit, podIds, reason, recovers: 'lost' };
  }
  // A container removed by hand (`podman rm -f`) cannot be started again: re-create the pod.
  const missing = unit.containers.filter(
    (container) => !pod.containers.some((item) => item.name.endsWith(`-${container.name}`)),
  );
  if (missing.length === 0) return undefined;
  const reason = `container ${missing.map((c) => c.name).join(', ')} was removed`;
  return { type: 'replace', key: unit.key, unit, podIds, reason, recovers: 'removed' };
};

const rank = (pod: ObservedPod): number => (pod.status === 'Running' ? 0 : 1);
