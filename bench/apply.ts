/**
 * Apply latency: how soon after a manifest lands in the manifest directory
 * (written beside it and renamed in, as editors and config tools save) its
 * containers run, against `podman kube play` of the same YAML run by hand;
 * and how soon a changed manifest runs, against `podman kube play --replace`
 * of the same change. One session, the arms taking turns trial by trial
 * (and swapping who goes first every round), so that the load of a shared
 * machine falls on each alike:
 *
 * - apply: a new file (runner) / `podman kube play FILE` (by hand);
 * - replace: the file renamed over with one env value changed in every
 *   container (runner) / `podman kube play --replace FILE` of that change.
 *
 *   node --import tsx bench/apply.ts [--rounds 20] [--sizes 1,5] [--binary RUNNER] [--before RUNNER] [--trace FILE] [--out FILE]
 *   npm run bench:apply
 *
 * Each sample: from just before the rename (or the spawn of podman) to
 * podman's own timestamp of the `start` event of the pod's last container,
 * read from one `podman events` stream, so both arms are timed by the same
 * clock to the same point. The hand-run arm also shows its process's wall
 * time (podman exits a little after the last start). Between trials the
 * pods are removed (by hand, or by deleting the file) and untimed.
 * The runner (the source under tsx, or --binary) runs with a 60 s resync;
 * --trace FILE keeps its debug log (timestamps to the millisecond) there,
 * and every podman call it makes, with start and end, in FILE.podman.
 * `--before` adds an arm for another runner executable (an older build), on
 * pods and a manifest directory of its own: before and after in one run.
 * Medians and ratios of medians. Needs root, podman and the test image.
 * Writes bench/APPLY.md (or --out).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, createWriteStream, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import {
  buildTestImage,
  describeCheckout,
  eventTime,
  median,
  removePods,
  PODMAN_ENV as env,
  REPO as repo,
  spawnRunner,
  TEST_IMAGE as image,
} from './bench-setup.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    sizes: { type: 'string', default: '1,5' },
    binary: { type: 'string' },
    before: { type: 'string' },
    trace: { type: 'string' },
    out: { type: 'string' },
  },
});
const rounds = Number(values.rounds);
const sizes = values.sizes.split(',').map(Number);
if (!Number.isInteger(rounds) || rounds < 1 || sizes.some((size) => !Number.isInteger(size) || size < 1))
  throw new Error('--rounds and --sizes take whole numbers of at least 1');
buildTestImage();

const podman = (...args: string[]): string => execFileSync('podman', args, { env, encoding: 'utf8' }).trim();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const percentile90 = (list: number[]): number =>
  [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(list.length * 0.9))] ?? Number.NaN;

/** A pod of `size` containers; `version` is in every container's environment, so a new version is a changed spec. */
const podYaml = (name: string, size: number, version: number): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  restartPolicy: Always\n  terminationGracePeriodSeconds: 1\n  containers:\n${Array.from(
    { length: size },
    (_, i) =>
      `    - name: c${i}\n      image: ${image}\n      imagePullPolicy: Never\n      env:\n        - name: VERSION\n          value: "${version}"\n      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"]\n`,
  ).join('')}`;
const containersOf = (pod: string, size: number): string[] => Array.from({ length: size }, (_, i) => `${pod}-c${i}`);

/** Every container `start` podman logs, by container name: one stream for the whole run. */
const starts = new Map<string, number[]>();
const events = spawn(
  'podman',
  ['events', '--format', 'json', '--filter', 'type=container', '--filter', 'event=start'],
  { env, stdio: ['ignore', 'pipe', 'inherit'] },
);
createInterface({ input: events.stdout }).on('line', (line) => {
  const { Name } = JSON.parse(line) as { Name: string };
  starts.set(Name, [...(starts.get(Name) ?? []), eventTime(line)]);
});

/** podman's time of the last of these containers' starts after `since`, once each has one. */
const lastStart = async (containers: string[], since: number): Promise<number> => {
  const deadline = Date.now() + 300_000;
  for (;;) {
    const times = containers.map((name) => (starts.get(name) ?? []).find((time) => time >= since));
    if (times.every((time) => time !== undefined)) return Math.max(...times);
    if (Date.now() > deadline)
      throw new Error(
        `no start of ${containers.filter((_, i) => times[i] === undefined).join(', ')} within 300 s (see the runners' logs, *.log beside --out)`,
      );
    await sleep(20);
  }
};

