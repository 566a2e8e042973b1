import path from 'node:path';

/**
 * Which pods and containers are the runner's, and which unit each belongs to.
 * Ownership and change detection come from labels read back from podman,
 * never from memory alone, so a restarted runner knows what it owns. Container
 * labels inherit pod labels under kube play, so containers carry them too.
 * This module is the only one that builds or reads the labels and unit keys.
 */
export const LABEL_PREFIX = 'static-pod-runner';
export const MANAGED_LABEL = `${LABEL_PREFIX}/managed`;
/** Absolute path of the manifest file the pod came from. */
export const SOURCE_LABEL = `${LABEL_PREFIX}/source`;
/** `<Kind>/<name>` of the workload inside that file (one file may hold several). */
export const UNIT_LABEL = `${LABEL_PREFIX}/unit`;
/** Hash of the normalized desired spec; a different hash means "replace". */
export const HASH_LABEL = `${LABEL_PREFIX}/hash`;

export const MANAGED_VALUE = 'true';

/**
 * A unit's key, `<manifest file>#<Kind>/<name>`: what the reconciler, the
 * supervisor, the restart history and the status know a workload by. Built
 * by unitKey and taken apart by sourceOf only.
 */
export type UnitKey = string;

export const unitKey = (file: string, unit: string): UnitKey => `${file}#${unit}`;

/** The manifest file of a unit key. */
export const sourceOf = (key: UnitKey): string => key.slice(0, key.lastIndexOf('#'));

/** The labels of a unit's pod (and so of its containers). */
export const unitLabels = (file: string, unit: string, hash: string): Record<string, string> => ({
  [MANAGED_LABEL]: MANAGED_VALUE,
  [SOURCE_LABEL]: file,
  [UNIT_LABEL]: unit,
  [HASH_LABEL]: hash,
});

/** What a pod's or container's labels say about its owner. */
export interface Owner {
  key: UnitKey;
  /** The manifest file. */
  source: string;
  /** `<Kind>/<name>`. */
  unit: string;
  /** The spec hash the pod was made from; undefined when the label is missing. */
  hash: string | undefined;
}

/** The unit that labels mark a pod or container as belonging to; undefined when the runner does not manage it. */
export const ownerOf = (labels: Readonly<Record<string, string>>): Owner | undefined => {
  const source = labels[SOURCE_LABEL];
  const unit = labels[UNIT_LABEL];
  if (labels[MANAGED_LABEL] !== MANAGED_VALUE || !source || !unit) return undefined;
  return { key: unitKey(source, unit), source, unit, hash: labels[HASH_LABEL] };
};

/**
 * The owner when it is the runner watching `manifestDir`: a source file
 * directly in that directory. A pod labelled by a runner watching another
 * directory (a second instance, a test, an old `manifestDir`) is someone
 * else's and is never touched.
 */
export const ownerIn = (labels: Readonly<Record<string, string>>, manifestDir: string): Owner | undefined => {
  const owner = ownerOf(labels);
  return owner !== undefined && path.dirname(owner.source) === manifestDir ? owner : undefined;
};
