/**
 * StrictModes for manifests, on real files: owner and mode of the directory,
 * its parents and each file (checked on the opened descriptor), and the
 * symlink rule. Runs as root in CI (chown works); as another user, the tests
 * that need chown are skipped by `skip`, which says why.
 */
import assert from 'node:assert/strict';
import { chmod, chown, lchown, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { readAndParse, readManifestDir } from '../../src/manifest/read-manifest-dir.ts';
import { DEFAULT_TRUST, directoryTrustProblem, trustedOwners, untrustedReason } from '../../src/manifest/trust.ts';
import { readManifestFixture } from '../helpers/fixtures.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

const POD = readManifestFixture('pod.yaml');
const isRoot = process.geteuid?.() === 0;
// chown needs root. CI runs as root, so there these always run; a developer
// running the unit tier unprivileged skips just these two, and CI refuses
// to (a skipped test must never turn CI green).
if (!isRoot && process.env.CI) throw new Error('test/manifest/trust.test.ts needs root (chown) in CI');
const needsRoot = isRoot ? false : 'chown needs root';

let base: string;
let dir: string;
beforeEach(async () => {
  base = await makeTempDir('trust');
  dir = path.join(base, 'manifests');
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755);
});
afterEach(() => removeTempDir(base));

const problemsOf = async (name: string, options: Parameters<typeof readManifestDir>[1] = {}) => {
  const snapshot = await readManifestDir(dir, options);
  return snapshot.files.find((file) => path.basename(file.file) === name)?.problems.map((problem) => problem.message);
};

describe('untrustedReason', () => {
  const owners = trustedOwners(DEFAULT_TRUST, 1000);
  it("accepts root or the runner's own uid with no group/other write bit", () => {
    assert.equal(untrustedReason('file', '/x', { uid: 0, mode: 0o100644 }, owners), undefined);
    assert.equal(untrustedReason('file', '/x', { uid: 1000, mode: 0o100600 }, owners), undefined);
  });
  it('refuses other owners and group/other write, saying how to fix it', () => {
    assert.match(
      untrustedReason('file', '/x', { uid: 1001, mode: 0o100644 }, owners) ?? '',
      /owned by uid 1001, not by root .*chown root \/x.*trust\.allowedOwners/,
    );
    assert.match(
      untrustedReason('file', '/x', { uid: 0, mode: 0o100664 }, owners) ?? '',
      /writable by group \(mode 0664\): run "chmod go-w \/x"/,
    );
    assert.match(
      untrustedReason('file', '/x', { uid: 0, mode: 0o100646 }, owners) ?? '',
      /writable by others \(mode 0646\)/,
    );
    assert.match(
      untrustedReason('directory', '/d', { uid: 0, mode: 0o40777 }, owners) ?? '',
      /writable by group and others \(mode 0777\)/,
    );
  });
  it('accepts a root-owned sticky ancestor such as /tmp, never a sticky manifest directory itself', () => {
    assert.equal(untrustedReason('parent directory', '/tmp', { uid: 0, mode: 0o41777 }, owners, true), undefined);
    assert.ok(untrustedReason('parent directory', '/tmp', { uid: 1001, mode: 0o41777 }, owners, true));
    assert.ok(untrustedReason('manifest directory', '/d', { uid: 0, mode: 0o41777 }, owners, false));
  });
  it('allowedOwners adds uids', () => {
    assert.equal(
      untrustedReason(
        'file',
        '/x',
        { uid: 42, mode: 0o100644 },
        trustedOwners({ ...DEFAULT_TRUST, allowedOwners: [42] }, 0),
      ),
      undefined,
    );
  });
});

