import type { FSWatcher } from 'chokidar';
import { mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Podman } from '../podman/podman.ts';
import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { Loop } from '../shared/loop.ts';
import { watchDirectory } from '../shared/watch-directory.ts';
import { ArchiveRefusedError, type ArchiveErrorCode } from './archive-error.ts';
import { checksumFileOf, isArchiveName } from './archive-files.ts';
import { freeBytes as statfsFreeBytes, type FreeBytes } from './free-space.ts';
import { ImageStateStore, type LoadedArchive } from './image-state.ts';
import { loadArchive } from './load-archive.ts';

export interface ImageLoaderOptions {
  podman: Podman;
  clock: Clock;
  logger: Logger;
  imagesDir: string;
  stateDir: string;
  /** An archive is loaded once it has not been modified for this long (big archives are copied slowly). */
  stableMs?: number;
  /** Quiet time after the last change in the directory before it is scanned. */
  debounceMs?: number;
  /** Full scan on a timer, so a missed event cannot leave an archive unloaded for long. */
  resyncMs?: number;
  /** Space that must remain free on podman's storage after a load. */
  marginBytes?: number;
  loadTimeoutMs?: number;
  /** Injected by tests; statfs otherwise. */
  freeBytes?: FreeBytes;
}

export interface LoadedEvent {
  archive: string;
  refs: string[];
}

export interface RefusedArchive {
  archive: string;
  code: string;
  reason: string;
}

/**
 * Loads the image archives of one directory into podman's storage: at start,
 * and whenever an archive is added or replaced. Each archive is loaded once
 * (`<stateDir>/images.json` remembers path, size, mtime and sha256 across
 * restarts). Archives are only ever read: a refused one stays where it is
 * and is tried again when it or its `.sha256` file changes. A bad checksum
 * waits for that change; a failure that can pass by itself (no space yet,
 * podman failing or timing out, a read error) is also retried after 1 min,
 * doubling to 30 min, so a box nobody visits gets its image once the cause
 * is gone.
 *
 * Contract: `start` resolves once the watcher is ready (loading happens in the
 * background, one archive at a time); `onLoaded` listeners run after each
 * archive that brought images in (the daemon triggers the reconciler there);
 * `stop` (or the signal) ends the loop after the load in progress.
 */
/** Refusals that can pass by themselves, and are therefore retried. A checksum mismatch is not. */
const RETRYABLE: ReadonlySet<ArchiveErrorCode> = new Set<ArchiveErrorCode>([
  'ARCHIVE_SPACE',
  'ARCHIVE_LOAD',
  'ARCHIVE_IO',
]);
const RETRY_FIRST_MS = 60_000;
const RETRY_MAX_MS = 30 * 60_000;

export class ImageLoader {
  readonly store: ImageStateStore;
  private readonly listeners = new Set<(event: LoadedEvent) => void>();
  private readonly refused = new Map<
    string,
    RefusedArchive & { key: string; attempts: number; retryAt: number | undefined }
  >();
  private readonly waiting = new Set<string>();
  private readonly loop: Loop;
  private watcher: FSWatcher | undefined;
  private nextResync = 0;
  private recheckAt: number | undefined;

  constructor(private readonly options: ImageLoaderOptions) {
    const { clock, debounceMs = 300 } = options;
    this.store = new ImageStateStore(options.stateDir);
    this.loop = new Loop({
      clock,
      idleMs: () => Math.max(0, Math.min(this.nextResync, this.recheckAt ?? Infinity) - clock.now()),
      debounce: { quietMs: debounceMs },
      pending: true,
    });
  }

  get imagesDir(): string {
    return this.options.imagesDir;
  }

