import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  CONTAINERS_CONF,
  createWorkspace,
  podman,
  podYaml,
  REPO,
  requirePodman,
  uniquePrefix,
  waitFor,
  podByName,
  type Workspace,
} from './harness.ts';

const execFileAsync = promisify(execFile);

/** `runner status` as a real process, without any daemon: what podman reports, exit 3. */
const status = async (ws: Workspace, ...args: string[]): Promise<{ code: number; stdout: string }> => {
  try {
    const { stdout } = await execFileAsync(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(REPO, 'src/cli/main.ts'),
        'status',
        '--config',
        ws.configFile,
        '--manifest-dir',
        ws.manifestDir,
        '--state-dir',
        ws.stateDir,
        ...args,
      ],
      { cwd: REPO, env: { ...process.env, CONTAINERS_CONF, NO_COLOR: '1' } },
    );
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string };
    return { code: failed.code ?? -1, stdout: failed.stdout ?? '' };
  }
};

describe('runner status without a daemon (real podman)', () => {
  let ws: Workspace;
  const name = uniquePrefix('nodaemon');
  before(async () => {
    await requirePodman();
    ws = await createWorkspace();
    const labels = {
      'static-pod-runner/managed': 'true',
      'static-pod-runner/source': path.join(ws.manifestDir, 'x.yaml'),
      'static-pod-runner/unit': `Pod/${name}`,
      'static-pod-runner/hash': 'abc',
    };
    const child = execFile('podman', ['kube', 'play', '--quiet', '-'], { env: { ...process.env, CONTAINERS_CONF } });
    child.stdin!.end(podYaml(name, { labels }));
    await new Promise((resolve) => child.on('exit', resolve));
    await waitFor('the pod to run', async () => (await podByName(name))?.status === 'Running');
  });
  after(async () => {
    await podman('pod', 'rm', '-f', '-t', '0', name).catch(() => undefined);
    await ws?.cleanup();
  });

  it('says the runner is not running, shows the labelled pod from podman, exits 3', async () => {
    const { code, stdout } = await status(ws);
    assert.equal(code, 3, stdout);
    const lines = stdout.split('\n');
    assert.equal(
      lines[0],
      `runner is not running (no status file at ${ws.stateDir}/status.json); showing what podman reports`,
    );
    const row = lines.find((line) => line.startsWith(`${name} `));
    assert.ok(row, stdout);
    assert.match(row, new RegExp(`^${name}\\s+1/1\\s+Running\\s+0\\s+\\S+\\s+x\\.yaml$`));
  });

  it('--json: daemon absent, observed by podman, the pod with its podman id; POD detail too', async () => {
    const { code, stdout } = await status(ws, '--json');
    assert.equal(code, 3);
    const report = JSON.parse(stdout) as {
      daemon: { state: string };
      observedBy: string;
      pods: { name: string; podId: string; hash: string; containers: { name: string; state: string }[] }[];
    };
    assert.equal(report.daemon.state, 'absent');
    assert.equal(report.observedBy, 'podman');
    const pod = report.pods.find((item) => item.name === name)!;
    assert.equal(pod.podId, (await podByName(name))!.id);
    assert.equal(pod.hash, 'abc');
    assert.deepEqual(
      pod.containers.map((container) => [container.name, container.state]),
      [['main', 'running']],
    );
    const detail = await status(ws, name);
    assert.equal(detail.code, 3);
    assert.match(detail.stdout, new RegExp(`^Podman pod:\\s+${name} \\(`, 'm'));
  });

  it('reads the manifests too: a file with no pod is Pending, a bad file gets its row, a pod without its file says so', async () => {
    const pending = `${name}-new`;
    await writeFile(path.join(ws.manifestDir, 'new.yaml'), podYaml(pending));
    await writeFile(path.join(ws.manifestDir, 'bad.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad_Name\n');
    try {
      const { code, stdout } = await status(ws, '--json');
      assert.equal(code, 3);
      const report = JSON.parse(stdout) as {
        pods: { name: string; status: string; message?: string; source: string }[];
        invalidManifests: { file: string; problems: string[] }[];
      };
      const row = report.pods.find((item) => item.name === pending);
      assert.equal(row?.status, 'Pending', stdout);
      assert.equal(row?.source, path.join(ws.manifestDir, 'new.yaml'));
      assert.equal(
        report.pods.find((item) => item.name === name)?.message,
        'its manifest is gone: the runner removes this pod when it runs',
      );
      assert.deepEqual(
        report.invalidManifests.map((item) => item.file),
        [path.join(ws.manifestDir, 'bad.yaml')],
      );
      assert.match(report.invalidManifests[0]!.problems.join('\n'), /bad\.yaml:4:\d+: metadata\.name/);
      const table = await status(ws);
      assert.match(table.stdout, new RegExp(`^${pending}\\s+0/1\\s+Pending`, 'm'));
      assert.match(table.stdout, /1 manifest invalid/);
    } finally {
      await rm(path.join(ws.manifestDir, 'new.yaml'), { force: true });
      await rm(path.join(ws.manifestDir, 'bad.yaml'), { force: true });
    }
  });
});
