import assert from 'node:assert/strict';
import { chmod, rename, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ManifestCache } from '../../src/manifest/manifest-cache.ts';
import { decodeManifest } from '../../src/manifest/read-manifest-file.ts';
import { parseManifest, type ParsedManifest } from '../../src/manifest/parse-manifest.ts';
import {
  readManifestDir,
  type ManifestSnapshot,
  type ReadManifestOptions,
} from '../../src/manifest/read-manifest-dir.ts';
import { DEFAULT_POLICY } from '../../src/policy/policy.ts';
import { readManifestFixture } from '../helpers/fixtures.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

const POD = readManifestFixture('pod.yaml');
/** The fixture with another tag of the same length: same size, other content. */
const POD_OTHER_TAG = POD.replace('busybox:1.36', 'busybox:1.37');
const podNamed = (name: string): string => POD.replace('name: web\n  labels', `name: ${name}\n  labels`);

/** Past the cache's racy margin: what it read counts as settled at once. */
const LATER_MS = 10_000;

let dir: string;
let parsedFiles: string[];
let cache: ManifestCache;
let options: ReadManifestOptions;

beforeEach(async () => {
  dir = await makeTempDir('cache');
  parsedFiles = [];
  cache = new ManifestCache(() => Date.now() + LATER_MS);
  options = {
    cache,
    parse: (file, bytes, parseOptions) => {
      parsedFiles.push(path.basename(file));
      return parseManifest(file, decodeManifest(bytes), parseOptions);
    },
  };
});

afterEach(() => removeTempDir(dir));

const read = (): Promise<ManifestSnapshot> => readManifestDir(dir, options);
const fileOf = (snapshot: ManifestSnapshot, name: string): ParsedManifest => {
  const found = snapshot.files.find((file) => path.basename(file.file) === name);
  assert.ok(found, `${name} is in the snapshot`);
  return found;
};
const imageOf = (manifest: ParsedManifest): unknown =>
  (manifest.documents[0]?.object as { spec: { containers: { image: string }[] } }).spec.containers[0]?.image;

describe('readManifestDir with a ManifestCache', () => {
  it('a second pass over an unchanged directory parses nothing and reads nothing', async () => {
    await writeFile(path.join(dir, 'a.yaml'), podNamed('a'));
    await writeFile(path.join(dir, 'b.yaml'), podNamed('b'));
    const first = await read();
    assert.deepEqual(parsedFiles, ['a.yaml', 'b.yaml']);
    const second = await read();
    assert.deepEqual(parsedFiles, ['a.yaml', 'b.yaml'], 'no parse on the second pass');
    assert.equal(cache.counts.unchanged, 2, 'both answered from their fstat, unread');
    assert.equal(fileOf(second, 'a.yaml'), fileOf(first, 'a.yaml'), 'the same parse, not an equal one');
    assert.equal(fileOf(second, 'b.yaml'), fileOf(first, 'b.yaml'));
  });

  it('other content of the same size is parsed again, even with the old mtime put back', async () => {
    const file = path.join(dir, 'web.yaml');
    await writeFile(file, POD);
    const before = await stat(file);
    await read();
    await writeFile(file, POD_OTHER_TAG);
    await utimes(file, before.atime, before.mtime); // only the ctime tells
    const snapshot = await read();
    assert.deepEqual(parsedFiles, ['web.yaml', 'web.yaml']);
    assert.equal(imageOf(fileOf(snapshot, 'web.yaml')), 'docker.io/library/busybox:1.37');
  });

  it('a file replaced by a rename is parsed again', async () => {
    const file = path.join(dir, 'web.yaml');
    await writeFile(file, POD);
    await read();
    await writeFile(path.join(dir, '.web.yaml.tmp'), POD_OTHER_TAG);
    await rename(path.join(dir, '.web.yaml.tmp'), file);
    const snapshot = await read();
    assert.deepEqual(parsedFiles, ['web.yaml', 'web.yaml']);
    assert.equal(imageOf(fileOf(snapshot, 'web.yaml')), 'docker.io/library/busybox:1.37');
  });

  it('a touch, or the same bytes written again, is read and compared but not parsed', async () => {
    const file = path.join(dir, 'web.yaml');
    await writeFile(file, POD);
    const first = fileOf(await read(), 'web.yaml');
    const later = new Date(Date.now() + 60_000);
    await utimes(file, later, later);
    assert.equal(fileOf(await read(), 'web.yaml'), first);
    await writeFile(path.join(dir, '.web.yaml.tmp'), POD);
    await rename(path.join(dir, '.web.yaml.tmp'), file);
    assert.equal(fileOf(await read(), 'web.yaml'), first);
    assert.deepEqual(parsedFiles, ['web.yaml']);
    assert.equal(cache.counts['same-content'], 2);
  });

  it('a change that means nothing (a comment) is parsed, and the previous parse is kept', async () => {
    const file = path.join(dir, 'web.yaml');
    await writeFile(file, POD);
    const first = fileOf(await read(), 'web.yaml');
    await writeFile(file, `${POD}# a comment\n`);
    assert.equal(fileOf(await read(), 'web.yaml'), first);
    assert.deepEqual(parsedFiles, ['web.yaml', 'web.yaml']);
  });

  it('a file changed within the racy margin of its read is compared by content next time, not trusted by its fstat', async () => {
    cache = new ManifestCache(() => Date.now());
    options = { ...options, cache };
    await writeFile(path.join(dir, 'web.yaml'), POD);
    await read();
    await read();
    assert.equal(cache.counts.unchanged, 0);
    assert.equal(cache.counts['same-content'], 1);
    assert.deepEqual(parsedFiles, ['web.yaml']);
  });

  it('checks trust on every read: a cached file that turns writable by others is refused, and taken back unparsed', async () => {
    const file = path.join(dir, 'web.yaml');
    await writeFile(file, POD, { mode: 0o644 });
    const first = fileOf(await read(), 'web.yaml');
    await chmod(file, 0o666);
    const refused = fileOf(await read(), 'web.yaml');
    assert.equal(refused.documents.length, 0);
    assert.match(refused.problems[0]?.message ?? '', /is writable by group and others/);
    await chmod(file, 0o644);
    assert.equal(fileOf(await read(), 'web.yaml'), first);
    assert.deepEqual(parsedFiles, ['web.yaml']);
  });

  it('another policy parses every file again', async () => {
    await writeFile(path.join(dir, 'web.yaml'), POD);
    await read();
    options = { ...options, policy: { ...DEFAULT_POLICY, hostPorts: { allowed: [] } } };
    const snapshot = await read();
    assert.deepEqual(parsedFiles, ['web.yaml', 'web.yaml']);
    assert.match(fileOf(snapshot, 'web.yaml').problems[0]?.message ?? '', /hostPort/);
  });

  it('forgets a removed file: one put back is parsed again', async () => {
    const file = path.join(dir, 'web.yaml');
    await writeFile(file, POD);
    await read();
    await rename(file, path.join(dir, 'web.yaml.bak'));
    assert.deepEqual((await read()).files, []);
    await rename(path.join(dir, 'web.yaml.bak'), file);
    await read();
    assert.deepEqual(parsedFiles, ['web.yaml', 'web.yaml']);
  });
});
