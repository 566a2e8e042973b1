/**
 * Faults, tried for real: a podman that hangs, fails intermittently or
 * answers garbage (a wrapper script in front of the real podman, switched by
 * flag files), an edit storm, and a read-only state directory. The runner
 * must stay responsive, say what is wrong in status.json, lose nothing and
 * recover by itself.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createWorkspace,
  listPods,
  podByName,
  podman,
  podYaml,
  requirePodman,
  sleep,
  startRunner,
  uniquePrefix,
  waitFor,
  type RunnerProcess,
  type Workspace,
} from './harness.ts';

interface Status {
  daemon: { updatedAt: number; podmanError?: string; stateError?: string };
  pods: { name: string; status: string }[];
}
const readStatus = async (ws: Workspace): Promise<Status | undefined> => {
  try {
    return JSON.parse(await readFile(path.join(ws.stateDir, 'status.json'), 'utf8')) as Status;
  } catch {
    return undefined;
  }
};

/**
 * A podman in front of the real one: `hang` sleeps, `fail` exits 125,
 * `garbage` prints junk, `slow-list` answers `pod ps` 2 s after listing (a
 * busy host: the answer is stale when it arrives); every call is logged.
 */
const writeWrapper = async (dir: string): Promise<string> => {
  const wrapper = path.join(dir, 'podman-wrapper.sh');
  await writeFile(
    wrapper,
    `#!/bin/sh
echo "$*" >> ${dir}/calls.log
case "$1" in events) exec podman "$@";; esac
[ -f ${dir}/hang ] && exec sleep 600
if [ -f ${dir}/fail ]; then echo "Error: injected failure" >&2; exit 125; fi
if [ -f ${dir}/garbage ] && [ "$1" = ps -o "$1" = pod ]; then echo '{{{ not json'; exit 0; fi
if [ -f ${dir}/slow-list ] && [ "$1 $2" = "pod ps" ]; then out=$(podman "$@"); rc=$?; sleep 2; printf '%s\n' "$out"; exit $rc; fi
exec podman "$@"
`,
  );
  await chmod(wrapper, 0o755);
  return wrapper;
};

const PODMAN_TIMEOUT_SECONDS = 6;

