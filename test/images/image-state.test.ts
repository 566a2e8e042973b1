import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ImageStateStore } from '../../src/images/image-state.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

const record = (name: string) => ({
  path: `/images/${name}`,
  size: 10,
  mtimeMs: 1700000000000.5,
  sha256: 'c'.repeat(64),
  refs: [`localhost/${name}:1`],
  loadedAt: '2026-01-01T00:00:00.000Z',
});

describe('ImageStateStore (images.json)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await makeTempDir('image-state');
  });
  afterEach(() => removeTempDir(dir));

  it('a missing file is an empty state', async () => {
    const store = new ImageStateStore(dir);
    assert.equal(await store.load(), undefined);
    assert.deepEqual(store.all(), []);
  });

  it('records survive a new store (a restart), with fractional mtimes intact', async () => {
    await new ImageStateStore(dir).record(record('a'));
    const again = new ImageStateStore(dir);
    await again.load();
    assert.deepEqual(again.get('/images/a'), record('a'));
    const json = JSON.parse(await readFile(path.join(dir, 'images.json'), 'utf8'));
    assert.equal(json.version, 1);
  });

  it('an unreadable file is a warning and an empty state (archives get loaded again, which is safe)', async () => {
    await writeFile(path.join(dir, 'images.json'), '{not json');
    const store = new ImageStateStore(dir);
    assert.match((await store.load()) ?? '', /images\.json/);
    assert.deepEqual(store.all(), []);
  });

  it('a record with a bad digest makes the file unreadable, not half-read', async () => {
    await writeFile(
      path.join(dir, 'images.json'),
      JSON.stringify({ version: 1, archives: [{ ...record('a'), sha256: 'xyz' }] }),
    );
    const store = new ImageStateStore(dir);
    assert.ok(await store.load());
    assert.deepEqual(store.all(), []);
  });
});
