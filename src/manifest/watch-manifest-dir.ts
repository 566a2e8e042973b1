import type { FSWatcher } from 'chokidar';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { Loop } from '../shared/loop.ts';
import { watchDirectory } from '../shared/watch-directory.ts';
import { ManifestCache } from './manifest-cache.ts';
import { isManifestFileName } from './manifest-files.ts';
import type { ParsedManifest } from './parse-manifest.ts';
import { readManifestDir, type ManifestSnapshot, type ParseManifestFn } from './read-manifest-dir.ts';
import type { Policy } from '../policy/policy.ts';
import type { TrustOptions } from './trust.ts';

export interface ManifestSourceOptions {
  dir: string;
  clock: Clock;
  logger: Logger;
  /** Quiet time after the last change before the directory is read again. */
  debounceMs?: number;
  /** A file that disappears is confirmed gone after this long (atomic saves unlink then rename). */
  removalGraceMs?: number;
  /** Full re-read on a timer, so a missed event cannot leave the host wrong for long. */
  resyncMs: number;
  onSnapshot: (snapshot: ManifestSnapshot) => void;
  /** Owner/mode and symlink rules; strict (DEFAULT_TRUST) when not given. */
  trust?: TrustOptions;
  /** What a manifest may ask of the host; DEFAULT_POLICY when not given. */
  policy?: Policy;
  /** parseManifest when not given (see ReadManifestOptions.parse). */
  parse?: ParseManifestFn;
}

/**
 * The manifest source: emits a full snapshot of the directory whenever its
 * content changes, like the kubelet's file source. Events from chokidar only
 * say "look again"; what is emitted always comes from a fresh read of the
 * whole directory, so a burst of writes converges on the final content and a
 * lost event is repaired by the next timed resync. Each version of a file is
 * parsed once (ManifestCache): a re-read of an unchanged directory costs a
 * stat and an fstat per file, and emits nothing.
 *
 * Contract: `start` resolves after the first snapshot was emitted (or throws
 * when the directory cannot be read at all); snapshots are emitted one at a
 * time, only when something changed; `stop` (or the signal) ends everything.
 */
export class ManifestSource {
  private watcher: FSWatcher | undefined;
  private last: ManifestSnapshot | undefined;
  /** Parses of the files as last read; lives as long as the source (the policy cannot change under it). */
  readonly cache: ManifestCache;
  private readonly loop: Loop;
  /** When the next timed re-read is due, and the one more look after a burst of changes (see `pass`). */
  private nextResync = 0;
  private recheckAt: number | undefined;

