import { createHash } from 'node:crypto';
import type { Policy } from '../policy/policy.ts';
import type { ParsedManifest } from './parse-manifest.ts';
import { sameVersion, type FileVersion } from './read-manifest-file.ts';

/**
 * How far a file's mtime and ctime must lie behind the moment it was read
 * for its version to identify its content. File timestamps come from the
 * kernel's coarse clock (one tick, 1 to 10 ms, on Linux; 2 s on FAT), so a
 * second write of the same size within one tick of the first leaves
 * size, mtime and ctime as they were: git calls such an entry "racily clean".
 * A version read that soon after its last change is read again next time and
 * compared by content.
 */
const RACY_MARGIN_NS = 3_000_000_000n;

interface Entry {
  version: FileVersion;
  /** The version's timestamps were older than the read by RACY_MARGIN_NS. */
  settled: boolean;
  digest: string;
  parsed: ParsedManifest;
}

export type CacheOutcome = 'unchanged' | 'same-content' | 'parsed';

/**
 * What the manifest directory's files parsed to, so that each version of a
 * file is parsed once, not on every pass (a 1.7 MB file cost 5 to 8 s of
 * blocked event loop per pass: issue 12). A file is recognised by its
 * version (device, inode, size, mtime and ctime: then it is not even read)
 * or, when that changed or is too recent to trust, by the SHA-256 of its
 * content (a `touch`, a rewrite of the same bytes by configuration
 * management). Only the parse is cached: the caller's trust checks run on
 * every read. The result depends on the policy, so a different policy
 * empties the cache.
 *
 * Contract: one reader at a time (the manifest source's loop); results are
 * shared, not copied, and must not be changed by their users.
 */
export class ManifestCache {
  private readonly entries = new Map<string, Entry>();
  private policyKey: string | undefined;
  /** How each file read since the cache was made was answered (tests, benchmarks). */
  readonly counts: Record<CacheOutcome, number> = { unchanged: 0, 'same-content': 0, parsed: 0 };

  /** `now` is Unix milliseconds on the clock the filesystem stamps files with (the wall clock). */
  constructor(private readonly now: () => number) {}

  /** Empties the cache unless `policy` is the one its entries were parsed under. */
  usePolicy(policy: Policy): void {
    const key = JSON.stringify(policy);
    if (key === this.policyKey) return;
    this.entries.clear();
    this.policyKey = key;
  }

  /** The moment a read starts, to judge later whether what it read was settled. */
  readStart(): bigint {
    return BigInt(Math.floor(this.now())) * 1_000_000n;
  }

  /** The parse of `file` when `version` is the settled version it came from: the file need not be read. */
  unchanged(file: string, version: FileVersion): ParsedManifest | undefined {
    const entry = this.entries.get(file);
    if (!entry?.settled || !sameVersion(entry.version, version)) return undefined;
    this.counts.unchanged += 1;
    return entry.parsed;
  }

  /** The parse of `file` when its content (`digest`, from contentDigest) is what was parsed last; the entry then takes `version`. */
  sameContent(file: string, version: FileVersion, digest: string, readStart: bigint): ParsedManifest | undefined {
    const entry = this.entries.get(file);
    if (!entry || entry.digest !== digest) return undefined;
    this.counts['same-content'] += 1;
    entry.version = version;
    entry.settled = isSettled(version, readStart);
    return entry.parsed;
  }

  /**
   * Records a new parse of `file` and returns the parse to use: the previous
   * one when the new one says the same (a comment or a blank line changed),
   * so that whoever compares parses by identity sees no change.
   */
  store(file: string, version: FileVersion, digest: string, readStart: bigint, parsed: ParsedManifest): ParsedManifest {
    this.counts.parsed += 1;
    const previous = this.entries.get(file)?.parsed;
    const kept = previous && fingerprintOf(previous) === fingerprintOf(parsed) ? previous : parsed;
    this.entries.set(file, { version, settled: isSettled(version, readStart), digest, parsed: kept });
    return kept;
  }

  /** The version of `file` as last read (the manifest source tells a file renamed in from one written in place by its inode). */
  versionOf(file: string): FileVersion | undefined {
    return this.entries.get(file)?.version;
  }

  /** Forgets every file not in `files` (removed from the directory). */
  retain(files: ReadonlySet<string>): void {
    for (const file of this.entries.keys()) if (!files.has(file)) this.entries.delete(file);
  }
}

const fingerprints = new WeakMap<ParsedManifest, string>();

/**
 * A digest of what a parse says (problems, and every document as written),
 * memoized per parse. A producer that has it more cheaply than by walking
 * the documents (the parse worker) hands it over with rememberFingerprint.
 */
export const fingerprintOf = (parsed: ParsedManifest): string => {
  let fingerprint = fingerprints.get(parsed);
  if (fingerprint === undefined) {
    fingerprint = fingerprintOfParts(
      parsed.problems,
      parsed.documents.map((doc) => doc.object),
    );
    fingerprints.set(parsed, fingerprint);
  }
  return fingerprint;
};

export const fingerprintOfParts = (problems: ParsedManifest['problems'], objects: readonly unknown[]): string =>
  createHash('sha256')
    .update(JSON.stringify([problems, objects]))
    .digest('hex');

export const rememberFingerprint = (parsed: ParsedManifest, fingerprint: string): void => {
  fingerprints.set(parsed, fingerprint);
};

/** SHA-256 of a file's bytes: 10 MB (the read cap) hashes in 7 to 8 ms here. */
export const contentDigest = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

const isSettled = (version: FileVersion, readStart: bigint): boolean =>
  version.mtimeNs + RACY_MARGIN_NS < readStart && version.ctimeNs + RACY_MARGIN_NS < readStart;
