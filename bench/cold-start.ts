/**
 * Cold start: N manifests from nothing to every pod's container running,
 * against the same N files played by `podman kube play` with the same
 * parallelism as the runner's (its `parallelism` setting), in one run, the
 * arms taking turns round by round so that the load of a shared machine falls
 * on each alike.
 *
 *   node --import tsx bench/cold-start.ts [--pods 100] [--rounds 3] [--parallelism 4] [--binary RUNNER] [--before RUNNER] [--out FILE]
 *   npm run bench:cold-start
 *
 * Time: from when the runner is spawned (or the first `kube play` starts) to
 * podman's own `StartedAt` of the last pod's container, read with
 * `podman inspect` once all run; a `podman events` stream (started before
 * either arm, in both) says when that is, so nothing polls podman while an
 * arm works. The runner starts with an empty state directory and the files
 * already in its manifest directory: from nothing, as after an install. Its
 * time includes its own start-up (the source under tsx unless --binary).
 * `--before` adds an arm for another runner executable (an older build): before
 * and after in one run. Needs root, podman and the test image. Writes a section of
 * bench/RESULTS.md (or the whole of --out).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
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
    pods: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '3' },
    parallelism: { type: 'string', default: '4' },
    binary: { type: 'string' },
    before: { type: 'string' },
    out: { type: 'string' },
  },
});
const pods = Number(values.pods);
const rounds = Number(values.rounds);
const parallelism = Number(values.parallelism);
buildTestImage();

const podman = (...args: string[]): string =>
  execFileSync('podman', args, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }).trim();
const names = Array.from({ length: pods }, (_, i) => `cold-${String(i).padStart(3, '0')}`);
const containers = names.map((name) => `${name}-main`);
const podYaml = (name: string): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  restartPolicy: Always\n  terminationGracePeriodSeconds: 1\n  containers:\n    - name: main\n      image: ${image}\n      imagePullPolicy: Never\n      command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1 & wait $!; done"]\n`;

const removeAll = (): void => {
  spawnSync('podman', ['pod', 'rm', '-f', '-t', '0', ...names], { env, stdio: 'ignore' });
};

/** Resolves once every one of `containers` has a `start` event on podman's stream (opened before the arm starts). */
const watchStarts = async (): Promise<{ allStarted: Promise<void>; stop: () => void }> => {
  const stream = spawn('podman', ['events', '--filter', 'event=start', '--format', '{{.Name}}'], {
    env,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const waiting = new Set(containers);
  let done: () => void = () => {};
  const allStarted = new Promise<void>((resolve) => (done = resolve));
  createInterface({ input: stream.stdout }).on('line', (line) => {
    waiting.delete(line.trim());
    if (waiting.size === 0) done();
  });
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // the stream is open
  return { allStarted, stop: () => stream.kill() };
};

/** podman's `StartedAt` (ms) of the last of the containers to start. */
const lastStart = (): number =>
  Math.max(
    ...podman('inspect', '--format', '{{.State.StartedAt.UnixMilli}}', ...containers)
      .split('\n')
      .map(Number),
  );

const withDeadline = async <T>(promise: Promise<T>, what: string, ms = 900_000): Promise<T> => {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(
            () => reject(new Error(`${what}: not all ${pods} containers started within ${ms / 1000} s`)),
            ms,
          )),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
};

/** Runs `commands` with at most `limit` at once, like `xargs -P`. */
const pool = async (commands: string[][], limit: number): Promise<void> => {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < commands.length) {
      const [file, ...args] = commands[next++]!;
      const child = spawn(file!, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      if (code !== 0) throw new Error(`${file} ${args.join(' ')} exited with ${code}`);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
};

const playByHand = async (dir: string): Promise<number> => {
  const files = names.map((name) => path.join(dir, `${name}.yaml`));
  const watch = await watchStarts();
  const started = Date.now();
  try {
    await withDeadline(
      Promise.all([
        pool(
          files.map((file) => ['podman', 'kube', 'play', '--quiet', file]),
          parallelism,
        ),
        watch.allStarted,
      ]),
      'kube play',
    );
    return lastStart() - started;
  } finally {
    watch.stop();
  }
};

const runnerColdStart = async (dir: string, binary = values.binary): Promise<number> => {
  const state = await mkdtemp(path.join(tmpdir(), 'runner-cold-state-'));
  await writeFile(
    path.join(state, 'config.yaml'),
    `parallelism: ${parallelism}\nstopTimeoutSeconds: 1\nlogLevel: warn\n`,
  );
  const args = [
    'run',
    '--config',
    path.join(state, 'config.yaml'),
    '--manifest-dir',
    dir,
    '--state-dir',
    path.join(state, 'state'),
    '--images-dir',
    path.join(state, 'images'),
  ];
  const watch = await watchStarts();
  const started = Date.now();
  let child: ChildProcess | undefined;
  try {
    child = spawnRunner(binary, args, env, ['ignore', 'ignore', 'inherit']);
    const died = new Promise<never>((_, reject) =>
      child!.on('exit', (code) => reject(new Error(`the runner exited with ${code} before all pods ran`))),
    );
    await withDeadline(Promise.race([watch.allStarted, died]), 'runner');
    return lastStart() - started;
  } finally {
    watch.stop();
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(state, { recursive: true, force: true });
  }
};

const dir = await mkdtemp(path.join(tmpdir(), 'runner-cold-'));
const manifests = path.join(dir, 'manifests');
await mkdir(manifests);
for (const name of names) await writeFile(path.join(manifests, `${name}.yaml`), podYaml(name));

const arms = [
  { label: `podman kube play, ${parallelism} at once (baseline)`, run: playByHand, times: [] as number[] },
  {
    label: `runner run, parallelism ${parallelism}, from an empty state`,
    run: (manifestDir: string) => runnerColdStart(manifestDir),
    times: [] as number[],
  },
  ...(values.before === undefined
    ? []
    : [
        {
          label: `runner before (${values.before}), the same`,
          run: (manifestDir: string) => runnerColdStart(manifestDir, values.before),
          times: [] as number[],
        },
      ]),
];
removeAll();
try {
  for (let round = 0; round < rounds; round += 1) {
    // Alternate the order: the first arm of a round meets a colder podman.
    for (const arm of round % 2 === 0 ? arms : [...arms].reverse()) {
      arm.times.push(await arm.run(manifests));
      console.log(`round ${round + 1}: ${arm.label}: ${arm.times.at(-1)} ms`);
      removeAll();
    }
  }
} finally {
  removeAll();
  await rm(dir, { recursive: true, force: true });
}

const [baseline, runner] = arms as [(typeof arms)[0], (typeof arms)[0]];
const command = `node --import tsx bench/cold-start.ts --pods ${pods} --rounds ${rounds} --parallelism ${parallelism}${values.binary ? ` --binary ${values.binary}` : ''}${values.before ? ` --before ${values.before}` : ''}`;
const section = `## Cold start: ${pods} manifests to all running (issue 12)

Generated by \`${command}\` on ${new Date().toISOString().slice(0, 10)}
(\`npm run bench:cold-start\` runs the defaults), with ${values.binary === undefined ? 'the runner from source under tsx' : path.relative(repo, values.binary) || values.binary},
podman ${podman('version', '--format', '{{.Client.Version}}')}, node ${process.version}, ${availableParallelism()} cores (load average at the end: ${loadavg()
  .map((load) => load.toFixed(1))
  .join(', ')}).
Time: from the runner's spawn (or the first \`kube play\`) to podman's \`StartedAt\` of the last of the ${pods} pods' containers;
one-container pods of the busybox test image on the default network, the arms taking turns round by round. Goal: runner ≤ 1.1× the baseline.

| arm | rounds | median (s) | min (s) | max (s) | median / baseline |
| --- | ---: | ---: | ---: | ---: | ---: |
${arms.map((arm) => `| ${arm.label} | ${arm.times.length} | ${(median(arm.times) / 1000).toFixed(1)} | ${(Math.min(...arm.times) / 1000).toFixed(1)} | ${(Math.max(...arm.times) / 1000).toFixed(1)} | ×${(median(arm.times) / median(baseline.times)).toFixed(2)} |`).join('\n')}

Runner / baseline: ×${(median(runner.times) / median(baseline.times)).toFixed(2)}.
`;

/** Replaces this bench's section of RESULTS.md (up to the next `## `), or appends it. */
const writeSection = async (file: string): Promise<void> => {
  const text = await readFile(file, 'utf8').catch(() => '');
  const start = text.indexOf('## Cold start:');
  if (start === -1) return writeFile(file, `${text.trimEnd()}\n\n${section}`);
  const end = text.indexOf('\n## ', start + 1);
  await writeFile(file, `${text.slice(0, start)}${section}${end === -1 ? '' : `\n${text.slice(end + 1)}`}`);
};
if (values.out !== undefined) await writeFile(values.out, section);
else await writeSection(path.join(repo, 'bench/RESULTS.md'));
console.log(section);
