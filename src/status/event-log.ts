import { appendFile, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Clock } from '../shared/clock.ts';
import type { EventSink, RunnerEvent } from '../shared/event-sink.ts';
import type { StatusGroup } from './status-group.ts';

/** Rotate `events.jsonl` to `events.jsonl.1` past this size: two files at most, so the history is bounded. */
export const EVENT_LOG_MAX_BYTES = 1024 * 1024;

/**
 * The runner's own event history, `<stateDir>/events.jsonl`, one JSON object
 * a line, appended in order. Appends are queued (one at a time, never
 * blocking the caller); a failed write (read-only or full disk) is counted in
 * `lastError` and the event dropped, because supervision must go on.
 * Mode 0640 and, with a `group`, root:statusGroup like status.json: both
 * files are given to the group on this process's first append (files left
 * by an older runner too) and whenever an append creates the file (after
 * rotation, or after someone removed it).
 */
export class EventLog implements EventSink {
  private queue: Promise<void> = Promise.resolve();
  lastError: string | undefined;
  private readonly file: string;
  /** Whether this process has given the files to the group yet. */
  private grouped = false;

  constructor(
    stateDir: string,
    private readonly clock: Clock,
    private readonly options: { onRecorded?: (event: RunnerEvent) => void; group?: StatusGroup } = {},
  ) {
    this.file = path.join(stateDir, 'events.jsonl');
  }

  record(event: Omit<RunnerEvent, 'time'>): void {
    const full: RunnerEvent = { time: this.clock.now(), ...event };
    this.options.onRecorded?.(full);
    this.queue = this.queue.then(() => this.append(full));
  }

  /** Resolves when everything recorded so far is written (or has failed). */
  flush(): Promise<void> {
    return this.queue;
  }

  private async append(event: RunnerEvent): Promise<void> {
    try {
      const before = await stat(this.file).catch(() => undefined);
      let created = before === undefined;
      if ((before?.size ?? 0) > EVENT_LOG_MAX_BYTES) {
        await rename(this.file, `${this.file}.1`);
        created = true;
      }
      await appendFile(this.file, `${JSON.stringify(event)}\n`, { mode: 0o640 });
      const { group } = this.options;
      if (group && (created || !this.grouped)) {
        this.grouped = true;
        await group.apply(this.file);
        await group.apply(`${this.file}.1`);
      }
      this.lastError = undefined;
    } catch (error) {
      this.lastError = `cannot write ${this.file}: ${(error as Error).message}`;
    }
  }
}
