/**
 * `runner status` against a real daemon and the real podman: what it reports
 * for a healthy pod, a crash loop and an invalid manifest, its exit codes
 * for monitoring, and what it says once the daemon is gone.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  CONTAINERS_CONF,
  createWorkspace,
  podYaml,
  REPO,
  requirePodman,
  startRunner,
  uniquePrefix,
  waitFor,
  type RunnerProcess,
  type Workspace,
} from './harness.ts';

const execFileAsync = promisify(execFile);

interface Report {
  apiVersion: string;
  daemon: { state: string };
  pods: { name: string; status: string; restarts: number; message?: string }[];
  invalidManifests: { file: string; problems: string[] }[];
}

/** Runs the CLI as a process; resolves with its exit code and parsed JSON. */
const status = async (ws: Workspace, ...args: string[]): Promise<{ code: number; report: Report; stdout: string }> => {
  const cli = [
    path.join(REPO, 'src/cli/main.ts'),
    'status',
    '--state-dir',
    ws.stateDir,
    '--manifest-dir',
    ws.manifestDir,
    ...args,
  ];
  let stdout: string;
  let code = 0;
  try {
    ({ stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', ...cli, '--json'], {
      env: { ...process.env, CONTAINERS_CONF },
      cwd: REPO,
    }));
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    code = failed.code;
    stdout = failed.stdout;
  }
  return { code, report: JSON.parse(stdout) as Report, stdout };
};

describe('runner status with a real daemon', () => {
  let ws: Workspace;
  let runner: RunnerProcess;
  const prefix = uniquePrefix('st');
  const good = `${prefix}-good`;
  const crash = `${prefix}-crash`;

  before(async () => {
    await requirePodman();
    ws = await createWorkspace(
      'resyncIntervalSeconds: 2\nstopTimeoutSeconds: 1\nrestartBackoff: {initialSeconds: 5, maxSeconds: 20}\n',
    );
    await writeFile(
      ws.configFile,
      `resyncIntervalSeconds: 2\nstopTimeoutSeconds: 1\nrestartBackoff: {initialSeconds: 5, maxSeconds: 20}\nmetrics: {textfile: ${path.join(ws.dir, 'runner.prom')}}\n`,
    );
    runner = await startRunner(ws);
  });
  after(async () => {
    await runner?.stop();
    await ws?.cleanup();
  });

  it('all running and ready: exit 0', async () => {
    await writeFile(path.join(ws.manifestDir, 'good.yaml'), podYaml(good));
    const { report } = await waitFor('Running', async () => {
      const result = await status(ws);
      return result.code === 0 && result.report.pods.some((pod) => pod.name === good && pod.status === 'Running')
        ? result
        : undefined;
    });
    assert.equal(report.apiVersion, 'static-pod-runner/v1');
    assert.equal(report.daemon.state, 'running');
  });

  it('a crash loop and an invalid manifest: reported as such, exit 1', async () => {
    await writeFile(
      path.join(ws.manifestDir, 'crash.yaml'),
      podYaml(crash, { command: ['sh', '-c', 'sleep 0.2; exit 4'] }),
    );
    await writeFile(
      path.join(ws.manifestDir, 'broken.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: Broken_Name\nspec:\n  containers: []\n',
    );
    const { report, code } = await waitFor(
      'CrashLoopBackOff',
      async () => {
        const result = await status(ws);
        return result.report.pods.some((pod) => pod.name === crash && pod.status === 'CrashLoopBackOff')
          ? result
          : undefined;
      },
      30_000,
    );
    assert.equal(code, 1);
    const looping = report.pods.find((pod) => pod.name === crash)!;
    assert.ok(looping.restarts >= 1);
    assert.match(looping.message ?? '', /exit code 4/);
    const invalid = report.invalidManifests.find((item) => item.file.endsWith('broken.yaml'));
    assert.ok(invalid, 'the invalid manifest is listed');
    assert.match(invalid.problems.join('\n'), /broken\.yaml:4:\d+: metadata\.name/);
    assert.equal(report.pods.find((pod) => pod.name === good)?.status, 'Running', 'the good pod is unaffected');
  });

  it('fixed: back to exit 0', async () => {
    await rm(path.join(ws.manifestDir, 'crash.yaml'));
    await rm(path.join(ws.manifestDir, 'broken.yaml'));
    await waitFor('exit 0', async () => (await status(ws)).code === 0, 30_000);
  });

  it('runner restart POD: the supervisor restarts it and records it as Manual', async () => {
    const startedAt = async (): Promise<string> =>
      (
        await execFileAsync('podman', ['inspect', '--format', '{{.State.StartedAt}}', `${good}-main`], {
          env: { ...process.env, CONTAINERS_CONF },
        })
      ).stdout.trim();
    const before = await startedAt();
    const { stdout } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts'), 'restart', '--state-dir', ws.stateDir, good],
      { env: { ...process.env, CONTAINERS_CONF }, cwd: REPO },
    );
    assert.match(stdout, /Manual/);
    await waitFor('the container to start again', async () => (await startedAt()) !== before, 20_000);
    assert.match(await readFile(path.join(ws.stateDir, 'restarts.json'), 'utf8'), /"Manual"/);
  });

  it('metrics: the node_exporter textfile reflects the pods', async () => {
    const text = await waitFor('the restarted pod to be counted as running', async () => {
      const current = await readFile(path.join(ws.dir, 'runner.prom'), 'utf8');
      return /^runner_pods\{status="Running"\} [1-9]/m.test(current) ? current : undefined;
    });
    assert.match(text, /^runner_up 1$/m);
    assert.match(text, /^runner_container_restarts_total\{[^}]*container="main"[^}]*\} [1-9]/m);
  });

  it('daemon gone: says so, still shows what podman reports, exit 3', async () => {
    await runner.stop();
    const { code, report } = await status(ws);
    assert.equal(code, 3);
    assert.notEqual(report.daemon.state, 'running');
    assert.ok(
      report.pods.some((pod) => pod.name === good),
      'the managed pod is shown from podman',
    );
  });
});
