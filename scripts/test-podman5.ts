/**
 * The real-podman tier on podman 5 (`npm run test:podman5`): boots Debian 13
 * "trixie" (podman 5.4, crun, netavark 1.14, systemd 257, Node 20.19) with
 * systemd as PID 1 under systemd-nspawn and runs test/integration/*.test.ts
 * inside it, against the machine's own podman and Node, with the same
 * `node scripts/run-tests.mjs` the host runs them with. Exits non-zero when
 * a test fails or a part is missing; it never skips.
 *
 * Run it under the lock every nspawn test takes (two machines at once drown
 * a 2-core host): `flock /tmp/nspawn-e2e.lock npm run test:podman5`.
 * `npm run test:podman5 -- --prepare` only makes the cached root (about 11
 * min cold here), which boots nothing and so needs no lock. `--run 'CMD'`
 * runs CMD in the repository's copy instead of the tier, e.g. a benchmark on
 * podman 5: `--run 'node --import tsx bench/reaction.ts --out /dev/stdout'`.
 *
 * Needs debootstrap, systemd-container (systemd-nspawn), util-linux (nsenter)
 * and the Debian mirror apt uses. The root is cached in $RUNNER_PODMAN5_CACHE
 * (default /var/tmp/runner-trixie), which `RUNNER_E2E_SUITE=trixie npm run
 * test:e2e-packaging` shares; packages missing from a cached root are added
 * with apt-get. Each run copies the root, boots the copy as machine
 * `runner-podman5` and removes it afterwards.
 *
 * The code under test is the working tree (tracked and untracked files that
 * git does not ignore), or with `--head` the last commit alone (`git
 * archive HEAD`: a working tree others are editing is left out), copied in
 * with the host's node_modules: `npm ci` in
 * the machine fails on the registry's certificate, and the lockfile is the
 * same. Only pure-JavaScript packages and esbuild's linux-x64 binary are in
 * there, which run on the machine's Node as on the host's.
 *
 * What the machine needs, measured on a host with hybrid cgroups (v1
 * controllers, an empty v2 hierarchy) like the packaging e2e's:
 * - SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 (cgroup v2 inside, with no
 *   controllers delegated): `pids_limit = 0`, else crun fails with
 *   `controller 'pids' is not available` and runc on the missing pids.max.
 * - --private-network: netavark writes sysctls (ip_forward and the like) of
 *   the network namespace, which the host's namespace refuses to a machine.
 *   Bridge-network pods need it; the machine gets its own loopback only.
 * - --system-call-filter=@keyring bpf, as in the packaging e2e (processes the
 *   machine's systemd starts; the tests here run through nsenter).
 * - nftables and iptables in the root: netavark 1.14 uses nftables, and a
 *   minbase root has neither.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireTools, ROOT, run, runOk, type Result } from '../test/packaging/helpers.ts';

const CACHE = process.env['RUNNER_PODMAN5_CACHE'] ?? '/var/tmp/runner-trixie';
const MIRROR = process.env['RUNNER_E2E_MIRROR'] ?? 'http://deb.debian.org/debian';
const SUITE = 'trixie';
const MACHINE = 'runner-podman5';
// debootstrap resolves no virtual packages: netavark and aardvark-dns are
// podman's network stack, catatonit its pause and init process. crun is
// podman 5's runtime on Debian 13; runc stays for tests that ask for it.
// busybox-static builds the test image (scripts/build-busybox-image.sh).
const PODMAN5_INCLUDE = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'podman',
  'netavark',
  'aardvark-dns',
  'nftables',
  'iptables',
  'catatonit',
  'crun',
  'runc',
  'busybox-static',
  'nodejs',
  'procps',
  'libgcc-s1',
  'libstdc++6',
];
/** Where the repository is copied to in the machine. */
const REPO_IN_MACHINE = '/var/tmp/runner-src';
/**
 * Added to test/fixtures/containers.conf (which the tests pass as
 * CONTAINERS_CONF) through CONTAINERS_CONF_OVERRIDE, which podman 5 reads
 * last. The fixture's runc gives way to crun, podman 5's own runtime here.
 */
const OVERRIDE_CONF = `# Written by scripts/test-podman5.ts for the test machine only.
[containers]
pids_limit = 0

[engine]
runtime = "crun"
`;
const OVERRIDE_PATH = '/etc/containers/runner-podman5-tier.conf';

