import { lstat, realpath, stat } from 'node:fs/promises';
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

/**
 * Why the manifest directory cannot be trusted, or undefined: the directory
 * (after following a symlinked path) and every ancestor up to `/` must be
 * owned by a trusted user and not writable by group or others, as sshd
 * requires of a home directory. Errors reading them are left to the caller's
 * own read of the directory.
 */
export const directoryTrustProblem = async (dir: string, options: TrustOptions, euid?: number): Promise<string | undefined> => {
  if (!options.strict) return undefined;
  const owners = trustedOwners(options, euid);
  let current: string;
  try {
    current = await realpath(dir);
  } catch {
    return undefined;
  }
  let own = true;
  for (;;) {
    let stats;
    try {
      stats = await stat(current);
    } catch {
      return undefined;
    }
    const reason = untrustedReason(own ? 'manifest directory' : 'parent directory', current, stats, owners, !own);
    if (reason) return reason;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
    own = false;
  }
};

export type EntryResolution =
  /** Open `path`, never following a symlink at its last component. */
  | { ok: true; path: string }
  | { ok: false; reason: string; gone?: boolean };

const isInside = (child: string, parent: string): boolean =>
  child === parent || child.startsWith(parent.endsWith('/') ? parent : `${parent}/`);

/**
 * Where to read the directory entry `file` from. A plain entry is read in
 * place; a symlink only when it resolves inside `realDir` (the manifest
 * directory's realpath), unless `followSymlinksOutside`. The path returned is
 * opened with O_NOFOLLOW, so an entry swapped for a symlink after this check
 * is refused rather than followed.
 */
export const resolveManifestEntry = async (file: string, realDir: string, options: TrustOptions): Promise<EntryResolution> => {
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