const podExists = (pod: string): boolean => spawnSync('podman', ['pod', 'exists', pod], { env }).status === 0;
const waitFor = async (what: string, ok: () => boolean, ms = 60_000): Promise<void> => {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s`);
    await sleep(200);
  }
};

/** `podman kube play [--replace] FILE` by hand: (podman's last start − spawn, process wall time). */
const playByHand = async (
  file: string,
  pod: string,
  size: number,
  replace: boolean,
): Promise<{ ms: number; wall: number }> => {
  const t0 = Date.now();
  const child = spawn('podman', ['kube', 'play', ...(replace ? ['--replace'] : []), '--quiet', file], {
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const wall = Date.now() - t0;
  if (code !== 0) throw new Error(`podman kube play${replace ? ' --replace' : ''} ${file} exited ${code}`);
  return { ms: (await lastStart(containersOf(pod, size), t0)) - t0, wall };
};

/** The manifest renamed into the runner's directory: podman's last start − the rename. */
const applyByRunner = async (dir: string, pod: string, size: number, version: number): Promise<number> => {
  const temp = path.join(dir, `.${pod}.yaml.tmp`);
  await writeFile(temp, podYaml(pod, size, version));
  const t0 = Date.now();
  traceLine(`${t0} rename ${pod} version ${version}`);
  await rename(temp, path.join(dir, `${pod}.yaml`));
  return (await lastStart(containersOf(pod, size), t0)) - t0;
};

/** A line in the --trace file (Unix ms first, like the podman calls'). */
let traceLine = (_line: string): void => undefined;

interface Arm {
  label: string;
  delays: number[];
  walls: number[];
}
const arm = (label: string): Arm => ({ label, delays: [], walls: [] });
/** The runners under test: this checkout (or --binary), and --before (an older build: before and after in one run). */
const runnerSpecs = [
  { name: 'runner', label: 'runner', binary: values.binary },
  ...(values.before === undefined
    ? []
    : [
        {
          name: 'before',
          label: `runner before (${path.basename(path.dirname(values.before))}/${path.basename(values.before)})`,
          binary: values.before,
        },
      ]),
];
const table = sizes.map((size) => ({
  size,
  hand: arm(`\`podman kube play\` by hand, ${size} container(s)`),
  runners: runnerSpecs.map((spec) => arm(`${spec.label}: new manifest renamed in, ${size} container(s)`)),
  handReplace: arm(`\`podman kube play --replace\` by hand, ${size} container(s)`),
  runnerReplaces: runnerSpecs.map((spec) => arm(`${spec.label}: changed manifest renamed over, ${size} container(s)`)),
}));

const stat = (list: number[]): string =>
  list.length === 0
    ? '– | – | – | –'
    : `${median(list)} | ${percentile90(list)} | ${Math.min(...list)} | ${Math.max(...list)}`;
const row = (item: Arm, base: Arm): string =>
  `| ${item.label} | ${item.delays.length} | ${stat(item.delays)} | ${item.walls.length > 0 ? median(item.walls) : '–'} | ×${(median(item.delays) / median(base.delays)).toFixed(2)} |`;
const command = `node --import tsx bench/apply.ts --rounds ${rounds} --sizes ${sizes.join(',')}${values.binary ? ` --binary ${values.binary}` : ''}${values.before ? ` --before ${values.before}` : ''}`;
const checkout = describeCheckout(repo);
const head = checkout.head;
const dirty = checkout.srcChanged ? ' (src/ changed since)' : '';
/** The report as far as the run has come (rewritten after every round: a run cut short keeps its numbers). */
const writeReport = async (done: number): Promise<string> => {
  const report = `# Apply latency

Generated by \`${command}\` on ${new Date().toISOString().slice(0, 10)}
(\`npm run bench:apply\` runs the defaults), with ${values.binary === undefined ? 'the runner from source under tsx' : values.binary} at ${head}${dirty},
podman ${podman('version', '--format', '{{.Client.Version}}')}, ${availableParallelism()} cores (load average at the end: ${loadavg()
    .map((load) => load.toFixed(1))
    .join(', ')}).
Delay: podman's timestamp of the \`start\` event of the pod's last container minus the time just before the manifest was
renamed into the directory (runner) or podman was spawned (by hand). ${done} of ${rounds} rounds; each round, per size: a new pod
by each arm, then a changed spec (one env value in every container) by each arm, the arms taking turns in a rotating order.

| arm | trials | median (ms) | p90 (ms) | min (ms) | max (ms) | podman's wall time, median (ms) | median / by hand |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${table.flatMap(({ hand, runners, handReplace, runnerReplaces }) => [row(hand, hand), ...runners.map((item) => row(item, hand)), row(handReplace, handReplace), ...runnerReplaces.map((item) => row(item, handReplace))]).join('\n')}

Goal (issue 13): apply ≤ ×1.10 a hand-run \`podman kube play\`, replace ≤ ×1.10 \`podman kube play --replace\`.
`;
  await writeFile(values.out ?? path.join(repo, 'bench/APPLY.md'), report);
  return report;
};