describe('faults: podman hangs, fails and lies', () => {
  let ws: Workspace;
  let runner: RunnerProcess;
  const prefix = uniquePrefix('flt');
  const name = `${prefix}-web`;

  before(async () => {
    await requirePodman();
    ws = await createWorkspace();
    const wrapper = await writeWrapper(ws.dir);
    // Short enough for the hang test, long enough for a `kube play` on a loaded
    // CI machine: at 2 s, plays timed out there, and a pod that came up was
    // taken down again as the leftover of a failed play.
    await writeFile(
      ws.configFile,
      `resyncIntervalSeconds: 1\nstopTimeoutSeconds: 1\npodman: {path: ${wrapper}, timeoutSeconds: ${PODMAN_TIMEOUT_SECONDS}}\nrestartBackoff: {initialSeconds: 1, maxSeconds: 2}\n`,
    );
    runner = await startRunner(ws);
    await writeFile(path.join(ws.manifestDir, 'web.yaml'), podYaml(name));
    await waitFor('the pod', async () => (await podByName(name))?.status === 'Running');
  });
  after(async () => {
    await rm(path.join(ws.dir, 'hang'), { force: true });
    await runner?.stop();
    await ws?.cleanup();
  });

  it('a hanging podman: calls time out, status says so and keeps being written, and the runner recovers', async () => {
    const id = (await podByName(name))!.id;
    await writeFile(path.join(ws.dir, 'hang'), '');
    const hung = await waitFor(
      'status to report podman',
      async () => {
        const status = await readStatus(ws);
        return status?.daemon.podmanError ? status : undefined;
      },
      30_000,
    );
    assert.match(hung.daemon.podmanError!, new RegExp(`did not answer within ${PODMAN_TIMEOUT_SECONDS}s`));
    // Responsive: the heartbeat goes on while every podman call hangs.
    const later = await waitFor(
      'a newer status',
      async () => {
        const status = await readStatus(ws);
        return status && status.daemon.updatedAt > hung.daemon.updatedAt ? status : undefined;
      },
      15_000,
    );
    assert.ok(later.daemon.podmanError);

    await rm(path.join(ws.dir, 'hang'));
    await waitFor(
      'podman to be reported healthy again',
      async () => (await readStatus(ws))?.daemon.podmanError === undefined,
      30_000,
    );
    assert.equal((await podByName(name))?.id, id, 'nothing was replaced because of the hang');
  });

  it('intermittent failures and garbage output: retried with backoff, no duplicate pods', async () => {
    const other = `${prefix}-other`;
    await writeFile(path.join(ws.dir, 'fail'), '');
    await writeFile(path.join(ws.manifestDir, 'other.yaml'), podYaml(other));
    await sleep(3_000);
    await rm(path.join(ws.dir, 'fail'));
    await writeFile(path.join(ws.dir, 'garbage'), '');
    await sleep(2_000);
    await rm(path.join(ws.dir, 'garbage'));
    await waitFor('the second pod', async () => (await podByName(other))?.status === 'Running', 30_000);
    const pods = (await listPods()).filter((pod) => pod.name === other || pod.name === name);
    assert.equal(pods.length, 2, `exactly one pod each: ${pods.map((pod) => pod.name).join(', ')}`);
    const status = await waitFor(
      'status to settle',
      async () => {
        const current = await readStatus(ws);
        return current && !current.daemon.podmanError && current.pods.every((pod) => pod.status === 'Running')
          ? current
          : undefined;
      },
      20_000,
    );
    assert.equal(status.pods.length, 2);
  });

  it('an edit storm converges on the final content with a bounded number of plays', async () => {
    const storm = `${prefix}-storm`;
    const file = path.join(ws.manifestDir, 'storm.yaml');
    await writeFile(path.join(ws.dir, 'calls.log'), '');
    for (let i = 0; i < 2000; i += 1) {
      await writeFile(
        file,
        podYaml(storm, { command: ['sh', '-c', `trap 'exit 0' TERM; echo ${i}; while true; do sleep 1; done`] }),
      );
    }
    await waitFor(
      'the final spec',
      async () => {
        const pod = await podByName(storm);
        if (pod?.status !== 'Running') return false;
        return /echo 1999/.test(await podman('inspect', '--format', '{{json .Config.Entrypoint}}', `${storm}-main`));
      },
      60_000,
    );
    const plays = (await readFile(path.join(ws.dir, 'calls.log'), 'utf8'))
      .split('\n')
      .filter((line) => line.startsWith('kube play')).length;
    assert.ok(plays <= 20, `2000 writes made ${plays} plays`);
  });

  it('a pod list that arrives after a replace finished does not undo the replace', async () => {
    // The runner lists pods again while it replaces one (the replace's own
    // events ask it to); with a slow list, that answer shows the old pod.
    await writeFile(path.join(ws.dir, 'slow-list'), '');
    try {
      const old = (await podByName(name))!.id;
      await writeFile(path.join(ws.dir, 'calls.log'), '');
      await podman('rm', '-f', '-t', '0', `${name}-main`);
      const replaced = await waitFor(
        'a new, complete pod',
        async () => {
          const pod = await podByName(name);
          return pod &&
            pod.id !== old &&
            pod.status === 'Running' &&
            pod.containers.some((c) => c.name === `${name}-main`)
            ? pod.id
            : undefined;
        },
        30_000,
      );
      await sleep(8_000); // several slow passes
      assert.equal((await podByName(name))?.id, replaced, 'the new pod is left alone');
      const plays = (await readFile(path.join(ws.dir, 'calls.log'), 'utf8'))
        .split('\n')
        .filter((line) => line.startsWith('kube play'));
      assert.equal(plays.length, 1, 'one play: the replace');
    } finally {
      await rm(path.join(ws.dir, 'slow-list'), { force: true });
    }
  });
});

describe('faults: a read-only state directory', () => {
  let ws: Workspace;
  let runner: RunnerProcess;
  const name = `${uniquePrefix('ro')}-web`;

  before(async () => {
    await requirePodman();
    ws = await createWorkspace(
      'resyncIntervalSeconds: 1\nstopTimeoutSeconds: 1\nrestartBackoff: {initialSeconds: 1, maxSeconds: 2}\n',
    );
    runner = await startRunner(ws);
  });
  after(async () => {
    await runner?.stop();
    await ws?.cleanup();
  });

  it('keeps supervising when the state directory cannot be written', async () => {
    await writeFile(path.join(ws.manifestDir, 'web.yaml'), podYaml(name));
    await waitFor('the pod', async () => (await podByName(name))?.status === 'Running');
    // Root ignores file modes, so make the state files unwritable by replacing them with directories.
    for (const file of ['restarts.json', 'events.jsonl']) {
      // The runner may write the file again in between (its Applied event follows the pod's start): until the directory is made.
      for (;;) {
        await rm(path.join(ws.stateDir, file), { force: true });
        const made = await mkdir(path.join(ws.stateDir, file)).then(
          () => true,
          (error: NodeJS.ErrnoException) => {
            if (error.code !== 'EEXIST') throw error;
            return false;
          },
        );
        if (made) break;
      }
    }
    const before = await podman('inspect', '--format', '{{.State.StartedAt}}', `${name}-main`);
    await podman('kill', `${name}-main`);
    await waitFor(
      'the container to be restarted anyway',
      async () => {
        const started = await podman('inspect', '--format', '{{.State.Status}} {{.State.StartedAt}}', `${name}-main`);
        return started.startsWith('running') && !started.endsWith(before);
      },
      20_000,
    );
    const status = await waitFor(
      'status to say why',
      async () => {
        const current = await readStatus(ws);
        return current?.daemon.stateError ? current : undefined;
      },
      15_000,
    );
    assert.match(status.daemon.stateError!, /restarts\.json|events\.jsonl/);
  });
});
