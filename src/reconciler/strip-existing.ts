import { parseAllDocuments, stringify } from 'yaml';

/**
 * podman 4.3 refuses to play a PersistentVolumeClaim whose volume already
 * exists ("volume already exists", exit 125). A claim's volume is meant to
 * outlive its pod, so on every play after the first the claim is left out.
 */
export const withoutClaims = (yaml: string, existing: ReadonlySet<string>): string => {
  if (existing.size === 0) return yaml;
  const docs = parseAllDocuments(yaml);
  const kept = (Array.isArray(docs) ? docs : [])
    .map((doc) => doc.toJS() as { kind?: string; metadata?: { name?: string } })
    .filter((doc) => !(doc.kind === 'PersistentVolumeClaim' && existing.has(doc.metadata?.name ?? '')));
  return kept.map((doc) => stringify(doc)).join('---\n');
};
