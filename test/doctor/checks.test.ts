import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCgroups } from '../../src/doctor/check-cgroups.ts';
import { checkClock, checkManifestDir, checkStorage } from '../../src/doctor/check-host.ts';
import { checkNetwork } from '../../src/doctor/check-network.ts';
import { checkPodman, checkRuntime, parseVersion } from '../../src/doctor/check-podman.ts';
import type { Finding, HostSnapshot } from '../../src/doctor/host-snapshot.ts';
import { doctorExitCode, runChecks } from '../../src/doctor/run-checks.ts';
import type { PodmanHostInfo } from '../../src/podman/host-info.ts';

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);

/** This Debian 12 host as `podman info` described it (podman 4.3.1, CNI, cgroup v1 hybrid, runc). */
const debian12: PodmanHostInfo = {
  version: '4.3.1',
  cgroupVersion: 'v1',
  cgroupManager: 'cgroupfs',
  cgroupControllers: ['cpuset', 'cpu', 'cpuacct', 'blkio', 'memory', 'devices', 'freezer', 'pids'],
  ociRuntime: { name: 'runc', path: '/usr/bin/runc' },
  networkBackend: 'cni',
  graphRoot: '/var/lib/containers/storage',
  rootless: false,
};

/** Debian 13 in systemd-nspawn, as issue 14 describes it: podman 5.4.2, crun, netavark 1.14, cgroup v2 without pids. */
const debian13: PodmanHostInfo = {
  ...debian12,
  version: '5.4.2',
  cgroupVersion: 'v2',
  cgroupManager: 'systemd',
  cgroupControllers: ['cpuset', 'cpu', 'io', 'memory'],
  ociRuntime: { name: 'crun', path: '/usr/bin/crun' },
  networkBackend: 'netavark',
  networkBackendVersion: 'netavark 1.14.0',
};

const host = (overrides: Partial<HostSnapshot> = {}, info: Partial<PodmanHostInfo> = {}): HostSnapshot => ({
  podman: { ok: true, version: info.version ?? '4.3.1' },
  info: { ok: true, host: { ...debian12, ...info } },
  firewall: { iptables: '/usr/sbin/iptables', nft: '/usr/sbin/nft' },
  containersConf: { files: [] },
  cgroupHybrid: false,
  storage: { path: '/var/lib/containers/storage', writable: true },
  manifestDir: { path: '/etc/runner/manifests', exists: true },
  clock: { now: NOW, bootId: '2cb5784a-c2e7-4e46-8ce2-e6db7f47a38d' },
  ...overrides,
});

const severities = (findings: Finding[]): string[] => findings.map((finding) => `${finding.check}:${finding.severity}`);

describe('runChecks', () => {
  it('a healthy Debian 12 host: every check ok, exit 0', () => {
    const findings = runChecks(host());
    assert.ok(
      findings.every((finding) => finding.severity === 'ok'),
      JSON.stringify(findings),
    );
    assert.equal(doctorExitCode(findings), 0);
  });

  it('warnings only exit 3; any error exits 1', () => {
    assert.equal(
      doctorExitCode([
        { check: 'a', severity: 'ok', message: '' },
        { check: 'b', severity: 'warning', message: '' },
      ]),
      3,
    );
    assert.equal(
      doctorExitCode([
        { check: 'a', severity: 'warning', message: '' },
        { check: 'b', severity: 'error', message: '' },
      ]),
      1,
    );
  });

  it('every finding that is not ok names a fix, except the ones that only say a check was skipped', () => {
    const bad = host(
      {
        podman: { ok: true, version: '4.2.0' },
        firewall: {},
        storage: { path: '/s', writable: false, reason: 'read-only file system' },
        manifestDir: { path: '/m', exists: false },
        clock: { now: NOW, lastRecorded: { at: NOW + 3_600_000, file: '/var/lib/runner/status.json' } },
      },
      { cgroupControllers: ['cpuset'] },
    );
    const findings = runChecks(bad).filter((finding) => finding.severity !== 'ok');
    assert.deepEqual(severities(findings), [
      'podman:error',
      'network:error',
      'cgroups:error',
      'cgroups:warning',
      'storage:error',
      'manifests:error',
      'boot id:warning',
      'clock:warning',
    ]);
    for (const finding of findings) assert.ok(finding.fix, `${finding.check}: ${finding.message} has no fix`);
  });
});

