/**
 * What the systemd watchdog and the event-loop monitor cost the runner.
 *
 *   node --import tsx bench/watchdog.ts [--pings 200] [--idle-seconds 30] [--ballast-mib 100]
 *
 * 1. One notification as the daemon sends it (src/shared/sd-notify.ts:
 *    `systemd-notify WATCHDOG=1` from execFile, waiting for PID 1's barrier),
 *    against the baseline of spawning /bin/true the same way, in the same run.
 *    A small receiver stands in for PID 1 on a socket of its own: it reads each
 *    datagram and closes the barrier fd systemd-notify waits on. CPU is the
 *    sender's (this process) plus its children's (getrusage of the reaped
 *    systemd-notify / true), medians over the pings. A ballast of
 *    `--ballast-mib` MiB of live heap makes this process the runner's size:
 *    forking a larger process copies more page tables.
 * 2. The event-loop monitor (perf_hooks.monitorEventLoopDelay): this process
 *    idle for `--idle-seconds` without it and at 20, 50 (the daemon's) and
 *    100 ms resolution, in three interleaved rounds; CPU per second of wall time.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { spawnSystemdNotify } from '../src/shared/sd-notify.ts';

const { values } = parseArgs({
  options: {
    pings: { type: 'string', default: '200' },
    'idle-seconds': { type: 'string', default: '30' },
    'ballast-mib': { type: 'string', default: '100' },
  },
});
const PINGS = Number(values.pings);
const IDLE_SECONDS = Number(values['idle-seconds']);
const BALLAST_MIB = Number(values['ballast-mib']);

// Live heap the size of the runner's RSS (bench/SOAK.md): arrays of small objects, touched.
const ballast: { n: number; s: string }[][] = [];
for (let mib = 0; mib < BALLAST_MIB; mib += 1)
  ballast.push(Array.from({ length: 16_384 }, (_v, n) => ({ n, s: `x${n}` })));

/** The stand-in for PID 1's notify socket: python, since Node cannot receive AF_UNIX datagrams either. */
const RECEIVER = `
import socket, sys, os, array
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print('ready', flush=True)
while True:
    msg, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(4 * 16) + socket.CMSG_SPACE(12))
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array('i'); fds.frombytes(data[: len(data) - (len(data) % 4)])
            for fd in fds: os.close(fd)
`;

