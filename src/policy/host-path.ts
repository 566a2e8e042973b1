import path from 'node:path';

/**
 * The hostPath as the kernel will resolve its `..` and `.` segments (symlinks
 * on the host aside: see SECURITY.md), so `/etc/haproxy/../shadow` is checked
 * as `/etc/shadow`.
 */
export const normalizeHostPath = (hostPath: string): string => {
  const normalized = path.posix.normalize(hostPath);
  return normalized.length > 1 ? normalized.replace(/\/+$/, '') : normalized;
};

/** Whether `hostPath` is a prefix or lies under one, on segment boundaries (`/etc/haproxy2` is not under `/etc/haproxy`). */
export const isUnderPrefix = (hostPath: string, prefixes: readonly string[]): boolean => {
  const target = normalizeHostPath(hostPath);
  return prefixes.some((prefix) => {
    const base = normalizeHostPath(prefix);
    if (!base.startsWith('/')) return false;
    return base === '/' || target === base || target.startsWith(`${base}/`);
  });
};