describe('trust when reading the manifest directory', () => {
  it('a trusted directory and file are read', async () => {
    await writeFile(path.join(dir, 'web.yaml'), POD, { mode: 0o644 });
    assert.deepEqual(await problemsOf('web.yaml'), []);
    assert.equal(await directoryTrustProblem(dir, DEFAULT_TRUST), undefined);
  });

  it('a group-writable file is held with a problem; strict: false reads it', async () => {
    await writeFile(path.join(dir, 'web.yaml'), POD);
    await chmod(path.join(dir, 'web.yaml'), 0o664);
    assert.deepEqual(await problemsOf('web.yaml'), [
      `file ${path.join(dir, 'web.yaml')} is writable by group (mode 0664): run "chmod go-w ${path.join(dir, 'web.yaml')}" (or set trust.strict: false)`,
    ]);
    assert.deepEqual(await problemsOf('web.yaml', { trust: { ...DEFAULT_TRUST, strict: false } }), []);
  });

  it('a file owned by another user is held; allowedOwners trusts it', { skip: needsRoot }, async () => {
    await writeFile(path.join(dir, 'web.yaml'), POD);
    await chown(path.join(dir, 'web.yaml'), 4242, 4242);
    assert.match((await problemsOf('web.yaml'))?.[0] ?? '', /owned by uid 4242/);
    assert.deepEqual(await problemsOf('web.yaml', { trust: { ...DEFAULT_TRUST, allowedOwners: [4242] } }), []);
  });

  it('a world-writable directory holds every file in it without reading any', async () => {
    await writeFile(path.join(dir, 'a.yaml'), POD);
    await writeFile(path.join(dir, 'b.yaml'), 'not: [valid');
    await chmod(dir, 0o777);
    const snapshot = await readManifestDir(dir);
    assert.equal(snapshot.files.length, 2);
    for (const file of snapshot.files) {
      assert.deepEqual(file.documents, []);
      assert.match(
        file.problems[0]?.message ?? '',
        new RegExp(
          `^refusing every manifest: manifest directory ${dir} is writable by group and others \\(mode 0777\\)`,
        ),
      );
      assert.equal(file.problems.length, 1);
    }
  });

  it(
    'a parent directory owned by another user makes the manifest directory untrusted',
    { skip: needsRoot },
    async () => {
      await chown(base, 4242, 4242);
      await writeFile(path.join(dir, 'web.yaml'), POD);
      assert.match((await problemsOf('web.yaml'))?.[0] ?? '', /parent directory .* is owned by uid 4242/);
    },
  );

  it('a symlink inside the directory is followed; one out of it, or to /dev/zero, is refused', async () => {
    await mkdir(path.join(dir, 'sub'), { mode: 0o755 });
    await writeFile(path.join(dir, 'sub', 'real.txt'), POD);
    await symlink('sub/real.txt', path.join(dir, 'inside.yaml'));
    await writeFile(path.join(base, 'outside.txt'), POD);
    await symlink(path.join(base, 'outside.txt'), path.join(dir, 'outside.yaml'));
    await symlink('/dev/zero', path.join(dir, 'zero.yaml'));
    await symlink('/etc/passwd', path.join(dir, 'passwd.yaml'));
    await symlink('missing.txt', path.join(dir, 'dangling.yaml'));
    assert.deepEqual(await problemsOf('inside.yaml'), []);
    assert.match(
      (await problemsOf('outside.yaml'))?.[0] ?? '',
      /is a symlink to .*outside\.txt, outside the manifest directory: refusing it/,
    );
    assert.match(
      (await problemsOf('zero.yaml'))?.[0] ?? '',
      /is a symlink to \/dev\/zero, outside the manifest directory/,
    );
    assert.match(
      (await problemsOf('passwd.yaml'))?.[0] ?? '',
      /is a symlink to \/etc\/passwd, outside the manifest directory/,
    );
    assert.deepEqual(await problemsOf('dangling.yaml'), ['is a symlink to a file that does not exist']);
    const follow = { trust: { ...DEFAULT_TRUST, followSymlinksOutside: true } };
    assert.deepEqual(await problemsOf('outside.yaml', follow), []);
    assert.deepEqual(await problemsOf('zero.yaml', follow), ['not a regular file']);
  });

  it('a manifest directory given through a symlinked path is checked at its real place', async () => {
    await writeFile(path.join(dir, 'web.yaml'), POD);
    await symlink(dir, path.join(base, 'link'));
    const snapshot = await readManifestDir(path.join(base, 'link'));
    assert.deepEqual(
      snapshot.files.map((file) => file.problems),
      [[]],
    );
  });

  it('warn mode (runner validate) reads untrusted files and reports the reasons as warnings', async () => {
    await writeFile(path.join(dir, 'web.yaml'), POD);
    await chmod(path.join(dir, 'web.yaml'), 0o666);
    await writeFile(path.join(base, 'outside.txt'), POD.replace('name: web\n', 'name: out\n'));
    await symlink(path.join(base, 'outside.txt'), path.join(dir, 'out.yaml'));
    await chmod(dir, 0o775);
    const snapshot = await readManifestDir(dir, { trustMode: 'warn' });
    assert.deepEqual(
      snapshot.files.map((file) => file.problems),
      [[], []],
    );
    const warnings = (snapshot.warnings ?? []).map((warning) => warning.message);
    assert.equal(warnings.length, 3, warnings.join('\n'));
    assert.match(warnings[0] ?? '', /manifest directory .* is writable by group/);
    assert.ok(warnings.some((warning) => /outside the manifest directory/.test(warning)));
    assert.ok(warnings.some((warning) => /web\.yaml is writable by group and others/.test(warning)));
  });

  it('readAndParse of a single file applies the same rules', async () => {
    await writeFile(path.join(dir, 'web.yaml'), POD);
    await chmod(path.join(dir, 'web.yaml'), 0o646);
    assert.match((await readAndParse(path.join(dir, 'web.yaml')))?.problems[0]?.message ?? '', /writable by others/);
  });
});