const log = (message: string): void => console.error(`test-podman5: ${message}`);
const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(0)} s`;

/** The packages of `include` that are not installed in `rootfs`. */
const missingPackages = (rootfs: string, include: string[]): string[] =>
  include.filter(
    (pkg) => run('chroot', [rootfs, 'dpkg-query', '-W', '-f=${db:Status-Status}', pkg]).stdout !== 'installed',
  );

/** The cached trixie root with every package of PODMAN5_INCLUDE, made or completed here. */
const ensureRootfs = (): string => {
  const rootfs = join(CACHE, 'rootfs');
  if (!existsSync(join(rootfs, 'usr/bin/podman'))) {
    const started = Date.now();
    const partial = `${rootfs}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(CACHE, { recursive: true });
    runOk('debootstrap', ['--variant=minbase', `--include=${PODMAN5_INCLUDE.join(',')}`, SUITE, partial, MIRROR]);
    // debootstrap exits 0 even when some packages stay unconfigured.
    const audit = runOk('chroot', [partial, 'dpkg', '--audit']);
    if (audit !== '') throw new Error(`packages left unconfigured in ${partial}:\n${audit}`);
    renameSync(partial, rootfs);
    log(`debootstrap ${SUITE}: ${seconds(started)}`);
  }
  const missing = missingPackages(rootfs, PODMAN5_INCLUDE);
  if (missing.length > 0) {
    log(`installing ${missing.join(' ')} into ${rootfs}`);
    copyFileSync('/etc/resolv.conf', join(rootfs, 'etc/resolv.conf'));
    const env = { DEBIAN_FRONTEND: 'noninteractive' };
    runOk('chroot', [rootfs, 'dpkg', '--configure', '-a'], { env });
    runOk('chroot', [rootfs, 'apt-get', 'update', '-q'], { env });
    runOk('chroot', [rootfs, 'apt-get', 'install', '-y', '-q', '--no-install-recommends', ...missing], { env });
    runOk('chroot', [rootfs, 'apt-get', 'clean'], { env });
    const still = missingPackages(rootfs, PODMAN5_INCLUDE);
    if (still.length > 0) throw new Error(`not installed in ${rootfs}: ${still.join(' ')}`);
  }
  return rootfs;
};

/** Copies the working tree (what git tracks or would track), or HEAD alone, and node_modules to `dest`. */
const copyRepo = (dest: string, headOnly: boolean): void => {
  if (!existsSync(join(ROOT, 'node_modules/tsx'))) throw new Error(`no node_modules in ${ROOT}: run npm ci first`);
  mkdirSync(dest, { recursive: true });
  if (headOnly) {
    // git archive makes directories 0775 (tar.umask 0002), which root's tar keeps: the runner then refuses
    // examples/manifests as group-writable, and example.test.ts failed every --head run.
    const archive = spawnSync('sh', [
      '-c',
      'git -c tar.umask=0022 -C "$1" archive HEAD | tar -C "$2" -xf -',
      'sh',
      ROOT,
      dest,
    ]);
    if (archive.status !== 0) throw new Error(`copying HEAD to ${dest} failed: ${String(archive.stderr)}`);
    runOk('cp', ['-a', '--reflink=auto', join(ROOT, 'node_modules'), join(dest, 'node_modules')]);
    return;
  }
  // A tracked file deleted in the working tree is not under test: left out.
  const files = runOk('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])
    .split('\0')
    .filter((file) => file !== '' && existsSync(join(ROOT, file)));
  const tar = spawnSync('sh', ['-c', 'tar -C "$1" --null -T - -cf - | tar -C "$2" -xf -', 'sh', ROOT, dest], {
    input: files.join('\0'),
  });
  if (tar.status !== 0) throw new Error(`copying the working tree to ${dest} failed: ${String(tar.stderr)}`);
  runOk('cp', ['-a', '--reflink=auto', join(ROOT, 'node_modules'), join(dest, 'node_modules')]);
};

let nspawn: ChildProcess | undefined;
let leader: number | undefined;

/** Runs a command inside the booted machine, in all of its namespaces. */
const inside = (command: string): Result =>
  run('nsenter', ['-t', String(leader), '-m', '-u', '-i', '-n', '-p', '--', '/bin/sh', '-c', command]);
const insideOk = (command: string): string => {
  const result = inside(command);
  if (result.code !== 0)
    throw new Error(`in the machine: ${command} exited ${result.code}\n${result.stdout}${result.stderr}`);
  return result.stdout;
};

const boot = async (machineRoot: string): Promise<void> => {
  const machine = spawn(
    'systemd-nspawn',
    [
      '--boot',
      '--quiet',
      '--register=no',
      '--keep-unit',
      '--directory',
      machineRoot,
      '--machine',
      MACHINE,
      '--capability=all',
      '--console=pipe',
      '--private-network',
      '--system-call-filter=@keyring bpf',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, SYSTEMD_NSPAWN_UNIFIED_HIERARCHY: '1' } },
  );
  nspawn = machine;
  // The machine's PID 1 is nspawn's only child.
  for (let i = 0; i < 100 && leader === undefined; i += 1) {
    await sleep(200);
    const child = run('pgrep', ['-P', String(machine.pid)]).stdout.trim();
    if (child !== '') leader = Number(child.split('\n')[0]);
  }
  if (leader === undefined) throw new Error(`the machine did not start (nspawn exit code ${machine.exitCode})`);
  for (let i = 0; i < 300; i += 1) {
    const state = inside('systemctl is-system-running').stdout.trim();
    if (state === 'running' || state === 'degraded') return;
    await sleep(200);
  }
  throw new Error('systemd in the machine did not finish booting');
};

