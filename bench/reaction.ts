/**
 * Reaction: how soon after a container dies the runner has started it again
 * (a first restart, which has no backoff), against the floor for any
 * supervisor that drives the podman CLI: a watcher that hears the death on
 * `podman events` and at once runs `podman start`, measured in the same
 * session on the same containers.
 *
 *   node --import tsx bench/reaction.ts [--pods 4] [--kills 20] [--binary RUNNER] [--out FILE]
 *
 * Each sample: `podman kill` of one pod's container; the delay is podman's own
 * timestamp of the `start` event minus that of the `died` event. The runner
 * (dist/runner if built, else the source under tsx) runs with a 60 s resync,
 * so only the events stream can make it react, and a 1 s backoff reset, so
 * every kill gets a first restart. The floor runs after the runner has
 * stopped (its pods keep running). Medians, and the ratio of the medians: these
 * shared machines are too noisy for absolute figures from different days.
 * Needs root, podman and the test image. Writes bench/REACTION.md (or --out).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildTestImage, median, PODMAN_ENV as env, REPO as repo, spawnRunner, TEST_IMAGE as image } from './bench-setup.ts';

const { values } = parseArgs({
  options: {
    pods: { type: 'string', default: '4' },
    kills: { type: 'string', default: '20' },
    binary: { type: 'string' },
    out: { type: 'string' },
  },
});
const pods = Number(values.pods);
const kills = Number(values.kills);
buildTestImage();
const binary = values.binary ?? (await readFile(path.join(repo, 'dist/runner')).then(() => path.join(repo, 'dist/runner'), () => undefined));

const podman = (...args: string[]): string => execFileSync('podman', args, { env, encoding: 'utf8' }).trim();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const percentile90 = (list: number[]): number => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(list.length * 0.9))] ?? Number.NaN;

/** podman's timestamps (ms) of one event of a container since `since`. */
const eventTimes = (container: string, event: 'died' | 'start', since: Date): number[] =>
  podman('events', '--stream=false', '--format', 'json', '--since', since.toISOString(), '--filter', `container=${container}`, '--filter', `event=${event}`)
    .split('\n')
    .filter(Boolean)
    .map((line) => Date.parse((JSON.parse(line) as { Time: string }).Time));

const startedAt = (container: string): string => podman('inspect', '--format', '{{.State.StartedAt}}', container);

/** Kills `container`, waits for it to run again (whoever starts it), and returns start − died from podman's events. */
const killAndMeasure = async (container: string): Promise<number> => {
  const before = startedAt(container);
  const since = new Date(Date.now() - 1_000);
  podman('kill', container);
  const deadline = Date.now() + 30_000;
  while (startedAt(container) === before || podman('inspect', '--format', '{{.State.Status}}', container) !== 'running') {
    if (Date.now() > deadline) throw new Error(`${container} was not started again within 30 s`);
    await sleep(50);
  }
  const died = Math.max(...eventTimes(container, 'died', since));
  const start = Math.max(...eventTimes(container, 'start', since));
  return start - died;
};

