/**
 * Reaction: how soon after a container dies the runner has started it again
 * (a first restart, which has no backoff), against what any supervisor that
 * drives the podman CLI could do, and against podman's own restart policy,
 * all in one session, the arms taking turns kill by kill so that the load
 * of a shared machine falls on each alike:
 *
 * - runner: the runner's pods (it keeps their infra up with a keeper, see
 *   src/shared/infra-keeper.ts, and restarts from the `died` event);
 * - watcher, infra kept: a process that hears the death on `podman events`
 *   and at once runs `podman start`, on pods played by hand, each with the
 *   same keeper the runner adds: the floor for any CLI-driven supervisor;
 * - watcher, infra stopped: the same watcher on pods played by hand as they
 *   come (podman's exit policy `stop` takes the infra down with the last
 *   container, and the start must bring it back): the runner's floor before
 *   the keeper, and where the "container state improper" race lives;
 * - podman restartPolicy Always: conmon restarts the process itself (no
 *   backoff, no limit): the floor of podman itself.
 *
 *   node --import tsx bench/reaction.ts [--pods 2] [--kills 20] [--death crash|podman-kill] [--binary RUNNER] [--before RUNNER] [--out FILE]
 *   npm run bench:reaction
 *
 * Each sample: one pod's container dies, and the delay is podman's own
 * timestamp of the `start` event minus that of the `died` event. `crash`
 * (the default) makes it exit by itself, with code 3 (SIGUSR2 from the host,
 * which its shell traps): podman learns of it from conmon, as of any crash.
 * `podman-kill` is `podman kill` (SIGKILL, code 137): podman marks such a
 * container stopped by the user, so its own restart policy leaves it alone
 * (that arm then has nothing to show), and the runner needs no inspect to
 * rule out the OOM killer (podman's `kill` event says who killed it). The runner
 * (the source under tsx, or --binary) runs with a 60 s resync, so only the
 * events stream can make it react fast, and a 1 s backoff reset, so every
 * kill gets a first restart. `--before` adds an arm for another runner
 * executable (an older build: before and after in one run), on pods of its
 * own. Medians and ratios of medians: these shared
 * machines are too noisy for absolute figures from different days.
 * Needs root, podman and the test image. Writes bench/REACTION.md (or --out).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  buildTestImage,
  eventTime,
  median,
  PODMAN_ENV as env,
  removePods,
  REPO as repo,
  spawnRunner,
  TEST_IMAGE as image,
} from './bench-setup.ts';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '2' },
    kills: { type: 'string', default: '20' },
    death: { type: 'string', default: 'crash' },
    binary: { type: 'string' },
    before: { type: 'string' },
    out: { type: 'string' },
  },
});
const pods = Number(values.pods);
const kills = Number(values.kills);
const death = values.death;
if (death !== 'crash' && death !== 'podman-kill') throw new Error(`--death must be crash or podman-kill, not ${death}`);
buildTestImage();

const podman = (...args: string[]): string => execFileSync('podman', args, { env, encoding: 'utf8' }).trim();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const percentile90 = (list: number[]): number =>
  [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(list.length * 0.9))] ?? Number.NaN;

/** podman's timestamps (ms) of one event of a container since `since`. */
const eventTimes = (container: string, event: 'died' | 'start', since: Date): number[] =>
  podman(
    'events',
    '--stream=false',
    '--format',
    'json',
    '--since',
    since.toISOString(),
    '--filter',
    `container=${container}`,
    '--filter',
    `event=${event}`,
  )
    .split('\n')
    .filter(Boolean)
    .map(eventTime);

/** The container's state and start time, in one podman call. */
const look = (container: string): { running: boolean; startedAt: string } => {
  const [status, ...started] = podman('inspect', '--format', '{{.State.Status}} {{.State.StartedAt}}', container).split(
    ' ',
  );
  return { running: status === 'running', startedAt: started.join(' ') };
};

/** Makes `container` die (see --death), waits for it to run again (whoever starts it), and returns start − died from podman's events. */
const killAndMeasure = async (container: string): Promise<number> => {
  const before = look(container).startedAt;
  const since = new Date(Date.now() - 1_000);
  if (death === 'crash') process.kill(Number(podman('inspect', '--format', '{{.State.Pid}}', container)), 'SIGUSR2');
  else podman('kill', container);
  const deadline = Date.now() + 30_000;
  // Seldom: each look is a podman process, on a machine that the arms share.
  for (let now = look(container); !now.running || now.startedAt === before; now = look(container)) {
    if (Date.now() > deadline) throw new Error(`${container} was not started again within 30 s`);
    await sleep(250);
  }
  // podman logs the `start` event a moment after the state says running.
  for (;;) {
    const died = Math.max(...eventTimes(container, 'died', since));
    const start = Math.max(...eventTimes(container, 'start', since));
    if (start > died) return start - died;
    if (Date.now() > deadline) throw new Error(`no start event of ${container} after its death`);
    await sleep(100);
  }
};

