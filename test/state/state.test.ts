import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { AppliedStore, unitOf as recordToUnit } from '../../src/state/applied-store.ts';
import { removeStaleTemps, writeFileAtomic } from '../../src/state/atomic-write.ts';
import { OwnedSecrets } from '../../src/state/owned-secrets.ts';
import { currentBootId } from '../../src/shared/process-info.ts';
import { claimPidFile } from '../../src/state/pid-file.ts';
import { isRunnerError } from '../../src/shared/errors.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';
import { podYaml, unitOf } from '../helpers/units.ts';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('state');
});
afterEach(async () => {
  await removeTempDir(dir);
});

const WEB = unitOf('/etc/runner/manifests/web.yaml', podYaml('web'));
const API = unitOf('/etc/runner/manifests/api.yaml', podYaml('api'));

describe('AppliedStore', () => {
  it('put, get, all, and a reload from disk returns the same units', async () => {
    const store = new AppliedStore(dir);
    await store.load();
    const at = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    await store.put(WEB, at);
    await store.put(API, at);
    assert.equal(store.get(WEB.key)?.appliedAt, '2026-01-02T03:04:05.000Z');
    const reloaded = new AppliedStore(dir);
    assert.deepEqual(await reloaded.load(), { skipped: [] });
    assert.deepEqual(
      reloaded
        .all()
        .map(recordToUnit)
        .sort((a, b) => a.key.localeCompare(b.key)),
      [API, WEB],
    );
  });

  it('delete removes the record from memory and disk; deleting twice is fine', async () => {
    const store = new AppliedStore(dir);
    await store.load();
    await store.put(WEB, new Date());
    await store.delete(WEB.key);
    await store.delete(WEB.key);
    assert.equal(store.get(WEB.key), undefined);
    assert.deepEqual(await readdir(path.join(dir, 'applied')), []);
  });

  it('a put replaces the previous record for the key', async () => {
    const store = new AppliedStore(dir);
    await store.load();
    await store.put(WEB, new Date());
    const edited = unitOf(WEB.file, podYaml('web', { image: 'busybox:1.36' }));
    await store.put(edited, new Date());
    assert.equal((await readdir(path.join(dir, 'applied'))).length, 1);
    assert.equal(store.get(WEB.key)?.hash, edited.hash);
  });

  it('corrupt or foreign files are skipped and reported, not fatal', async () => {
    const store = new AppliedStore(dir);
    await store.load();
    await store.put(WEB, new Date());
    await writeFile(path.join(dir, 'applied', 'broken.json'), '{"key": ');
    await writeFile(path.join(dir, 'applied', 'other.json'), '{"key": "x"}');
    await writeFile(path.join(dir, 'applied', 'notes.txt'), 'ignored');
    const reloaded = new AppliedStore(dir);
    const { skipped } = await reloaded.load();
    assert.deepEqual(skipped.map((file) => path.basename(file)).sort(), ['broken.json', 'other.json']);
    assert.deepEqual(
      reloaded.all().map((record) => record.key),
      [WEB.key],
    );
  });

  it('load fails with STATE_IO when the state dir cannot be created', async () => {
    await writeFile(path.join(dir, 'file'), '');
    const store = new AppliedStore(path.join(dir, 'file'));
    await assert.rejects(store.load(), (error: unknown) => isRunnerError(error) && error.code === 'STATE_IO');
  });
});

describe('writeFileAtomic', () => {
  it('writes the content and leaves no temp file', async () => {
    const file = path.join(dir, 'x.json');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, 'two');
    assert.equal(await readFile(file, 'utf8'), 'two');
    assert.deepEqual(await readdir(dir), ['x.json']);
  });

  it('fails, leaving nothing behind, when the directory is missing', async () => {
    await assert.rejects(writeFileAtomic(path.join(dir, 'missing', 'x.json'), 'x'));
    assert.deepEqual(await readdir(dir), []);
  });
});

describe('removeStaleTemps', () => {
  it('removes only the temp files writeFileAtomic makes, optionally only those of named files', async () => {
    const names = [
      '.status.json.0a1b2c3d.tmp',
      '.images.json.deadbeef.tmp',
      '.notes.txt.12345678.tmp',
      'status.json',
      '.status.json.tmp',
      'x.0a1b2c3d.tmp',
      '.status.json.0A1B2C3D.tmp',
    ];
    for (const name of names) await writeFile(path.join(dir, name), 'x');
    assert.deepEqual(await removeStaleTemps(dir, ['images.json']), [path.join(dir, '.images.json.deadbeef.tmp')]);
    assert.deepEqual((await removeStaleTemps(dir)).sort(), [
      path.join(dir, '.notes.txt.12345678.tmp'),
      path.join(dir, '.status.json.0a1b2c3d.tmp'),
    ]);
    assert.deepEqual((await readdir(dir)).sort(), [
      '.status.json.0A1B2C3D.tmp',
      '.status.json.tmp',
      'status.json',
      'x.0a1b2c3d.tmp',
    ]);
  });

  it('a missing directory removes nothing and does not throw', async () => {
    assert.deepEqual(await removeStaleTemps(path.join(dir, 'nope')), []);
  });
});

