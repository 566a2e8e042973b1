/**
 * The labels that mark a pod as the runner's. Ownership and change detection
 * come from these (read back from podman), never from memory alone, so a
 * restarted runner knows what it owns. Container labels inherit pod labels
 * under kube play, so containers carry them too.
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
