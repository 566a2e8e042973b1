/**
 * Builds the single executables and the packages once, then checks them the
 * way a user meets them: runs the binaries (arm64 under qemu-user), inspects,
 * lints, installs, upgrades, removes and purges the .deb on this machine, and
 * lints the .rpm and installs it into scratch roots (rpm-checks.ts).
 *
 * Installs into the real system (dpkg -i) and purges static-pod-runner first:
 * do not run it on a machine whose runner you care about.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bundleCli, bundledPackages } from '../../scripts/build/bundle.ts';
import { elfMachine, seaFuseState } from '../../scripts/build/elf.ts';
import { thirdPartyNotice } from '../../scripts/build/licenses.ts';
import { ensureNodeRuntime, NODE_RUNTIMES, NODE_VERSION } from '../../scripts/build/node-runtime.ts';
import { generateSeaBlob, injectSeaBlob, SEA_EXEC_ARGV, seaConfig } from '../../scripts/build/sea.ts';
import { DEB_LIB_DEPENDS, debFileName, rpmFileName } from '../../scripts/package/naming.ts';
import { PACKAGING_TOOLS, requireTools, ROOT, run, runArm64, runOk, unmetDebDepends } from './helpers.ts';
import { describeRpm } from './rpm-checks.ts';

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const DIST = join(ROOT, 'dist');
const NODE_CACHE = join(ROOT, '.cache', 'node-runtime');
const tsx = (script: string, args: string[] = []): string =>
  runOk(process.execPath, ['--import', 'tsx', script, ...args]);
const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');
const versionLine = (arch: string): RegExp =>
  new RegExp(
    `^runner ${VERSION.replaceAll('.', '\\.')} \\(commit [0-9a-f]{7,}(-dirty)?, node ${NODE_VERSION.replaceAll('.', '\\.')}, linux/${arch}\\)\\n$`,
  );

let out: string;
const deb = (arch: 'x64' | 'arm64'): string => join(out, debFileName(VERSION, arch));
const rpm = (arch: 'x64' | 'arm64'): string => join(out, rpmFileName(VERSION, arch));

before(() => {
  requireTools(PACKAGING_TOOLS);
  out = mkdtempSync(join(tmpdir(), 'runner-packages-'));
  tsx('scripts/build.ts');
  // --fast only lowers the compression level; the contents are the same.
  tsx('scripts/package.ts', ['--fast', '--out', out]);
});

after(() => {
  if (out !== undefined) rmSync(out, { recursive: true, force: true });
});

describe('single executables', () => {
  test('dist/runner runs without node and reports version, commit and embedded node', () => {
    const result = run(join(DIST, 'runner'), ['--version'], { env: { PATH: '/usr/bin:/bin' } });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, versionLine('x64'));
    assert.equal(result.stderr, '', 'no experimental-SEA warning');
  });

  test('dist/runner-arm64 is an aarch64 SEA and runs under qemu-user', () => {
    const bytes = readFileSync(join(DIST, 'runner-arm64'));
    assert.equal(elfMachine(bytes), 'aarch64');
    assert.equal(seaFuseState(bytes), 'injected');
    assert.match(runOk('readelf', ['-h', join(DIST, 'runner-arm64')]), /Machine:\s+AArch64/);
    const result = runArm64(join(DIST, 'runner-arm64'), ['--version']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, versionLine('arm64'));
  });

  test('both executables start with the embedded V8 flags, and NODE_OPTIONS can add others', () => {
    // A preload reports what the process really runs with. It gets in through
    // NODE_OPTIONS, which reaches the SEA because execArgvExtension is 'env'.
    const dir = mkdtempSync(join(tmpdir(), 'runner-flags-'));
    try {
      const probe = join(dir, 'probe.cjs');
      writeFileSync(
        probe,
        "process.stderr.write(JSON.stringify({ execArgv: process.execArgv, limit: require('v8').getHeapStatistics().heap_size_limit }));\n",
      );
      const report = (result: { code: number | null; stderr: string }): { execArgv: string[]; limit: number } => {
        assert.equal(result.code, 0, result.stderr);
        return JSON.parse(result.stderr) as { execArgv: string[]; limit: number };
      };
      const node = ensureNodeRuntime(NODE_RUNTIMES.x64, NODE_CACHE);
      // The heap limit counts the young generation: it shows that V8 took the flag, not just that Node saw it.
      const nodeLimit = (flags: readonly string[]): number =>
        report(run(node, [...flags, '--require', probe, '-e', '0'], { env: { NODE_OPTIONS: '' } })).limit;

      const x64 = report(run(join(DIST, 'runner'), ['--version'], { env: { NODE_OPTIONS: `--require ${probe}` } }));
      assert.deepEqual(x64.execArgv, SEA_EXEC_ARGV);
      assert.equal(x64.limit, nodeLimit(SEA_EXEC_ARGV));
      assert.notEqual(x64.limit, nodeLimit([]), 'the embedded flags change the heap limit');

      const capped = report(
        run(join(DIST, 'runner'), ['--version'], {
          env: { NODE_OPTIONS: `--require ${probe} --max-old-space-size=256` },
        }),
      );
      assert.equal(capped.limit, nodeLimit([...SEA_EXEC_ARGV, '--max-old-space-size=256']));

      const arm64 = report(
        run('qemu-aarch64-static', ['-L', '/usr/aarch64-linux-gnu', join(DIST, 'runner-arm64'), '--version'], {
          env: { NODE_OPTIONS: `--require ${probe}` },
        }),
      );
      assert.deepEqual(arm64.execArgv, SEA_EXEC_ARGV);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the exit code of runMain becomes the process exit code', () => {
    assert.equal(run(join(DIST, 'runner'), ['--no-such-option']).code, 2);
  });

  test('the bundle also runs under plain node', () => {
    const result = run(process.execPath, [join(DIST, 'runner.cjs'), '--version']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^runner /);
  });

  test('two builds of one commit are byte-identical', () => {
    const first = ['runner', 'runner-arm64'].map((file) => sha256(join(DIST, file)));
    tsx('scripts/build.ts');
    assert.deepEqual(
      ['runner', 'runner-arm64'].map((file) => sha256(join(DIST, file))),
      first,
    );
  });

  test('the arm64 node generates the same blob as the x64 node (the blob is CPU-independent)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-blob-'));
    try {
      const config = seaConfig(join(DIST, 'runner.cjs'), join(dir, 'arm64.blob'));
      writeFileSync(join(dir, 'sea.json'), JSON.stringify(config));
      const arm64Node = ensureNodeRuntime(NODE_RUNTIMES.arm64, NODE_CACHE);
      const result = runArm64(arm64Node, ['--experimental-sea-config', join(dir, 'sea.json')]);
      assert.equal(result.code, 0, result.stderr);
      const x64Node = ensureNodeRuntime(NODE_RUNTIMES.x64, NODE_CACHE);
      generateSeaBlob(x64Node, join(dir, 'sea-x64.json'), { ...config, output: join(dir, 'x64.blob') });
      assert.ok(readFileSync(join(dir, 'arm64.blob')).equals(readFileSync(join(dir, 'x64.blob'))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('execa works inside a single executable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-execa-'));
    try {
      const metafile = await bundleCli({
        entry: join(ROOT, 'test/packaging/fixtures/execa-smoke.ts'),
        outfile: join(dir, 'smoke.cjs'),
        commit: 'test',
      });
      // Every package esbuild pulled in has a licence for the notice.
      assert.match(
        thirdPartyNotice('node licence', bundledPackages(metafile), ROOT),
        /^execa \d+\.\d+\.\d+ \(npm package, bundled\)$/m,
      );
      const node = ensureNodeRuntime(NODE_RUNTIMES.x64, NODE_CACHE);
      const config = seaConfig(join(dir, 'smoke.cjs'), join(dir, 'smoke.blob'));
      generateSeaBlob(node, join(dir, 'sea.json'), config);
      await injectSeaBlob(node, config.output, join(dir, 'smoke'));
      assert.equal(runOk(join(dir, 'smoke'), []), '0 execa-in-sea\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deb', () => {
  test('control fields and dependencies', () => {
    const info = runOk('dpkg-deb', ['-I', deb('x64')]);
    assert.match(info, /^ Package: static-pod-runner$/m);
    assert.match(info, new RegExp(`^ Version: ${VERSION}$`, 'm'));
    assert.match(info, /^ Architecture: amd64$/m);
    assert.match(
      info,
      /^ Depends: podman \(>= 4\.3\), catatonit, netavark \(>= 1\.14\) \| iptables, nftables \| netavark \(<< 1\.14\), /m,
    );
    assert.equal(runOk('dpkg-deb', ['-f', deb('arm64'), 'Architecture']), 'arm64\n');
    assert.equal(runOk('dpkg-deb', ['-I', deb('x64'), 'conffiles']), '/etc/runner/config.yaml\n');
  });

  // netavark runs a firewall tool for every pod that is not hostNetwork:
  // iptables up to Debian 12's 1.4, nftables from Debian 13's 1.14 on.
  // Neither netavark package depends on it (1.14 recommends nftables).
  test('the Depends bring the firewall tool of the installed netavark, and only that one', () => {
    const depends = runOk('dpkg-deb', ['-f', deb('x64'), 'Depends']).trim();
    const rest = { libc6: '2.36-9', 'libgcc-s1': '12.2.0-14', 'libstdc++6': '12.2.0-14', catatonit: '0.1.7-1' };
    const bookworm = { ...rest, podman: '4.3.1+ds1-8+deb12u1', netavark: '1.4.0-3' };
    const trixie = { ...rest, podman: '5.4.2+ds1-2', netavark: '1.14.0-2' };
    const cases: [string, Record<string, string>, string][] = [
      ['Debian 12, minbase', bookworm, 'netavark (>= 1.14) | iptables'],
      ['Debian 12 with iptables', { ...bookworm, iptables: '1.8.9-2' }, ''],
      [
        'Debian 12 with nftables only (a standard install)',
        { ...bookworm, nftables: '1.0.6-2+deb12u2' },
        'netavark (>= 1.14) | iptables',
      ],
      // CNI's plugins depend on iptables themselves; nftables is then one package too many.
      [
        'Debian 12 with CNI instead of netavark',
        { ...rest, podman: '4.3.1+ds1-8+deb12u1', 'containernetworking-plugins': '1.1.1+ds1-3', iptables: '1.8.9-2' },
        'nftables | netavark (<< 1.14)',
      ],
      ['Debian 13, minbase', trixie, 'nftables | netavark (<< 1.14)'],
      ['Debian 13 with nftables', { ...trixie, nftables: '1.1.3-1' }, ''],
      ['netavark 2 (nftables only)', { ...trixie, netavark: '2.0.0-1', nftables: '1.1.3-1' }, ''],
    ];
    for (const [name, installed, unmet] of cases) assert.equal(unmetDebDepends(depends, installed), unmet, name);
  });

  test('the library dependencies match what dpkg-shlibdeps computes for the binary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'runner-shlibs-'));
    try {
      mkdirSync(join(dir, 'debian'));
      writeFileSync(join(dir, 'debian/control'), 'Source: x\n\nPackage: x\nArchitecture: any\n');
      const result = runOk('dpkg-shlibdeps', ['-O', join(DIST, 'runner')], { cwd: dir });
      assert.equal(result.trim(), `shlibs:Depends=${DEB_LIB_DEPENDS}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('contents, owners and modes', () => {
    const listing = runOk('dpkg-deb', ['-c', deb('x64')]);
    const entry = (path: string): string | undefined =>
      listing.split('\n').find((line) => line.endsWith(` ./${path}`) || line.endsWith(` ./${path}/`));
    const expectations: [string, RegExp][] = [
      ['usr/bin/runner', /^-rwxr-xr-x root\/root/],
      ['lib/systemd/system/runner.service', /^-rw-r--r-- root\/root/],
      ['etc/runner/config.yaml', /^-rw-r--r-- root\/root/],
      ['etc/runner/manifests', /^drwxr-xr-x root\/root/],
      ['var/lib/runner', /^drwxr-xr-x root\/root/],
      ['var/lib/runner/images', /^drwxr-xr-x root\/root/],
      ['usr/share/man/man1/runner.1.gz', /^-rw-r--r-- root\/root/],
      ['usr/share/bash-completion/completions/runner', /^-rw-r--r-- root\/root/],
      ['usr/share/zsh/vendor-completions/_runner', /^-rw-r--r-- root\/root/],
      ['usr/share/doc/static-pod-runner/copyright', /^-rw-r--r-- root\/root/],
      ['usr/share/doc/static-pod-runner/changelog.gz', /^-rw-r--r-- root\/root/],
      ['usr/share/doc/static-pod-runner/THIRD-PARTY-LICENSES.gz', /^-rw-r--r-- root\/root/],
    ];
    for (const [path, mode] of expectations) assert.match(entry(path) ?? `${path} missing`, mode, path);
    assert.equal(listing.match(/ \.\/etc\/runner\/manifests\/./g), null, 'manifests/ ships empty');
  });

  test('lintian finds nothing that is not overridden with a reason', () => {
    const result = run('lintian', ['--fail-on', 'error,warning', '--pedantic', deb('x64')]);
    assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
    assert.equal(result.stdout.trim(), '', result.stdout);
  });

  test('install, upgrade, remove and purge on this machine (no systemd running)', () => {
    run('dpkg', ['--purge', 'static-pod-runner']);
    const userManifest = '/etc/runner/manifests/user-pod.yaml';
    try {
      runOk('dpkg', ['-i', deb('x64')]);
      assert.match(runOk('/usr/bin/runner', ['--version']), versionLine('x64'));
      assert.ok(existsSync('/etc/systemd/system/multi-user.target.wants/runner.service'), 'enabled for the next boot');
      assert.equal(statSync('/etc/runner/manifests').mode & 0o7777, 0o755);
      assert.ok(statSync('/var/lib/runner/images').isDirectory());

      // The unit as installed, with the real binary and man page in place.
      const verify = run('systemd-analyze', ['verify', '/lib/systemd/system/runner.service']);
      assert.equal(verify.code, 0, verify.stderr);

      // Upgrade (same version again): the postinst runs with $2 set; the
      // user's edits of the conffile and their manifests survive.
      writeFileSync('/etc/runner/config.yaml', 'logLevel: debug\n');
      writeFileSync(userManifest, 'apiVersion: v1\nkind: Pod\n');
      writeFileSync('/var/lib/runner/state.json', '{}');
      runOk('dpkg', ['-i', deb('x64')]);
      assert.equal(readFileSync('/etc/runner/config.yaml', 'utf8'), 'logLevel: debug\n');

      runOk('dpkg', ['-r', 'static-pod-runner']);
      assert.ok(!existsSync('/usr/bin/runner'));
      assert.ok(existsSync('/etc/runner/config.yaml'), 'conffile kept until purge');
      assert.ok(existsSync(userManifest));
      assert.ok(existsSync('/var/lib/runner/state.json'), 'state kept until purge');

      runOk('dpkg', ['-P', 'static-pod-runner']);
      assert.ok(!existsSync('/etc/runner/config.yaml'));
      assert.ok(!existsSync('/var/lib/runner'), 'purge removes the state');
      assert.ok(existsSync(userManifest), 'purge never removes manifests');
      assert.ok(!existsSync('/etc/systemd/system/multi-user.target.wants/runner.service'));
    } finally {
      run('dpkg', ['--purge', 'static-pod-runner']);
      rmSync(userManifest, { force: true });
      run('rmdir', ['/etc/runner/manifests', '/etc/runner']);
    }
  });

  test('an empty manifests directory goes away with the package', () => {
    try {
      runOk('dpkg', ['-i', deb('x64')]);
      runOk('dpkg', ['-P', 'static-pod-runner']);
      assert.ok(!existsSync('/etc/runner'));
    } finally {
      run('dpkg', ['--purge', 'static-pod-runner']);
    }
  });
});

describeRpm(rpm, DIST);

describe('shared files', () => {
  // That packaging/config.yaml documents every key with its default is checked
  // against the config schema itself in test/config/shipped-config.test.ts.

  test('the unit keeps pods alive and verifies under systemd-analyze', () => {
    const unit = readFileSync(join(ROOT, 'packaging/runner.service'), 'utf8');
    assert.match(unit, /^KillMode=process$/m);
    assert.match(unit, /^Type=notify$/m);
    assert.match(unit, /^NotifyAccess=main$/m);
    assert.match(unit, /^WatchdogSec=60s$/m);
    assert.match(unit, /^Restart=always$/m);
    assert.match(unit, /^ExecStart=\/usr\/bin\/runner run --config \/etc\/runner\/config\.yaml$/m);
    for (const forbidden of [
      'ProtectSystem=',
      'ProtectHome=',
      'PrivateTmp=',
      'NoNewPrivileges=',
      'SystemCallFilter=',
    ]) {
      assert.ok(!new RegExp(`^${forbidden}`, 'm').test(unit), `${forbidden} would reach the pods`);
    }
    const dir = mkdtempSync(join(tmpdir(), 'runner-unit-'));
    try {
      // Point ExecStart at the built binary; the man page is checked after install above.
      writeFileSync(join(dir, 'runner.service'), unit.replace('/usr/bin/runner', join(DIST, 'runner')));
      const result = run('systemd-analyze', ['verify', '--man=no', join(dir, 'runner.service')]);
      assert.equal(result.code, 0, result.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the man page renders without warnings', () => {
    const result = run('sh', [
      '-c',
      'LC_ALL=C.UTF-8 MANROFFSEQ="" MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$0" >/dev/null',
      join(ROOT, 'packaging/runner.1'),
    ]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
  });
});
