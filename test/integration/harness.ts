/**
 * Real-podman test harness. Integration tests never skip: without podman they
 * fail with a message saying how to install it (the explicit local opt-out
 * is `npm run test:unit`, which does not run this tier).
 *
 * Importing it adds one hook to the file's tests: when a test fails, the
 * last lines each runner it ran printed are written beside the failure (as
 * TAP comments), so a failure in CI says what the runner was doing.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'node:test';
import { promisify } from 'node:util';
import { SOURCE_LABEL } from '../../src/shared/ownership.ts';

const execFileAsync = promisify(execFile);
export const REPO = path.resolve(import.meta.dirname, '../..');
export const TEST_IMAGE = 'localhost/runner-busybox:1';
export const CONTAINERS_CONF = path.join(REPO, 'test/fixtures/containers.conf');
const env = { ...process.env, CONTAINERS_CONF };

export const podman = async (...args: string[]): Promise<string> => {
  const { stdout } = await execFileAsync('podman', args, { env, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
};

/** Checks podman works and the test image exists (building it locally if not). */
export const requirePodman = async (): Promise<void> => {
  try {
    await podman('--version');
  } catch {
    throw new Error(
      'integration tests need podman: apt-get install -y podman runc catatonit busybox-static (or run "npm run test:unit" to leave this tier out)',
    );
  }
  await execFileAsync(path.join(REPO, 'scripts/build-busybox-image.sh'), [TEST_IMAGE], { env });
};

export interface PodState {
  id: string;
  name: string;
  status: string;
  labels: Record<string, string>;
  containers: { id: string; name: string; status: string }[];
}

export const listPods = async (): Promise<PodState[]> => {
  const raw = JSON.parse((await podman('pod', 'ps', '--format', 'json')) || '[]') as {
    Id: string;
    Name: string;
    Status: string;
    Labels?: Record<string, string> | null;
    Containers?: { Id: string; Names: string; Status: string }[] | null;
  }[];
  return raw.map((pod) => ({
    id: pod.Id,
    name: pod.Name,
    status: pod.Status,
    labels: pod.Labels ?? {},
    containers: (pod.Containers ?? []).map((c) => ({ id: c.Id, name: c.Names, status: c.Status })),
  }));
};

export const podByName = async (name: string): Promise<PodState | undefined> =>
  (await listPods()).find((pod) => pod.name === name);

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export const waitFor = async <T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 20_000,
): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${last instanceof Error ? String(last) : JSON.stringify(last)})` : ''}`,
  );
};

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A unique pod-name prefix per test file, so runs never collide with leftovers. */
export const uniquePrefix = (tag: string): string => `it${Math.random().toString(36).slice(2, 7)}-${tag}`;

/** A Pod manifest with the test image; `command` defaults to a process that exits promptly on SIGTERM. */
export const podYaml = (
  name: string,
  options: { command?: string[]; labels?: Record<string, string>; extraSpec?: string } = {},
): string => {
  const command = options.command ?? ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 1; done"];
  const labels = Object.entries(options.labels ?? {})
    .map(([key, value]) => `\n    ${key}: "${value}"`)
    .join('');
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}${labels ? `\n  labels:${labels}` : ''}
spec:
  terminationGracePeriodSeconds: 1${options.extraSpec ? `\n${options.extraSpec}` : ''}
  containers:
    - name: main
      image: ${TEST_IMAGE}
      imagePullPolicy: Never
      command: ${JSON.stringify(command)}
