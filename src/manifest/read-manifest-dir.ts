import { readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { RunnerError } from '../shared/errors.ts';
import { DEFAULT_POLICY, type Policy } from '../policy/policy.ts';
import { isManifestFileName } from './manifest-files.ts';
import { contentDigest, type ManifestCache } from './manifest-cache.ts';
import type { ManifestProblem } from './manifest-problem.ts';
import { parseManifest, type ParsedManifest, type ParseOptions } from './parse-manifest.ts';
import { decodeManifest, readManifestFile } from './read-manifest-file.ts';
import {
  DEFAULT_TRUST,
  directoryTrustProblem,
  resolveManifestEntry,
  trustedOwners,
  untrustedReason,
  type TrustOptions,
} from './trust.ts';

/** The whole desired state as written on disk at one moment: every manifest file, parsed, sorted by path. */
export interface ManifestSnapshot {
  dir: string;
  files: ParsedManifest[];
  /** Trust problems reported but not enforced (`trustMode: 'warn'`, for `runner validate`). */
  warnings?: ManifestProblem[];
}

export interface ReadManifestOptions {
  /** Owner/mode and symlink rules (src/manifest/trust.ts); DEFAULT_TRUST (strict) when not given. */
  trust?: TrustOptions;
  /** What a workload may ask of the host; DEFAULT_POLICY when not given. */
  policy?: Policy;
  /**
   * `enforce` (the daemon): an untrusted file is a problem, so it is held.
   * `warn` (`runner validate`, often run by a non-root CI user): it is read
   * anyway and the reason goes to `warnings`.
   */
  trustMode?: 'enforce' | 'warn';
  /** The runner's effective uid (tests). */
  euid?: number;
  /** Parses of earlier reads (the daemon's manifest source); every file is parsed afresh without one. */
  cache?: ManifestCache;
  /** parseManifest when not given; the daemon's parses large files on another thread. */
  parse?: ParseManifestFn;
}

/**
 * parseManifest's contract, synchronous or not, given the file's bytes
 * (valid UTF-8: see decodeManifest). The bytes own their buffer
 * (readManifestFile allocates one per read) and the caller does not use them
 * afterwards, so the function may move them to another thread.
 */
export type ParseManifestFn = (
  file: string,
  bytes: Uint8Array,
  options: ParseOptions,
) => ParsedManifest | Promise<ParsedManifest>;

const parseHere: ParseManifestFn = (file, bytes, options) => parseManifest(file, decodeManifest(bytes), options);

/**
 * Reads every manifest in `dir`. Throws (MANIFEST_DIR) only when the directory
 * itself cannot be listed: callers must then keep what runs rather than treat
 * the host as having no manifests (an unmounted disk must not stop every pod).
 * An untrusted directory is listed but none of its files is read: each is a
 * problem naming the directory, so what runs from them keeps running.
 */
export const readManifestDir = async (dir: string, options: ReadManifestOptions = {}): Promise<ManifestSnapshot> => {
  let names: string[];
  let realDir: string;
  try {
    names = await readdir(dir);
    realDir = await realpath(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new RunnerError('MANIFEST_DIR', `cannot read manifest directory ${dir}: ${code}`, { cause: error });
  }
  const trust = options.trust ?? DEFAULT_TRUST;
  const warnings: ManifestProblem[] = [];
  const dirProblem = await directoryTrustProblem(dir, trust, options.euid);
  const refuseAll = dirProblem !== undefined && options.trustMode !== 'warn';
  if (dirProblem && !refuseAll) warnings.push({ file: dir, message: dirProblem });
  const files: ParsedManifest[] = [];
  options.cache?.usePolicy(options.policy ?? DEFAULT_POLICY);
  const listed = names.filter(isManifestFileName).sort();
  options.cache?.retain(new Set(listed.map((name) => path.join(dir, name))));
  for (const name of listed) {
    const file = path.join(dir, name);
    if (refuseAll) {
      files.push({ file, documents: [], problems: [{ file, message: `refusing every manifest: ${dirProblem}` }] });
      continue;
    }
    const parsed = await readAndParse(file, { ...options, realDir, warnings });
    if (parsed) files.push(parsed);
  }
  return options.trustMode === 'warn' ? { dir, files, warnings } : { dir, files };
};

/** One file; undefined when it vanished between listing and reading. */
export const readAndParse = async (
  file: string,
  options: ReadManifestOptions & { realDir?: string; warnings?: ManifestProblem[] } = {},
): Promise<ParsedManifest | undefined> => {
  const trust = options.trust ?? DEFAULT_TRUST;
  const warn = options.trustMode === 'warn';
  const problem = (message: string): ParsedManifest => ({ file, documents: [], problems: [{ file, message }] });
  const realDir = options.realDir ?? (await realpath(path.dirname(file)).catch(() => path.dirname(file)));
  // In warn mode a symlink leaving the directory is still read, so its content gets checked too.
  const entry = await resolveManifestEntry(file, realDir, warn ? { ...trust, followSymlinksOutside: true } : trust);
  if (!entry.ok) return entry.gone ? undefined : problem(entry.reason);
  if (warn && !trust.followSymlinksOutside && entry.path !== file) {
    const outside = await resolveManifestEntry(file, realDir, trust);
    if (!outside.ok) options.warnings?.push({ file, message: outside.reason });
  }
  const owners = trustedOwners(trust, options.euid);
  const cache = options.cache;
  const readStart = cache?.readStart() ?? 0n;
  let known: ParsedManifest | undefined;
  const read = await readManifestFile(entry.path, {
    noFollow: true,
    checkStat: trust.strict
      ? (stats) => {
          const reason = untrustedReason('file', file, stats, owners);
          if (reason && warn) options.warnings?.push({ file, message: reason });
          return warn ? undefined : reason;
        }
      : undefined,
    isKnown: cache ? (version) => (known = cache.unchanged(file, version)) !== undefined : undefined,
  });
  if (!read.ok) return read.gone ? undefined : problem(read.reason);
  // Only a version the cache answered for is "known", and `known` holds that answer.
  if ('known' in read) return known!;
  const digest = cache ? contentDigest(read.bytes) : '';
  const same = cache?.sameContent(file, read.version, digest, readStart);
  if (same) return same;
  const parsed = await (options.parse ?? parseHere)(file, read.bytes, { policy: options.policy ?? DEFAULT_POLICY });
  return cache ? cache.store(file, read.version, digest, readStart, parsed) : parsed;
};
