/**
 * Idle cost at N pods: the CPU of the runner and of every podman process it
 * starts, against a bare `podman events` stream over the same minutes, and
 * the runner's memory (issue 12).
 *
 *   node --import tsx bench/idle.ts [--pods 100] [--minutes 5] [--settle 60] [--binary dist/runner] [--keep] [--out FILE]
 *
 * Needs root, podman, the test image (built if missing) and cgroup v1's
 * cpuacct controller (or cgroup v2) mounted under /sys/fs/cgroup: the runner
 * and the bare stream each start in a cgroup of their own, and every process
 * they start (podman calls that live 1 s, their children) is counted by the
 * kernel in cpuacct.usage / cpu.stat, which sampling /proc would miss.
 *
 * The pods live in /var/tmp/runner-bench-idle and stay there with --keep, so
 * the next run adopts them instead of playing 100 pods again (minutes on a
 * loaded 2-core box). The window starts once every pod runs and --settle
 * seconds have passed. Writes its section of bench/RESULTS.md (or --out).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MANAGED_LABEL, MANAGED_VALUE, SOURCE_LABEL } from '../src/shared/ownership.ts';
import { buildTestImage, median, PODMAN_ENV as env, REPO as repo, TEST_IMAGE as image } from './bench-setup.ts';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '100' },
    minutes: { type: 'string', default: '5' },
    settle: { type: 'string', default: '60' },
    binary: { type: 'string' },
    keep: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const pods = Number(values.pods);
const minutes = Number(values.minutes);
const settleS = Number(values.settle);
const binary = path.resolve(values.binary ?? path.join(repo, 'dist/runner'));
if (!existsSync(binary)) throw new Error(`${binary} does not exist: npm run build (or pass --binary)`);
const dir = '/var/tmp/runner-bench-idle';
const manifests = path.join(dir, 'manifests');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A cgroup that counts the CPU of everything started in it, children included (v1 cpuacct or v2). */
interface CpuGroup {
  path: string;
  /** Nanoseconds of CPU (user + system) used so far. */
  usageNs: () => number;
  remove: () => void;
}
const cpuGroup = (name: string): CpuGroup => {
  const v1 = '/sys/fs/cgroup/cpuacct';
  if (existsSync(path.join(v1, 'cpuacct.usage'))) {
    const group = path.join(v1, name);
    mkdirSync(group, { recursive: true });
    return {
      path: group,
      usageNs: () => Number(readFileSync(path.join(group, 'cpuacct.usage'), 'utf8')),
      remove: () => removeGroup(group, v1),
    };
  }
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) {
    const group = path.join('/sys/fs/cgroup', name);
    mkdirSync(group, { recursive: true });
    const usec = (): number =>
      Number(/usage_usec (\d+)/.exec(readFileSync(path.join(group, 'cpu.stat'), 'utf8'))?.[1] ?? Number.NaN);
    return { path: group, usageNs: () => usec() * 1000, remove: () => removeGroup(group, '/sys/fs/cgroup') };
  }
  throw new Error(
    'no cgroup cpu accounting under /sys/fs/cgroup (cpuacct v1 or v2 cpu.stat): cannot count short-lived podman calls',
  );
};