describe('directoryTrustProblem walks the path as configured', () => {
  // uid 65534 (nobody) plays the other user who must not be able to repoint the runner.
  const OTHER = 65534;

  it(
    'a symlink to the directory, held in a directory another user owns, is refused though its target is trusted',
    { skip: needsRoot },
    async () => {
      const theirs = path.join(base, 'theirs');
      await mkdir(theirs, { mode: 0o755 });
      await chown(theirs, OTHER, OTHER);
      await symlink(dir, path.join(theirs, 'manifests'));
      await writeFile(path.join(dir, 'web.yaml'), POD);
      assert.equal(await directoryTrustProblem(dir, DEFAULT_TRUST), undefined);
      assert.match(
        (await directoryTrustProblem(path.join(theirs, 'manifests'), DEFAULT_TRUST)) ?? '',
        new RegExp(`^parent directory ${theirs} is owned by uid ${OTHER}`),
      );
      const snapshot = await readManifestDir(path.join(theirs, 'manifests'));
      assert.deepEqual(
        snapshot.files.map((file) => file.documents.length),
        [0],
      );
      assert.match(
        snapshot.files[0]?.problems[0]?.message ?? '',
        /^refusing every manifest: parent directory .* is owned by uid 65534/,
      );
    },
  );

  it('a symlink in a group- or world-writable directory is refused', async () => {
    const shared = path.join(base, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o777);
    await symlink(dir, path.join(shared, 'manifests'));
    assert.match(
      (await directoryTrustProblem(path.join(shared, 'manifests'), DEFAULT_TRUST)) ?? '',
      /^parent directory .*shared is writable by group and others \(mode 0777\)/,
    );
  });

  it(
    'a symlink owned by another user is refused, even in a root-owned sticky directory; one owned by root there is followed',
    { skip: needsRoot },
    async () => {
      const sticky = path.join(base, 'sticky');
      await mkdir(sticky);
      await chmod(sticky, 0o1777);
      await symlink(dir, path.join(sticky, 'root-link'));
      await symlink(dir, path.join(sticky, 'their-link'));
      await lchown(path.join(sticky, 'their-link'), OTHER, OTHER);
      assert.equal(await directoryTrustProblem(path.join(sticky, 'root-link'), DEFAULT_TRUST), undefined);
      assert.equal(
        await directoryTrustProblem(path.join(sticky, 'their-link'), DEFAULT_TRUST),
        `symlink ${path.join(sticky, 'their-link')} on the path of the manifest directory is owned by uid ${OTHER}, who could repoint it: run "chown -h root ${path.join(sticky, 'their-link')}" (or add the uid to trust.allowedOwners)`,
      );
      assert.equal(
        await directoryTrustProblem(path.join(sticky, 'their-link'), { ...DEFAULT_TRUST, allowedOwners: [OTHER] }),
        undefined,
      );
    },
  );

  it(
    'the walk goes on through the target: an untrusted directory there is refused, and a link that leads to it through ".." too',
    { skip: needsRoot },
    async () => {
      const theirs = path.join(base, 'theirs');
      await mkdir(path.join(theirs, 'manifests'), { recursive: true, mode: 0o755 });
      await chown(theirs, OTHER, OTHER);
      await symlink(path.join(theirs, 'manifests'), path.join(base, 'absolute'));
      await mkdir(path.join(base, 'ours'), { mode: 0o755 });
      await symlink('../theirs/manifests', path.join(base, 'ours', 'relative'));
      for (const configured of [path.join(base, 'absolute'), path.join(base, 'ours', 'relative')]) {
        assert.match(
          (await directoryTrustProblem(configured, DEFAULT_TRUST)) ?? '',
          new RegExp(`^parent directory ${theirs} is owned by uid ${OTHER}`),
          configured,
        );
      }
    },
  );

  it('a chain of trusted links, relative and absolute, to a trusted directory is accepted; the final directory is checked as the manifest directory', async () => {
    await mkdir(path.join(base, 'a'), { mode: 0o755 });
    await symlink('../manifests', path.join(base, 'a', 'one'));
    await symlink(path.join(base, 'a', 'one'), path.join(base, 'two'));
    assert.equal(await directoryTrustProblem(path.join(base, 'two'), DEFAULT_TRUST), undefined);
    assert.equal(await directoryTrustProblem(`${path.join(base, 'two')}/`, DEFAULT_TRUST), undefined);
    await chmod(dir, 0o1777);
    assert.match(
      (await directoryTrustProblem(path.join(base, 'two'), DEFAULT_TRUST)) ?? '',
      new RegExp(`^manifest directory ${dir} is writable by group and others`),
    );
    await mkdir(path.join(dir, 'sub'), { mode: 0o755 });
    assert.match(
      (await directoryTrustProblem(`${dir}/sub/..`, DEFAULT_TRUST)) ?? '',
      new RegExp(`^manifest directory ${dir} is writable`),
    );
  });

  it("a loop of links or a missing component is left to the caller's own read", async () => {
    await symlink('loop-b', path.join(base, 'loop-a'));
    await symlink('loop-a', path.join(base, 'loop-b'));
    assert.equal(await directoryTrustProblem(path.join(base, 'loop-a'), DEFAULT_TRUST), undefined);
    assert.equal(await directoryTrustProblem(path.join(base, 'missing', 'manifests'), DEFAULT_TRUST), undefined);
  });
});
