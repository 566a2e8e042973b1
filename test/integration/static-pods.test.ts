/**
 * The static-pod contract against the real podman, step by step as the core
 * issue lists it. Every assertion is on podman's real state (pod IDs,
 * container states, labels), not on log text.
 */
import assert from 'node:assert/strict';
import { rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createWorkspace,
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

/** The container's command as podman runs it (kube play puts `command` in the entrypoint). */
const commandOf = (container: string) =>
  podman('inspect', '--format', '{{json .Config.Entrypoint}} {{json .Config.Cmd}}', container);

const running = (name: string) => async () => {
  const pod = await podByName(name);
  return pod?.status === 'Running' ? pod : undefined;
};

describe('static pods: the lifecycle of one manifest', () => {
  let ws: Workspace;
  let runner: RunnerProcess;
  const name = uniquePrefix('web');
  let file: string;
  let firstId = '';

  before(async () => {
    await requirePodman();
    ws = await createWorkspace();
    file = path.join(ws.manifestDir, 'web.yaml');
    runner = await startRunner(ws);
  });
  after(async () => {
    await runner?.stop();
    await ws?.cleanup();
  });

  it("2. a dropped-in manifest starts its pod, labelled as the runner's", async () => {
    await writeFile(
      file,
      podYaml(name, { command: ['sh', '-c', "trap 'exit 0' TERM; echo v1; while true; do sleep 1; done"] }),
    );
    const pod = await waitFor('the pod to run', running(name));
    firstId = pod.id;
    assert.equal(pod.labels['static-pod-runner/managed'], 'true');
    assert.equal(pod.labels['static-pod-runner/source'], file);
    assert.equal(pod.labels['static-pod-runner/unit'], `Pod/${name}`);
    assert.match(pod.labels['static-pod-runner/hash'] ?? '', /^[0-9a-f]{64}$/);
    assert.ok(pod.containers.some((c) => c.name === `${name}-main` && c.status === 'running'));
  });

  it('3a. saving the file unchanged, or only reformatted, restarts nothing', async () => {
    await writeFile(
      file,
      `# a comment\n${podYaml(name, { command: ['sh', '-c', "trap 'exit 0' TERM; echo v1; while true; do sleep 1; done"] })}\n\n`,
    );
    await sleep(5_000); // two resync periods
    assert.equal((await podByName(name))?.id, firstId);
  });

  it('3b. editing the command replaces the pod with the new spec', async () => {
    await writeFile(
      file,
      podYaml(name, { command: ['sh', '-c', "trap 'exit 0' TERM; echo v2; while true; do sleep 1; done"] }),
    );
    const pod = await waitFor('the replaced pod', async () => {
      const current = await podByName(name);
      return current && current.id !== firstId && current.status === 'Running' ? current : undefined;
    });
    const command = await commandOf(`${name}-main`);
    assert.match(command, /echo v2/);
    firstId = pod.id;
  });

  it('4. a broken file keeps the running pod (same ID) and logs file and line; fixing it applies the fix', async () => {
    await writeFile(file, `${podYaml(name)}    ports:\n      - containerPort: [\n`);
    await waitFor('the error to be logged', async () =>
      runner.logs.some(
        (log) =>
          log.level === 'error' &&
          log.file === file &&
          new RegExp(`${file.replace(/[.]/g, '\\.')}:\\d+:\\d+`).test(String(log.msg)),
      ),
    );
    await writeFile(
      file,
      podYaml(name, { command: ['sleep', '-1'] })
        .replace(`image: `, 'image: ""\n      x: ')
        .replace('x: localhost', 'x2: localhost'),
    );
    await sleep(5_000);
    const pod = await podByName(name);
    assert.equal(pod?.id, firstId, 'the running pod was left alone');
    assert.equal(pod?.status, 'Running');

    await writeFile(
      file,
      podYaml(name, { command: ['sh', '-c', "trap 'exit 0' TERM; echo v3; while true; do sleep 1; done"] }),
    );
    const fixed = await waitFor('the fixed spec', async () => {
      const current = await podByName(name);
      return current && current.id !== firstId && current.status === 'Running' ? current : undefined;
    });
    assert.match(await commandOf(`${name}-main`), /echo v3/);
    firstId = fixed.id;
  });

  it("5. a pod removed behind the runner's back comes back", async () => {
    await podman('pod', 'rm', '-f', '-t', '0', name);
    // podman may still be tearing the old pod down when the runner first
    // plays the new one (a play that then fails is cleaned up and retried),
    // so wait for the new pod to stay put.
    let seen = '';
    let steady = 0;
    const back = await waitFor(
      'the pod to come back and stay',
      async () => {
        const current = await podByName(name);
        if (!current || current.id === firstId || current.status !== 'Running') return undefined;
        steady = current.id === seen ? steady + 1 : 0;
        seen = current.id;
        return steady >= 8 ? current : undefined;
      },
      30_000,
    );
    firstId = back.id;
  });

  it('5b. a pod stopped by hand is started again (restartPolicy Always)', async () => {
    await podman('pod', 'stop', '-t', '0', name);
    await waitFor('the pod to run again', running(name));
    assert.equal((await podByName(name))?.id, firstId);
  });

  it('6. deleting the file stops and removes the pod', async () => {
    await rm(file);
    await waitFor('the pod to go', async () => (await podByName(name)) === undefined);
  });
});

describe('static pods: across runner restarts', () => {
  let ws: Workspace;
  const prefix = uniquePrefix('rs');
  const [keep, edit, drop] = ['keep', 'edit', 'drop'].map((suffix) => `${prefix}-${suffix}`) as [
    string,
    string,
    string,
  ];

  before(async () => {
    await requirePodman();
    ws = await createWorkspace();
  });
  after(async () => ws?.cleanup());

  it('7. unchanged pods keep running untouched; changed and vanished files are reconciled', async () => {
    const file = (pod: string) => path.join(ws.manifestDir, `${pod}.yaml`);
    for (const pod of [keep, edit, drop]) await writeFile(file(pod), podYaml(pod));
    let runner = await startRunner(ws);
    const before = new Map<string, string>();
    for (const pod of [keep, edit, drop]) before.set(pod, (await waitFor(`${pod} to run`, running(pod))).id);
    const startedAt = await podman('inspect', '--format', '{{.State.StartedAt}}', `${keep}-main`);
    assert.equal(await runner.stop(), 0, 'the runner exits cleanly on SIGTERM');

    // Pods keep running while the runner is down.
    assert.equal((await podByName(keep))?.status, 'Running');
    await writeFile(
      file(edit),
      podYaml(edit, { command: ['sh', '-c', "trap 'exit 0' TERM; echo edited; while true; do sleep 1; done"] }),
    );
    await rm(file(drop));

    runner = await startRunner(ws);
    try {
      const edited = await waitFor('the edited pod to be replaced', async () => {
        const pod = await podByName(edit);
        return pod && pod.id !== before.get(edit) && pod.status === 'Running' ? pod : undefined;
      });
      assert.ok(edited);
      await waitFor('the dropped pod to go', async () => (await podByName(drop)) === undefined);
      assert.equal((await podByName(keep))?.id, before.get(keep), 'same pod ID');
      assert.equal(
        await podman('inspect', '--format', '{{.State.StartedAt}}', `${keep}-main`),
        startedAt,
        'container not restarted',
      );
    } finally {
      await runner.stop();
    }
  });
});

describe('static pods: what the runner does not own', () => {
  let ws: Workspace;
  let runner: RunnerProcess;
  const prefix = uniquePrefix('own');
  const squatted = `${prefix}-taken`;
  const bystander = `${prefix}-other`;

  before(async () => {
    await requirePodman();
    ws = await createWorkspace();
    await podman('pod', 'create', '--name', squatted, '--label', 'keep=me');
    await podman('pod', 'create', '--name', bystander);
  });
  after(async () => {
    await runner?.stop();
    await podman('pod', 'rm', '-f', '-t', '0', squatted, bystander).catch(() => undefined);
    await ws?.cleanup();
  });

  it('9. pods the runner did not create are never touched, whatever their names', async () => {
    const ids = [(await podByName(squatted))!.id, (await podByName(bystander))!.id];
    await writeFile(path.join(ws.manifestDir, 'taken.yaml'), podYaml(squatted));
    runner = await startRunner(ws);
    await waitFor('the conflict to be reported', async () =>
      runner.logs.some((log) => log.level === 'error' && String(log.msg).includes(squatted)),
    );
    await sleep(4_000);
    assert.equal((await podByName(squatted))?.id, ids[0]);
    assert.equal((await podByName(squatted))?.labels.keep, 'me');
    assert.equal((await podByName(bystander))?.id, ids[1]);
  });
});

describe('static pods: files as editors and tools write them', () => {
  let ws: Workspace;
  let runner: RunnerProcess;
  const prefix = uniquePrefix('ed');

  before(async () => {
    await requirePodman();
    ws = await createWorkspace('resyncIntervalSeconds: 30\nstopTimeoutSeconds: 1\n');
    runner = await startRunner(ws);
  });
  after(async () => {
    await runner?.stop();
    await ws?.cleanup();
  });

  it('an atomic save (temp file + rename) of unchanged content causes no down/up', async () => {
    const name = `${prefix}-atomic`;
    const file = path.join(ws.manifestDir, 'atomic.yaml');
    await writeFile(file, podYaml(name));
    const pod = await waitFor('the pod', running(name));
    for (let i = 0; i < 5; i += 1) {
      const temp = path.join(ws.manifestDir, `.atomic.yaml.${i}.tmp`);
      await writeFile(temp, podYaml(name));
      await rename(temp, file);
      await sleep(100);
    }
    await sleep(3_000);
    assert.equal((await podByName(name))?.id, pod.id);
  });

  it('a burst of writes converges on the final content', async () => {
    const name = `${prefix}-burst`;
    const file = path.join(ws.manifestDir, 'burst.yaml');
    for (let i = 0; i < 50; i += 1)
      await writeFile(
        file,
        podYaml(name, { command: ['sh', '-c', `trap 'exit 0' TERM; echo ${i}; while true; do sleep 1; done`] }),
      );
    await waitFor(
      'the final spec',
      async () => {
        const pod = await podByName(name);
        if (pod?.status !== 'Running') return undefined;
        return /echo 49/.test(await commandOf(`${name}-main`));
      },
      30_000,
    );
  });

  it('multi-document files: a ConfigMap reaches its pod; ignored files are ignored', async () => {
    const name = `${prefix}-multi`;
    await writeFile(
      path.join(ws.manifestDir, 'multi.yml'),
      `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}-cfg
data:
  GREETING: hello-from-configmap
---
${podYaml(name).replace('      command:', `      envFrom:\n        - configMapRef:\n            name: ${name}-cfg\n      command:`)}`,
    );
    await writeFile(path.join(ws.manifestDir, 'multi.yml~'), podYaml(`${name}-backup`));
    await writeFile(path.join(ws.manifestDir, '.multi.yml.swp'), podYaml(`${name}-swap`));
    await waitFor('the pod', running(name));
    assert.match(await podman('exec', `${name}-main`, 'sh', '-c', 'echo $GREETING'), /hello-from-configmap/);
    await sleep(1_000);
    assert.equal(await podByName(`${name}-backup`), undefined);
    assert.equal(await podByName(`${name}-swap`), undefined);
  });
});
