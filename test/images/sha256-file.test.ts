import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSha256File } from '../../src/images/sha256-file.ts';
import { isArchiveName } from '../../src/images/archive-files.ts';

const HEX = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);

describe('parseSha256File', () => {
  it('reads sha256sum text mode', () =>
    assert.deepEqual(parseSha256File(`${HEX}  app.tar\n`, 'app.tar'), { ok: true, digest: HEX }));
  it('reads sha256sum binary mode', () =>
    assert.deepEqual(parseSha256File(`${HEX} *app.tar\n`, 'app.tar'), { ok: true, digest: HEX }));
  it('reads a bare digest, upper case too', () =>
    assert.deepEqual(parseSha256File(`${HEX.toUpperCase()}\n`, 'app.tar'), { ok: true, digest: HEX }));
  it('matches the name by its base name (paths as written by sha256sum dir/x)', () =>
    assert.deepEqual(parseSha256File(`${HEX}  /srv/out/app.tar`, 'app.tar'), { ok: true, digest: HEX }));
  it('picks the line naming the archive among several', () =>
    assert.deepEqual(parseSha256File(`${OTHER}  db.tar\n${HEX}  app.tar\n`, 'app.tar'), { ok: true, digest: HEX }));
  it('refuses a file naming another archive', () =>
    assert.equal(parseSha256File(`${HEX}  db.tar`, 'app.tar').ok, false));
  it('refuses an empty file', () => assert.equal(parseSha256File('\n', 'app.tar').ok, false));
  it('refuses a short digest', () => assert.equal(parseSha256File('abc123  app.tar', 'app.tar').ok, false));
  it('refuses garbage', () => assert.equal(parseSha256File('hello world', 'app.tar').ok, false));
});

describe('isArchiveName', () => {
  const table: [string, boolean][] = [
    ['app.tar', true],
    ['app.tar.gz', true],
    ['app.tgz', true],
    ['app.tar.zst', true],
    ['app.tar.xz', true],
    ['app.tar.bz2', true],
    ['.app.tar', false],
    ['app.tar.part', false],
    ['app.tar.tmp', false],
    ['app.tar.gz.partial', false],
    ['app.tar~', false],
    ['app.tar.sha256', false],
    ['README', false],
  ];
  for (const [name, expected] of table) it(`${name} → ${expected}`, () => assert.equal(isArchiveName(name), expected));
});
