/**
 * Slow end-to-end test (`npm run test:e2e-packaging`, not in the default
 * suite): boots Debian 12 with systemd as PID 1 under systemd-nspawn, installs
 * the amd64 deb there and checks what only a real systemd shows: the postinst
 * enables and starts the unit, an upgrade restarts it, removal stops it, and
 * stopping the unit leaves podman's processes alone.
 *
 * Needs debootstrap and systemd-container, and the Debian mirror that apt
 * uses (once: the root file system is cached in $RUNNER_E2E_CACHE, default
 * /var/tmp/runner-e2e).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { debFileName } from '../../scripts/package/naming.ts';
import { requireTools, ROOT, run, runOk, type Result } from './helpers.ts';

const CACHE = process.env['RUNNER_E2E_CACHE'] ?? '/var/tmp/runner-e2e';
const MIRROR = process.env['RUNNER_E2E_MIRROR'] ?? 'http://deb.debian.org/debian';
// debootstrap does not resolve virtual packages: netavark provides podman's
// container-network-stack.
const INCLUDE = 'systemd,systemd-sysv,dbus,podman,netavark,catatonit,libgcc-s1,libstdc++6';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let machineRoot: string;
let nspawn: ChildProcess | undefined;
let leader: number;

/** Runs a command inside the booted machine, in all of its namespaces. */
const inside = (command: string): Result =>
  run('nsenter', ['-t', String(leader), '-m', '-u', '-i', '-n', '-p', '--', '/bin/sh', '-c', command]);
const insideOk = (command: string): string => {
  const result = inside(command);
  assert.equal(result.code, 0, `${command}\n${result.stdout}${result.stderr}`);
  return result.stdout;
};
const unitProperty = (name: string): string => insideOk(`systemctl show runner.service -p ${name} --value`).trim();

const ensureRootfs = (): string => {
  const rootfs = join(CACHE, 'rootfs');
  if (existsSync(join(rootfs, 'usr/bin/podman'))) return rootfs;
  const partial = `${rootfs}.partial`;
  rmSync(partial, { recursive: true, force: true });
  runOk('debootstrap', ['--variant=minbase', `--include=${INCLUDE}`, 'bookworm', partial, MIRROR]);
  // debootstrap exits 0 even when some packages stay unconfigured.
  assert.equal(runOk('chroot', [partial, 'dpkg', '--audit']), '', 'every package in the root is configured');
  renameSync(partial, rootfs);
  return rootfs;
};

const ensureDeb = (): string => {
  const deb = join(ROOT, 'dist', debFileName(VERSION, 'x64'));
  if (!existsSync(deb)) {
    runOk(process.execPath, ['--import', 'tsx', 'scripts/build.ts']);
    runOk(process.execPath, ['--import', 'tsx', 'scripts/package.ts', '--fast', '--arch', 'x64', '--format', 'deb']);
  }
  return deb;
};

before(async () => {
  requireTools({ debootstrap: 'debootstrap', 'systemd-nspawn': 'systemd-container', nsenter: 'util-linux' });
  const rootfs = ensureRootfs();
  const deb = ensureDeb();
  machineRoot = mkdtempSync(join(CACHE, 'machine-'));
  runOk('cp', ['-a', '--reflink=auto', `${rootfs}/.`, machineRoot]);
  copyFileSync(deb, join(machineRoot, 'var/tmp/runner.deb'));
  // debootstrap can leave its "start no services" policy behind; an installed
  // system has none. The image-build test below puts it back on purpose.
  rmSync(join(machineRoot, 'usr/sbin/policy-rc.d'), { force: true });

  nspawn = spawn('systemd-nspawn', [
    '--boot', '--quiet', '--register=no', '--keep-unit', '--directory', machineRoot,
    '--machine', 'runner-e2e', '--capability=all', '--console=pipe',
  ], { stdio: ['ignore', 'ignore', 'inherit'] });
  // The machine's PID 1 is nspawn's only child.
  for (let i = 0; i < 100 && leader === undefined; i += 1) {
    await sleep(200);
    const child = run('pgrep', ['-P', String(nspawn.pid)]).stdout.trim();
    if (child !== '') leader = Number(child.split('\n')[0]);
  }
  assert.ok(leader !== undefined, 'the machine did not start');
  for (let i = 0; i < 150; i += 1) {
    const state = inside('systemctl is-system-running').stdout.trim();
    if (state === 'running' || state === 'degraded') return;
    await sleep(200);
  }
  assert.fail('systemd in the machine did not finish booting');
});

