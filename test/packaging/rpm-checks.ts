/**
 * The .rpm's tests, registered by packages.test.ts once it has built the
 * packages (one build serves every packaging test). No RPM-based machine is
 * reachable here, so the package is linted with rpmlint and installed into
 * scratch roots with Debian's rpm: its files and their metadata, its config
 * file, its scriptlets run as rpm runs them, and its Requires evaluated
 * against stand-ins for RHEL 9 and Fedora.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, run, runOk } from './helpers.ts';
import { fakeRpm, parseRpmScripts, scratchRoot, specScriptlets } from './rpm-root.ts';

type Arch = 'x64' | 'arm64';

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Registers the rpm tests; `rpm(arch)` is the built package, `dist` holds the binaries it was built from. */
export const describeRpm = (rpm: (arch: Arch) => string, dist: string): void => {
  describe('rpm', () => {
    test('file list, requirements and scriptlets', () => {
      for (const arch of ['x64', 'arm64'] as const) {
        const files = runOk('rpm', ['-qlp', rpm(arch)]).split('\n');
        for (const path of [
          '/usr/bin/runner',
          '/usr/lib/systemd/system/runner.service',
          '/etc/runner/config.yaml',
          '/etc/runner/manifests',
          '/var/lib/runner',
          '/var/lib/runner/images',
          '/usr/share/man/man1/runner.1.gz',
          '/usr/share/licenses/static-pod-runner/LICENSE',
          '/usr/share/bash-completion/completions/runner',
          '/usr/share/zsh/site-functions/_runner',
        ]) {
          assert.ok(files.includes(path), `${arch}: ${path}`);
        }
        const requires = runOk('rpm', ['-qp', '--requires', rpm(arch)]).split('\n');
        assert.ok(requires.includes('podman >= 4.3'), requires.join(', '));
        assert.ok(requires.includes('catatonit'));
        assert.ok(
          requires.includes('(iptables if system-release(releasever) < 10)'),
          "the firewall tool of RHEL 9's netavark",
        );
        assert.ok(
          requires.some((r) => r.startsWith('libc.so.6(GLIBC_2.28)')),
          'ELF dependencies are generated',
        );
        assert.equal(runOk('rpm', ['-qp', '--qf', '%{ARCH}', rpm(arch)]), arch === 'x64' ? 'x86_64' : 'aarch64');
        assert.match(runOk('rpm', ['-qp', '--configfiles', rpm(arch)]), /^\/etc\/runner\/config\.yaml$/m);
        assert.match(
          runOk('rpm', ['-qp', '--changelog', rpm(arch)]),
          /^\* \w{3} \w{3} \d{2} \d{4} .+ - \d+\.\d+\.\d+-1\n- Release /,
        );
      }
      // Exactly the spec's scriptlets, the same for both architectures.
      const scripts = parseRpmScripts(runOk('rpm', ['-qp', '--scripts', rpm('x64')]));
      assert.deepEqual(scripts, specScriptlets());
      assert.deepEqual(Object.keys(scripts).sort(), ['postinstall', 'postuninstall', 'preuninstall']);
      assert.deepEqual(parseRpmScripts(runOk('rpm', ['-qp', '--scripts', rpm('arm64')])), scripts);
    });

    test('rpmlint finds nothing that rpm/rpmlintrc does not filter with a reason', () => {
      // An unused filter is an error too (unused-rpmlintrc-filter).
      const result = run('rpmlint', ['-r', join(ROOT, 'rpm/rpmlintrc'), rpm('x64'), rpm('arm64')]);
      const findings = result.stdout.split('\n').filter((line) => / [EW]: /.test(line));
      assert.deepEqual(findings, [], result.stdout);
      assert.equal(result.code, 0, `${result.stdout}${result.stderr}`);
      assert.match(result.stdout, /2 packages and 0 specfiles checked; 0 errors, 0 warnings/);
    });

    test('installs into a scratch root: files, owners, modes, the config file; binary intact (never stripped)', () => {
      for (const arch of ['x64', 'arm64'] as const) {
        const root = scratchRoot({ shell: false });
        try {
          // No /bin/sh in this root to run scriptlets with; they run in the next test.
          root.rpm(['--nodeps', '--noscripts', '--ignorearch', '-i', rpm(arch)]);
          const binary = join(root.path, 'usr/bin/runner');
          assert.equal(sha256(binary), sha256(join(dist, arch === 'x64' ? 'runner' : 'runner-arm64')));
          const listing = root.rpm([
            '-q',
            '--qf',
            '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILEFLAGS:fflags} %{FILENAMES}\n]',
            'static-pod-runner',
          ]);
          // The flags: c = %config, n = noreplace, d = %doc, l = %license.
          assert.deepEqual(
            listing
              .split('\n')
              .filter((line) => line !== '')
              .map((line) => line.replace(/ {2}/, ' - ')),
            [
              'drwxr-xr-x root:root - /etc/runner',
              '-rw-r--r-- root:root cn /etc/runner/config.yaml',
              'drwxr-xr-x root:root - /etc/runner/manifests',
              '-rwxr-xr-x root:root - /usr/bin/runner',
              '-rw-r--r-- root:root - /usr/lib/systemd/system/runner.service',
              '-rw-r--r-- root:root - /usr/share/bash-completion/completions/runner',
              '-rw-r--r-- root:root d /usr/share/doc/static-pod-runner/THIRD-PARTY-LICENSES.gz',
              '-rw-r--r-- root:root l /usr/share/licenses/static-pod-runner/LICENSE',
              '-rw-r--r-- root:root d /usr/share/man/man1/runner.1.gz',
              '-rw-r--r-- root:root - /usr/share/zsh/site-functions/_runner',
              'drwxr-xr-x root:root - /var/lib/runner',
              'drwxr-xr-x root:root - /var/lib/runner/images',
            ],
          );
          assert.equal(root.rpm(['-qc', 'static-pod-runner']), '/etc/runner/config.yaml\n');
          // What is on disk matches the package: digests, modes, owners, sizes.
          const verify = run('rpm', ['--root', root.path, '-V', '--nodeps', 'static-pod-runner']);
          assert.equal(verify.code, 0, `${verify.stdout}${verify.stderr}`);
          assert.equal(statSync(binary).mode & 0o7777, 0o755);
          assert.equal(
            readFileSync(join(root.path, 'etc/runner/config.yaml'), 'utf8'),
            readFileSync(join(ROOT, 'packaging/config.yaml'), 'utf8'),
          );
        } finally {
          root.remove();
        }
      }
    });

    test('scriptlets: enable only, without a running systemd, even when systemctl fails; the edited config survives', () => {
      const root = scratchRoot({ shell: true });
      const config = join(root.path, 'etc/runner/config.yaml');
      try {
        // Install in an image build or chroot: enabled for the next boot, nothing started.
        root.rpm(['--nodeps', '-i', rpm('x64')]);
        assert.deepEqual(root.systemctlCalls(), ['--no-reload enable runner.service']);

        // Upgrade (the same package again): nothing to restart without systemd.
        writeFileSync(config, 'logLevel: debug\n');
        root.rpm(['--nodeps', '-U', '--replacepkgs', rpm('x64')]);
        assert.deepEqual(root.systemctlCalls(), []);
        assert.equal(readFileSync(config, 'utf8'), 'logLevel: debug\n', '%config(noreplace) keeps the edit');
        assert.ok(!existsSync(`${config}.rpmnew`), 'the packaged config did not change, so no .rpmnew');

        // Erase with systemctl failing, as it does without a system bus: the transaction still succeeds.
        root.systemctlExits(1);
        root.rpm(['--nodeps', '-e', 'static-pod-runner']);
        assert.deepEqual(root.systemctlCalls(), ['--no-reload disable runner.service']);
        assert.ok(!existsSync(join(root.path, 'usr/bin/runner')));
        assert.equal(
          readFileSync(`${config}.rpmsave`, 'utf8'),
          'logLevel: debug\n',
          'the edited config is saved on erase',
        );

        // And installing with a failing systemctl succeeds too.
        root.rpm(['--nodeps', '-i', rpm('x64')]);
        assert.deepEqual(root.systemctlCalls(), ['--no-reload enable runner.service']);
      } finally {
        root.remove();
      }
    });

    test('scriptlets under a running systemd: start on install, try-restart on upgrade, stop and disable on erase', () => {
      const root = scratchRoot({ shell: true });
      try {
        root.systemdRunning(true);
        root.rpm(['--nodeps', '-i', rpm('x64')]);
        assert.deepEqual(root.systemctlCalls(), [
          '--no-reload enable runner.service',
          'daemon-reload',
          'start runner.service',
        ]);
        // rpm runs the new package's %post, then the old one's %preun and %postun.
        root.rpm(['--nodeps', '-U', '--replacepkgs', rpm('x64')]);
        assert.deepEqual(root.systemctlCalls(), ['daemon-reload', 'daemon-reload', 'try-restart runner.service']);
        root.rpm(['--nodeps', '-e', 'static-pod-runner']);
        assert.deepEqual(root.systemctlCalls(), [
          'stop runner.service',
          '--no-reload disable runner.service',
          'daemon-reload',
        ]);
      } finally {
        root.remove();
      }
    });

    describe('Requires on RPM-based distributions (stand-in packages)', () => {
      let fakes: string;
      let base: string[];
      before(() => {
        fakes = mkdtempSync(join(tmpdir(), 'runner-fakerpms-'));
        // Everything else the package requires (libraries, /bin/sh), from one stand-in.
        const others = runOk('rpm', ['-qp', '--requires', rpm('x64')])
          .split('\n')
          .filter(
            (r) => r !== '' && !r.startsWith('rpmlib(') && !r.startsWith('(') && !/^(podman|catatonit)\b/.test(r),
          );
        base = [
          fakeRpm(fakes, 'base', '1', [...new Set(others)]),
          fakeRpm(fakes, 'podman', '5.4.2'),
          fakeRpm(fakes, 'catatonit', '0.2.1'),
        ];
      });
      after(() => rmSync(fakes, { recursive: true, force: true }));

      /** The unmet requirements of the package on a system that has `installed` besides the base. */
      const unmet = (installed: string[]): string[] => {
        const root = scratchRoot({ shell: false });
        try {
          root.rpm(['-i', '--justdb', '--nodeps', '--ignorearch', ...base, ...installed]);
          const result = run('rpm', ['--root', root.path, '--test', '-i', rpm('x64')]);
          const needed = [...result.stderr.matchAll(/^\s+(.+) is needed by static-pod-runner/gm)].map(
            (match) => match[1] ?? '',
          );
          assert.equal(
            result.code === 0,
            needed.length === 0,
            `rpm --test failed for another reason: ${result.stderr}`,
          );
          return needed;
        } finally {
          root.remove();
        }
      };

      test('RHEL 9 and its rebuilds (netavark defaults to iptables): iptables is required', () => {
        const rhel9 = fakeRpm(fakes, 'redhat-release', '9.6', ['system-release(releasever) = 9']);
        assert.deepEqual(unmet([rhel9]), ['(iptables if system-release(releasever) < 10)']);
        assert.deepEqual(unmet([rhel9, fakeRpm(fakes, 'iptables-nft', '1.8.10', ['iptables = 1.8.10'])]), []);
      });

      test('Fedora 41+ and RHEL 10 (netavark defaults to nftables and requires it itself): no iptables', () => {
        assert.deepEqual(unmet([fakeRpm(fakes, 'fedora-release', '42', ['system-release(releasever) = 42'])]), []);
        assert.deepEqual(unmet([fakeRpm(fakes, 'redhat-release-10', '10.0', ['system-release(releasever) = 10'])]), []);
      });
    });
  });
};
