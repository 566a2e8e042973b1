import type { Clock } from '../../src/shared/clock.ts';

interface Sleeper {
  at: number;
  seq: number;
  resolve: () => void;
}

/**
 * A Clock whose time only moves when the test says so. `sleep` resolves once
 * `advance` (or `set`) has moved `now()` to or past its deadline; an aborted
 * signal rejects it with the signal's reason, as the system clock does.
 */
export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private sleepers: Sleeper[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const sleeper: Sleeper = {
        at: this.time + Math.max(0, ms),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.sleepers = this.sleepers.filter((item) => item !== sleeper);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.sleepers.push(sleeper);
    });
  }

  /** How many sleeps are waiting. */
  get pendingSleeps(): number {
    return this.sleepers.length;
  }

  /** Moves time forward, waking every sleep that comes due, in deadline order. */
  async advance(ms: number): Promise<void> {
    await this.set(this.time + ms);
  }

  /** Sets the time (never backwards past a woken sleep's deadline) and wakes due sleeps. */
  async set(time: number): Promise<void> {
    this.time = time;
    const due = this.sleepers.filter((sleeper) => sleeper.at <= time).sort((a, b) => a.at - b.at || a.seq - b.seq);
    this.sleepers = this.sleepers.filter((sleeper) => sleeper.at > time);
    for (const sleeper of due) sleeper.resolve();
    // Let the woken code run up to its next await.
    await flushMicrotasks();
  }
}

/** Lets already-resolved promise chains run (a few macrotask turns). */
export const flushMicrotasks = async (turns = 5): Promise<void> => {
  for (let i = 0; i < turns; i += 1) await new Promise<void>((resolve) => setImmediate(resolve));
};
