import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Clock } from './clock.ts';

/** What `runner status --json` shows under `daemon.eventLoop` (docs/status.md). */
export interface LoopDelayReport {
  /** How many seconds the window figures cover (the previous full window and the current one). */
  windowSeconds: number;
  /** The worst delay in the window, ms. */
  maxDelayMs: number;
  /** The 99th percentile of the samples in the window (the larger of its two parts'), ms. */
  p99DelayMs: number;
  /** The worst delay since the daemon started, ms. */
  maxDelaySinceStartMs: number;
}

/** The part of perf_hooks' IntervalHistogram used here (values in ns); tests pass a fake. */
export interface DelayHistogram {
  readonly count: number;
  readonly max: number;
  percentile(percentile: number): number;
  reset(): void;
  enable(): boolean;
  disable(): boolean;
}

export interface LoopDelayOptions {
  clock: Clock;
  /** Each window's length; the report covers between one and two of them. */
  windowMs: number;
  /** The sampling timer's period, ms; subtracted from every sample. */
  resolutionMs: number;
  /** perf_hooks.monitorEventLoopDelay when not given. */
  histogram?: (resolutionMs: number) => DelayHistogram;
}

/**
 * How late the event loop runs, from perf_hooks.monitorEventLoopDelay: a
 * libuv timer fires every `resolutionMs` and records the time since the last
 * one, so a sample is the resolution plus how long the loop was busy when
 * the timer was due. The resolution is subtracted, so an idle loop reads
 * about 0, and a stall of D ms reads between D - resolution and D.
 *
 * Windows rotate when a report is taken (no timer of its own): a report
 * covers the previous full window and the current one, so it is never about
 * an instant only. Each sample is a timer wakeup: the daemon's choice of
 * resolution, and what it costs, is at LOOP_DELAY in src/daemon.ts.
 */
export class LoopDelayMonitor {
  private readonly histogram: DelayHistogram;
  private windowStart: number;
  private previous: { start: number; maxNs: number; p99Ns: number } | undefined;
  private maxSinceStartNs = 0;

  constructor(private readonly options: LoopDelayOptions) {
    this.histogram = (options.histogram ?? defaultHistogram)(options.resolutionMs);
    this.windowStart = options.clock.now();
  }

  start(): void {
    this.histogram.enable();
  }

  stop(): void {
    this.histogram.disable();
  }

  report(): LoopDelayReport {
    const now = this.options.clock.now();
    if (now - this.windowStart >= this.options.windowMs) this.rotate(now);
    const current = this.currentNs();
    const maxNs = Math.max(current.maxNs, this.previous?.maxNs ?? 0);
    const p99Ns = Math.max(current.p99Ns, this.previous?.p99Ns ?? 0);
    this.maxSinceStartNs = Math.max(this.maxSinceStartNs, maxNs);
    const start = this.previous?.start ?? this.windowStart;
    return {
      windowSeconds: Math.round((now - start) / 100) / 10,
      maxDelayMs: this.toDelayMs(maxNs),
      p99DelayMs: this.toDelayMs(p99Ns),
      maxDelaySinceStartMs: this.toDelayMs(this.maxSinceStartNs),
    };
  }

  private rotate(now: number): void {
    this.previous = { start: this.windowStart, ...this.currentNs() };
    this.maxSinceStartNs = Math.max(this.maxSinceStartNs, this.previous.maxNs);
    this.histogram.reset();
    this.windowStart = now;
  }

  private currentNs(): { maxNs: number; p99Ns: number } {
    if (this.histogram.count === 0) return { maxNs: 0, p99Ns: 0 };
    return { maxNs: this.histogram.max, p99Ns: this.histogram.percentile(99) };
  }

  /** A sample in ns as a delay in ms: the timer's own period off, one decimal. */
  private toDelayMs(ns: number): number {
    if (ns === 0) return 0;
    return Math.max(0, Math.round((ns / 1e6 - this.options.resolutionMs) * 10) / 10);
  }
}

const defaultHistogram = (resolutionMs: number): DelayHistogram => monitorEventLoopDelay({ resolution: resolutionMs });