`;
};

export interface Workspace {
  dir: string;
  manifestDir: string;
  stateDir: string;
  /** The runner's images directory: its own, never the host's /var/lib/runner/images. */
  imagesDir: string;
  configFile: string;
  cleanup: () => Promise<void>;
}

/** A temp manifest dir, state dir and config (fast resync) for one test file. */
export const createWorkspace = async (
  config = 'resyncIntervalSeconds: 2\nstopTimeoutSeconds: 1\n',
): Promise<Workspace> => {
  const dir = await mkdtemp(path.join(tmpdir(), 'runner-it-'));
  const manifestDir = path.join(dir, 'manifests');
  const stateDir = path.join(dir, 'state');
  const imagesDir = path.join(dir, 'images');
  const configFile = path.join(dir, 'config.yaml');
  await execFileAsync('mkdir', ['-p', manifestDir, stateDir, imagesDir]);
  await writeFile(configFile, config);
  return {
    dir,
    manifestDir,
    stateDir,
    imagesDir,
    configFile,
    cleanup: async () => {
      await removePodsFrom(manifestDir);
      await rm(dir, { recursive: true, force: true });
    },
  };
};

/** Removes every pod whose source label points into `manifestDir` (test cleanup). */
export const removePodsFrom = async (manifestDir: string): Promise<void> => {
  for (const pod of await listPods()) {
    if (pod.labels[SOURCE_LABEL]?.startsWith(`${manifestDir}/`))
      await podman('pod', 'rm', '-f', '-t', '0', pod.id).catch(() => undefined);
  }
};

export interface RunnerProcess {
  child: ChildProcess;
  /** Every JSON log line the runner printed so far. */
  logs: Record<string, unknown>[];
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/**
 * Starts `runner run` as a real process (the CLI, through tsx) on the workspace.
 * `options.env` adds to the environment of the runner and so of its podman calls.
 */
export const startRunner = async (
  ws: Workspace,
  extraArgs: string[] = [],
  options: { env?: Record<string, string> } = {},
): Promise<RunnerProcess> => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(REPO, 'src/cli/main.ts'),
      'run',
      '--config',
      ws.configFile,
      '--manifest-dir',
      ws.manifestDir,
      '--state-dir',
      ws.stateDir,
      '--images-dir',
      ws.imagesDir,
      '--log-format',
      'json',
      '--log-level',
      'trace',
      ...extraArgs,
    ],
    { env: { ...env, ...options.env }, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: Record<string, unknown>[] = [];
  let buffer = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ level: 'raw', msg: line });
      }
    }
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const record: RunnerRecord = { pid: child.pid!, logs };
  runners.push(record);
  void exited.then(() => (record.exitedAt = Date.now()));
  try {
    await waitFor(
      'the runner to start',
      async () => logs.some((log) => log.msg === 'runner ready') || child.exitCode !== null,
      30_000,
    );
  } catch (error) {
    // A runner left running would keep this test file's process alive forever.
    child.kill('SIGKILL');
    throw new Error(`${(error as Error).message}; its log: ${JSON.stringify(logs.slice(-FAILURE_LOG_LINES))}`, {
      cause: error,
    });
  }
  if (child.exitCode !== null) throw new Error(`runner exited at start (${child.exitCode}): ${JSON.stringify(logs)}`);
  return {
    child,
    logs,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
};

interface RunnerRecord {
  pid: number;
  logs: Record<string, unknown>[];
  exitedAt?: number;
}

/** Every runner this test file started. */
const runners: RunnerRecord[] = [];
const FAILURE_LOG_LINES = 80;
let testStartedAt = 0;

beforeEach(() => {
  testStartedAt = Date.now();
});

afterEach((t) => {
  // Node sets `passed` on a test's context (20.13 and later); @types/node does not declare it yet.
  if ((t as { passed?: boolean }).passed !== false || !('diagnostic' in t)) return;
  for (const runner of runners) {
    if (runner.exitedAt !== undefined && runner.exitedAt < testStartedAt) continue;
    t.diagnostic(
      `runner ${runner.pid}${runner.exitedAt === undefined ? '' : ' (exited)'}, its last ${FAILURE_LOG_LINES} log lines:`,
    );
    for (const log of runner.logs.slice(-FAILURE_LOG_LINES)) {
      const { time, level, msg, ...fields } = log;
      const rest = Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
      t.diagnostic(
        `  ${[time ?? '', level, msg].map((part) => (typeof part === 'string' ? part : (JSON.stringify(part) ?? 'undefined'))).join(' ')}${rest}`,
      );
    }
  }
});

export interface ProcessEntry {
  pid: number;
  ppid: number;
  /** The state letter from /proc/PID/stat (R, S, D, Z, ...). */
  state: string;
  argv: string[];
}

const readStat = async (pid: number): Promise<{ state: string; ppid: number } | undefined> => {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  // The command name (field 2) is in parentheses and may contain spaces: fields are counted after it.
  const [state = '', ppid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return state === 'Z' || state === 'X' ? undefined : { state, ppid: Number(ppid) };
};

/** A process as /proc shows it now; undefined once it is gone or only a zombie is left. */
export const readProcess = async (pid: number): Promise<ProcessEntry | undefined> => {
  try {
    const stat = await readStat(pid);
    if (!stat) return undefined;
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    return { pid, ...stat, argv };
  } catch {
    return undefined;
  }
};

/** The live children of `ppid`, from /proc. */
export const childProcesses = async (ppid: number): Promise<ProcessEntry[]> => {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const children = (
    await Promise.all(pids.map(async (pid) => ((await readStat(pid))?.ppid === ppid ? pid : undefined)))
  ).filter((pid) => pid !== undefined);
  const entries = await Promise.all(children.map(readProcess));
  return entries.filter((entry): entry is ProcessEntry => entry?.ppid === ppid);
};