const dir = await mkdtemp(path.join(tmpdir(), 'runner-reaction-'));
const manifests = path.join(dir, 'manifests');
execFileSync('mkdir', ['-p', manifests, path.join(dir, 'state'), path.join(dir, 'images')]);
await writeFile(path.join(dir, 'config.yaml'), 'resyncIntervalSeconds: 60\nstopTimeoutSeconds: 1\nrestartBackoff: {initialSeconds: 10, maxSeconds: 10, resetAfterSeconds: 1}\nlogLevel: warn\n');
const names = Array.from({ length: pods }, (_, i) => `reaction-${i}`);
for (const name of names) {
  await writeFile(
    path.join(manifests, `${name}.yaml`),
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers:\n    - name: main\n      image: ${image}\n      imagePullPolicy: Never\n      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]\n`,
  );
}
const args = ['run', '--config', path.join(dir, 'config.yaml'), '--manifest-dir', manifests, '--state-dir', path.join(dir, 'state'), '--images-dir', path.join(dir, 'images')];
const runner = spawnRunner(binary, args, env, 'ignore');
const runnerExited = new Promise((resolve) => runner.on('exit', resolve));

const runnerDelays: number[] = [];
const floorDelays: number[] = [];
let floorLost = 0;
try {
  const deadline = Date.now() + 120_000;
  while (!names.every((name) => spawnSync('podman', ['container', 'exists', `${name}-main`], { env }).status === 0 && startedAt(`${name}-main`) !== '')) {
    if (Date.now() > deadline) throw new Error('the pods did not come up within 120 s');
    await sleep(500);
  }
  await sleep(3_000);
  for (let i = 0; i < kills; i += 1) {
    runnerDelays.push(await killAndMeasure(`${names[i % pods]}-main`));
    console.log(`runner: ${runnerDelays.at(-1)} ms`);
    await sleep(1_500); // past the backoff reset, so the next kill is a first restart too
  }
  runner.kill('SIGTERM');
  await runnerExited;
  for (let i = 0; i < kills; i += 1) {
    const container = `${names[i % pods]}-main`;
    // The floor: a watcher that does nothing but what the runner must do at
    // least, hear the death on `podman events` and run `podman start`.
    const watcher = spawn('podman', ['events', '--format', 'json', '--filter', `container=${container}`, '--filter', 'event=died'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    watcher.stdout.once('data', () => {
      spawn('podman', ['start', container], { env, stdio: ['ignore', 'ignore', 'inherit'] });
      watcher.kill();
    });
    await sleep(1_000); // let the stream open before the kill
    try {
      floorDelays.push(await killAndMeasure(container));
      console.log(`floor: ${floorDelays.at(-1)} ms`);
    } catch (error) {
      // Seen now and then: the watcher's start lost a race with the pod's
      // exit policy stopping the infra container ("container state improper").
      floorLost += 1;
      console.log(`floor: lost (${(error as Error).message}); starting it by hand`);
      spawnSync('podman', ['start', container], { env, stdio: 'ignore' });
    } finally {
      if (watcher.exitCode === null) watcher.kill();
    }
  }
} finally {
  if (runner.exitCode === null) runner.kill('SIGTERM');
  await runnerExited;
  spawnSync('podman', ['pod', 'rm', '-f', '-t', '0', ...names], { env, stdio: 'ignore' });
  await rm(dir, { recursive: true, force: true });
}

const row = (what: string, list: number[]): string => `| ${what} | ${list.length} | ${median(list)} | ${percentile90(list)} | ${Math.min(...list)} | ${Math.max(...list)} |`;
const report = `# Reaction to a container death

Generated by \`node --import tsx bench/reaction.ts --pods ${pods} --kills ${kills}${values.binary ? ` --binary ${values.binary}` : ''}\` on ${new Date().toISOString().slice(0, 10)},
with ${binary === undefined ? 'the runner from source under tsx' : path.relative(repo, binary) || binary}.
Delay: podman's timestamp of the container's \`start\` event minus that of its \`died\` event, after \`podman kill\`.
Floor: a watcher that hears the death on \`podman events\` and at once runs \`podman start\`: the same containers, the same session, the runner stopped.
The runner's resync was 60 s: it could only react to the events stream.

| who restarts | kills | median (ms) | p90 (ms) | min (ms) | max (ms) |
| --- | ---: | ---: | ---: | ---: | ---: |
${row('runner', runnerDelays)}
${row('floor: podman events, then podman start', floorDelays)}

Median ratio, runner to floor: ×${(median(runnerDelays) / median(floorDelays)).toFixed(2)}.${floorLost > 0 ? `\n\n${floorLost} floor sample(s) lost: the watcher's \`podman start\` did not bring the container back within 30 s.` : ''}
`;
await writeFile(values.out ?? path.join(repo, 'bench/REACTION.md'), report);
console.log(report);
