import { currentBootId, isPidAlive } from '../shared/process-info.ts';
import { readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import { RunnerError } from '../shared/errors.ts';
import { writeFileAtomic } from './atomic-write.ts';

/**
 * `<stateDir>/runner.pid`: one daemon per state directory. It holds the pid
 * and the boot id of the daemon that wrote it. A pid file left by a daemon
 * that died (SIGKILL, power cut) is recognised as stale because its process
 * is gone, or because it was written in an earlier boot: the state directory
 * outlives a power cut, and in the new boot the old pid is often another
 * process's (seen in the nspawn power-cut test: pid 51, some service of the
 * machine, kept the runner from starting at all). A file without a boot id
 * (written by an older runner) is judged by its pid alone.
 */
export const claimPidFile = async (stateDir: string): Promise<{ release: () => Promise<void> }> => {
  const file = path.join(stateDir, 'runner.pid');
  const bootId = currentBootId();
  const holder = parsePidFile(await readFile(file, 'utf8').catch(() => ''));
  if (
    holder !== undefined &&
    holder.pid !== process.pid &&
    isPidAlive(holder.pid) &&
    (holder.bootId === undefined || holder.bootId === bootId)
  ) {
    throw new RunnerError(
      'ALREADY_RUNNING',
      `another runner (pid ${holder.pid}) is already using state directory ${stateDir}`,
    );
  }
  await writeFileAtomic(file, bootId === undefined ? `${process.pid}\n` : `${process.pid}\n${bootId}\n`, 0o644);
  return {
    release: async () => {
      if (parsePidFile(await readFile(file, 'utf8').catch(() => ''))?.pid === process.pid)
        await unlink(file).catch(() => undefined);
    },
  };
};

/** The pid (first line) and boot id (second line, if any) of a pid file; undefined for garbage. */
const parsePidFile = (text: string): { pid: number; bootId: string | undefined } | undefined => {
  const [first, second] = text.split('\n');
  const pid = Number.parseInt(first ?? '', 10);
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return { pid, bootId: second?.trim() || undefined };
};
