import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { readArchiveFormat } from './archive-format.ts';

/**
 * The image references an archive provides, read without loading it:
 * docker-archive has `manifest.json` (`[{ RepoTags: [...] }]`), oci-archive
 * has `index.json` (`manifests[].annotations["org.opencontainers.image.ref.name"]`).
 * Plain and gzip archives are read here (streamed, so a multi-gigabyte
 * archive costs one pass and little memory); zstd, xz and bzip2 need a tool
 * the runner does not run, so their references are unknown until loaded.
 */
export type ArchiveRefs =
  { ok: true; format: 'docker-archive' | 'oci-archive'; refs: string[] } | { ok: false; reason: string };

/** Metadata files are small; anything bigger is not what we are looking for. */
const MAX_METADATA_BYTES = 4 * 1024 * 1024;

export const readArchiveRefs = async (file: string): Promise<ArchiveRefs> => {
  const { compression } = await readArchiveFormat(file);
  if (compression !== 'none' && compression !== 'gzip')
    return { ok: false, reason: `${compression}-compressed: image names are known once loaded` };
  const raw = createReadStream(file);
  const stream: Readable = compression === 'gzip' ? raw.pipe(createGunzip()) : raw;
  try {
    const found = await findTarEntries(stream, (name) => name === 'manifest.json' || name === 'index.json');
    if (found.has('manifest.json'))
      return { ok: true, format: 'docker-archive', refs: dockerRefs(found.get('manifest.json')!) };
    if (found.has('index.json')) return { ok: true, format: 'oci-archive', refs: ociRefs(found.get('index.json')!) };
    return {
      ok: false,
      reason: 'neither manifest.json (docker-archive) nor index.json (oci-archive) found: not an image archive',
    };
  } catch (error) {
    return { ok: false, reason: `cannot be read as a tar archive: ${(error as Error).message}` };
  } finally {
    raw.destroy();
  }
};

const dockerRefs = (text: string): string[] => {
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed)) throw new Error('manifest.json is not a list');
  return parsed.flatMap((entry) =>
    Array.isArray((entry as { RepoTags?: unknown }).RepoTags)
      ? (entry as { RepoTags: unknown[] }).RepoTags.filter((tag) => typeof tag === 'string')
      : [],
  );
};

const ociRefs = (text: string): string[] => {
  const parsed = JSON.parse(text) as { manifests?: { annotations?: Record<string, unknown> }[] };
  return (parsed.manifests ?? [])
    .map((entry) => entry.annotations?.['org.opencontainers.image.ref.name'])
    .filter((ref): ref is string => typeof ref === 'string');
};

/**
 * A minimal streaming tar reader (ustar/GNU headers, PAX headers skipped):
 * collects the text of the top-level entries `wanted` accepts. Throws on a
 * header whose checksum is wrong or on a truncated archive.
 */
export const findTarEntries = async (
  stream: AsyncIterable<Buffer | string>,
  wanted: (name: string) => boolean,
): Promise<Map<string, string>> => {
  const found = new Map<string, string>();
  let buffer = Buffer.alloc(0);
  let skip = 0; // bytes of the current entry (plus padding) still to pass over
  let capture: { name: string; size: number; chunks: Buffer[]; got: number } | undefined;
  let ended = false;
  for await (const chunk of stream) {
    buffer = buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([buffer, Buffer.from(chunk)]);
    while (!ended) {
      if (skip > 0) {
        const take = Math.min(skip, buffer.length);
        if (capture && capture.got < capture.size) {
          const part = buffer.subarray(0, Math.min(take, capture.size - capture.got));
          capture.chunks.push(Buffer.from(part));
          capture.got += part.length;
          if (capture.got === capture.size) found.set(capture.name, Buffer.concat(capture.chunks).toString('utf8'));
        }
        buffer = buffer.subarray(take);
        skip -= take;
        if (skip > 0) break;
        capture = undefined;
        continue;
      }
      if (buffer.length < 512) break;
      const header = buffer.subarray(0, 512);
      buffer = buffer.subarray(512);
      if (header.every((byte) => byte === 0)) {
        ended = true;
        break;
      }
      const entry = parseHeader(header);
      const name = entry.name.replace(/^\.\//, '');
      skip = Math.ceil(entry.size / 512) * 512;
      if ((entry.type === '0' || entry.type === '\0') && wanted(name) && entry.size <= MAX_METADATA_BYTES) {
        capture = { name, size: entry.size, chunks: [], got: 0 };
        if (entry.size === 0) found.set(name, '');
      }
    }
    if (ended) break;
  }
  if (!ended && (skip > 0 || buffer.length > 0)) throw new Error('unexpected end of archive');
  return found;
};

const parseHeader = (header: Buffer): { name: string; size: number; type: string } => {
  const stored = Number.parseInt(text(header, 148, 8).trim() || 'NaN', 8);
  let sum = 0;
  for (let index = 0; index < 512; index += 1) sum += index >= 148 && index < 156 ? 0x20 : header[index]!;
  if (sum !== stored) throw new Error('invalid tar header (checksum mismatch)');
  const prefix = header.subarray(257, 263).toString('latin1').startsWith('ustar') ? text(header, 345, 155) : '';
  const name = text(header, 0, 100);
  return {
    name: prefix ? `${prefix}/${name}` : name,
    size: tarSize(header.subarray(124, 136)),
    type: String.fromCharCode(header[156]!),
  };
};

const text = (buffer: Buffer, start: number, length: number): string => {
  const slice = buffer.subarray(start, start + length);
  const end = slice.indexOf(0);
  return slice.subarray(0, end < 0 ? slice.length : end).toString('utf8');
};

/** Octal, or GNU base-256 for sizes of 8 GiB and more. */
const tarSize = (field: Buffer): number => {
  if (field[0]! & 0x80) {
    let value = 0;
    for (let index = 1; index < field.length; index += 1) value = value * 256 + field[index]!;
    return value;
  }
  return Number.parseInt(text(field, 0, field.length).trim() || '0', 8);
};
