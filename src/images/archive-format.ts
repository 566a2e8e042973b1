import { open } from 'node:fs/promises';

/** How an archive is compressed, from its first bytes (never from its name). */
export type Compression = 'none' | 'gzip' | 'zstd' | 'xz' | 'bzip2';

const MAGIC: readonly [Compression, number[]][] = [
  ['gzip', [0x1f, 0x8b]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['bzip2', [0x42, 0x5a, 0x68]],
];

export const compressionOf = (head: Uint8Array): Compression =>
  MAGIC.find(([, bytes]) => bytes.every((byte, index) => head[index] === byte))?.[0] ?? 'none';

/** Assumed expansion when the uncompressed size cannot be read from the file. */
export const COMPRESSION_RATIO = 3;

export interface ArchiveFormat {
  compression: Compression;
  /** What the archive takes once unpacked: exact for plain tar, read from gzip's trailer, else size × COMPRESSION_RATIO. */
  uncompressedBytes: number;
}

/**
 * Reads an archive's first bytes (and, for gzip, its ISIZE trailer: the
 * uncompressed size modulo 2^32, so it is only trusted when it is not smaller
 * than the file itself).
 */
export const readArchiveFormat = async (file: string): Promise<ArchiveFormat> => {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(8);
    await handle.read(head, 0, head.length, 0);
    const compression = compressionOf(head);
    if (compression === 'none') return { compression, uncompressedBytes: size };
    if (compression === 'gzip' && size >= 18) {
      const trailer = Buffer.alloc(4);
      await handle.read(trailer, 0, 4, size - 4);
      const isize = trailer.readUInt32LE(0);
      if (isize >= size && size < 2 ** 32) return { compression, uncompressedBytes: isize };
    }
    return { compression, uncompressedBytes: size * COMPRESSION_RATIO };
  } finally {
    await handle.close();
  }
};