const dir = mkdtempSync(join(tmpdir(), 'bench-watchdog-'));
const socket = join(dir, 'notify');
const receiver = spawn('python3', ['-c', RECEIVER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise<void>((resolve) => receiver.stdout.once('data', () => resolve()));

/** CPU ms of this process and of its reaped children, from /proc and process.cpuUsage. */
const cpuMs = async (): Promise<{ self: number; children: number }> => {
  const stat = (await import('node:fs')).readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[13]) + Number(fields[14]); // cutime + cstime (fields 16 and 17)
  const usage = process.cpuUsage();
  return { self: (usage.user + usage.system) / 1000, children: (ticks * 1000) / 100 };
};

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const trueSpawn = (): Promise<void> =>
  new Promise((resolve, reject) =>
    execFile('/bin/true', [], { env: { NOTIFY_SOCKET: socket } }, (error) => {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an ExecFileException is an Error; @types/node declares it through Omit<>
      if (error) reject(error);
      else resolve();
    }),
  );

/** Per-ping wall and CPU, batched by 10 because the children's CPU is counted in clock ticks of 10 ms. */
const measure = async (send: () => Promise<void>): Promise<{ wallMs: number; selfMs: number; childMs: number }> => {
  const walls: number[] = [];
  const selfs: number[] = [];
  const childs: number[] = [];
  for (let batch = 0; batch < PINGS / 10; batch += 1) {
    const before = await cpuMs();
    const started = performance.now();
    for (let i = 0; i < 10; i += 1) await send();
    walls.push((performance.now() - started) / 10);
    const after = await cpuMs();
    selfs.push((after.self - before.self) / 10);
    childs.push((after.children - before.children) / 10);
  }
  return { wallMs: median(walls), selfMs: median(selfs), childMs: median(childs) };
};

/** CPU ms per second of this process idle for IDLE_SECONDS, with the monitor at `resolution` ms (0: none). */
const idleCpuPerSecond = async (resolution: number): Promise<number> => {
  const histogram = resolution > 0 ? monitorEventLoopDelay({ resolution }) : undefined;
  histogram?.enable();
  const before = process.cpuUsage();
  const started = performance.now();
  await sleep(IDLE_SECONDS * 1000);
  const usage = process.cpuUsage(before);
  histogram?.disable();
  return (usage.user + usage.system) / 1000 / ((performance.now() - started) / 1000);
};

try {
  await measure(trueSpawn); // warm-up
  const baseline = await measure(trueSpawn);
  const notify = await measure(() => spawnSystemdNotify(['WATCHDOG=1'], { NOTIFY_SOCKET: socket }));
  const noBlock = await measure(() => spawnSystemdNotify(['--no-block', 'WATCHDOG=1'], { NOTIFY_SOCKET: socket }));
  // Interleaved rounds, so that the machine's load drifts over all of them alike.
  const RESOLUTIONS = [0, 20, 50, 100];
  const idle = new Map<number, number[]>(RESOLUTIONS.map((resolution) => [resolution, []]));
  for (let round = 0; round < 3; round += 1)
    for (const resolution of RESOLUTIONS) idle.get(resolution)!.push(await idleCpuPerSecond(resolution));
  const row = (name: string, m: { wallMs: number; selfMs: number; childMs: number }): string =>
    `| ${name} | ${m.wallMs.toFixed(2)} | ${m.selfMs.toFixed(2)} | ${m.childMs.toFixed(2)} | ${(m.selfMs + m.childMs).toFixed(2)} | ${((m.selfMs + m.childMs) / (baseline.selfMs + baseline.childMs)).toFixed(2)} |`;
  const perPing = notify.selfMs + notify.childMs;
  console.log(
    `Generated by \`node --import tsx bench/watchdog.ts --pings ${PINGS} --idle-seconds ${IDLE_SECONDS} --ballast-mib ${BALLAST_MIB}\` on ${new Date().toISOString().slice(0, 10)}; RSS during the run ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB; load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)} at the end.`,
  );
  console.log('');
  console.log(
    '| one notification (median of batches of 10) | wall ms | sender CPU ms | child CPU ms | total CPU ms | ratio to baseline |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  console.log(row('execFile /bin/true (baseline)', baseline));
  console.log(row('systemd-notify WATCHDOG=1, barrier included (what the daemon runs)', notify));
  console.log(row('systemd-notify --no-block WATCHDOG=1', noBlock));
  console.log('');
  console.log(`At one ping per 20 s (WatchdogSec=60s): ${((perPing / 20_000) * 100).toFixed(3)} % of a core.`);
  console.log('');
  console.log(
    `| idle ${IDLE_SECONDS} s, this process | CPU ms per s (3 rounds) | median | ratio to baseline | % of a core added |`,
  );
  console.log('| --- | --- | ---: | ---: | ---: |');
  const base = median(idle.get(0)!);
  for (const [resolution, runs] of idle) {
    const name = resolution === 0 ? 'no monitor (baseline)' : `monitorEventLoopDelay, ${resolution} ms`;
    console.log(
      `| ${name} | ${runs.map((x) => x.toFixed(2)).join(', ')} | ${median(runs).toFixed(2)} | ${(median(runs) / base).toFixed(2)} | ${((median(runs) - base) / 10).toFixed(3)} |`,
    );
  }
} finally {
  receiver.kill();
  rmSync(dir, { recursive: true, force: true });
  ballast.length = 0;
}
