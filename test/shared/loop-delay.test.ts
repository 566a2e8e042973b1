import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoopDelayMonitor, type DelayHistogram } from '../../src/shared/loop-delay.ts';
import { systemClock } from '../../src/shared/clock.ts';
import { FakeClock } from '../helpers/fake-clock.ts';

/** A histogram the test fills by hand, in ns as perf_hooks records. */
class FakeHistogram implements DelayHistogram {
  samples: number[] = [];
  enabled = false;
  get count(): number {
    return this.samples.length;
  }
  get max(): number {
    return Math.max(0, ...this.samples);
  }
  percentile(percentile: number): number {
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.ceil((percentile / 100) * sorted.length) - 1)] ?? 0;
  }
  reset(): void {
    this.samples = [];
  }
  enable(): boolean {
    this.enabled = true;
    return true;
  }
  disable(): boolean {
    this.enabled = false;
    return true;
  }
  record(ms: number, times = 1): void {
    for (let i = 0; i < times; i += 1) this.samples.push(ms * 1e6);
  }
}

const setup = (): { clock: FakeClock; histogram: FakeHistogram; monitor: LoopDelayMonitor } => {
  const clock = new FakeClock();
  const histogram = new FakeHistogram();
  const monitor = new LoopDelayMonitor({ clock, windowMs: 60_000, resolutionMs: 20, histogram: () => histogram });
  return { clock, histogram, monitor };
};

describe('LoopDelayMonitor', () => {
  it('reports 0 before any sample; start and stop switch the histogram', () => {
    const { histogram, monitor } = setup();
    monitor.start();
    assert.equal(histogram.enabled, true);
    assert.deepEqual(monitor.report(), { windowSeconds: 0, maxDelayMs: 0, p99DelayMs: 0, maxDelaySinceStartMs: 0 });
    monitor.stop();
    assert.equal(histogram.enabled, false);
  });

  it('subtracts the sampling period: an idle loop reads 0, a 500 ms stall 480-500', async () => {
    const { clock, histogram, monitor } = setup();
    histogram.record(20.4, 200);
    await clock.advance(10_000);
    assert.deepEqual(monitor.report(), {
      windowSeconds: 10,
      maxDelayMs: 0.4,
      p99DelayMs: 0.4,
      maxDelaySinceStartMs: 0.4,
    });
    histogram.record(520);
    assert.equal(monitor.report().maxDelayMs, 500);
    assert.equal(monitor.report().p99DelayMs, 0.4, 'one sample in 201 is not the 99th percentile');
  });

  it('covers the previous full window and the current one; the worst since start stays', async () => {
    const { clock, histogram, monitor } = setup();
    histogram.record(20, 99);
    histogram.record(1020);
    await clock.advance(60_000);
    // Rotates here: the stall is in the previous window, still reported.
    assert.deepEqual(monitor.report(), {
      windowSeconds: 60,
      maxDelayMs: 1000,
      p99DelayMs: 0,
      maxDelaySinceStartMs: 1000,
    });
    histogram.record(70, 100);
    await clock.advance(30_000);
    assert.deepEqual(monitor.report(), {
      windowSeconds: 90,
      maxDelayMs: 1000,
      p99DelayMs: 50,
      maxDelaySinceStartMs: 1000,
    });
    await clock.advance(30_000);
    // Rotates again: the stall's window is gone, the since-start figure keeps it.
    assert.deepEqual(monitor.report(), {
      windowSeconds: 60,
      maxDelayMs: 50,
      p99DelayMs: 50,
      maxDelaySinceStartMs: 1000,
    });
    await clock.advance(60_000);
    assert.deepEqual(monitor.report(), { windowSeconds: 60, maxDelayMs: 0, p99DelayMs: 0, maxDelaySinceStartMs: 1000 });
  });

  it('with the real perf_hooks histogram, a loop blocked for 300 ms reads at least 280 ms', async () => {
    const monitor = new LoopDelayMonitor({ clock: systemClock, windowMs: 60_000, resolutionMs: 20 });
    monitor.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const until = performance.now() + 300;
      while (performance.now() < until) {
        // Hold the event loop, as a synchronous parse would.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      const report = monitor.report();
      // A lower bound only: a loaded machine can make it larger, never smaller.
      assert.ok(report.maxDelayMs >= 280, `maxDelayMs ${report.maxDelayMs}`);
      assert.ok(report.maxDelaySinceStartMs >= report.maxDelayMs);
    } finally {
      monitor.stop();
    }
  });
});
