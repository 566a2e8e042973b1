import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A fresh directory under the system temp dir; the caller removes it with `removeTempDir`. */
export const makeTempDir = (prefix: string): Promise<string> => mkdtemp(path.join(os.tmpdir(), `runner-${prefix}-`));

export const removeTempDir = (dir: string | undefined): Promise<void> =>
  dir === undefined ? Promise.resolve() : rm(dir, { recursive: true, force: true });
