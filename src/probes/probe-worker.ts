import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import { timeoutMessage, type ProbeExecutors, type ProbeResult } from './probe-executors.ts';
import type { ProbeHandler, ProbeKind, ProbeSpec } from '../manifest/probe-schema.ts';
import {
  containerStatus,
  initialProbeState,
  recordProbeResult,
  type ContainerProbeStatus,
  type ProbeState,
} from './probe-state.ts';
import { untilAborted } from '../shared/until-aborted.ts';

/**
 * The probes of one container start, with the kubelet's semantics:
 *
 *   container started ──initialDelaySeconds──▶ probe, then every periodSeconds
 *
 *   startup:   runs first; liveness and readiness wait for it. `failureThreshold`
 *              failures in a row → `startupFailed` (once per streak). The first
 *              success opens the gate and the startup probe never runs again.
 *   liveness:  `failureThreshold` failures in a row → `livenessFailed`, once per
 *              streak; a success ends the streak.
 *   readiness: not ready until `successThreshold` successes in a row; not ready
 *              again after `failureThreshold` failures in a row.
 *
 * A probe call never overlaps itself: the next period starts only after the
 * previous call has settled. A call is bounded by timeoutSeconds (a timeout is
 * a failure at that moment; the executor is aborted and awaited). A new
 * container start means a new worker: the caller stops this one and starts
 * another, which is what resets every counter.
 */
export type ProbeWorkerEvent =
  /** Every probe result (for counters). */
  | { type: 'result'; kind: ProbeKind; ok: boolean }
  /** The first failure of a streak (for the log). */
  | { type: 'failing'; kind: ProbeKind; message: string }
  | { type: 'livenessFailed'; message: string }
  | { type: 'startupFailed'; message: string }
  /** `started`, `ready` or a thresholded result changed. */
  | { type: 'changed' };

export interface ProbeWorkerOptions {
  containerId: string;
  /** Unix ms when the container started; initialDelaySeconds counts from here. */
  startedAt: number;
  probes: Partial<Record<ProbeKind, ProbeSpec>>;
  executors: ProbeExecutors;
  clock: Clock;
  /** Added to an exec probe's timeout: what `podman exec` costs before the command runs. Default 0. */
  execOverheadMs?: number;
  /** The address httpGet/tcpSocket probes use when they name no host (the pod IP, or 127.0.0.1). */
  resolveHost: (signal: AbortSignal) => Promise<string>;
  /** Called synchronously from the probe loops; must not throw. */
  onEvent: (event: ProbeWorkerEvent) => void;
}

/** A handler whose network probe knows where to go. */
type Resolved<H> = H extends { host: string | undefined } ? Omit<H, 'host'> & { host: string } : H;
type ResolvedHandler = Resolved<ProbeHandler>;

const ORDER: readonly ProbeKind[] = ['startup', 'liveness', 'readiness'];
const TIMED_OUT: unique symbol = Symbol('timed out');

export class ProbeWorker {
  private readonly options: ProbeWorkerOptions;
  private readonly controller = new AbortController();
  private readonly states: Partial<Record<ProbeKind, ProbeState>> = {};
  private startupSucceeded: boolean;
  private openStartupGate!: () => void;
  private readonly startupGate = new Promise<void>((resolve) => (this.openStartupGate = resolve));
  private loops: Promise<void>[] = [];
  /** The pod IP for this container start, once found; shared by its probes. */
  private host: Promise<string> | undefined;

  constructor(options: ProbeWorkerOptions) {
    this.options = options;
    for (const kind of ORDER) if (options.probes[kind]) this.states[kind] = initialProbeState();
    this.startupSucceeded = options.probes.startup === undefined;
    if (this.startupSucceeded) this.openStartupGate();
  }

  /** Starts the probe loops (once). */
  start(): void {
    if (this.loops.length > 0 || this.controller.signal.aborted) return;
    const signal = this.controller.signal;
    this.loops = ORDER.flatMap((kind) => {
      const spec = this.options.probes[kind];
      return spec ? [this.loop(kind, spec, signal)] : [];
    });
  }

  /** Aborts every loop and in-flight call; resolves when all have ended. */
  async stop(): Promise<void> {
    this.controller.abort(new Error('probe worker stopped'));
    await Promise.all(this.loops);
  }

  status(): ContainerProbeStatus {
    return containerStatus(this.states, this.startupSucceeded);
  }

  private async loop(kind: ProbeKind, spec: ProbeSpec, signal: AbortSignal): Promise<void> {
    try {
      if (kind !== 'startup') await untilAborted(this.startupGate, signal);
      await this.sleepUntil(this.options.startedAt + spec.initialDelaySeconds * 1000, signal);
      while (!signal.aborted) {
        const begin = this.options.clock.now();
        const target = await this.resolve(spec.handler, signal);
        if (signal.aborted) break;
        if (target.ok) {
          const { result, settled } = await this.probeOnce(target.handler, spec.timeoutSeconds, signal);
          if (signal.aborted) break;
          this.record(kind, spec, result);
          await settled;
        } else {
          this.note(kind, target.message);
        }
        if (kind === 'startup' && this.startupSucceeded) break;
        await this.sleepUntil(begin + spec.periodSeconds * 1000, signal);
      }
    } catch (error) {
      // Only an abort ends a loop early; anything else would be a bug in this file.
      if (!signal.aborted) throw error;
    }
  }

