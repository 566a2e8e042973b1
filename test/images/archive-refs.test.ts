import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readArchiveFormat } from '../../src/images/archive-format.ts';
import { readArchiveRefs } from '../../src/images/archive-refs.ts';
import { dockerArchive, gzip, makeTar, ociArchive } from './tar-fixture.ts';

describe('readArchiveRefs and readArchiveFormat on hand-made archives', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'runner-refs-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));
  const write = async (name: string, data: Buffer): Promise<string> => {
    const file = path.join(dir, name);
    await writeFile(file, data);
    return file;
  };

  it('docker-archive: RepoTags of manifest.json', async () => {
    const file = await write('d.tar', dockerArchive(['localhost/app:1', 'localhost/app:latest']));
    assert.deepEqual(await readArchiveRefs(file), {
      ok: true,
      format: 'docker-archive',
      refs: ['localhost/app:1', 'localhost/app:latest'],
    });
    assert.deepEqual(await readArchiveFormat(file), {
      compression: 'none',
      uncompressedBytes: dockerArchive(['localhost/app:1', 'localhost/app:latest']).length,
    });
  });

  it('oci-archive: ref.name annotations of index.json', async () => {
    const file = await write('o.tar', ociArchive(['localhost/app:2']));
    assert.deepEqual(await readArchiveRefs(file), { ok: true, format: 'oci-archive', refs: ['localhost/app:2'] });
  });

  it('gzip: read through, and the uncompressed size comes from the ISIZE trailer', async () => {
    const plain = dockerArchive(['localhost/app:3']);
    const file = await write('d.tar.gz', gzip(plain));
    assert.deepEqual(await readArchiveRefs(file), { ok: true, format: 'docker-archive', refs: ['localhost/app:3'] });
    assert.deepEqual(await readArchiveFormat(file), { compression: 'gzip', uncompressedBytes: plain.length });
  });

  it('zstd: recognised by its magic, references unknown until loaded, size estimated ×3', async () => {
    const file = await write('d.tar.zst', Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), Buffer.alloc(96)]));
    const refs = await readArchiveRefs(file);
    assert.equal(refs.ok, false);
    assert.deepEqual(await readArchiveFormat(file), { compression: 'zstd', uncompressedBytes: 300 });
  });

  it('a truncated archive is reported, not thrown', async () => {
    const file = await write('cut.tar', dockerArchive(['localhost/app:1']).subarray(0, 1000));
    const refs = await readArchiveRefs(file);
    assert.equal(refs.ok, false);
  });

  it('garbage is reported as not a tar archive', async () => {
    const file = await write('junk.tar', Buffer.alloc(2048, 7));
    const refs = await readArchiveRefs(file);
    assert.equal(refs.ok, false);
    assert.match((refs as { reason: string }).reason, /tar/);
  });

  it('a tar without image metadata is not an image archive', async () => {
    const file = await write('plain.tar', makeTar([{ name: 'hello.txt', content: 'hi' }]));
    const refs = await readArchiveRefs(file);
    assert.equal(refs.ok, false);
    assert.match((refs as { reason: string }).reason, /not an image archive/);
  });
});