const powerOff = async (): Promise<void> => {
  if (nspawn === undefined || nspawn.exitCode !== null || nspawn.signalCode !== null) return;
  if (leader !== undefined) inside('systemctl poweroff');
  for (let i = 0; i < 600 && nspawn.exitCode === null && nspawn.signalCode === null; i += 1) await sleep(100);
  if (nspawn.exitCode === null && nspawn.signalCode === null) nspawn.kill('SIGKILL');
};

/**
 * The whole tier's limit: a test that leaves a process behind keeps node's
 * test runner waiting for ever (seen: a runner whose start timed out). The
 * machine's poweroff then ends what is left.
 */
const TIER_TIMEOUT_MS = 40 * 60_000;

/** Runs `command` in the repository's copy in the machine, its output streamed here; resolves to its exit code (124 on timeout). */
const runInside = (command: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      'nsenter',
      [
        '-t',
        String(leader),
        '-m',
        '-u',
        '-i',
        '-n',
        '-p',
        '--',
        '/usr/bin/env',
        '-i',
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'HOME=/root',
        'LANG=C.UTF-8',
        'CI=true',
        `CONTAINERS_CONF_OVERRIDE=${OVERRIDE_PATH}`,
        '/bin/sh',
        '-c',
        `cd ${REPO_IN_MACHINE} && exec ${command}`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    const timer = setTimeout(() => {
      log(`${command} did not finish in ${TIER_TIMEOUT_MS / 60_000} min: stopping the machine`);
      resolve(124);
    }, TIER_TIMEOUT_MS);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal === null ? 1 : 128));
    });
  });

const main = async (): Promise<number> => {
  const { values } = parseArgs({
    options: { head: { type: 'boolean' }, prepare: { type: 'boolean' }, run: { type: 'string' } },
  });
  const headOnly = values.head === true;
  const started = Date.now();
  requireTools({
    debootstrap: 'debootstrap',
    'systemd-nspawn': 'systemd-container',
    nsenter: 'util-linux',
    git: 'git',
    tar: 'tar',
  });
  const rootfs = ensureRootfs();
  log(`root ready: ${seconds(started)}`);
  // Boots nothing, so it needs no lock: CI makes the root while npm test runs.
  if (values.prepare === true) return 0;
  const machineRoot = mkdtempSync(join(CACHE, 'machine-'));
  try {
    runOk('cp', ['-a', '--reflink=auto', `${rootfs}/.`, machineRoot]);
    rmSync(join(machineRoot, 'usr/sbin/policy-rc.d'), { force: true });
    copyRepo(join(machineRoot, REPO_IN_MACHINE.slice(1)), headOnly);
    writeFileSync(join(machineRoot, OVERRIDE_PATH.slice(1)), OVERRIDE_CONF);
    const files = (
      headOnly
        ? runOk('git', ['ls-tree', '-r', '--name-only', 'HEAD', 'test/integration/'])
        : runOk('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'test/integration/'])
    )
      .split('\n')
      .filter((file) => file.endsWith('.test.ts') && (headOnly || existsSync(join(ROOT, file))))
      .sort();
    if (files.length === 0) throw new Error('no test/integration/*.test.ts files found');
    log(`machine copied: ${seconds(started)}`);
    await boot(machineRoot);
    log(`machine booted: ${seconds(started)}`);
    // Fails, not skips, when the machine is not what this tier is for.
    const version = insideOk('podman --version').trim();
    if (!/^podman version 5\./.test(version)) throw new Error(`expected podman 5.x in the machine, found: ${version}`);
    const node = insideOk('node --version').trim();
    insideOk(`cd ${REPO_IN_MACHINE} && node --import tsx -e "import('./src/shared/version.ts')"`);
    log(
      `${version}, ${insideOk('crun --version').split('\n')[0]}, ${insideOk('/usr/lib/podman/netavark --version').trim()}, node ${node}, tsx runs`,
    );
    const command = values.run ?? `node scripts/run-tests.mjs ${files.join(' ')}`;
    const code = await runInside(command);
    log(`${values.run ?? 'integration tier'} on ${version} exited ${code}; ${seconds(started)} in all`);
    return code;
  } finally {
    await powerOff();
    rmSync(machineRoot, { recursive: true, force: true });
  }
};

process.exitCode = await main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  return 1;
});