  private record(kind: ProbeKind, spec: ProbeSpec, result: ProbeResult): void {
    const { onEvent } = this.options;
    const before = this.status();
    const recorded = recordProbeResult(
      this.states[kind] ?? initialProbeState(),
      result,
      this.options.clock.now(),
      spec,
    );
    this.states[kind] = recorded.state;
    onEvent({ type: 'result', kind, ok: result.ok });
    if (recorded.streakStarted) onEvent({ type: 'failing', kind, message: result.message });
    if (kind === 'startup' && result.ok && !this.startupSucceeded) {
      this.startupSucceeded = true;
      this.openStartupGate();
    }
    if (recorded.thresholdReached && kind === 'liveness') onEvent({ type: 'livenessFailed', message: result.message });
    if (recorded.thresholdReached && kind === 'startup') onEvent({ type: 'startupFailed', message: result.message });
    const after = this.status();
    if (
      before.started !== after.started ||
      before.ready !== after.ready ||
      before[kind]?.result !== after[kind]?.result
    )
      onEvent({ type: 'changed' });
  }

  /**
   * One call bounded by the probe's timeout. Returns the result as soon as it
   * is known, plus `settled`, which resolves when the call has really ended
   * (after a timeout the executor is aborted and may take a moment).
   */
  private async probeOnce(
    handler: ResolvedHandler,
    timeoutSeconds: number,
    signal: AbortSignal,
  ): Promise<{ result: ProbeResult; settled: Promise<unknown> }> {
    const overheadMs = handler.type === 'exec' ? (this.options.execOverheadMs ?? 0) : 0;
    const timeoutMs = timeoutSeconds * 1000 + overheadMs;
    const run = new AbortController();
    const onAbort = (): void => run.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const call = this.call(handler, timeoutMs, run.signal);
    const timer = this.options.clock.sleep(timeoutMs, run.signal).then(
      (): typeof TIMED_OUT => TIMED_OUT,
      () => undefined,
    );
    const first = await Promise.race([call, timer]);
    // Ends the timer, or the call that timed out.
    run.abort(new Error('probe call ended'));
    signal.removeEventListener('abort', onAbort);
    const result =
      first === TIMED_OUT
        ? { ok: false, message: timeoutMessage(timeoutSeconds * 1000, overheadMs) }
        : (first ?? { ok: false, message: 'aborted' });
    return { result, settled: call };
  }

  /**
   * Where a network probe goes: its own `host`, else the pod IP. Never
   * rejects; a failed look-up is `ok: false`.
   */
  private async resolve(
    handler: ProbeHandler,
    signal: AbortSignal,
  ): Promise<{ ok: true; handler: ResolvedHandler } | { ok: false; message: string }> {
    if (handler.type === 'exec') return { ok: true, handler };
    if (handler.host !== undefined) return { ok: true, handler: { ...handler, host: handler.host } };
    try {
      return { ok: true, handler: { ...handler, host: await untilAborted(this.podHost(), signal) } };
    } catch (error) {
      return { ok: false, message: `not probed: cannot find the pod IP: ${describeError(error)}` };
    }
  }

  /** One look-up at a time; a failed one is forgotten, so the next probe tries again. */
  private podHost(): Promise<string> {
    if (!this.host) {
      const lookup = this.options.resolveHost(this.controller.signal);
      this.host = lookup;
      lookup.catch(() => {
        if (this.host === lookup) this.host = undefined;
      });
    }
    return this.host;
  }

  /** Records why a probe did not run, without counting it either way. */
  private note(kind: ProbeKind, message: string): void {
    const state = this.states[kind] ?? initialProbeState();
    if (state.lastMessage === message) return;
    this.states[kind] = { ...state, lastMessage: message };
    this.options.onEvent({ type: 'changed' });
  }

  /** Never rejects. */
  private async call(handler: ResolvedHandler, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
    const { executors } = this.options;
    try {
      switch (handler.type) {
        case 'exec':
          return await executors.exec(this.options.containerId, handler.command, timeoutMs, signal);
        case 'httpGet':
          return await executors.http(
            {
              scheme: handler.scheme,
              host: handler.host,
              port: handler.port,
              path: handler.path,
              headers: handler.headers,
              timeoutMs,
            },
            signal,
          );
        case 'tcpSocket':
          return await executors.tcp(handler.host, handler.port, timeoutMs, signal);
      }
    } catch (error) {
      return { ok: false, message: signal.aborted ? 'aborted' : `cannot probe: ${describeError(error)}` };
    }
  }

  /** Sleeps until the clock reads `at`; no sleep at all when that time has passed. */
  private async sleepUntil(at: number, signal: AbortSignal): Promise<void> {
    const delay = at - this.options.clock.now();
    if (delay > 0) await this.options.clock.sleep(delay, signal);
    if (signal.aborted) throw signal.reason;
  }
}
