/**
 * Soak: many pods, some crash-looping, for a while; samples the runner's
 * memory (VmRSS, and the kernel's high-water mark VmHWM) and open file
 * descriptors to show they stay flat.
 *
 *   node --import tsx bench/soak.ts [--pods 50] [--crashers 10] [--minutes 10]
 *        [--baseline OTHER-RUNNER] [--binary RUNNER] [--node-options=OPTS]... [--out FILE]
 *        [--prefix soak]
 *
 * Needs root, podman and the test image (scripts/build-busybox-image.sh).
 * Runs one after another, each with fresh pods for --minutes: the --baseline
 * executable if given, then --binary (default dist/runner) once per
 * --node-options value (NODE_OPTIONS for that run only; none if not given).
 * Comparisons are only made within one session, as medians and peaks: these
 * shared machines are too noisy for absolute figures from different days.
 * Writes bench/SOAK.md (or --out). Not part of the test suite.
 */
import { execFileSync, spawnSync, type StdioOptions } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MANAGED_LABEL, MANAGED_VALUE, SOURCE_LABEL } from '../src/shared/ownership.ts';
import {
  buildTestImage,
  median,
  PODMAN_ENV as env,
  REPO as repo,
  spawnRunner,
  TEST_IMAGE as image,
} from './bench-setup.ts';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '50' },
    crashers: { type: 'string', default: '10' },
    minutes: { type: 'string', default: '10' },
    baseline: { type: 'string' },
    binary: { type: 'string' },
    'node-options': { type: 'string', multiple: true },
    out: { type: 'string' },
    prefix: { type: 'string', default: 'soak' },
  },
});
const pods = Number(values.pods);
const crashers = Number(values.crashers);
const minutes = Number(values.minutes);
// Pod names are global to podman: another soak (or a killed one's leftovers) must not share them.
const prefix = values.prefix;
buildTestImage();

interface Variant {
  name: string;
  /** undefined: the runner from source under tsx. */
  binary: string | undefined;
  nodeOptions: string | undefined;
}
interface Sample {
  t: number;
  rssKiB: number;
  hwmKiB: number;
  cpuS: number;
  fds: number;
  running: number;
}
interface Run {
  variant: Variant;
  samples: Sample[];
  /** How the runner ended, if it did before the soak did. */ exit?: string;
}

const candidate = values.binary ?? path.join(repo, 'dist/runner');
const clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
const shown = (file: string): string =>
  path.resolve(file).startsWith(`${repo}/`) ? path.relative(repo, path.resolve(file)) : file;
const candidateBinary = process.env.SOAK_FROM_SOURCE
  ? undefined
  : await readFile(candidate).then(
      () => candidate,
      () => undefined,
    );
const variants: Variant[] = [
  ...(values.baseline === undefined
    ? []
    : [{ name: `baseline ${shown(values.baseline)}`, binary: values.baseline, nodeOptions: undefined }]),
  ...(values['node-options'] ?? [undefined]).map((nodeOptions) => ({
    name: `${candidateBinary === undefined ? 'runner from source under tsx' : shown(candidateBinary)}${nodeOptions ? ` with NODE_OPTIONS='${nodeOptions}'` : ''}`,
    binary: candidateBinary,
    nodeOptions,
  })),
];

type PodRow = { Id: string; Name: string; Status: string; Labels?: Record<string, string> };
const podList = (): PodRow[] =>
  JSON.parse(
    execFileSync('podman', ['pod', 'ps', '--format', 'json', '--filter', `label=${MANAGED_LABEL}=${MANAGED_VALUE}`], {
      env,
      encoding: 'utf8',
    }) || '[]',
  ) as PodRow[];

