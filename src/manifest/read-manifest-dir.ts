import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { RunnerError } from '../shared/errors.ts';
import { isManifestFileName } from './manifest-files.ts';
import { parseManifest, type ParsedManifest } from './parse-manifest.ts';
import { readManifestFile } from './read-manifest-file.ts';

/** The whole desired state as written on disk at one moment: every manifest file, parsed, sorted by path. */
export interface ManifestSnapshot {
  dir: string;
  files: ParsedManifest[];
}

/**
 * Reads every manifest in `dir`. Throws (MANIFEST_DIR) only when the directory
 * itself cannot be listed: callers must then keep what runs rather than treat
 * the host as having no manifests (an unmounted disk must not stop every pod).
 */
export const readManifestDir = async (dir: string): Promise<ManifestSnapshot> => {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new RunnerError('MANIFEST_DIR', `cannot read manifest directory ${dir}: ${code}`, { cause: error });
  }
  const files: ParsedManifest[] = [];
  for (const name of names.filter(isManifestFileName).sort()) {
    const file = path.join(dir, name);
    const parsed = await readAndParse(file);
    if (parsed) files.push(parsed);
  }
  return { dir, files };
};

/** One file; undefined when it vanished between listing and reading. */
export const readAndParse = async (file: string): Promise<ParsedManifest | undefined> => {
  const read = await readManifestFile(file);
  if (!read.ok) return read.gone ? undefined : { file, documents: [], problems: [{ file, message: read.reason }] };
  return parseManifest(file, read.text);
};
