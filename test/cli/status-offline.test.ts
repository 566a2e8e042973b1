import assert from 'node:assert/strict';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import * as v from 'valibot';
import { statusCommand } from '../../src/cli/status-command.ts';
import { statusReportSchema, type StatusReport } from '../../src/cli/render-report.ts';
import { buildDesiredState } from '../../src/desired/desired-state.ts';
import { readManifestDir } from '../../src/manifest/read-manifest-dir.ts';
import { FakePodman } from '../podman/fake-podman.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

const pod = (name: string, command = 'sleep 1000'): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\nspec:\n  containers:\n    - name: main\n      image: localhost/busybox:1\n      command: [${command
    .split(' ')
    .map((word) => JSON.stringify(word))
    .join(', ')}]\n`;

let root: string;
let manifestDir: string;
let stateDir: string;
let podman: FakePodman;
beforeEach(async () => {
  root = await makeTempDir('status-offline');
  manifestDir = path.join(root, 'manifests');
  stateDir = path.join(root, 'state');
  await mkdir(manifestDir, { mode: 0o755 });
  await chmod(manifestDir, 0o755);
  podman = new FakePodman();
});
afterEach(async () => {
  await removeTempDir(root);
});

/** Plays every file in the directory as the daemon would have, then leaves the pods running. */
const playAll = async (): Promise<void> => {
  const desired = buildDesiredState({
    snapshot: await readManifestDir(manifestDir),
    currentOwners: new Map(),
    lastApplied: [],
    defaultStopTimeoutSeconds: 10,
  });
  for (const unit of desired.units) await podman.playKube(unit.yaml);
  for (const item of podman.pods.values()) item.status = 'Running';
};

const status = async (args: string[] = []): Promise<{ code: number; out: string }> => {
  let out = '';
  const code = await statusCommand(
    ['--state-dir', stateDir, '--manifest-dir', manifestDir, ...args],
    (text) => (out += text),
    { colour: false, podman, timeZone: 'UTC' },
  );
  return { code, out };
};

describe('runner status with no daemon: podman set against the manifests', () => {
  it('shows pods with no pod yet, pods whose file changed or went away, and invalid files', async () => {
    for (const name of ['same', 'edited', 'removed'])
      await writeFile(path.join(manifestDir, `${name}.yaml`), pod(name));
    await playAll();
    await writeFile(path.join(manifestDir, 'edited.yaml'), pod('edited', 'sleep 2000'));
    await rm(path.join(manifestDir, 'removed.yaml'));
    await writeFile(path.join(manifestDir, 'new.yaml'), pod('new'));
    await writeFile(
      path.join(manifestDir, 'broken.yaml'),
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: broken\nspec:\n  containers: nope\n',
    );

    const { code, out } = await status(['--json']);
    assert.equal(code, 3, 'no daemon: exit 3 whatever the pods do');
    const report: StatusReport = v.parse(statusReportSchema, JSON.parse(out));
    const byName = new Map(report.pods.map((row) => [row.name, row]));
    assert.deepEqual([...byName.keys()], ['edited', 'new', 'removed', 'same']);
    assert.equal(byName.get('same')?.status, 'Running');
    assert.equal(byName.get('same')?.message, undefined);
    assert.equal(byName.get('edited')?.message, 'its manifest changed: the runner replaces this pod when it runs');
    assert.equal(byName.get('removed')?.message, 'its manifest is gone: the runner removes this pod when it runs');
    const pending = byName.get('new');
    assert.equal(pending?.status, 'Pending');
    assert.equal(pending?.source, path.join(manifestDir, 'new.yaml'));
    assert.deepEqual(
      pending?.containers.map((container) => [container.name, container.image, container.state]),
      [['main', 'localhost/busybox:1', 'missing']],
    );
    assert.deepEqual(
      report.invalidManifests.map((item) => item.file),
      [path.join(manifestDir, 'broken.yaml')],
    );
    assert.match(report.invalidManifests[0]!.problems[0]!, /broken\.yaml:6:\d+: spec\.containers/);

    const table = await status();
    assert.match(table.out, /^new +0\/1 +Pending +0 .* new\.yaml$/m);
    assert.match(table.out, /broken\.yaml/);
    assert.match(table.out, /1 manifest invalid/);
  });

  it("a held file keeps its running pod, with the file's problems on the row", async () => {
    await writeFile(path.join(manifestDir, 'web.yaml'), pod('web'));
    await playAll();
    await writeFile(path.join(manifestDir, 'web.yaml'), 'kind: Pod\n  : : broken\n');
    const report: StatusReport = JSON.parse((await status(['--json'])).out);
    assert.equal(report.pods.length, 1);
    assert.equal(report.pods[0]?.status, 'Running');
    assert.equal(
      report.pods[0]?.message,
      undefined,
      'not "changed": the daemon keeps the last applied spec of a held file',
    );
    assert.ok(report.pods[0].manifestProblems.length > 0);
    assert.equal(report.invalidManifests.length, 1);
  });

  it("podman failing: the manifests' problems still show, but no pod is called Pending on no evidence", async () => {
    await writeFile(path.join(manifestDir, 'web.yaml'), pod('web'));
    await writeFile(path.join(manifestDir, 'bad.yaml'), 'kind: Pod\n');
    podman.failNext('listPods', new Error('cannot connect to podman'));
    const report: StatusReport = JSON.parse((await status(['--json'])).out);
    assert.deepEqual(report.pods, []);
    assert.equal(report.invalidManifests.length, 1);
    assert.equal(report.daemon.podmanError, 'cannot connect to podman');
  });

  it("a missing manifest directory: podman's view alone, and no error", async () => {
    await writeFile(path.join(manifestDir, 'web.yaml'), pod('web'));
    await playAll();
    await rm(manifestDir, { recursive: true });
    const { code, out } = await status(['--json']);
    assert.equal(code, 3);
    const report: StatusReport = JSON.parse(out);
    assert.deepEqual(
      report.pods.map((row) => [row.name, row.status, row.message]),
      [['web', 'Running', undefined]],
    );
  });
});
