import { appendFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../shared/clock.ts';
import type { EventSink } from '../shared/event-sink.ts';
import type { RunnerEvent } from './status-schema.ts';

/** Rotate `events.jsonl` to `events.jsonl.1` past this size: two files at most, so the history is bounded. */
export const EVENT_LOG_MAX_BYTES = 1024 * 1024;

/**
 * The runner's own event history, `<stateDir>/events.jsonl`, one JSON object
 * a line, appended in order. Appends are queued (one at a time, never
 * blocking the caller); a failed write (read-only or full disk) is counted in
 * `lastError` and the event dropped, because supervision must go on.
 */
export class EventLog implements EventSink {
  private queue: Promise<void> = Promise.resolve();
  lastError: string | undefined;
  private readonly file: string;

  constructor(
    stateDir: string,
    private readonly clock: Clock,
    private readonly onRecorded?: (event: RunnerEvent) => void,
  ) {
    this.file = path.join(stateDir, 'events.jsonl');
  }

  record(event: Omit<RunnerEvent, 'time'>): void {
    const full: RunnerEvent = { time: this.clock.now(), ...event };
    this.onRecorded?.(full);
    this.queue = this.queue.then(() => this.append(full));
  }

  /** Resolves when everything recorded so far is written (or has failed). */
  flush(): Promise<void> {
    return this.queue;
  }

  private async append(event: RunnerEvent): Promise<void> {
    try {
      const size = (await stat(this.file).catch(() => undefined))?.size ?? 0;
      if (size > EVENT_LOG_MAX_BYTES) await rename(this.file, `${this.file}.1`);
      await appendFile(this.file, `${JSON.stringify(event)}\n`, { mode: 0o640 });
      this.lastError = undefined;
    } catch (error) {
      this.lastError = `cannot write ${this.file}: ${(error as Error).message}`;
    }
  }
}