const dir = await mkdtemp(path.join(tmpdir(), 'runner-apply-'));
const byHand = path.join(dir, 'by-hand');
const handPods = sizes.map((size) => `ap-hand-${size}`);
const runnerPods = runnerSpecs.flatMap((spec) => sizes.map((size) => `ap-${spec.name}-${size}`));
removePods([...handPods, ...runnerPods]);
await mkdir(byHand, { recursive: true });
/** --trace: every podman call of the runner, with its start and end (ms), beside the runner's debug log. */
const wrapper = path.join(dir, 'podman-traced');
if (values.trace) {
  await writeFile(`${values.trace}.podman`, '');
  const calls = `${values.trace}.podman`;
  await writeFile(
    wrapper,
    `#!/bin/sh\ncase "$1" in events) exec podman "$@";; esac\necho "$(date +%s%3N) start $$ $*" >> ${calls}\npodman "$@"\nrc=$?\necho "$(date +%s%3N) end $$ $1 $2 rc=$rc" >> ${calls}\nexit $rc\n`,
    { mode: 0o755 },
  );
  traceLine = (line) => {
    appendFileSync(calls, `${line}\n`);
  };
}

/** A runner of its own (manifests, state) per runner arm; --trace follows the first. */
const startRunner = async (
  spec: (typeof runnerSpecs)[number],
  index: number,
): Promise<{ manifests: string; state: string; child: ChildProcess; exited: Promise<unknown> }> => {
  const home = path.join(dir, spec.name);
  const manifests = path.join(home, 'manifests');
  const state = path.join(home, 'state');
  await Promise.all([manifests, state, path.join(home, 'images')].map((item) => mkdir(item, { recursive: true })));
  const traced = values.trace !== undefined && index === 0;
  await writeFile(
    path.join(home, 'config.yaml'),
    `resyncIntervalSeconds: 60\nstopTimeoutSeconds: 1\nlogLevel: ${traced ? 'debug' : 'warn'}\n${traced ? `podman: {path: ${wrapper}}\n` : ''}`,
  );
  const args = [
    'run',
    '--config',
    path.join(home, 'config.yaml'),
    '--manifest-dir',
    manifests,
    '--state-dir',
    state,
    '--images-dir',
    path.join(home, 'images'),
  ];
  const child = spawnRunner(spec.binary, args, env, ['ignore', 'pipe', 'pipe']);
  // Its warnings and errors (or, traced, its debug log) are kept: a trial that never ends says why.
  const log = createWriteStream(
    traced ? values.trace! : `${values.out ?? path.join(repo, 'bench/APPLY.md')}.${spec.name}.log`,
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return { manifests, state, child, exited: new Promise((resolve) => child.on('exit', resolve)) };
};
const runners = await Promise.all(runnerSpecs.map(startRunner));

/** Ready: the runner has read its empty directory, watches it and has listed podman (its first pass). */
const firstPassDone = (state: string): boolean => {
  try {
    return (
      (JSON.parse(readFileSync(path.join(state, 'status.json'), 'utf8')) as { daemon?: { lastReconcileAt?: number } })
        .daemon?.lastReconcileAt !== undefined
    );
  } catch {
    return false;
  }
};

try {
  for (const { state } of runners) await waitFor("the runner's first pass", () => firstPassDone(state), 120_000);
  await sleep(2_000);
  for (let round = 0; round < rounds; round += 1) {
    for (const { size, hand, runners: applies, handReplace, runnerReplaces } of table) {
      const handPod = `ap-hand-${size}`;
      const handFile = path.join(byHand, `${handPod}.yaml`);
      // Arm -1 is by hand, arm i the i-th runner; the order rotates every round.
      const order = [-1, ...runners.keys()];
      const turns = order.map((_, i) => order[(i + round) % order.length]!);
      removePods([handPod]); // a leftover of an interrupted run
      for (const version of [1, 2]) {
        await writeFile(handFile, podYaml(handPod, size, version));
        for (const turn of turns) {
          if (turn === -1) {
            const { ms, wall } = await playByHand(handFile, handPod, size, version === 2);
            const target = version === 1 ? hand : handReplace;
            target.delays.push(ms);
            target.walls.push(wall);
          } else {
            const ms = await applyByRunner(
              runners[turn]!.manifests,
              `ap-${runnerSpecs[turn]!.name}-${size}`,
              size,
              version,
            );
            (version === 1 ? applies : runnerReplaces)[turn]!.delays.push(ms);
          }
          await sleep(1_000); // the runner's bookkeeping (state, keeper) and podman's settle
        }
      }
      console.log(
        `round ${round + 1}, ${size} container(s): by hand ${hand.delays.at(-1)} ms, ${applies.map((item) => item.delays.at(-1)).join(' / ')} ms; replace by hand ${handReplace.delays.at(-1)} ms, ${runnerReplaces.map((item) => item.delays.at(-1)).join(' / ')} ms`,
      );
      // Untimed clean-up: a runner removes its pod when the file goes.
      removePods([handPod]);
      for (const [index, { manifests }] of runners.entries()) {
        const pod = `ap-${runnerSpecs[index]!.name}-${size}`;
        await unlink(path.join(manifests, `${pod}.yaml`));
        await waitFor(`the runner removing ${pod}`, () => !podExists(pod));
      }
    }
    await writeReport(round + 1);
  }
} finally {
  events.kill();
  for (const { child } of runners) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(runners.map(({ exited }) => exited));
  removePods([...handPods, ...runnerPods]);
  await rm(dir, { recursive: true, force: true });
}

console.log(await writeReport(rounds));
