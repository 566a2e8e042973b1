/** Pure helpers of scripts/build and scripts/package: tables, no tools needed. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { bundledPackages } from '../../scripts/build/bundle.ts';
import { elfMachine, SEA_FUSE, seaFuseState } from '../../scripts/build/elf.ts';
import { integrityOf } from '../../scripts/build/node-runtime.ts';
import { seaConfig } from '../../scripts/build/sea.ts';
import {
  debFileName,
  debianChangelog,
  debianDate,
  renderTemplate,
  rpmChangelog,
  rpmChangelogDate,
  rpmFileName,
} from '../../scripts/package/naming.ts';
import { installedSizeKiB, md5sums } from '../../scripts/package/stage.ts';

const elfHeader = (machine: number, klass = 2, endian = 1): Buffer => {
  const bytes = Buffer.alloc(64);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, klass, endian], 0);
  bytes.writeUInt16LE(machine, 18);
  return bytes;
};

describe('elfMachine', () => {
  for (const [machine, name] of [
    [0x3e, 'x86-64'],
    [0xb7, 'aarch64'],
    [0x28, 'machine-0x28'],
  ] as const) {
    test(`e_machine 0x${machine.toString(16)} is ${name}`, () => assert.equal(elfMachine(elfHeader(machine)), name));
  }
  test('rejects non-ELF and 32-bit or big-endian ELF', () => {
    assert.throws(() => elfMachine(Buffer.from('#!/bin/sh\n')), /not an ELF/);
    assert.throws(() => elfMachine(elfHeader(0x3e, 1)), /64-bit little-endian/);
    assert.throws(() => elfMachine(elfHeader(0x3e, 2, 2)), /64-bit little-endian/);
  });
});

describe('seaFuseState', () => {
  const table: [string, string, ReturnType<typeof seaFuseState> | RegExp][] = [
    ['plain node', `xx${SEA_FUSE}:0yy`, 'empty'],
    ['after postject', `xx${SEA_FUSE}:1yy`, 'injected'],
    ['not a node binary', 'xx', 'absent'],
    ['garbled', `${SEA_FUSE}=1`, /unexpected fuse value/],
    ['twice', `${SEA_FUSE}:0${SEA_FUSE}:0`, /more than once/],
  ];
  for (const [name, content, expected] of table) {
    test(name, () => {
      if (expected instanceof RegExp) assert.throws(() => seaFuseState(Buffer.from(content)), expected);
      else assert.equal(seaFuseState(Buffer.from(content)), expected);
    });
  }
});

test('seaConfig turns off everything that is CPU-specific or noisy unless asked, and embeds the V8 flags', () => {
  const plain = {
    main: 'dist/runner.cjs',
    output: 'dist/.sea/runner.blob',
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: false,
    execArgv: ['--max-semi-space-size=1'],
    execArgvExtension: 'env',
  };
  assert.deepEqual(seaConfig('dist/runner.cjs', 'dist/.sea/runner.blob'), plain);
  assert.deepEqual(seaConfig('dist/runner.cjs', 'dist/.sea/runner.blob', { codeCache: true }), {
    ...plain,
    useCodeCache: true,
  });
});

test('integrityOf matches npm’s sha512 integrity format', () => {
  assert.equal(
    integrityOf(Buffer.from('')),
    'sha512-z4PhNX7vuL3xVChQ1m2AB9Yg5AULVxXcg/SpIdNs6c5H0NE8XYXysP+DGNKHfuwvY7kxvUdBeoGlODJ6+SfaPg==',
  );
});

test('bundledPackages lists each package directory once, scoped and nested ones included', () => {
  const inputs = Object.fromEntries(
    [
      'src/cli/run-main.ts',
      'node_modules/execa/lib/a.js',
      'node_modules/execa/index.js',
      'node_modules/@sindresorhus/merge-streams/index.js',
      'node_modules/execa/node_modules/is-stream/index.js',
    ].map((path) => [path, { bytes: 1, imports: [] }]),
  );
  assert.deepEqual(bundledPackages({ inputs, outputs: {} }), [
    'node_modules/@sindresorhus/merge-streams',
    'node_modules/execa',
    'node_modules/execa/node_modules/is-stream',
  ]);
});

describe('naming', () => {
  test('package file names', () => {
    assert.equal(debFileName('0.1.0', 'x64'), 'static-pod-runner_0.1.0_amd64.deb');
    assert.equal(debFileName('0.1.0', 'arm64'), 'static-pod-runner_0.1.0_arm64.deb');
    assert.equal(rpmFileName('0.1.0', 'x64'), 'static-pod-runner-0.1.0.x86_64.rpm');
    assert.equal(rpmFileName('0.1.0', 'arm64'), 'static-pod-runner-0.1.0.aarch64.rpm');
  });

  test('renderTemplate fills values and refuses unknown ones', () => {
    assert.equal(renderTemplate('v=@VERSION@ a=@ARCH@ @@', { VERSION: '1', ARCH: 'amd64' }), 'v=1 a=amd64 @@');
    assert.throws(() => renderTemplate('@VERSON@', { VERSION: '1' }), /@VERSON@ is not defined/);
  });

  test('debianDate is RFC 2822 in UTC', () => {
    assert.equal(debianDate(0), 'Thu, 01 Jan 1970 00:00:00 +0000');
    assert.equal(debianDate(1764303000), 'Fri, 28 Nov 2025 04:10:00 +0000');
  });

  test('debianChangelog has the shape dpkg-parsechangelog reads', () => {
    assert.equal(
      debianChangelog('0.1.0', 'M <m@example.org>', 0, 'abc'),
      'static-pod-runner (0.1.0) unstable; urgency=medium\n\n  * Release 0.1.0, built from commit abc.\n\n -- M <m@example.org>  Thu, 01 Jan 1970 00:00:00 +0000\n',
    );
  });

  test('rpmChangelogDate is the %changelog date, in UTC', () => {
    assert.equal(rpmChangelogDate(0), 'Thu Jan 01 1970');
    assert.equal(rpmChangelogDate(1764303000), 'Fri Nov 28 2025');
  });

  test('rpmChangelog takes version and release from the spec and keeps a % in its text literal', () => {
    assert.equal(
      rpmChangelog('M 100% <m@example.org>', 0, 'abc'),
      '%changelog\n* Thu Jan 01 1970 M 100%% <m@example.org> - %{version}-%{release}\n- Release %{version}, built from commit abc.\n',
    );
  });
});

test('installedSizeKiB and md5sums follow dpkg’s rules', () => {
  const stage = mkdtempSync(join(tmpdir(), 'runner-stage-'));
  try {
    mkdirSync(join(stage, 'DEBIAN'));
    mkdirSync(join(stage, 'etc/runner'), { recursive: true });
    writeFileSync(join(stage, 'DEBIAN/control'), 'x'.repeat(5000));
    writeFileSync(join(stage, 'etc/runner/config.yaml'), 'a');
    writeFileSync(join(stage, 'etc/runner/b'), 'x'.repeat(1025));
    // root, etc, etc/runner: 3 dirs; files: 1 KiB + 2 KiB; DEBIAN not counted.
    assert.equal(installedSizeKiB(stage), 6);
    // The conffile is left out: dpkg records its hash itself.
    const md5 = createHash('md5').update('x'.repeat(1025)).digest('hex');
    assert.equal(md5sums(stage, ['/etc/runner/config.yaml']), `${md5}  etc/runner/b\n`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
});