  constructor(private readonly options: ManifestSourceOptions) {
    const { clock, debounceMs = 150 } = options;
    this.cache = new ManifestCache(() => clock.now());
    // Debounce: wait until writes have been quiet for debounceMs. Each change
    // also gets a look at once, which counts only for files renamed in (see
    // readAtOnce); the debounced read reports whatever is wrong.
    this.loop = new Loop({
      clock,
      idleMs: () => Math.max(0, Math.min(this.nextResync, this.recheckAt ?? Infinity) - clock.now()),
      debounce: { quietMs: debounceMs, eachWake: () => this.readAtOnce().catch(() => undefined) },
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    const { dir, resyncMs } = this.options;
    await this.readAndEmit(); // throws when the directory is unusable at start-up
    // The debounce and removal grace below handle editors' atomic saves.
    this.watcher = await watchDirectory(dir, {
      wanted: isManifestFileName,
      onChange: () => this.poke(),
      logger: this.options.logger,
      resyncMs,
    });
    // Anything written between the first read and the watcher being ready is
    // caught by one more read, not left for the resync.
    this.poke();
    this.nextResync = this.options.clock.now() + resyncMs;
    this.loop.start(signal, ({ woken }) => this.pass(woken));
    this.options.logger.info(`watching ${dir}`);
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
    await this.loop.stop();
  }

  /** Ask for a re-read soon (used by the watcher, and by tests). */
  poke(): void {
    this.loop.wake();
  }

  private async pass(woken: boolean): Promise<void> {
    const { clock, resyncMs } = this.options;
    if (woken) {
      // chokidar drops a file's "change" for 50 ms after one it reported
      // (no trailing event) and rescans a directory at most once a second,
      // so the last write of a quick series can go unreported: look once more.
      this.recheckAt = clock.now() + RECHECK_MS;
    } else if (this.recheckAt !== undefined && clock.now() >= this.recheckAt) {
      this.recheckAt = undefined;
    } else {
      this.nextResync = clock.now() + resyncMs;
    }
    await this.readAndEmit().catch((error: unknown) =>
      this.options.logger.warn(`${describeError(error)}; keeping the current pods until it can be read`),
    );
  }

  /**
   * The look taken as soon as a burst of changes begins, before the
   * debounce: its snapshot is emitted only when every file that changed is
   * a new inode with content and none vanished. A file renamed into place
   * (an atomic save, `mv`, configuration management) is complete when it
   * appears, so it is applied without waiting for the debounce (150 ms, as
   * long as podman takes to play a small pod: issue 13). A file written in
   * place keeps its inode and may be caught half-written (an empty or
   * truncated spec would take its pods down), so it waits for the debounced
   * read, as does a vanished one (the removal grace). A new file written in
   * place in several steps can be caught early too; the debounced read then
   * applies its final content.
   */
  private async readAtOnce(): Promise<void> {
    const last = this.last;
    if (!last || !(await this.renamedInSince(last))) return;
    const inodes = new Map(last.files.map((file) => [file.file, this.cache.versionOf(file.file)?.ino]));
    const snapshot = await this.read();
    if (lostFiles(last, snapshot) || sameSnapshot(last, snapshot)) return;
    const before = new Map(last.files.map((file) => [file.file, file]));
    const renamedIn = snapshot.files.every((file) => {
      if (before.get(file.file) === file) return true; // unchanged: the cache handed back the same parse
      const version = this.cache.versionOf(file.file);
      return version !== undefined && version.size > 0n && version.ino !== inodes.get(file.file);
    });
    if (!renamedIn) return;
    this.last = snapshot;
    this.options.onSnapshot(snapshot);
  }

  /**
   * Whether a stat of the directory's files (no read, no parse: this runs
   * on every change of a burst) shows a file renamed in since `last` and
   * none changed in place or gone.
   */
  private async renamedInSince(last: ManifestSnapshot): Promise<boolean> {
    const names = (await readdir(this.options.dir)).filter(isManifestFileName);
    const now = new Set(names.map((name) => path.join(this.options.dir, name)));
    if (last.files.some((file) => !now.has(file.file))) return false;
    let renamed = false;
    for (const file of now) {
      const info = await stat(file, { bigint: true }).catch(() => undefined);
      if (!info) return false;
      const known = this.cache.versionOf(file);
      if (known && known.ino === info.ino && known.dev === info.dev) {
        if (known.size !== info.size || known.mtimeNs !== info.mtimeNs || known.ctimeNs !== info.ctimeNs) return false; // written in place
      } else renamed = true;
    }
    return renamed;
  }

  private read(): Promise<ManifestSnapshot> {
    const { dir, trust, policy, parse } = this.options;
    return readManifestDir(dir, { trust, policy, cache: this.cache, ...(parse ? { parse } : {}) });
  }

  private async readAndEmit(): Promise<void> {
    const read = (): Promise<ManifestSnapshot> => this.read();
    let snapshot = await read();
    if (this.last && lostFiles(this.last, snapshot)) {
      // An atomic save (write temp, rename over) can be caught between the two
      // steps: look again before believing a file was deleted.
      await this.options.clock.sleep(this.options.removalGraceMs ?? 300);
      snapshot = await read();
    }
    if (this.last && sameSnapshot(this.last, snapshot)) return;
    this.last = snapshot;
    this.options.onSnapshot(snapshot);
  }
}

/** Longer than chokidar's throttles (50 ms per file change, 1 s per directory rescan). */
const RECHECK_MS = 1_100;

const lostFiles = (before: ManifestSnapshot, after: ManifestSnapshot): boolean => {
  const now = new Set(after.files.map((file) => file.file));
  return before.files.some((file) => !now.has(file.file));
};

/**
 * Whether two reads found the same manifests. The cache hands back the very
 * same parse for a file whose content did not change, so parses compare by
 * identity, never by walking their documents (which for a large ConfigMap
 * cost as much as parsing it). A file refused before it was read (trust,
 * not a regular file) is a new parse each time: those have no documents and
 * compare by their problems.
 */
const sameSnapshot = (before: ManifestSnapshot, after: ManifestSnapshot): boolean =>
  before.files.length === after.files.length &&
  before.files.every((file, index) => sameManifest(file, after.files[index]!));

const sameManifest = (a: ParsedManifest, b: ParsedManifest): boolean =>
  a === b ||
  (a.file === b.file &&
    a.documents.length === 0 &&
    b.documents.length === 0 &&
    JSON.stringify(a.problems) === JSON.stringify(b.problems));
