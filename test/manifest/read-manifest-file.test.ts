import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, open, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  decodeManifest,
  MAX_MANIFEST_BYTES,
  readManifestFile,
  type ReadResult,
} from '../../src/manifest/read-manifest-file.ts';
import { readManifestDir } from '../../src/manifest/read-manifest-dir.ts';
import { isRunnerError } from '../../src/shared/errors.ts';
import { readManifestFixture } from '../helpers/fixtures.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

const POD = readManifestFixture('pod.yaml');
/** The text a read returned, or undefined when it refused the file or did not read it. */
const textOf = (result: ReadResult): string | undefined =>
  result.ok && 'bytes' in result ? decodeManifest(result.bytes) : undefined;
const podNamed = (name: string): string => POD.replace('name: web\n  labels', `name: ${name}\n  labels`);

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('read');
});
afterEach(async () => {
  await removeTempDir(dir);
});

describe('readManifestFile', () => {
  it('reads a regular file', async () => {
    const file = path.join(dir, 'web.yaml');
    await writeFile(file, POD);
    assert.equal(textOf(await readManifestFile(file)), POD);
  });

  it('a FIFO named x.yaml does not hang and is not a regular file', async () => {
    const file = path.join(dir, 'x.yaml');
    execFileSync('mkfifo', [file]);
    const result = await readManifestFile(file);
    assert.deepEqual(result, { ok: false, reason: 'not a regular file' });
  });

  it('a directory named d.yaml is not a regular file', async () => {
    const file = path.join(dir, 'd.yaml');
    await mkdir(file);
    assert.deepEqual(await readManifestFile(file), { ok: false, reason: 'not a regular file' });
  });

  it('a symlink to /dev/zero is not read', async () => {
    const file = path.join(dir, 'zero.yaml');
    await symlink('/dev/zero', file);
    assert.deepEqual(await readManifestFile(file), { ok: false, reason: 'not a regular file' });
  });

  it('a symlink to a regular file is read', async () => {
    await writeFile(path.join(dir, 'real.txt'), POD);
    await symlink(path.join(dir, 'real.txt'), path.join(dir, 'link.yaml'));
    assert.equal(textOf(await readManifestFile(path.join(dir, 'link.yaml'))), POD);
  });

  it('a file over the 10 MB cap is refused without reading it', async () => {
    const file = path.join(dir, 'big.yaml');
    await writeFile(file, '');
    await truncate(file, MAX_MANIFEST_BYTES + 1); // sparse: costs no disk
    const result = await readManifestFile(file);
    assert.equal(result.ok, false);
    assert.match(
      !result.ok ? result.reason : '',
      new RegExp(`file is ${MAX_MANIFEST_BYTES + 1} bytes, larger than the ${MAX_MANIFEST_BYTES}-byte limit`),
    );
  });

  it('a file of exactly the cap is read', async () => {
    const file = path.join(dir, 'edge.yaml');
    await writeFile(file, 'a'.repeat(64));
    const result = await readManifestFile(file, 64);
    assert.equal(textOf(result), 'a'.repeat(64));
    assert.equal((await readManifestFile(file, 63)).ok, false);
  });

  it('invalid UTF-8 is refused', async () => {
    const file = path.join(dir, 'latin1.yaml');
    await writeFile(file, Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xe9, 0x0a])); // "name: \xe9\n"
    assert.deepEqual(await readManifestFile(file), { ok: false, reason: 'file is not valid UTF-8 text' });
  });

  it('refuses what a fatal TextDecoder refuses: overlong forms, encoded surrogates, truncated sequences', async () => {
    const table: [string, number[]][] = [
      ['overlong "/"', [0xc0, 0xaf]],
      ['an encoded surrogate', [0xed, 0xa0, 0x80]],
      ['a truncated sequence', [0xe2, 0x82]],
    ];
    for (const [what, bytes] of table) {
      const file = path.join(dir, 'bad.yaml');
      await writeFile(file, Buffer.from([0x61, 0x3a, 0x20, ...bytes, 0x0a]));
      assert.deepEqual(await readManifestFile(file), { ok: false, reason: 'file is not valid UTF-8 text' }, what);
    }
  });

  it('decodes without a leading byte order mark, and keeps any other', async () => {
    const file = path.join(dir, 'bom.yaml');
    await writeFile(file, `\ufeff${POD}\ufeff`);
    assert.equal(textOf(await readManifestFile(file)), `${POD}\ufeff`);
  });

  it('a missing file is reported as gone', async () => {
    const result = await readManifestFile(path.join(dir, 'nope.yaml'));
    assert.equal(result.ok, false);
    assert.equal(!result.ok && result.gone, true);
  });
});

