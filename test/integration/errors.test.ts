/**
 * A play that podman refuses for a reason of the host, tried for real: the
 * container network cannot be set up because the firewall program is not
 * found (as on a minimal box without iptables). podman's own cause must reach
 * `runner status` (table, detail, --json), the events and the logs, not only
 * "failed to start N containers" (or `pod start`'s exit code).
 *
 * How the firewall program is hidden: a wrapper runs podman with a PATH
 * without /usr/sbin, so CNI's plugins (podman 4.x) cannot find iptables. For
 * podman 5's netavark the PATH keeps the text "/usr/sbin" in a directory that
 * does not exist: podman adds /usr/sbin to netavark's PATH only when the text
 * is missing (libnetwork/netavark/exec.go, 5.4.2), and netavark then finds
 * neither iptables nor nft. conmon and the OCI runtime are found by their
 * absolute paths in containers.conf, so only the network fails.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
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

/** The cause as CNI (4.x: `failed to locate iptables`) or netavark (5.x: `netavark: …`) words it; both name the network stack. */
const NETWORK_CAUSE = /iptables|nft|netavark/;

const runStatus = async (ws: Workspace, ...args: string[]): Promise<{ code: number; stdout: string }> => {
  const cli = [
    path.join(REPO, 'src/cli/main.ts'),
    'status',
    '--state-dir',
    ws.stateDir,
    '--manifest-dir',
    ws.manifestDir,
    ...args,
  ];
  try {
    const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', ...cli], {
      env: { ...process.env, CONTAINERS_CONF, NO_COLOR: '1' },
      cwd: REPO,
    });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code: number; stdout: string };
    return { code: failed.code, stdout: failed.stdout };
  }
};

describe("a play that fails for a host reason: podman's cause is shown", () => {
  let ws: Workspace;
  let runner: RunnerProcess;
  const name = `${uniquePrefix('err')}-net`;

  before(async () => {
    await requirePodman();
    ws = await createWorkspace();
    const podmanPath = (await execFileAsync('sh', ['-c', 'command -v podman'])).stdout.trim();
    const wrapper = path.join(ws.dir, 'podman-no-firewall.sh');
    await writeFile(wrapper, `#!/bin/sh\nPATH=/usr/bin:/bin:${ws.dir}/hidden/usr/sbin exec ${podmanPath} "$@"\n`);
    await chmod(wrapper, 0o755);
    await writeFile(
      ws.configFile,
      `resyncIntervalSeconds: 1\nstopTimeoutSeconds: 1\npodman: {path: ${wrapper}}\nrestartBackoff: {initialSeconds: 1, maxSeconds: 2}\n`,
    );
    runner = await startRunner(ws);
    await writeFile(path.join(ws.manifestDir, 'net.yaml'), podYaml(name));
  });
  after(async () => {
    await runner?.stop();
    await ws?.cleanup();
  });

  it(
    'status (--json, table, detail), the events and the log name the network cause',
    { timeout: 240_000 },
    async () => {
      const report = await waitFor(
        'the failed play in status',
        async () => {
          const { code, stdout } = await runStatus(ws, '--json');
          const pod = (JSON.parse(stdout) as { pods: { name: string; status: string; message?: string }[] }).pods.find(
            (item) => item.name === name,
          );
          return pod?.status === 'Error' ? { code, pod } : undefined;
        },
        // The first play comes 40 s after the start on this 2-core machine under its usual load.
        180_000,
      );
      assert.equal(report.code, 1, 'a pod in Error makes status exit 1');
      // A pod the runner restarts is started by `pod start` after its keeper (src/podman/play-kept.ts), which prints no summary.
      assert.match(
        report.pod.message!,
        /failed to start \d+ containers|pod start exited with 125/,
        "podman's summary or the call that failed is kept",
      );
      assert.match(report.pod.message!, NETWORK_CAUSE, 'and the cause beside it');
      assert.doesNotMatch(report.pod.message!, /a dependency of container/, "not the pod mates' echoes");

      // Read while the pod is in Error, not during a retry (ContainerCreating while the play is under way: on
      // podman 5 in the tier machine the retry's play, keeper and start took 2-4 s of every few seconds).
      await waitFor(
        'the table and the detail to name the cause',
        async () => {
          const table = await runStatus(ws);
          const detail = await runStatus(ws, name);
          return (
            new RegExp(`${name}: .*(${NETWORK_CAUSE.source})`).test(table.stdout) && NETWORK_CAUSE.test(detail.stdout)
          );
        },
        60_000,
      );

      const events = (await readFile(path.join(ws.stateDir, 'events.jsonl'), 'utf8'))
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { type: string; pod?: string; message: string });
      assert.ok(
        events.some((event) => event.type === 'ApplyFailed' && event.pod === name && NETWORK_CAUSE.test(event.message)),
        `an ApplyFailed event names the cause: ${JSON.stringify(events.slice(-5))}`,
      );
      assert.ok(
        runner.logs.some(
          (log) => log.level === 'error' && NETWORK_CAUSE.test(String(log.msg)) && String(log.msg).includes(name),
        ),
        'the error log names the cause',
      );
    },
  );
});