/** A fresh directory with the config and this run's manifests: `crashers` crash-looping pods, the rest steady. */
const writeWorkload = async (): Promise<{ dir: string; manifests: string }> => {
  const dir = await mkdtemp(path.join(tmpdir(), 'runner-soak-'));
  const manifests = path.join(dir, 'manifests');
  execFileSync('mkdir', ['-p', manifests, path.join(dir, 'state')]);
  await writeFile(
    path.join(dir, 'config.yaml'),
    'resyncIntervalSeconds: 10\nstopTimeoutSeconds: 1\nrestartBackoff: {initialSeconds: 2, maxSeconds: 30}\nlogLevel: warn\n',
  );
  for (let i = 0; i < pods; i += 1) {
    const crash = i < crashers;
    const command = crash ? `sleep ${2 + (i % 5)}; exit 1` : "trap 'exit 0' TERM; while true; do sleep 5; done";
    await writeFile(
      path.join(manifests, `${prefix}-${i}.yaml`),
      `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${prefix}-${i}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n    - name: main\n      image: ${image}\n      imagePullPolicy: Never\n      command: ["sh", "-c", ${JSON.stringify(command)}]\n`,
    );
  }
  return { dir, manifests };
};

/** One sample of the runner's memory, CPU and fds from /proc, and how many of this run's pods run. */
const sampleRunner = async (pid: number, started: number, ours: (pod: PodRow) => boolean): Promise<Sample> => {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  // utime + stime (fields 14 and 15), in clock ticks; the comm field may hold spaces, so split after its ')'.
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(fields[11]) + Number(fields[12])) / clockTicks;
  const fds = (await readdir(`/proc/${pid}/fd`)).length;
  const running = podList().filter((pod) => ours(pod) && pod.Status === 'Running').length;
  return {
    t: Math.round((Date.now() - started) / 1000),
    rssKiB: kib('VmRSS'),
    hwmKiB: kib('VmHWM'),
    cpuS,
    fds,
    running,
  };
};

const soak = async (variant: Variant): Promise<Run> => {
  const { dir, manifests } = await writeWorkload();
  const args = [
    'run',
    '--config',
    path.join(dir, 'config.yaml'),
    '--manifest-dir',
    manifests,
    '--state-dir',
    path.join(dir, 'state'),
    '--log-format',
    'json',
  ];
  // NODE_OPTIONS only for the runner: podman and the image script never see it.
  const runnerEnv = { ...env, ...(variant.nodeOptions === undefined ? {} : { NODE_OPTIONS: variant.nodeOptions }) };
  const stdio: StdioOptions = 'ignore';
  const child = spawnRunner(variant.binary, args, runnerEnv, stdio);
  const pid = child.pid!;
  // This run's pods, by source label.
  const ours = (pod: { Labels?: Record<string, string> }): boolean =>
    pod.Labels?.[SOURCE_LABEL]?.startsWith(`${manifests}/`) ?? false;
  let exit: string | undefined;
  let stopping = false;
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.on('exit', (code, signal) => {
    if (!stopping) exit = `code ${code}, signal ${signal}`;
    console.error(`runner exited: code ${code}, signal ${signal}`);
  });
  const started = Date.now();

  console.log(`== ${variant.name}`);
  const samples: Sample[] = [];
  try {
    while (Date.now() < started + minutes * 60_000) {
      await new Promise((resolve) => setTimeout(resolve, 15_000));
      if (exit !== undefined) break;
      const s = await sampleRunner(pid, started, ours);
      if (s.rssKiB === 0) continue; // a zombie: it died, and its exit event is on the way
      samples.push(s);
      console.log(
        `t=${s.t}s rss=${mib(s.rssKiB)}MiB hwm=${mib(s.hwmKiB)}MiB cpu=${s.cpuS.toFixed(1)}s fds=${s.fds} running=${s.running}/${pods}`,
      );
    }
  } finally {
    stopping = true;
    if (exit === undefined) child.kill('SIGTERM');
    await exited;
    // Only this run's pods (by source label), and never fail on one that vanished meanwhile.
    const left = podList()
      .filter(ours)
      .map((pod) => pod.Id);
    if (left.length > 0) spawnSync('podman', ['pod', 'rm', '-f', '-t', '0', ...left], { env, stdio: 'ignore' });
    await rm(dir, { recursive: true, force: true });
  }
  return { variant, samples, ...(exit === undefined ? {} : { exit }) };
};

const mib = (kib: number): string => (kib / 1024).toFixed(1);

const runs: Run[] = [];
for (const variant of variants) runs.push(await soak(variant));

