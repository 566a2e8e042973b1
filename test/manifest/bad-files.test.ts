/**
 * Special files in the manifest directory, for real: each is a problem of its
 * own file (or, when it vanished, simply absent), never a hang or a throw, and
 * the good file beside them is still read.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { readAndParse, readManifestDir } from '../../src/manifest/read-manifest-dir.ts';
import { resolveManifestEntry, DEFAULT_TRUST } from '../../src/manifest/trust.ts';
import { readManifestFixture } from '../helpers/fixtures.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

const POD = readManifestFixture('pod.yaml');
let dir: string;
let server: net.Server | undefined;
beforeEach(async () => {
  dir = await makeTempDir('bad-files');
  await chmod(dir, 0o755);
});
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  await removeTempDir(dir);
});

describe('special files named like manifests', () => {
  it('a socket, a device node, a FIFO and a directory are problems; the good file is read', async () => {
    server = net.createServer();
    await new Promise<void>((resolve) => server!.listen(path.join(dir, 'sock.yaml'), resolve));
    if (process.geteuid?.() === 0) execFileSync('mknod', [path.join(dir, 'dev.yaml'), 'c', '1', '3']);
    else execFileSync('mkfifo', [path.join(dir, 'dev.yaml')]);
    execFileSync('mkfifo', [path.join(dir, 'fifo.yaml')]);
    await mkdir(path.join(dir, 'x.yaml'));
    await writeFile(path.join(dir, 'web.yaml'), POD);
    const snapshot = await readManifestDir(dir);
    const problems = Object.fromEntries(
      snapshot.files.map((file) => [path.basename(file.file), file.problems.map((problem) => problem.message)]),
    );
    assert.deepEqual(problems, {
      'dev.yaml': ['not a regular file'],
      'fifo.yaml': ['not a regular file'],
      'sock.yaml': ['not a regular file (socket)'],
      'web.yaml': [],
      'x.yaml': ['not a regular file'],
    });
  });

  it('a file deleted between listing and reading is absent, not a problem', async () => {
    const file = path.join(dir, 'gone.yaml');
    await writeFile(file, POD);
    const listed = await resolveManifestEntry(file, dir, DEFAULT_TRUST);
    assert.equal(listed.ok, true);
    await rm(file);
    assert.equal(await readAndParse(file), undefined);
    assert.deepEqual(await resolveManifestEntry(file, dir, DEFAULT_TRUST), {
      ok: false,
      reason: 'file disappeared while being read',
      gone: true,
    });
  });

  it('a directory where files appear and vanish while it is read never throws', async () => {
    await writeFile(path.join(dir, 'web.yaml'), POD);
    let churning = true;
    const churn = (async () => {
      for (let i = 0; churning; i += 1) {
        const file = path.join(dir, `flap-${i % 20}.yaml`);
        await writeFile(file, POD.replace('name: web\n', `name: flap-${i % 20}\n`));
        await rm(file, { force: true });
      }
    })();
    for (let i = 0; i < 50; i += 1) {
      const snapshot = await readManifestDir(dir);
      const web = snapshot.files.find((file) => path.basename(file.file) === 'web.yaml');
      assert.deepEqual(web?.problems, []);
      for (const file of snapshot.files) for (const problem of file.problems) assert.ok(problem.message.length > 0);
    }
    churning = false;
    await churn;
  });
});