describe('checkPodman', () => {
  it('missing, too old, unreadable version, supported', () => {
    assert.equal(
      checkPodman(host({ podman: { ok: false, kind: 'podman-missing', message: 'podman not found at "podman"' } }))
        .severity,
      'error',
    );
    const old = checkPodman(host({ podman: { ok: true, version: '4.2.1' } }));
    assert.equal(old.severity, 'error');
    assert.match(old.message, /older than 4\.3\.0/);
    assert.equal(checkPodman(host({ podman: { ok: true, version: 'dev' } })).severity, 'warning');
    assert.equal(checkPodman(host({ podman: { ok: true, version: '4.3.0' } })).severity, 'ok');
    assert.equal(checkPodman(host({ podman: { ok: true, version: '5.4.0-rc2' } })).severity, 'ok');
  });

  it('parseVersion', () => {
    assert.deepEqual(parseVersion('netavark 1.14.0'), [1, 14, 0]);
    assert.deepEqual(parseVersion('5.4'), [5, 4, 0]);
    assert.equal(parseVersion('unknown'), undefined);
  });
});

describe('checkRuntime', () => {
  it('a configured runtime that is not installed is named, with the fix', () => {
    const causeLine = 'default OCI runtime "crun" not found: invalid argument';
    const finding = checkRuntime(
      host({
        info: { ok: false, kind: 'runtime-missing', message: `podman info exited with 125: ${causeLine}`, causeLine },
      }),
    );
    assert.equal(finding.severity, 'error');
    assert.match(finding.message, /no usable OCI runtime: default OCI runtime "crun" not found/);
    assert.match(finding.fix!, /runtime = "runc"/);
  });

  it('podman version failing for the same reason points there instead of repeating it', () => {
    const finding = checkPodman(host({ podman: { ok: false, kind: 'runtime-missing', message: 'x' } }));
    assert.match(finding.message, /see "oci runtime"/);
  });
});

describe('checkNetwork', () => {
  const cases: {
    what: string;
    info: Partial<PodmanHostInfo>;
    firewall: HostSnapshot['firewall'];
    driver?: string;
    severity: string;
    names?: RegExp;
  }[] = [
    { what: 'CNI with iptables', info: {}, firewall: { iptables: '/usr/sbin/iptables' }, severity: 'ok' },
    {
      what: 'CNI without iptables',
      info: {},
      firewall: { nft: '/usr/sbin/nft' },
      severity: 'error',
      names: /iptables/,
    },
    {
      what: 'netavark 1.4 (Debian 12) without iptables: the minimal box of issue 14',
      info: { networkBackend: 'netavark', networkBackendVersion: 'netavark 1.4.0' },
      firewall: {},
      severity: 'error',
      names: /iptables/,
    },
    {
      what: 'netavark 1.14 with nft',
      info: { networkBackend: 'netavark', networkBackendVersion: 'netavark 1.14.0' },
      firewall: { nft: '/usr/sbin/nft' },
      severity: 'ok',
    },
    {
      what: 'netavark 1.14 with only iptables',
      info: { networkBackend: 'netavark', networkBackendVersion: 'netavark 1.14.0' },
      firewall: { iptables: '/usr/sbin/iptables' },
      severity: 'error',
      names: /nft/,
    },
    {
      what: 'netavark 1.14 told to use iptables, which is there',
      info: { networkBackend: 'netavark', networkBackendVersion: '1.14.1' },
      firewall: { iptables: '/usr/sbin/iptables' },
      driver: 'iptables',
      severity: 'ok',
    },
    {
      what: 'netavark of unknown version (podman 4.x) with neither',
      info: { networkBackend: 'netavark' },
      firewall: {},
      severity: 'error',
      names: /iptables/,
    },
    {
      what: 'netavark of unknown version with nft only',
      info: { networkBackend: 'netavark' },
      firewall: { nft: '/usr/sbin/nft' },
      severity: 'ok',
    },
    { what: 'rootless: no host firewall', info: { rootless: true }, firewall: {}, severity: 'ok' },
    { what: 'an unknown backend', info: { networkBackend: 'pasta-only' }, firewall: {}, severity: 'warning' },
  ];
  for (const { what, info, firewall, driver, severity, names } of cases) {
    it(what, () => {
      const finding = checkNetwork(
        host({ firewall, containersConf: { files: [], ...(driver ? { firewallDriver: driver } : {}) } }, info),
      );
      assert.equal(finding.severity, severity, finding.message);
      if (names) assert.match(`${finding.message} ${finding.fix ?? ''}`, names);
    });
  }
});