/** Hands what is left in the group (a pod's conmon, with --keep) back to the root group, then removes it. */
const removeGroup = (group: string, root: string): void => {
  for (const pid of readFileSync(path.join(group, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
    try {
      writeFileSync(path.join(root, 'cgroup.procs'), pid);
    } catch {
      // gone meanwhile
    }
  }
  rmdirSync(group);
};

/** Starts `command` inside `group`: the shell joins it, then becomes the command, so every child is counted. */
const spawnIn = (group: CpuGroup, command: string[], extraEnv: NodeJS.ProcessEnv = {}): ChildProcess =>
  spawn('sh', ['-c', `echo $$ > ${group.path}/cgroup.procs && exec "$@"`, 'sh', ...command], {
    env: { ...env, ...extraEnv },
    stdio: 'ignore',
  });

type PodRow = { Id: string; Status: string; Labels?: Record<string, string> };
const podList = (): PodRow[] =>
  JSON.parse(
    execFileSync('podman', ['pod', 'ps', '--format', 'json', '--filter', `label=${MANAGED_LABEL}=${MANAGED_VALUE}`], {
      env,
      encoding: 'utf8',
    }) || '[]',
  ) as PodRow[];
const ours = (pod: { Labels?: Record<string, string> }): boolean =>
  pod.Labels?.[SOURCE_LABEL]?.startsWith(`${manifests}/`) ?? false;

const procStatus = (pid: number): Record<string, number> => {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { rss: kib('VmRSS'), hwm: kib('VmHWM'), anon: kib('RssAnon'), file: kib('RssFile'), threads: kib('Threads') };
};

buildTestImage();
mkdirSync(manifests, { recursive: true, mode: 0o755 });
mkdirSync(path.join(dir, 'state'), { recursive: true });
for (let i = 0; i < pods; i += 1) {
  const file = path.join(manifests, `idle-${i}.yaml`);
  const text = `apiVersion: v1\nkind: Pod\nmetadata:\n  name: idle-${i}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n    - name: main\n      image: ${image}\n      imagePullPolicy: Never\n      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 3600; done"]\n`;
  if (!existsSync(file) || readFileSync(file, 'utf8') !== text) writeFileSync(file, text, { mode: 0o644 });
}
// The default config: only paths, quiet logs and no status group.
writeFileSync(
  path.join(dir, 'config.yaml'),
  `manifestDir: ${manifests}\nstateDir: ${path.join(dir, 'state')}\nimagesDir: ${path.join(dir, 'images')}\nstatusGroup: ''\nlogLevel: warn\nlogFormat: json\n`,
);

const tag = `runner-bench-idle-${process.pid}`;
const runnerGroup = cpuGroup(`${tag}-runner`);
const eventsGroup = cpuGroup(`${tag}-events`);
const runner = spawnIn(runnerGroup, [binary, 'run', '--config', path.join(dir, 'config.yaml')]);
const bare = spawnIn(eventsGroup, ['podman', 'events', '--format', 'json']);
const runnerExit = new Promise((resolve) => runner.on('exit', resolve));
let runnerDied = false;
runner.on('exit', (code, signal) => {
  runnerDied = true;
  console.error(`runner exited: code ${code}, signal ${signal}`);
});

let report = '';
try {
  const started = Date.now();
  for (;;) {
    const running = podList().filter((pod) => ours(pod) && pod.Status === 'Running').length;
    console.log(`t=${Math.round((Date.now() - started) / 1000)}s ${running}/${pods} pods running`);
    if (running >= pods) break;
    if (runnerDied) throw new Error('the runner exited before its pods ran');
    await sleep(10_000);
  }
  const readyS = Math.round((Date.now() - started) / 1000);
  console.log(`settling for ${settleS}s`);
  await sleep(settleS * 1000);

  const pid = runner.pid!;
  const load = [loadavg()[0]!];
  const before = { runner: runnerGroup.usageNs(), events: eventsGroup.usageNs(), at: process.hrtime.bigint() };
  const samples: Record<string, number>[] = [];
  const end = Date.now() + minutes * 60_000;
  while (Date.now() < end && !runnerDied) {
    await sleep(Math.min(15_000, Math.max(0, end - Date.now())));
    samples.push(procStatus(pid));
    load.push(loadavg()[0]!);
  }
  if (runnerDied) throw new Error('the runner exited during the window');
  const wallS = Number(process.hrtime.bigint() - before.at) / 1e9;
  const runnerPct = ((runnerGroup.usageNs() - before.runner) / 1e9 / wallS) * 100;
  const eventsPct = ((eventsGroup.usageNs() - before.events) / 1e9 / wallS) * 100;
  const last = samples.at(-1)!;
  const mib = (kib: number): string => (kib / 1024).toFixed(1);
  const ratio = runnerPct / eventsPct;
  const command = [
    'node --import tsx bench/idle.ts',
    `--pods ${pods}`,
    `--minutes ${minutes}`,
    `--settle ${settleS}`,
    ...(values.binary ? [`--binary ${values.binary}`] : []),
  ].join(' ');
  report = `## Idle cost at ${pods} pods

Generated by \`${command}\` (\`npm run bench:idle\`) on ${new Date().toISOString().slice(0, 10)}, ${process.arch}, Node ${process.version} (bench), podman ${execFileSync('podman', ['version', '--format', '{{.Client.Version}}'], { env, encoding: 'utf8' }).trim()}, ${binary.startsWith(`${repo}/`) ? path.relative(repo, binary) : binary} with the default config.
${pods} one-container pods, nothing changing; all ran ${readyS} s after the start, then ${settleS} s to settle, then a window of ${wallS.toFixed(0)} s.
CPU from each cgroup's accounting (cpuacct.usage): the runner's cgroup holds the runner and every podman process it started, its own events stream included;
the baseline is a bare \`podman events --format json\` started in a cgroup of its own at the same moment. Load average (1 min) during the window:
${Math.min(...load).toFixed(1)}–${Math.max(...load).toFixed(1)} on ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores shared with other work.

| what | CPU (% of a core) | / bare stream |
| --- | ---: | ---: |
| runner + every podman process it started | ${runnerPct.toFixed(2)} | ×${ratio.toFixed(2)} |
| bare \`podman events\` stream | ${eventsPct.toFixed(2)} | ×1.00 |

Goal: ≤ ×1.5. ${ratio <= 1.5 ? 'Met.' : '**Not met.**'}

Runner memory over the window (from /proc, sampled every 15 s): RSS median ${mib(median(samples.map((s) => s.rss!)))} MiB (goal ≤ 60), max ${mib(Math.max(...samples.map((s) => s.rss!)))} MiB;
VmHWM ${mib(last.hwm!)} MiB (start-up included: the plays of ${pods} pods, unless adopted); at the end RssAnon ${mib(last.anon!)} MiB (heaps, isolates), RssFile ${mib(last.file!)} MiB (the executable's pages), ${last.threads} threads.
`;
} finally {
  runner.kill('SIGTERM');
  bare.kill('SIGTERM');
  await runnerExit;
  await sleep(500);
  if (!values.keep) {
    const left = podList()
      .filter(ours)
      .map((pod) => pod.Id);
    if (left.length > 0) spawnSync('podman', ['pod', 'rm', '-f', '-t', '0', ...left], { env, stdio: 'ignore' });
  }
  for (const group of [runnerGroup, eventsGroup]) {
    try {
      group.remove();
    } catch (error) {
      console.error(`could not remove cgroup ${group.path}: ${(error as Error).message}`);
    }
  }
}

/** Replaces this bench's section of RESULTS.md (up to the next `## `), or appends it. */
const writeSection = async (file: string): Promise<void> => {
  const text = await readFile(file, 'utf8').catch(() => '');
  const start = text.indexOf('## Idle cost at');
  if (start === -1) return writeFile(file, `${text.trimEnd()}\n\n${report}`);
  const end = text.indexOf('\n## ', start + 1);
  await writeFile(file, `${text.slice(0, start)}${report}${end === -1 ? '' : `\n${text.slice(end + 1)}`}`);
};
if (values.out !== undefined) await writeFile(values.out, report);
else await writeSection(path.join(repo, 'bench/RESULTS.md'));
console.log(report);