const podYaml = (name: string, restartPolicy: string): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  restartPolicy: ${restartPolicy}\n  terminationGracePeriodSeconds: 1\n  containers:\n    - name: main\n      image: ${image}\n      imagePullPolicy: Never\n      command: ["sh", "-c", "trap 'exit 0' TERM; trap 'exit 3' USR2; while true; do sleep 1 & wait $!; done"]\n`;

/** Plays a pod by hand, outside the runner (no runner labels: the runner leaves it alone). */
const playByHand = (name: string, restartPolicy: string): void => {
  execFileSync('podman', ['kube', 'play', '--quiet', '-'], {
    env,
    input: podYaml(name, restartPolicy),
    stdio: ['pipe', 'ignore', 'inherit'],
  });
};

/** The keeper the runner would add (src/supervisor/infra-keepers.ts), added by hand. */
const addKeeper = (pod: string): void => {
  const infra = podman('pod', 'inspect', '--format', '{{.InfraContainerID}}', pod);
  const infraImage = podman('container', 'inspect', '--format', '{{.Image}}', infra);
  podman(
    'run',
    '--detach',
    `--pod=${pod}`,
    `--name=${pod}-runner_keeper`,
    '--cap-drop=all',
    '--read-only',
    '--log-driver=none',
    '--restart=no',
    '--pull=never',
    '--',
    infraImage,
  );
};

/** A bare supervisor (bench/death-watcher.ts): on each `died` of these containers, `podman start` at once. */
const startWatcher = (containers: string[]): ChildProcess =>
  spawn(process.execPath, ['--import', 'tsx', path.join(repo, 'bench/death-watcher.ts'), ...containers], {
    cwd: repo,
    env,
    stdio: ['ignore', 'ignore', 'inherit'],
  });

interface Arm {
  label: string;
  containers: string[];
  delays: number[];
  lost: number;
}
/**
 * An arm that lost this many kills is measured no more: on podman 5.4 the
 * infra-stopped watcher meets the exit policy's 90 s pod lock on every kill
 * (docs/podman.md), and twenty of those would take half an hour.
 */
const RETIRE_AFTER_LOST = 2;
const names = (prefix: string): string[] => Array.from({ length: pods }, (_, i) => `rx-${prefix}-${i}`);
/** The runners under test: this checkout (or --binary), and --before. */
const runnerArms = [
  { label: 'runner (infra keeper, restart from the `died` event)', pods: names('runner'), binary: values.binary },
  ...(values.before === undefined
    ? []
    : [{ label: `runner before: ${path.basename(values.before)}`, pods: names('before'), binary: values.before }]),
];
const arms = {
  kept: { label: 'watcher: podman events, then podman start; infra kept', pods: names('kept') },
  stopped: { label: 'watcher: podman events, then podman start; infra stopped (exit policy)', pods: names('stopped') },
  podman: { label: 'podman restartPolicy Always (conmon)', pods: names('podman') },
};
const allArms = [...runnerArms, ...Object.values(arms)];
const allPods = allArms.flatMap((arm) => arm.pods);
const results: Arm[] = allArms.map((arm) => ({
  label: arm.label,
  containers: arm.pods.map((pod) => `${pod}-main`),
  delays: [],
  lost: 0,
}));
const [kept, stopped, own] = results.slice(runnerArms.length) as [Arm, Arm, Arm];
/** After `podman kill` podman's own policy restarts nothing: that arm is left out. */
const measured = death === 'crash' ? results : results.filter((arm) => arm !== own);

const row = (arm: Arm): string =>
  arm.delays.length === 0
    ? `| ${arm.label} | – | – | – | – | – | ${arm.lost} | – |`
    : `| ${arm.label} | ${arm.delays.length} | ${median(arm.delays)} | ${percentile90(arm.delays)} | ${Math.min(...arm.delays)} | ${Math.max(...arm.delays)} | ${arm.lost} | ×${(median(arm.delays) / median(kept.delays)).toFixed(2)} |`;
const cores = `${availableParallelism()} cores`;
const command = `node --import tsx bench/reaction.ts --pods ${pods} --kills ${kills} --death ${death}${values.binary ? ` --binary ${values.binary}` : ''}${values.before ? ` --before ${values.before}` : ''}`;
/** The report as far as the run has come (rewritten after every round: a run cut short keeps its numbers). */
const writeReport = async (rounds: number): Promise<string> => {
  const report = `# Reaction to a container death