describe('readManifestDir', () => {
  it('reads manifests sorted by name and never opens ignored names', async () => {
    await writeFile(path.join(dir, 'b.yaml'), podNamed('b'));
    await writeFile(path.join(dir, 'a.yml'), podNamed('a'));
    await writeFile(
      path.join(dir, 'c.json'),
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'c' },
        spec: { containers: [{ name: 'c', image: 'busybox' }] },
      }),
    );
    // Ignored names that would hang or fail if they were opened:
    execFileSync('mkfifo', [path.join(dir, '.hidden.yaml')]);
    execFileSync('mkfifo', [path.join(dir, 'web.yaml~')]);
    execFileSync('mkfifo', [path.join(dir, 'web.yaml.swp')]);
    await writeFile(path.join(dir, 'notes.txt'), 'not yaml: [');
    await writeFile(path.join(dir, 'web.yaml.dpkg-new'), 'not yaml: [');

    const snapshot = await readManifestDir(dir);
    assert.equal(snapshot.dir, dir);
    assert.deepEqual(
      snapshot.files.map((file) => path.basename(file.file)),
      ['a.yml', 'b.yaml', 'c.json'],
    );
    assert.deepEqual(
      snapshot.files.map((file) => file.problems),
      [[], [], []],
    );
    assert.deepEqual(
      snapshot.files.map((file) => file.documents[0]?.name),
      ['a', 'b', 'c'],
    );
  });

  it('reports special files as problems of their own file, and still reads the rest', async () => {
    execFileSync('mkfifo', [path.join(dir, 'fifo.yaml')]);
    await mkdir(path.join(dir, 'd.yaml'));
    await symlink('/dev/zero', path.join(dir, 'zero.yaml'));
    const big = path.join(dir, 'big.yaml');
    await (await open(big, 'w')).close();
    await truncate(big, MAX_MANIFEST_BYTES + 1);
    await writeFile(path.join(dir, 'web.yaml'), POD);

    const snapshot = await readManifestDir(dir);
    const byName = new Map(snapshot.files.map((file) => [path.basename(file.file), file]));
    assert.deepEqual([...byName.keys()], ['big.yaml', 'd.yaml', 'fifo.yaml', 'web.yaml', 'zero.yaml']);
    for (const name of ['d.yaml', 'fifo.yaml']) {
      assert.deepEqual(
        byName.get(name)?.problems,
        [{ file: path.join(dir, name), message: 'not a regular file' }],
        name,
      );
      assert.deepEqual(byName.get(name)?.documents, []);
    }
    // Refused before it is opened: it leaves the directory (src/manifest/trust.ts).
    assert.match(
      byName.get('zero.yaml')?.problems[0]?.message ?? '',
      /is a symlink to \/dev\/zero, outside the manifest directory/,
    );
    assert.match(byName.get('big.yaml')?.problems[0]?.message ?? '', /larger than the 10485760-byte limit/);
    assert.deepEqual(byName.get('web.yaml')?.problems, []);
    assert.equal(byName.get('web.yaml')?.documents.length, 1);
  });

  it('an empty directory is an empty snapshot', async () => {
    assert.deepEqual(await readManifestDir(dir), { dir, files: [] });
  });

  it('a missing directory throws a RunnerError with code MANIFEST_DIR', async () => {
    const missing = path.join(dir, 'missing');
    await assert.rejects(readManifestDir(missing), (error: unknown) => {
      assert.ok(isRunnerError(error));
      assert.equal(error.code, 'MANIFEST_DIR');
      assert.match(error.message, /missing: ENOENT/);
      return true;
    });
  });

  it('a file instead of a directory throws MANIFEST_DIR', async () => {
    const file = path.join(dir, 'file');
    await writeFile(file, '');
    await assert.rejects(
      readManifestDir(file),
      (error: unknown) => isRunnerError(error) && error.code === 'MANIFEST_DIR',
    );
  });
});
