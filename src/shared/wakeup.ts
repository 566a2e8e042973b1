import type { Clock } from './clock.ts';

/**
 * A sleep that another part of the program can cut short: `wait` sleeps on the
 * injected clock until the timeout, the signal, or `wake()`. A `wake()` with
 * nobody waiting is dropped, so its one user, Loop (loop.ts), keeps a "pending" flag.
 */
export class Wakeup {
  private controller: AbortController | undefined;

  constructor(private readonly clock: Clock) {}

  wake(): void {
    this.controller?.abort();
  }

  async wait(ms: number, signal: AbortSignal): Promise<void> {
    const controller = new AbortController();
    this.controller = controller;
    try {
      await this.clock.sleep(ms, AbortSignal.any([signal, controller.signal]));
    } catch {
      // woken or aborted: either way, return to the caller's loop
    } finally {
      if (this.controller === controller) this.controller = undefined;
    }
  }
}
