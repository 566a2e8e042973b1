import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as v from 'valibot';
import { RunnerError, describeError } from '../shared/errors.ts';
import { writeFileAtomic } from '../state/atomic-write.ts';
import { compareText } from '../shared/compare-text.ts';

/**
 * `<stateDir>/images.json`: which archives were loaded, so a restart does not
 * reload gigabytes. An archive counts as loaded while its path, size and
 * mtime match the record; a replaced archive (any of them changed) is
 * hashed again, and loaded again only when its digest changed.
 */
export interface LoadedArchive {
  /** Absolute path of the archive. */
  path: string;
  size: number;
  mtimeMs: number;
  /** sha256 of the archive file as it was when loaded (hex). */
  sha256: string;
  /** The references podman reported loading. */
  refs: string[];
  /** ISO time of the load. */
  loadedAt: string;
}

const recordSchema = v.object({
  path: v.string(),
  size: v.number(),
  mtimeMs: v.number(),
  sha256: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  refs: v.array(v.string()),
  loadedAt: v.string(),
});
const fileSchema = v.object({ version: v.literal(1), archives: v.array(recordSchema) });

export const IMAGE_STATE_FILE = 'images.json';

export class ImageStateStore {
  private readonly records = new Map<string, LoadedArchive>();
  readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, IMAGE_STATE_FILE);
  }

  /** Reads the file; a missing file is an empty state. Returns a warning when the file was unreadable (then treated as empty: archives are loaded again, which is safe). */
  async load(): Promise<string | undefined> {
    this.records.clear();
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      return `cannot read ${this.file}: ${describeError(error)}; archives will be loaded again`;
    }
    try {
      const parsed = v.parse(fileSchema, JSON.parse(text));
      for (const record of parsed.archives) this.records.set(record.path, record);
      return undefined;
    } catch (error) {
      return `ignoring unreadable ${this.file}: ${describeError(error)}; archives will be loaded again`;
    }
  }

  get(archive: string): LoadedArchive | undefined {
    return this.records.get(archive);
  }

  all(): LoadedArchive[] {
    return [...this.records.values()].sort((a, b) => compareText(a.path, b.path));
  }

  async record(entry: LoadedArchive): Promise<void> {
    this.records.set(entry.path, entry);
    await this.save();
  }

  private async save(): Promise<void> {
    const content = `${JSON.stringify({ version: 1, archives: this.all() }, null, 2)}\n`;
    await writeFileAtomic(this.file, content, 0o644).catch((error: unknown) => {
      throw new RunnerError('STATE_IO', `cannot write ${this.file}: ${describeError(error)}`, { cause: error });
    });
  }
}

/** Reads images.json without a store (for `runner images`); empty when absent or unreadable. */
export const readImageState = async (stateDir: string): Promise<LoadedArchive[]> => {
  const store = new ImageStateStore(stateDir);
  await store.load();
  return store.all();
};