// Skip the first third (start-up: every pod being played); the rest is the steady state.
const summarize = ({ samples }: Run) => {
  const third = Math.floor(samples.length / 3);
  const middle = samples.slice(third, 2 * third);
  const last = samples.slice(2 * third);
  if (middle.length === 0) throw new Error('too few samples to judge flatness: run for longer (--minutes)');
  const steady = samples.slice(third);
  const from = steady[0]!;
  const to = steady.at(-1)!;
  return {
    rssMedian: median(steady.map((s) => s.rssKiB)),
    rssPeak: Math.max(...samples.map((s) => s.rssKiB)),
    hwm: Math.max(...samples.map((s) => s.hwmKiB)),
    cpuPerMinute: to.t > from.t ? ((to.cpuS - from.cpuS) * 60) / (to.t - from.t) : 0,
    rssRatio: median(last.map((s) => s.rssKiB)) / median(middle.map((s) => s.rssKiB)),
    fdRatio: median(last.map((s) => s.fds)) / median(middle.map((s) => s.fds)),
  };
};
const summaries = runs.map(summarize);
const first = summaries[0]!;
const compared = runs.length > 1;

const table = (run: Run): string => `### ${run.variant.name}
${run.exit === undefined ? '' : `\nThe runner exited before the end: ${run.exit}.\n`}
| t (s) | RSS (MiB) | VmHWM (MiB) | CPU (s) | open fds | pods running |
| ---: | ---: | ---: | ---: | ---: | ---: |
${run.samples.map((s) => `| ${s.t} | ${mib(s.rssKiB)} | ${mib(s.hwmKiB)} | ${s.cpuS.toFixed(1)} | ${s.fds} | ${s.running} |`).join('\n')}
`;

const summaryRow = (run: Run, i: number): string => {
  const s = summaries[i]!;
  const cells = [
    run.variant.name + (run.exit === undefined ? '' : ` (**exited early: ${run.exit}**)`),
    mib(s.rssMedian),
    mib(s.rssPeak),
    mib(s.hwm),
    ...(compared ? [`×${(s.rssMedian / first.rssMedian).toFixed(2)}`, `×${(s.hwm / first.hwm).toFixed(2)}`] : []),
    s.cpuPerMinute.toFixed(2),
    `×${s.rssRatio.toFixed(2)}`,
    `×${s.fdRatio.toFixed(2)}`,
  ];
  return `| ${cells.join(' | ')} |`;
};

const command = [
  'node --import tsx bench/soak.ts',
  `--pods ${pods}`,
  `--crashers ${crashers}`,
  `--minutes ${minutes}`,
  ...(prefix === 'soak' ? [] : [`--prefix ${prefix}`]),
  ...(values.baseline === undefined ? [] : [`--baseline ${shown(values.baseline)}`]),
  ...(values.binary === undefined ? [] : [`--binary ${shown(values.binary)}`]),
  ...(values['node-options'] ?? []).map((o) => `--node-options='${o}'`),
].join(' ');
const report = `# Soak

Generated by \`${command}\` on ${new Date().toISOString().slice(0, 10)}:
${compared ? `${runs.length} runs one after another in one session, each` : 'one run'} with fresh pods for ${minutes} minute${minutes === 1 ? '' : 's'}; ${crashers} of ${pods} pods
crash-loop with backoff 2 s doubling to 30 s. RSS is sampled every 15 s; VmHWM is the kernel's record of the
highest RSS, so it also catches peaks between samples. Steady state: the samples after the first third (start-up).
CPU: the runner's own user + system time (not podman's) per minute of the steady state.
Flatness: median of the last third over the middle third.

| run | RSS median, steady (MiB) | RSS peak, sampled (MiB) | VmHWM (MiB) | ${compared ? 'median / first run | VmHWM / first run | ' : ''}CPU (s/min) | flatness RSS | flatness fds |
| --- | ---: | ---: | ---: | ${compared ? '---: | ---: | ' : ''}---: | ---: | ---: |
${runs.map(summaryRow).join('\n')}

${runs.map(table).join('\n')}`;
await writeFile(values.out ?? path.join(repo, 'bench/SOAK.md'), report);
console.log(report);
