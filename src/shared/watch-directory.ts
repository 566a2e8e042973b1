import { watch, type FSWatcher } from 'chokidar';
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';

export interface WatchDirectoryOptions {
  /** Which entries directly in the directory matter (by path); subdirectories are never watched. */
  wanted: (entry: string) => boolean;
  /** Any add, change or removal of a wanted entry. Called synchronously; must not throw. */
  onChange: () => void;
  logger: Logger;
  /** For the log line when watching fails: the resync that covers for it. */
  resyncMs: number;
}

/**
 * Watches one directory's own entries with chokidar and resolves once the
 * watcher is ready. Events only ask for a look (`onChange`); callers re-read
 * the directory, debounce, and resync on a timer, so a lost or coalesced
 * event costs time, never correctness. chokidar's own atomic-write handling
 * is off: it is a heuristic, and the callers' debounce does that job for
 * every editor. A watch error is logged, not thrown.
 */
export const watchDirectory = async (dir: string, options: WatchDirectoryOptions): Promise<FSWatcher> => {
  const watcher = watch(dir, {
    depth: 0,
    ignoreInitial: true,
    atomic: false,
    ignored: (entry, stats) => entry !== dir && stats?.isDirectory() !== true && !options.wanted(entry),
  });
  watcher.on('all', () => options.onChange());
  watcher.on('error', (error) =>
    options.logger.warn(
      `watching ${dir} failed: ${describeError(error)}; relying on the ${options.resyncMs / 1000}s resync`,
    ),
  );
  await new Promise<void>((resolve) => watcher.once('ready', resolve));
  return watcher;
};
