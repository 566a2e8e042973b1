import { isPidAlive } from '../shared/process-info.ts';
import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { RunnerError } from '../shared/errors.ts';
import { writeFileAtomic } from './atomic-write.ts';

/**
 * `<stateDir>/runner.pid`: one daemon per state directory. A pid file left by
 * a daemon that died (SIGKILL, power cut) is recognised as stale because its
 * process is gone, and replaced.
 */
export const claimPidFile = async (stateDir: string): Promise<{ release: () => Promise<void> }> => {
  const file = path.join(stateDir, 'runner.pid');
  const existing = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
  if (Number.isInteger(existing) && existing > 0 && existing !== process.pid && isPidAlive(existing)) {
    throw new RunnerError('ALREADY_RUNNING', `another runner (pid ${existing}) is already using state directory ${stateDir}`);
  }
  await writeFileAtomic(file, `${process.pid}\n`, 0o644);
  return {
    release: async () => {
      const current = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
      if (current === process.pid) await unlink(file).catch(() => undefined);
    },
  };
};
