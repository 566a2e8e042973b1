import type { Podman, PodmanEvent } from '../podman/podman.ts';
import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';

export interface EventWatcherOptions {
  podman: Podman;
  clock: Clock;
  logger: Logger;
  onEvent: (event: PodmanEvent) => void;
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
 * drops some, #21685) costs latency, not correctness. When the stream ends
 * (podman's process killed, log rotated under it) it is reopened with
 * backoff, from the time of the last event seen, so little is missed.
 */
export class EventWatcher {
  private lastEventAt: number | undefined;
  private restarts = 0;
  /** Aborts the stream that is open now (see `reopen`). */
  private current: AbortController | undefined;

  constructor(private readonly options: EventWatcherOptions) {}

  /** Count of stream restarts since start, for status and tests. */
  get restartCount(): number {
    return this.restarts;
  }

  /** Closes the open stream; the loop reopens it at once, from the last event seen. */
  reopen(): void {
    this.current?.abort(new Error('reopening the events stream'));
  }

  async run(signal: AbortSignal): Promise<void> {
    const { podman, clock, logger, initialBackoffMs = 1_000, maxBackoffMs = 30_000 } = this.options;
    let backoff = initialBackoffMs;
    while (!signal.aborted) {
      const openedAt = clock.now();
      const since = this.lastEventAt === undefined ? undefined : new Date(this.lastEventAt);
      const stream = new AbortController();
      this.current = stream;
      const streamSignal = AbortSignal.any([signal, stream.signal]);
      try {
        for await (const event of podman.streamEvents({ signal: streamSignal, ...(since ? { since } : {}) })) {
          if (this.lastEventAt !== undefined && event.time < this.lastEventAt) continue; // replayed by --since
          this.lastEventAt = event.time;
          this.options.onEvent(event);
        }
        if (signal.aborted) return;
        if (!stream.signal.aborted) logger.warn('the podman events stream ended; reopening it');
      } catch (error) {
        if (signal.aborted) return;
        if (!stream.signal.aborted) logger.warn(`the podman events stream failed: ${describeError(error)}; reopening it`);
      }
      this.restarts += 1;
      if (stream.signal.aborted) continue; // asked to reopen: no backoff
      if (clock.now() - openedAt >= HEALTHY_MS) backoff = initialBackoffMs;
      await clock.sleep(backoff, signal).catch(() => undefined);
      backoff = Math.min(maxBackoffMs, backoff * 2);
    }
  }
}
