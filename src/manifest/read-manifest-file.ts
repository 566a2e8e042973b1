import { isUtf8 } from 'node:buffer';
import { constants } from 'node:fs';
import { lstat, open, stat } from 'node:fs/promises';

/** The kubelet caps manifest reads at 10 MB; so do we. */
export const MAX_MANIFEST_BYTES = 10 * 1024 * 1024;

export interface ReadFileOptions {
  maxBytes?: number;
  /** Refuse a symlink as the last path component (the caller resolved and vetted it). */
  noFollow?: boolean;
  /** A check on the opened file's own fstat (trust: owner and mode); a reason refuses the file. */
  checkStat?: (stats: { uid: number; mode: number }) => string | undefined;
  /**
   * Asked after every check has passed: true when `version` is one the
   * caller already holds the content of, so reading it again is skipped.
   */
  isKnown?: (version: FileVersion) => boolean;
}

/**
 * One version of a file as fstat sees it. Any write changes the ctime, which
 * no user can set, and a replacement (rename over) changes the inode.
 */
export interface FileVersion {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export type ReadResult =
  /** `bytes` are valid UTF-8: decodeManifest turns them into the text. */
  | { ok: true; bytes: Uint8Array; version: FileVersion }
  /** `isKnown` recognised the version: nothing was read. */
  | { ok: true; known: true; version: FileVersion }
  | { ok: false; reason: string; gone?: boolean };

export const sameVersion = (a: FileVersion, b: FileVersion): boolean =>
  a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;

/**
 * Reads a manifest without ever blocking or reading without bound: opened
 * non-blocking (a FIFO named `x.yaml` cannot hang us), checked to be a regular
 * file after opening (no TOCTOU between stat and read), capped in size, and
 * checked to be strict UTF-8. The text is left to decodeManifest, so the
 * daemon can have it decoded off the main thread (10 MB took 45 to 120 ms
 * here). Every check runs on every call; only the read itself is skipped
 * for a version the caller says it knows.
 */
export const readManifestFile = async (file: string, options: number | ReadFileOptions = {}): Promise<ReadResult> => {
  const {
    maxBytes = MAX_MANIFEST_BYTES,
    noFollow = false,
    checkStat,
    isKnown,
  } = typeof options === 'number' ? { maxBytes: options } : options;
  let handle;
  try {
    handle = await open(
      file,
      constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | (noFollow ? constants.O_NOFOLLOW : 0),
    );
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'file disappeared while being read', gone: true };
    if (code === 'ENXIO') return { ok: false, reason: 'not a regular file (socket)' };
    if (code === 'ELOOP' && noFollow) return { ok: false, reason: 'became a symlink while being read' };
    // A device node on a nodev mount (Debian 13's /tmp) refuses open() with
    // EACCES: what the file is says more than the permission error does.
    const kind = await specialKind(file, noFollow);
    if (kind !== undefined) return { ok: false, reason: `not a regular file (${kind})` };
    return { ok: false, reason: `cannot open: ${code ?? String(error)}` };
  }
  try {
    const stat = await handle.stat({ bigint: true });
    if (!stat.isFile()) return { ok: false, reason: 'not a regular file' };
    // On the descriptor we read from, so a swap after the check cannot slip through.
    const untrusted = checkStat?.({ uid: Number(stat.uid), mode: Number(stat.mode) });
    if (untrusted) return { ok: false, reason: untrusted };
    if (stat.size > BigInt(maxBytes))
      return { ok: false, reason: `file is ${stat.size} bytes, larger than the ${maxBytes}-byte limit` };
    const version: FileVersion = {
      dev: stat.dev,
      ino: stat.ino,
      size: stat.size,
      mtimeNs: stat.mtimeNs,
      ctimeNs: stat.ctimeNs,
    };
    if (isKnown?.(version)) return { ok: true, known: true, version };
    // Read at most maxBytes+1 even if the file grew after fstat.
    const buffer = Buffer.alloc(Math.min(Number(stat.size), maxBytes) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) break;
    }
    if (length > maxBytes) return { ok: false, reason: `file is larger than the ${maxBytes}-byte limit` };
    const bytes = buffer.subarray(0, length);
    // simdutf: under a millisecond for 10 MB. It refuses what a fatal TextDecoder does (overlong forms, surrogates).
    if (!isUtf8(bytes)) return { ok: false, reason: 'file is not valid UTF-8 text' };
    return { ok: true, bytes, version };
  } finally {
    await handle.close();
  }
};

/** The text of bytes that readManifestFile found to be UTF-8, without a leading byte order mark (as a fatal TextDecoder gave it before). */
export const decodeManifest = (bytes: Uint8Array): string => new TextDecoder('utf-8').decode(bytes);

/** What `file` is when it is a device node, or undefined (a regular file, or gone). */
const specialKind = async (file: string, noFollow: boolean): Promise<string | undefined> => {
  const stats = await (noFollow ? lstat(file) : stat(file)).catch(() => undefined);
  if (stats?.isCharacterDevice()) return 'character device';
  if (stats?.isBlockDevice()) return 'block device';
  return undefined;
};