Generated by \`${command}\` on ${new Date().toISOString().slice(0, 10)}
(\`npm run bench:reaction\` runs the defaults), with ${values.binary === undefined ? 'the runner from source under tsx' : path.relative(repo, values.binary) || values.binary},
podman ${podman('version', '--format', '{{.Client.Version}}')}, ${cores} (load average at the end: ${loadavg()
    .map((load) => load.toFixed(1))
    .join(', ')}).
Delay: podman's timestamp of the container's \`start\` event minus that of its \`died\` event, after ${death === 'crash' ? 'the container exited by itself with code 3 (a crash)' : '`podman kill` (SIGKILL)'}.
${pods} pod(s) per arm, ${rounds} of ${kills} kills per arm, the arms taking turns kill by kill, 1 s apart.
The runner's resync was 60 s: it could only react to the events stream.

| who restarts | kills | median (ms) | p90 (ms) | min (ms) | max (ms) | lost | median / infra-kept watcher |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
${results.map(row).join('\n')}

Lost: the container was not running again 30 s after the kill (it was then started by hand); an arm that lost ${RETIRE_AFTER_LOST} kills was measured no more.${death === 'crash' ? '' : ' podman restarts nothing after `podman kill`: its own policy has no row here.'}
`;
  await writeFile(values.out ?? path.join(repo, 'bench/REACTION.md'), report);
  return report;
};

removePods(allPods);
const dirs: string[] = [];
/** A runner of its own (state, manifests) for one runner arm: every kill a first restart, only events to react to. */
const startRunner = async (
  arm: (typeof runnerArms)[number],
): Promise<{ child: ChildProcess; exited: Promise<unknown> }> => {
  const dir = await mkdtemp(path.join(tmpdir(), 'runner-rx-'));
  dirs.push(dir);
  const manifests = path.join(dir, 'manifests');
  execFileSync('mkdir', ['-p', manifests, path.join(dir, 'state'), path.join(dir, 'images')]);
  await writeFile(
    path.join(dir, 'config.yaml'),
    'resyncIntervalSeconds: 60\nstopTimeoutSeconds: 1\nrestartBackoff: {initialSeconds: 10, maxSeconds: 10, resetAfterSeconds: 1}\nlogLevel: warn\n',
  );
  for (const name of arm.pods) await writeFile(path.join(manifests, `${name}.yaml`), podYaml(name, 'Always'));
  const args = [
    'run',
    '--config',
    path.join(dir, 'config.yaml'),
    '--manifest-dir',
    manifests,
    '--state-dir',
    path.join(dir, 'state'),
    '--images-dir',
    path.join(dir, 'images'),
  ];
  const child = spawnRunner(arm.binary, args, env, 'ignore');
  return { child, exited: new Promise((resolve) => child.on('exit', resolve)) };
};
for (const name of arms.kept.pods) {
  playByHand(name, 'Never');
  addKeeper(name);
}
for (const name of arms.stopped.pods) playByHand(name, 'Never');
for (const name of arms.podman.pods) playByHand(name, 'Always');

const runners = await Promise.all(runnerArms.map(startRunner));
const watchers = [startWatcher(kept.containers), startWatcher(stopped.containers)];

try {
  const deadline = Date.now() + 300_000; // a loaded machine took more than 120 s
  const keeperUp = (pod: string): boolean =>
    spawnSync('podman', ['container', 'exists', `${pod}-runner_keeper`], { env }).status === 0;
  const exists = (pod: string): boolean =>
    spawnSync('podman', ['container', 'exists', `${pod}-main`], { env }).status === 0;
  // This runner's pods get their keepers; a --before runner's may not.
  while (
    !runnerArms[0]!.pods.every((pod) => keeperUp(pod) && look(`${pod}-main`).running) ||
    !runnerArms.every((arm) => arm.pods.every((pod) => exists(pod) && look(`${pod}-main`).running))
  ) {
    if (Date.now() > deadline)
      throw new Error("the runners' pods (and this runner's keepers) did not come up within 300 s");
    await sleep(500);
  }
  await sleep(3_000); // the watchers' streams open, the runner has listed its keepers
  for (let i = 0; i < kills; i += 1) {
    for (const arm of measured) {
      if (arm.lost >= RETIRE_AFTER_LOST) continue;
      const container = arm.containers[i % pods]!;
      try {
        arm.delays.push(await killAndMeasure(container));
        console.log(`${arm.label}: ${arm.delays.at(-1)} ms`);
      } catch (error) {
        // Seen with the infra stopped: the watcher's start lost a race with
        // the exit policy stopping the pod ("container state improper").
        arm.lost += 1;
        console.log(`${arm.label}: lost (${(error as Error).message}); starting it by hand`);
        spawnSync('podman', ['start', container], { env, stdio: 'ignore' });
      }
      await sleep(1_000); // let podman's clean-up of this kill finish, and the runner's backoff reset
    }
    await writeReport(i + 1);
  }
} finally {
  for (const watcher of watchers) watcher.kill();
  for (const { child } of runners) if (child.exitCode === null) child.kill('SIGTERM');
  await Promise.all(runners.map(({ exited }) => exited));
  removePods(allPods);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
}

console.log(await writeReport(kills));