describe('checkCgroups', () => {
  it("Debian 13 in nspawn: v2 without pids and podman's default pids limit is an error naming pids_limit = 0", () => {
    const findings = checkCgroups(host({}, debian13));
    assert.deepEqual(severities(findings), ['cgroups:error']);
    assert.match(findings[0]!.message, /without the pids controller.*2048 \(podman's default\)/);
    assert.match(findings[0]!.fix!, /pids_limit = 0/);
  });

  it('the same host with pids_limit = 0 is fine', () => {
    assert.deepEqual(
      severities(
        checkCgroups(host({ containersConf: { files: ['/etc/containers/containers.conf'], pidsLimit: 0 } }, debian13)),
      ),
      ['cgroups:ok'],
    );
  });

  it('crun on a hybrid hierarchy is an error; runc there is fine', () => {
    assert.deepEqual(
      severities(checkCgroups(host({ cgroupHybrid: true }, { ociRuntime: { name: 'crun', path: '/usr/bin/crun' } }))),
      ['cgroups:error'],
    );
    assert.deepEqual(severities(checkCgroups(host({ cgroupHybrid: true }))), ['cgroups:ok']);
  });

  it('no memory controller: a warning about limits', () => {
    const findings = checkCgroups(host({}, { cgroupControllers: ['cpu', 'pids'] }));
    assert.deepEqual(severities(findings), ['cgroups:warning']);
    assert.match(findings[0]!.message, /memory/);
  });
});

describe('storage, manifests, clock', () => {
  it('storage not writable names the path and the reason', () => {
    const finding = checkStorage(
      host({ storage: { path: '/var/lib/containers/storage', writable: false, reason: 'read-only file system' } }),
    );
    assert.equal(finding.severity, 'error');
    assert.match(finding.message, /\/var\/lib\/containers\/storage is not writable: read-only file system/);
  });

  it("an untrusted manifest directory carries trust.ts's reason and its fix", () => {
    const finding = checkManifestDir(
      host({
        manifestDir: {
          path: '/m',
          exists: true,
          trustProblem:
            'manifest directory /m is writable by others (mode 0757): run "chmod go-w /m" (or set trust.strict: false)',
        },
      }),
    );
    assert.equal(finding.severity, 'error');
    assert.match(finding.message, /writable by others/);
    assert.equal(finding.fix, 'run "chmod go-w /m" (or set trust.strict: false)');
  });

  it('a clock behind the last record by more than a minute warns; within a minute it does not', () => {
    assert.deepEqual(
      severities(
        checkClock(host({ clock: { now: NOW, bootId: 'b', lastRecorded: { at: NOW + 61_000, file: 'status.json' } } })),
      ),
      ['clock:warning', 'boot id:ok'],
    );
    assert.deepEqual(
      severities(
        checkClock(host({ clock: { now: NOW, bootId: 'b', lastRecorded: { at: NOW + 59_000, file: 'status.json' } } })),
      ),
      ['clock:ok', 'boot id:ok'],
    );
  });

  it('a clock never set, and an unreadable boot id', () => {
    assert.deepEqual(severities(checkClock(host({ clock: { now: Date.UTC(1970, 0, 2) } }))), [
      'boot id:warning',
      'clock:warning',
    ]);
  });
});
