import path from 'node:path';

/**
 * Which names in the images directory are archives to load. Dotfiles and
 * partial copies (`.tmp`, `.part`, `.partial`, `.crdownload`, `~`) are never
 * touched; `.sha256` files are read beside their archive, not loaded.
 */
export const ARCHIVE_SUFFIXES = ['.tar', '.tar.gz', '.tgz', '.tar.zst', '.tar.zstd', '.tar.xz', '.tar.bz2'] as const;

export const isArchiveName = (fileName: string): boolean => {
  const base = path.basename(fileName);
  if (base.startsWith('.') || base.endsWith('~')) return false;
  if (/\.(tmp|temp|part|partial|crdownload|swp)$/i.test(base)) return false;
  return ARCHIVE_SUFFIXES.some((suffix) => base.toLowerCase().endsWith(suffix));
};

/** The checksum file the runner looks for beside an archive. */
export const checksumFileOf = (archive: string): string => `${archive}.sha256`;