after(async () => {
  if (nspawn !== undefined && nspawn.exitCode === null) {
    if (leader !== undefined) inside('systemctl poweroff');
    for (let i = 0; i < 100 && nspawn.exitCode === null; i += 1) await sleep(100);
    if (nspawn.exitCode === null) nspawn.kill('SIGKILL');
  }
  if (machineRoot !== undefined) rmSync(machineRoot, { recursive: true, force: true });
});

test('systemd is PID 1 in the machine', () => {
  assert.equal(insideOk('cat /proc/1/comm').trim(), 'systemd');
  assert.equal(inside('test -d /run/systemd/system').code, 0, 'the postinst\'s test for a running systemd holds');
});

test('in an image build (policy-rc.d denies starts) the postinst enables but does not start', () => {
  insideOk("printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d");
  try {
    insideOk('dpkg -i /var/tmp/runner.deb');
    assert.equal(insideOk('systemctl is-enabled runner.service').trim(), 'enabled');
    assert.equal(unitProperty('ExecMainStartTimestampMonotonic'), '0');
  } finally {
    inside('dpkg -P static-pod-runner; rm -f /usr/sbin/policy-rc.d');
  }
});

test('install enables and starts the unit, which verifies as installed', () => {
  insideOk('dpkg -i /var/tmp/runner.deb');
  assert.equal(insideOk('systemctl is-enabled runner.service').trim(), 'enabled');
  // Started at least once; it may be restarting while `runner run` is missing.
  assert.notEqual(unitProperty('ExecMainStartTimestampMonotonic'), '0');
  assert.match(insideOk('/usr/bin/runner --version'), /^runner /);
  // The minimal root has no man-db; the man page is verified on the host.
  const verify = inside('systemd-analyze verify --man=no /lib/systemd/system/runner.service');
  assert.equal(verify.code, 0, verify.stderr);
});

test('an upgrade restarts the runner', () => {
  const before = unitProperty('InvocationID');
  insideOk('dpkg -i /var/tmp/runner.deb');
  assert.notEqual(unitProperty('InvocationID'), before);
});

test('stopping runner.service leaves processes outside the runner alone', async () => {
  // The unit as shipped, with only ExecStart replaced: a main process with a
  // child standing in for conmon, which stays in the unit's cgroup under
  // podman's cgroupfs manager. KillMode=process must spare it.
  insideOk([
    'mkdir -p /run/systemd/system/runner.service.d',
    `printf '[Service]\\nExecStart=\\nExecStart=/bin/sh -c "sleep 600 & echo $$! > /run/probe.pid; exec sleep 600"\\n' > /run/systemd/system/runner.service.d/probe.conf`,
    'systemctl daemon-reload',
    'systemctl restart runner.service',
  ].join(' && '));
  await sleep(500);
  const pid = insideOk('cat /run/probe.pid').trim();
  insideOk('systemctl stop runner.service');
  assert.equal(inside(`kill -0 ${pid}`).code, 0, 'the child survived the stop');
  inside(`kill ${pid}; rm -r /run/systemd/system/runner.service.d; systemctl daemon-reload`);
});

test('where conmon lands under systemd (recorded, not asserted)', () => {
  const manager = inside('podman info --format "{{.Host.CgroupManager}} cgroup{{.Host.CgroupsVersion}}"');
  process.stdout.write(`# podman in the machine: ${manager.stdout.trim() || manager.stderr.trim()}\n`);
});

test('removal stops the runner, purge removes the state', () => {
  insideOk('dpkg -r static-pod-runner');
  assert.equal(inside('systemctl is-active runner.service').stdout.trim(), 'inactive');
  insideOk('mkdir -p /var/lib/runner && touch /var/lib/runner/state && dpkg -P static-pod-runner');
  assert.ok(!existsSync(join(machineRoot, 'var/lib/runner')));
});
