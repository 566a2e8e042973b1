import { statfs } from 'node:fs/promises';

/** Bytes an unprivileged writer may still use on the filesystem holding `dir`. */
export type FreeBytes = (dir: string) => Promise<number>;

export const freeBytes: FreeBytes = async (dir) => {
  const info = await statfs(dir);
  return Number(info.bavail) * Number(info.bsize);
};

export const formatBytes = (bytes: number): string => {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
};
