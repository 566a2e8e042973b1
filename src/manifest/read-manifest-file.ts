import { constants, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** The kubelet caps manifest reads at 10 MB; so do we. */
export const MAX_MANIFEST_BYTES = 10 * 1024 * 1024;

export interface ReadFileOptions {
  maxBytes?: number;
  /** Refuse a symlink as the last path component (the caller resolved and vetted it). */
  noFollow?: boolean;
  /** A check on the opened file's own fstat (trust: owner and mode); a reason refuses the file. */
  checkStat?: (stats: Stats) => string | undefined;
}

export type ReadResult =
  | { ok: true; text: string }
  | { ok: false; reason: string; gone?: boolean };

/**
 * Reads a manifest without ever blocking or reading without bound: opened
 * non-blocking (a FIFO named `x.yaml` cannot hang us), checked to be a regular
 * file after opening (no TOCTOU between stat and read), capped in size, and
 * decoded as strict UTF-8.
 */
export const readManifestFile = async (file: string, options: number | ReadFileOptions = {}): Promise<ReadResult> => {
  const { maxBytes = MAX_MANIFEST_BYTES, noFollow = false, checkStat } = typeof options === 'number' ? { maxBytes: options } : options;
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY | (noFollow ? constants.O_NOFOLLOW : 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, reason: 'file disappeared while being read', gone: true };
    if (code === 'ENXIO') return { ok: false, reason: 'not a regular file (socket)' };
    if (code === 'ELOOP' && noFollow) return { ok: false, reason: 'became a symlink while being read' };
    return { ok: false, reason: `cannot open: ${code ?? String(error)}` };
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return { ok: false, reason: 'not a regular file' };
    // On the descriptor we read from, so a swap after the check cannot slip through.
    const untrusted = checkStat?.(stat);
    if (untrusted) return { ok: false, reason: untrusted };
    if (stat.size > maxBytes) return { ok: false, reason: `file is ${stat.size} bytes, larger than the ${maxBytes}-byte limit` };
    // Read at most maxBytes+1 even if the file grew after fstat.
    const buffer = Buffer.alloc(Math.min(stat.size, maxBytes) + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length === buffer.length) break;
    }
    if (length > maxBytes) return { ok: false, reason: `file is larger than the ${maxBytes}-byte limit` };
    try {
      return { ok: true, text: new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length)) };
    } catch {
      return { ok: false, reason: 'file is not valid UTF-8 text' };
    }
  } finally {
    await handle.close();
  }
};
