import type { ManifestSnapshot } from '../manifest/read-manifest-dir.ts';
import type { ManifestProblem } from '../manifest/manifest-problem.ts';
import { buildUnits, type BuildOptions } from './build-units.ts';
import type { DesiredUnit } from './desired-unit.ts';

export interface DesiredState {
  units: DesiredUnit[];
  /**
   * Files whose current content cannot be applied (invalid, or a name clash).
   * Their pods are not touched: what was last applied from them stays desired,
   * where the kubelet would kill a static pod whose file turned invalid.
   */
  heldFiles: Map<string, ManifestProblem[]>;
}

export interface DesiredStateInputs extends BuildOptions {
  snapshot: ManifestSnapshot;
  /** Which file each unit (`Kind/name`) currently runs from, as podman's labels say. */
  currentOwners: ReadonlyMap<string, string>;
  /** What was last applied from each file, from the state directory. */
  lastApplied: readonly DesiredUnit[];
}

/**
 * The desired state, from the manifest snapshot plus what podman and the
 * state directory say was applied. Pure.
 *
 * Name clashes: two files that define the same `Kind/name` cannot both run
 * it. The file that already runs it keeps it, else the first in sort order;
 * the other file is held with an error naming both (the kubelet silently lets
 * the last file win).
 */
export const buildDesiredState = ({
  snapshot,
  currentOwners,
  lastApplied,
  ...options
}: DesiredStateInputs): DesiredState => {
  const heldFiles = new Map<string, ManifestProblem[]>();
  const unitsByFile = new Map<string, DesiredUnit[]>();
  for (const manifest of snapshot.files) {
    if (manifest.problems.length > 0) heldFiles.set(manifest.file, manifest.problems);
    else unitsByFile.set(manifest.file, buildUnits(manifest, options));
  }

  const claimants = new Map<string, string[]>();
  for (const [file, units] of unitsByFile) {
    for (const unit of units) claimants.set(unit.unit, [...(claimants.get(unit.unit) ?? []), file]);
  }
  for (const [unit, files] of claimants) {
    if (files.length < 2) continue;
    const owner = currentOwners.get(unit);
    const winner = owner !== undefined && files.includes(owner) ? owner : [...files].sort()[0]!;
    for (const loser of files.filter((file) => file !== winner)) {
      const problems = heldFiles.get(loser) ?? [];
      problems.push({
        file: loser,
        field: 'metadata.name',
        message: `${unit} is already defined in ${winner}, which keeps it; rename it in one of the files`,
      });
      heldFiles.set(loser, problems);
      unitsByFile.delete(loser);
    }
  }

  const units = [...unitsByFile.values()].flat();
  for (const file of heldFiles.keys()) units.push(...lastApplied.filter((unit) => unit.file === file));
  return { units, heldFiles };
};
