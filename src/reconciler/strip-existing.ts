import { parseAllDocuments, stringify } from 'yaml';
import { PODMAN_YAML } from '../desired/build-units.ts';

/**
 * podman 4.3 refuses to play a PersistentVolumeClaim whose volume already
 * exists ("volume already exists", exit 125). A claim's volume is meant to
 * outlive its pod, so on every play after the first the claim is left out.
 * Read and written as YAML 1.1, as it was rendered, so every value keeps the
 * quoting that makes podman read what the policy judged.
 */
export const withoutClaims = (yaml: string, existing: ReadonlySet<string>): string => {
  if (existing.size === 0) return yaml;
  // The runner rendered it, so its keys are unique: no quadratic duplicate-key check.
  const docs = parseAllDocuments(yaml, { ...PODMAN_YAML, uniqueKeys: false });
  const kept = (Array.isArray(docs) ? docs : [])
    .map((doc) => doc.toJS() as { kind?: string; metadata?: { name?: string } })
    .filter((doc) => !(doc.kind === 'PersistentVolumeClaim' && existing.has(doc.metadata?.name ?? '')));
  return kept.map((doc) => stringify(doc, PODMAN_YAML)).join('---\n');
};
