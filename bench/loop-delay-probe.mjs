// Preloaded into a runner by bench/stalls.ts (`node --import`): once a
// second, appends one JSON line to the file named by RUNNER_BENCH_LOOP_DELAY
// about that second, then starts afresh:
// - maxMs, p99Ms: monitorEventLoopDelay's worst and 99th percentile delay.
//   It samples with a 10 ms timer and records whole intervals: an idle loop
//   reads about 10 ms, a 40 ms block about 50 ms.
// - gapMs, gapCpuMs, gapWaitMs: the longest wait between two ticks of a
//   10 ms timer, and how much of it the main thread spent running (the
//   runner's own work, GC included) and waiting for a CPU (other processes),
//   from the kernel's per-thread schedstat. On a shared machine the second
//   can dominate; only the first is a stall the runner causes.
// - busyMs: the most main-thread CPU time between two ticks: the runner's
//   longest stretch of its own work.
// Plain JavaScript, so it loads in any runner: from source, or a bundle.
import { appendFileSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const out = process.env.RUNNER_BENCH_LOOP_DELAY;
if (out && isMainThread) {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  // The main thread's id is the process id.
  const schedstat = `/proc/self/task/${process.pid}/schedstat`;
  const sample = () => {
    const [cpu = 0, wait = 0] = readFileSync(schedstat, 'utf8').split(' ').map(Number);
    return { at: performance.now(), cpu, wait };
  };
  let last = sample();
  let worst = { gapMs: 0, gapCpuMs: 0, gapWaitMs: 0 };
  let busyMs = 0;
  setInterval(() => {
    const now = sample();
    const gap = {
      gapMs: now.at - last.at,
      gapCpuMs: (now.cpu - last.cpu) / 1e6,
      gapWaitMs: (now.wait - last.wait) / 1e6,
    };
    if (gap.gapMs > worst.gapMs) worst = gap;
    busyMs = Math.max(busyMs, gap.gapCpuMs);
    last = now;
  }, 10).unref();
  setInterval(() => {
    const line = {
      at: Date.now(),
      maxMs: histogram.max / 1e6,
      p99Ms: histogram.percentile(99) / 1e6,
      ...worst,
      busyMs,
    };
    histogram.reset();
    worst = { gapMs: 0, gapCpuMs: 0, gapWaitMs: 0 };
    busyMs = 0;
    appendFileSync(out, `${JSON.stringify(line)}\n`);
  }, 1_000).unref();
}
