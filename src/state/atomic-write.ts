import { randomBytes } from 'node:crypto';
import { open, readdir, rename, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * Replaces `file` atomically: write a temp file in the same directory, fsync,
 * rename over. Readers see the old or the new content, never half of it, even
 * across a power cut.
 */
export const writeFileAtomic = async (file: string, content: string, mode = 0o640): Promise<void> => {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  const handle = await open(temp, 'w', mode);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await handle.close();
  try {
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
};

/** `.<name>.<8 hex>.tmp`: the temp files writeFileAtomic makes. */
const TEMP_NAME = /^\.(.+)\.[0-9a-f]{8}\.tmp$/;

/**
 * Removes the temp files writeFileAtomic left in `dir` when the process died
 * between creating and renaming one (SIGKILL, power cut). Only names that
 * pattern makes, and with `of`, only those of the files named there. Call it
 * while no other writer can be at work (the runner holds its PID file).
 * Returns what it removed; a directory that cannot be read removes nothing.
 */
export const removeStaleTemps = async (dir: string, of?: readonly string[]): Promise<string[]> => {
  const names = await readdir(dir).catch(() => [] as string[]);
  const stale = names.filter((name) => {
    const target = TEMP_NAME.exec(name)?.[1];
    return target !== undefined && (of === undefined || of.includes(target));
  });
  const removed: string[] = [];
  for (const name of stale) {
    const file = path.join(dir, name);
    if (
      await unlink(file).then(
        () => true,
        () => false,
      )
    )
      removed.push(file);
  }
  return removed;
};
