/** Facts about processes and this boot, shared by the pid file, the status writer and its readers. */
import { readFileSync } from 'node:fs';

/** The kernel's boot id (changes on every boot); undefined where /proc does not have it. */
export const currentBootId = (): string | undefined => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** Signal 0 checks existence only; EPERM means it exists but belongs to someone else. */
export const isPidAlive = (pid: number): boolean => {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};