  onLoaded(listener: (event: LoadedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async start(signal: AbortSignal): Promise<void> {
    const { imagesDir, logger } = this.options;
    const warning = await this.store.load();
    if (warning) logger.warn(warning);
    await mkdir(imagesDir, { recursive: true, mode: 0o755 }).catch((error: unknown) =>
      logger.warn(
        `cannot create images directory ${imagesDir}: ${describeError(error)}; will look again every ${this.resyncMs / 1000}s`,
      ),
    );
    this.watcher = await watchDirectory(imagesDir, {
      wanted: (entry) => isArchiveName(entry) || entry.endsWith('.sha256'),
      onChange: () => this.poke(),
      logger,
      resyncMs: this.resyncMs,
    });
    this.poke();
    this.nextResync = this.options.clock.now() + this.resyncMs;
    this.loop.start(signal, ({ signal: passSignal }) => this.pass(passSignal));
    logger.info(`watching ${imagesDir} for image archives`);
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
    await this.loop.stop();
  }

  /** Ask for a scan soon. */
  poke(): void {
    this.loop.wake();
  }

  /** What the loader knows, for status output and ImageMissing messages. */
  status(): { loaded: LoadedArchive[]; refused: RefusedArchive[]; waiting: string[] } {
    return {
      loaded: this.store.all(),
      refused: [...this.refused.values()].map(({ archive, code, reason }) => ({ archive, code, reason })),
      waiting: [...this.waiting].sort(),
    };
  }

  /**
   * One pass over the directory: loads every archive that is stable and not
   * loaded yet. Exposed for tests; the loop calls it.
   */
  async scan(signal?: AbortSignal): Promise<void> {
    const { imagesDir, clock } = this.options;
    let names: string[];
    try {
      names = await readdir(imagesDir);
    } catch (error) {
      this.options.logger.debug(`cannot list images directory ${imagesDir}: ${describeError(error)}`);
      return;
    }
    this.waiting.clear();
    for (const name of names.filter(isArchiveName).sort()) {
      if (signal?.aborted) return;
      const archive = path.join(imagesDir, name);
      const info = await stat(archive).catch(() => undefined);
      if (!info?.isFile()) continue;
      const known = this.store.get(archive);
      if (known && known.size === info.size && known.mtimeMs === info.mtimeMs) continue;
      const settlesAt = info.mtimeMs + this.stableMs;
      if (clock.now() < settlesAt) {
        // Still being written (or just was): look again once it has been quiet.
        this.waiting.add(archive);
        this.recheckAt = Math.min(this.recheckAt ?? Infinity, settlesAt + 50);
        continue;
      }
      const checksum = await stat(checksumFileOf(archive)).catch(() => undefined);
      const key = `${info.size}:${info.mtimeMs}:${checksum ? `${checksum.size}:${checksum.mtimeMs}` : '-'}`;
      const refused = this.refused.get(archive);
      if (refused?.key === key && (refused.retryAt === undefined || clock.now() < refused.retryAt)) {
        if (refused.retryAt !== undefined) this.recheckAt = Math.min(this.recheckAt ?? Infinity, refused.retryAt);
        continue;
      }
      await this.loadOne(archive, key, signal);
    }
  }

  private async loadOne(archive: string, key: string, signal?: AbortSignal): Promise<void> {
    const { podman, logger, clock } = this.options;
    const started = clock.now();
    try {
      const { record, loaded } = await loadArchive(archive, {
        podman,
        freeBytes: this.options.freeBytes ?? statfsFreeBytes,
        marginBytes: this.options.marginBytes ?? 512 * 1024 * 1024,
        loadTimeoutMs: this.options.loadTimeoutMs ?? 30 * 60_000,
        now: () => clock.now(),
        loadedDigest: (sha256) => this.store.all().find((item) => item.sha256 === sha256),
        signal,
      });
      // A file replaced while it was being loaded is looked at again, not recorded.
      const after = await stat(archive).catch(() => undefined);
      if (!after || after.size !== record.size || after.mtimeMs !== record.mtimeMs) {
        this.poke();
        return;
      }
      await this.store.record(record);
      this.refused.delete(archive);
      if (!loaded) {
        logger.info(`image archive ${archive} has the same content as one already loaded; not loading it again`, {
          archive,
        });
        return;
      }
      logger.info(
        `loaded image archive ${archive} in ${Math.round((clock.now() - started) / 100) / 10}s: ${record.refs.join(', ') || '(no image names)'}`,
        { archive, images: record.refs },
      );
      for (const listener of this.listeners) listener({ archive, refs: record.refs });
    } catch (error) {
      if (signal?.aborted) return;
      const refused =
        error instanceof ArchiveRefusedError
          ? error
          : new ArchiveRefusedError('ARCHIVE_IO', archive, `image archive ${archive}: ${describeError(error)}`, {
              cause: error,
            });
      const previous = this.refused.get(archive);
      const attempts = previous?.key === key ? previous.attempts + 1 : 1;
      const delay = RETRYABLE.has(refused.code)
        ? Math.min(RETRY_FIRST_MS * 2 ** (attempts - 1), RETRY_MAX_MS)
        : undefined;
      const retryAt = delay === undefined ? undefined : clock.now() + delay;
      this.refused.set(archive, { archive, code: refused.code, reason: refused.message, key, attempts, retryAt });
      if (retryAt !== undefined) this.recheckAt = Math.min(this.recheckAt ?? Infinity, retryAt);
      const next =
        delay === undefined
          ? 'not retried until the archive or its .sha256 file changes'
          : `trying again in ${Math.round(delay / 60_000)} min`;
      logger.error(`${refused.message}; ${next}`, { archive, code: refused.code, attempts });
    }
  }

  private get stableMs(): number {
    return this.options.stableMs ?? 2_000;
  }

  private get resyncMs(): number {
    return this.options.resyncMs ?? 60_000;
  }

  private async pass(signal: AbortSignal): Promise<void> {
    const { clock } = this.options;
    if (clock.now() >= this.nextResync) this.nextResync = clock.now() + this.resyncMs;
    this.recheckAt = undefined;
    await this.scan(signal).catch((error: unknown) =>
      this.options.logger.warn(`scanning ${this.options.imagesDir} failed: ${describeError(error)}`),
    );
  }
}
