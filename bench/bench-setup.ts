/**
 * What the podman benchmarks (soak.ts, reaction.ts) share: podman's settings
 * for these machines, the locally built test image, the runner as a process,
 * and the median they compare by.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';
import path from 'node:path';

export const REPO = path.resolve(import.meta.dirname, '..');
/** The test settings (runc, rlimits) unless the caller set CONTAINERS_CONF: the runner itself honours the host's. */
export const PODMAN_ENV = {
  ...process.env,
  CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? path.join(REPO, 'test/fixtures/containers.conf'),
};
export const TEST_IMAGE = 'localhost/runner-busybox:1';

/**
 * The time (ms) of one line of `podman events --format json`: podman 4.3
 * writes `Time` (an RFC 3339 string), podman 5 `time` (seconds) and
 * `timeNano`, which keeps the milliseconds these benchmarks measure.
 */
export const eventTime = (line: string): number => {
  const event = JSON.parse(line) as { Time?: string; timeNano?: number };
  if (event.timeNano !== undefined) return Math.floor(event.timeNano / 1e6);
  if (event.Time !== undefined) return Date.parse(event.Time);
  throw new Error(`podman event without a time: ${line}`);
};

/** Builds the busybox test image if podman lacks it (no registry needed). */
export const buildTestImage = (): void => {
  execFileSync(path.join(REPO, 'scripts/build-busybox-image.sh'), [TEST_IMAGE], { env: PODMAN_ENV, stdio: 'inherit' });
};

/** `runner ARGS` from `binary`, or from the source under tsx when there is none. */
export const spawnRunner = (
  binary: string | undefined,
  args: string[],
  env: NodeJS.ProcessEnv,
  stdio: StdioOptions,
): ChildProcess =>
  binary !== undefined
    ? spawn(binary, args, { env, stdio })
    : spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), ...args], { env, stdio });

/**
 * `podman pod rm -f` of each pod, one call per pod: podman 4.3 given several
 * names stops at the first that does not exist, with exit code 0, and
 * leaves the others (seen here).
 */
export const removePods = (pods: string[]): void => {
  for (const pod of pods)
    spawnSync('podman', ['pod', 'rm', '-f', '-t', '0', pod], { env: PODMAN_ENV, stdio: 'ignore' });
};

/** The middle value (the upper one of an even count); NaN for none. */
export const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/**
 * The checkout the bench runs in, as `<short hash> <subject>` and whether
 * src/ changed since; a copy without git (the podman 5 machine's, made by
 * `git archive`) says so instead of failing the run at its end.
 */
export const describeCheckout = (dir: string): { head: string; srcChanged: boolean } => {
  const git = (...args: string[]): string | undefined => {
    const result = spawnSync('git', args, { cwd: dir, encoding: 'utf8' });
    return result.status === 0 ? result.stdout.trim() : undefined;
  };
  const head = git('log', '-1', '--format=%h %s');
  if (head === undefined) return { head: 'a copy without git history', srcChanged: false };
  return { head, srcChanged: git('status', '--porcelain', '--', 'src') !== '' };
};
