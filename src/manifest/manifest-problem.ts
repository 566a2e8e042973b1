/**
 * One thing wrong with a manifest file, located as precisely as we can:
 * `runner validate`, the daemon's log and (later) `runner status` all render
 * these the same way, `file:line:column: message`.
 */
export interface ManifestProblem {
  file: string;
  /** 1-based; absent when the problem is about the file as a whole. */
  line?: number;
  column?: number;
  /** Field path inside the document, e.g. `spec.containers[0].image`. */
  field?: string;
  message: string;
}

export const formatProblem = (problem: ManifestProblem): string => {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column ?? 1}`;
  const field = problem.field ? `${problem.field}: ` : '';
  return `${where}: ${field}${problem.message}`;
};

/** Renders a valibot/field path the way kubectl does: `spec.containers[0].image`. */
export const formatFieldPath = (path: readonly (string | number)[]): string =>
  path.reduce<string>((out, key) => {
    if (typeof key === 'number') return `${out}[${key}]`;
    // A key that is not a plain field name (an annotation, a label) is quoted: metadata.annotations["volume.podman.io/device"].
    if (!/^[A-Za-z_$<][\w$<]*$/.test(key)) return `${out}[${JSON.stringify(key)}]`;
    return out ? `${out}.${key}` : key;
  }, '');
