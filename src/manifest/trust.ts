import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';

/**
 * Who may write manifests, checked like sshd's StrictModes: whoever can write
 * a manifest can start a root container with host mounts, so the manifest
 * directory and its files must be writable by root (or the runner's own user)
 * only. See SECURITY.md.
 */
export interface TrustOptions {
  /** Refuse files and directories writable by group/others or owned by someone else. */
  strict: boolean;
  /** Owners trusted besides root and the runner's own effective uid. */
  allowedOwners: readonly number[];
  /** Follow a symlink whose target lies outside the manifest directory. */
  followSymlinksOutside: boolean;
}

export const DEFAULT_TRUST: TrustOptions = { strict: true, allowedOwners: [], followSymlinksOutside: false };

export interface OwnerAndMode {
  uid: number;
  mode: number;
}

/** Root, the runner's effective uid (a rootless runner owns its own manifests), and the configured extras. */
export const trustedOwners = (options: TrustOptions, euid: number = process.geteuid?.() ?? 0): ReadonlySet<number> =>
  new Set([0, euid, ...options.allowedOwners]);

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;

/**
 * Why `what` (a file or directory at `where`) cannot be trusted, or undefined.
 * `stickyOk`: an ancestor such as /tmp (root-owned, world-writable, sticky)
 * is fine, since nobody can rename or delete what they do not own in it.
 */
export const untrustedReason = (
  what: string,
  where: string,
  stats: OwnerAndMode,
  owners: ReadonlySet<number>,
  stickyOk = false,
): string | undefined => {
  if (!owners.has(stats.uid)) {
    return `${what} ${where} is owned by uid ${stats.uid}, not by root or the runner's user: run "chown root ${where}" (or add the uid to trust.allowedOwners)`;
  }
  const writable = stats.mode & 0o022;
  if (writable === 0) return undefined;
  if (stickyOk && (stats.mode & 0o1000) !== 0 && stats.uid === 0) return undefined;
  const by = writable === 0o022 ? 'group and others' : writable === 0o020 ? 'group' : 'others';
  return `${what} ${where} is writable by ${by} (mode ${octal(stats.mode)}): run "chmod go-w ${where}" (or set trust.strict: false)`;
};

/** As the kernel's MAXSYMLINKS: more links than this in one path is a loop. */
const MAX_SYMLINKS = 40;

/**
 * Why the manifest directory cannot be trusted, or undefined. The path is
 * walked as configured, one component at a time from `/` (as the kernel
 * resolves it), so that nobody but root can change which directory it
 * names: every directory on the way must be owned by a trusted user and not
 * writable by group or others (a root-owned sticky ancestor such as /tmp is
 * fine), as sshd requires of a home directory. A symlink on the way is
 * followed only if its owner is trusted (the directory holding it has just
 * been checked); the walk then goes on through its target, which is checked
 * the same way. Checking only the resolved path would miss a link in a
 * directory that another user may write, which that user could repoint.
 * Errors reading the path are left to the caller's own read of the directory.
 */
export const directoryTrustProblem = async (
  dir: string,
  options: TrustOptions,
  euid?: number,
): Promise<string | undefined> => {
  if (!options.strict) return undefined;
  const owners = trustedOwners(options, euid);
  const check = async (where: string, last: boolean): Promise<string | undefined> => {
    const stats = await lstat(where).catch(() => undefined);
    return stats && untrustedReason(last ? 'manifest directory' : 'parent directory', where, stats, owners, !last);
  };
  // A relative path starts at the working directory, which is already a real path.
  const pending = [...(path.isAbsolute(dir) ? [] : process.cwd().split('/')), ...dir.split('/')];
  const isLast = (): boolean => pending.every((name) => name === '' || name === '.');
  let current = '/';
  let checkedLast: string | undefined;
  let links = 0;
  const rootProblem = await check(current, false);
  if (rootProblem) return rootProblem;
  while (pending.length > 0) {
    const name = pending.shift()!;
    if (name === '' || name === '.') continue;
    if (name === '..') {
      current = path.dirname(current);
      continue;
    }
    const next = path.join(current, name);
    const stats = await lstat(next).catch(() => undefined);
    if (!stats) return undefined;
    if (stats.isSymbolicLink()) {
      // A symlink's own mode means nothing (always 0777): whoever owns it can repoint it.
      if (!owners.has(stats.uid)) {
        return `symlink ${next} on the path of the manifest directory is owned by uid ${stats.uid}, who could repoint it: run "chown -h root ${next}" (or add the uid to trust.allowedOwners)`;
      }
      links += 1;
      const target = links > MAX_SYMLINKS ? undefined : await readlink(next).catch(() => undefined);
      if (target === undefined) return undefined;
      pending.unshift(...target.split('/'));
      if (path.isAbsolute(target)) current = '/';
      continue;
    }
    const last = isLast();
    const reason = untrustedReason(last ? 'manifest directory' : 'parent directory', next, stats, owners, !last);
    if (reason) return reason;
    current = next;
    if (last) checkedLast = next;
  }
  // The walk ended on a directory already passed as an ancestor (`/`, or a path ending in `..`): check it as the manifest directory too.
  return checkedLast === current ? undefined : check(current, true);
};

export type EntryResolution =
  /** Open `path`, never following a symlink at its last component. */
  { ok: true; path: string } | { ok: false; reason: string; gone?: boolean };

const isInside = (child: string, parent: string): boolean =>
  child === parent || child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);

/**
 * Where to read the directory entry `file` from. A plain entry is read in
 * place; a symlink only when it resolves inside `realDir` (the manifest
 * directory's realpath), unless `followSymlinksOutside`. The path returned is
 * opened with O_NOFOLLOW, so an entry swapped for a symlink after this check
 * is refused rather than followed.
 */
export const resolveManifestEntry = async (
  file: string,
  realDir: string,
  options: TrustOptions,
): Promise<EntryResolution> => {
  let link;
  try {
    link = await lstat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'file disappeared while being read', gone: true };
    return { ok: false, reason: `cannot read: ${code ?? String(error)}` };
  }
  if (!link.isSymbolicLink()) return { ok: true, path: file };
  let target: string;
  try {
    target = await realpath(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'is a symlink to a file that does not exist' };
    return { ok: false, reason: `is a symlink that cannot be resolved: ${code ?? String(error)}` };
  }
  if (!options.followSymlinksOutside && !isInside(target, realDir)) {
    return {
      ok: false,
      reason: `is a symlink to ${target}, outside the manifest directory: refusing it (copy the file into the directory, or set trust.followSymlinksOutside: true)`,
    };
  }
  return { ok: true, path: target };
};
