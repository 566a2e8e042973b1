import type { Podman, PodmanEvent } from '../podman/podman.ts';
import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';

export interface EventWatcherOptions {
  podman: Podman;
  clock: Clock;
  logger: Logger;
  onEvent: (event: PodmanEvent) => void;
  /**
   * Events may have been missed: called when the stream ends or fails,
   * every `relistMs` while it is down, and once when it is open again.
   * The daemon relists podman then; while the stream is open, the timed
   * resync (minutes) only bounds a lost event.
   */
  onRelist?: () => void;
  /** While the stream is down, relist this often (default 10 s). */
  relistMs?: number;
  /** The stream is restarted after it ends: first after `initialMs`, doubling to `maxMs`. */
  initialBackoffMs?: number;
  maxBackoffMs?: number;
}

/** A stream that lived this long was healthy: its next restart starts the backoff afresh. */
const HEALTHY_MS = 60_000;

/**
 * Keeps a `podman events` stream open for as long as the runner runs.
 * Events are hints, not truth: the supervisor and reconciler re-list podman's
 * state when one arrives and on their own timers, so a lost event (podman
 * drops some, #21685) costs latency, not correctness. The timers are minutes
 * apart while the stream is open (a relist costs podman about a second of
 * CPU at 100 pods); while it is down, `onRelist` asks for a look every
 * `relistMs`. When the stream ends
 * (podman's process killed, log rotated under it) it is reopened with
 * backoff, from the time of the last event seen, so little is missed.
 */
export class EventWatcher {
  private lastEventAt: number | undefined;
  private restarts = 0;
  /** Aborts the stream that is open now (see `reopen`). */
  private current: AbortController | undefined;
  private open = false;

  constructor(private readonly options: EventWatcherOptions) {}

  /** Count of stream restarts since start, for status and tests. */
  get restartCount(): number {
    return this.restarts;
  }

  /** Whether a `podman events` stream is open now (false while it is reopened). */
  get streaming(): boolean {
    return this.open;
  }

  /** Closes the open stream; the loop reopens it at once, from the last event seen. */
  reopen(): void {
    this.current?.abort(new Error('reopening the events stream'));
  }

  async run(signal: AbortSignal): Promise<void> {
    const { podman, clock, logger, initialBackoffMs = 1_000, maxBackoffMs = 30_000 } = this.options;
    let backoff = initialBackoffMs;
    let first = true;
    while (!signal.aborted) {
      const openedAt = clock.now();
      const since = this.lastEventAt === undefined ? undefined : new Date(this.lastEventAt);
      const stream = new AbortController();
      this.current = stream;
      const streamSignal = AbortSignal.any([signal, stream.signal]);
      try {
        const events = podman.streamEvents({ signal: streamSignal, ...(since ? { since } : {}) });
        this.open = true;
        // Reopened: what happened while it was down is replayed from `since`, but podman drops events (#21685).
        if (!first) this.options.onRelist?.();
        first = false;
        for await (const event of events) {
          if (this.lastEventAt !== undefined && event.time < this.lastEventAt) continue; // replayed by --since
          this.lastEventAt = event.time;
          this.options.onEvent(event);
        }
        if (signal.aborted) return;
        if (!stream.signal.aborted) logger.warn('the podman events stream ended; reopening it');
      } catch (error) {
        if (signal.aborted) return;
        if (!stream.signal.aborted)
          logger.warn(`the podman events stream failed: ${describeError(error)}; reopening it`);
      }
      this.open = false;
      this.restarts += 1;
      if (signal.aborted) return;
      if (stream.signal.aborted) continue; // asked to reopen: no backoff, and the reopening relists
      this.options.onRelist?.();
      if (clock.now() - openedAt >= HEALTHY_MS) backoff = initialBackoffMs;
      await this.sleepRelisting(backoff, signal);
      backoff = Math.min(maxBackoffMs, backoff * 2);
    }
  }

  /** Sleeps `ms` before the next open, relisting every `relistMs` meanwhile. */
  private async sleepRelisting(ms: number, signal: AbortSignal): Promise<void> {
    const { clock, relistMs = 10_000 } = this.options;
    const until = clock.now() + ms;
    while (!signal.aborted) {
      const left = until - clock.now();
      if (left <= 0) return;
      await clock.sleep(Math.min(left, relistMs), signal).catch(() => undefined);
      if (!signal.aborted && clock.now() < until) this.options.onRelist?.();
    }
  }
}
