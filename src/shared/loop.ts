import type { Clock } from './clock.ts';
import { Wakeup } from './wakeup.ts';

/** One pass of a loop. `woken`: a `wake()` asked for it; false when the idle time ran out (a resync, a retry come due). */
export type LoopBody = (pass: { woken: boolean; signal: AbortSignal }) => Promise<void>;

/**
 * How a woken pass waits for a burst of wakes to end:
 * - `quietMs`: until no wake has come for that long (each wake restarts the
 *   wait); `eachWake`, when given, runs at the start of every round, a first
 *   look before the debounce (the manifest source's renamed-in files); it
 *   handles its own errors.
 * - `delayMs`: a fixed delay, whatever wakes meanwhile (they join this pass,
 *   and a steady stream of them cannot hold it off). The pass runs even when
 *   the loop is stopped during the delay: what was asked for before the stop
 *   is done (the status file gets the last change).
 */
export type Debounce = { quietMs: number; eachWake?: () => Promise<void> } | { delayMs: number };

export interface LoopOptions {
  clock: Clock;
  /** How long to sleep with no wake before the next pass; asked before each sleep. */
  idleMs: () => number;
  debounce?: Debounce;
  /** Whether a pass is asked for from the start (the first pass then runs at once). */
  pending?: boolean;
}

/**
 * The run loop every long-lived worker of the runner shares, as the kubelet's
 * workers share `wait.Until`: each worker is a body function, and this owns
 * the waiting. A pass runs when something asked for one (`wake`), after the
 * debounce, or when the idle time runs out; passes never overlap.
 *
 * Contract: a wake is never lost. One that comes while a pass runs (or before
 * `run`) makes the next pass start without sleeping; any number of wakes
 * before a pass starts make that one pass. `run` resolves once its signal
 * aborts (or `stop`), after the pass under way, if any, has finished: the
 * body gets the signal to cut itself short. An error the body throws ends
 * the loop and rejects `run`: bodies handle their own.
 */
export class Loop {
  private readonly wakeup: Wakeup;
  private asked: boolean;
  private readonly stopping = new AbortController();
  private running: Promise<void> | undefined;

  constructor(private readonly options: LoopOptions) {
    this.wakeup = new Wakeup(options.clock);
    this.asked = options.pending ?? false;
  }

  /** Ask for a pass as soon as possible. */
  wake(): void {
    this.asked = true;
    this.wakeup.wake();
  }

  /** Whether a pass has been asked for since the last one started. */
  get pending(): boolean {
    return this.asked;
  }

  /** The pass under way answers every wake so far (the reconciler's, once it has the snapshot it was woken for). */
  answered(): void {
    this.asked = false;
  }

  /** Runs passes until `signal` aborts or `stop()` is called. */
  async run(signal: AbortSignal, body: LoopBody): Promise<void> {
    const stop = AbortSignal.any([signal, this.stopping.signal]);
    while (!stop.aborted) {
      if (!this.asked) await this.wakeup.wait(this.options.idleMs(), stop);
      if (stop.aborted) return;
      const woken = this.asked;
      if (woken && this.options.debounce) {
        if (!(await this.debounce(this.options.debounce, stop))) return;
      } else this.asked = false;
      await body({ woken, signal: stop });
    }
  }

  /** `run` in the background, for workers whose `start` returns at once; `stop` ends it. */
  start(signal: AbortSignal, body: LoopBody): void {
    this.running = this.run(signal, body);
  }

  /** Ends the loop as its signal would, and waits for the pass under way. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.running;
  }

  /** Waits out a burst of wakes; false when the loop was stopped meanwhile and the pass is not to run. */
  private async debounce(debounce: Debounce, signal: AbortSignal): Promise<boolean> {
    if ('delayMs' in debounce) {
      await this.options.clock.sleep(debounce.delayMs, signal).catch(() => undefined);
      this.asked = false;
      return true;
    }
    do {
      this.asked = false;
      await debounce.eachWake?.();
      if (!this.asked) await this.wakeup.wait(debounce.quietMs, signal);
    } while (this.asked && !signal.aborted);
    return !signal.aborted;
  }
}
