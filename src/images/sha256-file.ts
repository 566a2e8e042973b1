import path from 'node:path';

/**
 * Reads a checksum file as `sha256sum` writes it: `<hex>  <name>` (text mode)
 * or `<hex> *<name>` (binary mode), one line per file; or just `<hex>`. When
 * several lines are present the one naming the archive is used. Returns the
 * lower-case hex digest, or a reason the file cannot be used.
 */
export type Sha256FileResult = { ok: true; digest: string } | { ok: false; reason: string };

const HEX = /^[0-9a-fA-F]{64}$/;

export const parseSha256File = (text: string, archiveName: string): Sha256FileResult => {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  if (lines.length === 0) return { ok: false, reason: 'is empty' };
  const wanted = path.basename(archiveName);
  const entries: { digest: string; name: string | undefined }[] = [];
  for (const line of lines) {
    const match = /^([0-9a-fA-F]+)(?:\s+\*?(.+))?$/.exec(line);
    if (!match || !HEX.test(match[1]!))
      return { ok: false, reason: `has a line that is not "<64 hex digits>  <file name>": "${line.slice(0, 100)}"` };
    entries.push({
      digest: match[1]!.toLowerCase(),
      name: match[2] === undefined ? undefined : path.basename(match[2].trim()),
    });
  }
  const named = entries.find((entry) => entry.name === wanted);
  if (named) return { ok: true, digest: named.digest };
  if (entries.length === 1 && entries[0]!.name === undefined) return { ok: true, digest: entries[0]!.digest };
  if (entries.length === 1) return { ok: false, reason: `names "${entries[0]!.name}", not "${wanted}"` };
  return { ok: false, reason: `has no line for "${wanted}"` };
};
