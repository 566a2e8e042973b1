/**
 * A clean reboot against the real podman, short of rebooting: the runner
 * stops first (as systemd may stop it before the containers' scopes), the
 * containers then get SIGTERM and exit 0 (their shells trap it, as
 * well-behaved daemons do), and the status file is left naming another boot,
 * as after a reboot. The real reboot and power cut are in
 * test/packaging/nspawn.e2e.ts.
 */
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { keeperName } from '../../src/shared/infra-keeper.ts';
import {
  createWorkspace,
  podByName,
  podman,
  podYaml,
  requirePodman,
  startRunner,
  uniquePrefix,
  waitFor,
  type RunnerProcess,
  type Workspace,
} from './harness.ts';

interface StatusFile {
  daemon: { bootId: string; pid: number };
  pods: { name: string; status: string; containers: { state: string; lastReason?: string; restartCount: number }[] }[];
}

describe('reboot: containers the shutdown stopped with exit 0', () => {
  let ws: Workspace;
  let runner: RunnerProcess | undefined;
  const prefix = uniquePrefix('rb');
  const daemon = `${prefix}-daemon`;
  const job = `${prefix}-never`;
  const statusFile = (): string => path.join(ws.stateDir, 'status.json');
  const readStatus = async (): Promise<StatusFile> => JSON.parse(await readFile(statusFile(), 'utf8')) as StatusFile;
  const startedAt = async (container: string): Promise<string> =>
    (await podman('inspect', '--format', '{{.State.StartedAt}}', container)).trim();

  before(async () => {
    await requirePodman();
    ws = await createWorkspace();
  });
  after(async () => {
    await runner?.stop();
    await ws?.cleanup();
  });

  it('OnFailure runs again as HostRebooted; Never stays down, Failed rather than Completed', async () => {
    await writeFile(
      path.join(ws.manifestDir, `${daemon}.yaml`),
      podYaml(daemon, { extraSpec: '  restartPolicy: OnFailure' }),
    );
    await writeFile(path.join(ws.manifestDir, `${job}.yaml`), podYaml(job, { extraSpec: '  restartPolicy: Never' }));
    runner = await startRunner(ws);
    for (const name of [daemon, job])
      await waitFor(`pod ${name} Running`, async () => (await podByName(name))?.status === 'Running', 120_000);
    // The daemon pod's keeper first (made just after the play): a runner stopped while making it leaves it half-made.
    await waitFor(
      "the daemon pod's keeper",
      async () =>
        (await podman('inspect', '--format', '{{.State.Status}}', keeperName(daemon)).catch(() => '')) === 'running',
      60_000,
    );
    const before = await startedAt(`${daemon}-main`);
    const pid = runner.child.pid;
    await waitFor(
      'a status file of this runner',
      async () => (await readStatus().catch(() => undefined))?.daemon.pid === pid,
      20_000,
    );

    // The shutdown: the runner stops, then the containers get SIGTERM and exit 0.
    await runner.stop();
    runner = undefined;
    for (const name of [daemon, job]) await podman('stop', '-t', '5', `${name}-main`);
    for (const name of [daemon, job])
      assert.equal((await podman('inspect', '--format', '{{.State.ExitCode}}', `${name}-main`)).trim(), '0');
    // The boot: the status file names the boot before.
    const status = await readStatus();
    status.daemon.bootId = 'the-boot-before';
    await writeFile(statusFile(), JSON.stringify(status));

    runner = await startRunner(ws);
    await waitFor(
      `${daemon}-main started again`,
      async () => (await podByName(daemon))?.status === 'Running' && (await startedAt(`${daemon}-main`)) !== before,
      120_000,
    );
    const pods = await waitFor(
      'status with the restart counted',
      async () => {
        const now = await readStatus().catch(() => undefined);
        const daemonPod = now?.pods.find((pod) => pod.name === daemon);
        const counted = daemonPod?.containers[0]?.restartCount === 1 && daemonPod.status === 'Running';
        return now !== undefined &&
          now.daemon.pid === runner!.child.pid &&
          counted &&
          now.pods.some((pod) => pod.name === job && pod.status === 'Failed')
          ? now.pods
          : undefined;
      },
      60_000,
    );
    const daemonPod = pods.find((pod) => pod.name === daemon)!;
    assert.equal(daemonPod.status, 'Running');
    assert.deepEqual([daemonPod.containers[0]?.lastReason, daemonPod.containers[0]?.restartCount], ['HostRebooted', 1]);
    const jobPod = pods.find((pod) => pod.name === job)!;
    assert.deepEqual(
      [
        jobPod.status,
        jobPod.containers[0]?.state,
        jobPod.containers[0]?.lastReason,
        jobPod.containers[0]?.restartCount,
      ],
      ['Failed', 'exited', 'HostRebooted', 0],
    );
    assert.equal(
      (await podman('inspect', '--format', '{{.State.Status}}', `${job}-main`)).trim(),
      'exited',
      'Never is not run again',
    );
  });
});