describe('claimPidFile', () => {
  const ours = `${process.pid}\n${currentBootId()}\n`;

  it('writes our pid and boot id and removes them on release', async () => {
    const claim = await claimPidFile(dir);
    assert.equal(await readFile(path.join(dir, 'runner.pid'), 'utf8'), ours);
    await claim.release();
    assert.deepEqual(await readdir(dir), []);
  });

  it('refuses when a live process of this boot holds the pid file, or one of a file without a boot id', async () => {
    for (const content of [`1\n${currentBootId()}\n`, '1\n']) {
      await writeFile(path.join(dir, 'runner.pid'), content); // pid 1 is always alive
      await assert.rejects(
        claimPidFile(dir),
        (error: unknown) => isRunnerError(error) && error.code === 'ALREADY_RUNNING' && error.message.includes('pid 1'),
      );
    }
  });

  it('replaces a pid file of an earlier boot, even where its pid is alive in this one (a power cut)', async () => {
    await writeFile(path.join(dir, 'runner.pid'), '1\n00000000-0000-4000-8000-000000000000\n');
    const claim = await claimPidFile(dir);
    assert.equal(await readFile(path.join(dir, 'runner.pid'), 'utf8'), ours);
    await claim.release();
  });

  it('replaces a stale pid file and garbage', async () => {
    for (const content of ['999999999\n', 'garbage\n', '']) {
      await writeFile(path.join(dir, 'runner.pid'), content);
      const claim = await claimPidFile(dir);
      assert.equal(await readFile(path.join(dir, 'runner.pid'), 'utf8'), ours);
      await claim.release();
    }
  });

  it('release leaves a pid file that another process took over', async () => {
    const claim = await claimPidFile(dir);
    await writeFile(path.join(dir, 'runner.pid'), '1\n');
    await claim.release();
    assert.equal(await readFile(path.join(dir, 'runner.pid'), 'utf8'), '1\n');
  });
});

describe('OwnedSecrets', () => {
  it('owns only what it pinned, by ID; a reload keeps it', async () => {
    const secrets = new OwnedSecrets(dir);
    assert.deepEqual(await secrets.load([]), { adopted: [] });
    assert.equal(secrets.owns('creds', 'a1'), false);
    await secrets.claim(['creds', 'gone']);
    await secrets.pin(
      ['creds', 'gone'],
      [
        { name: 'creds', id: 'a1' },
        { name: 'other', id: 'b2' },
      ],
    );
    const reloaded = new OwnedSecrets(dir);
    assert.deepEqual(await reloaded.load([{ secrets: ['creds'] }]), { adopted: [] });
    assert.equal(reloaded.owns('creds', 'a1'), true);
    assert.equal(reloaded.owns('creds', 'c3'), false, 'the same name, recreated by someone else');
    assert.equal(reloaded.owns('gone', 'd4'), false, 'a claimed name podman lacked after the play is forgotten');
    assert.equal(reloaded.owns('other', 'b2'), false);
  });

  it('a name claimed but never pinned (killed during the play) is still its own, whatever its ID', async () => {
    const secrets = new OwnedSecrets(dir);
    await secrets.load([]);
    await secrets.claim(['creds']);
    const reloaded = new OwnedSecrets(dir);
    await reloaded.load([]);
    assert.equal(reloaded.owns('creds', 'e5'), true);
  });

  it('with no file yet (or an unreadable one), adopts the secrets of the applied units', async () => {
    const secrets = new OwnedSecrets(dir);
    assert.deepEqual(await secrets.load([{ secrets: ['creds'] }, { secrets: ['creds', 'tls'] }]), {
      adopted: ['creds', 'tls'],
    });
    assert.equal(secrets.owns('tls', 'f6'), true);
    assert.equal(secrets.owns('other', 'f6'), false);
    await writeFile(path.join(dir, 'secrets.json'), '{"version": 2}');
    const broken = new OwnedSecrets(dir);
    assert.deepEqual(await broken.load([]), { adopted: [] });
    assert.equal(broken.owns('creds', 'f6'), false);
  });
});
