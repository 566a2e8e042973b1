import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Podman } from '../podman/podman.ts';
import { describeError } from '../shared/errors.ts';
import { readArchiveFormat } from './archive-format.ts';
import { sha256OfFile } from './archive-digest.ts';
import { ArchiveRefusedError } from './archive-error.ts';
import { checksumFileOf } from './archive-files.ts';
import { formatBytes, type FreeBytes } from './free-space.ts';
import type { LoadedArchive } from './image-state.ts';
import { parseSha256File } from './sha256-file.ts';

export interface LoadArchiveDeps {
  podman: Podman;
  freeBytes: FreeBytes;
  /** Space that must remain free on podman's storage after the load. */
  marginBytes: number;
  loadTimeoutMs: number;
  now: () => number;
  /** A record with this digest already loaded (same archive under another name, or a touched file): no load needed. */
  loadedDigest: (sha256: string) => LoadedArchive | undefined;
  signal?: AbortSignal;
}

/**
 * Loads one archive, in order: checksum (when a `.sha256` file is beside
 * it), free space on podman's storage, `podman load`. Throws
 * ArchiveRefusedError naming the archive (and the checksum file) on any
 * refusal; the archive is only ever read.
 */
export const loadArchive = async (
  archive: string,
  deps: LoadArchiveDeps,
): Promise<{ record: LoadedArchive; loaded: boolean }> => {
  const before = await stat(archive).catch((error: unknown) => {
    throw new ArchiveRefusedError(
      'ARCHIVE_IO',
      archive,
      `cannot read image archive ${archive}: ${describeError(error)}`,
      { cause: error },
    );
  });
  const sha256 = await sha256OfFile(archive, deps.signal).catch((error: unknown) => {
    throw new ArchiveRefusedError(
      'ARCHIVE_IO',
      archive,
      `cannot read image archive ${archive}: ${describeError(error)}`,
      { cause: error },
    );
  });
  await verifyChecksum(archive, sha256);
  const record = (refs: string[]): LoadedArchive => ({
    path: archive,
    size: before.size,
    mtimeMs: before.mtimeMs,
    sha256,
    refs,
    loadedAt: new Date(deps.now()).toISOString(),
  });

  // Same bytes as an archive already loaded (a touched file, a copy under another name):
  // no second load, unless its images have since been removed from podman's storage.
  const same = deps.loadedDigest(sha256);
  if (same && same.refs.length > 0) {
    const present = await Promise.all(same.refs.map((ref) => deps.podman.imageExists(ref, { signal: deps.signal })));
    if (present.every(Boolean)) return { record: record(same.refs), loaded: false };
  }

  const format = await readArchiveFormat(archive);
  const root = await deps.podman.storageRoot({ signal: deps.signal });
  const free = await deps.freeBytes(root).catch(() => undefined);
  if (free !== undefined && free < format.uncompressedBytes + deps.marginBytes) {
    const estimate =
      format.compression === 'none' ? '' : ` (uncompressed estimate for a ${format.compression} archive)`;
    throw new ArchiveRefusedError(
      'ARCHIVE_SPACE',
      archive,
      `not loading image archive ${archive}: it needs about ${formatBytes(format.uncompressedBytes)}${estimate} plus a ${formatBytes(deps.marginBytes)} margin on podman's storage ${root}, which has ${formatBytes(free)} free`,
    );
  }
  let refs: string[];
  try {
    refs = await deps.podman.loadImage(archive, {
      gunzip: format.compression === 'gzip',
      timeoutMs: deps.loadTimeoutMs,
      signal: deps.signal,
    });
  } catch (error) {
    throw new ArchiveRefusedError(
      'ARCHIVE_LOAD',
      archive,
      `podman could not load image archive ${archive}: ${describeError(error)}`,
      { cause: error },
    );
  }
  return { record: record(refs), loaded: true };
};

const verifyChecksum = async (archive: string, actual: string): Promise<void> => {
  const checksumFile = checksumFileOf(archive);
  let text: string;
  try {
    text = await readFile(checksumFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new ArchiveRefusedError(
      'ARCHIVE_CHECKSUM',
      archive,
      `not loading image archive ${archive}: cannot read its checksum file ${checksumFile}: ${describeError(error)}`,
      { cause: error },
    );
  }
  const parsed = parseSha256File(text, path.basename(archive));
  if (!parsed.ok)
    throw new ArchiveRefusedError(
      'ARCHIVE_CHECKSUM',
      archive,
      `not loading image archive ${archive}: its checksum file ${checksumFile} ${parsed.reason}`,
    );
  if (parsed.digest !== actual) {
    throw new ArchiveRefusedError(
      'ARCHIVE_CHECKSUM',
      archive,
      `not loading image archive ${archive}: its sha256 is ${actual}, but ${checksumFile} says ${parsed.digest} (incomplete or corrupted copy?); the archive is left as it is`,
    );
  }
};
