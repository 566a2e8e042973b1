/** Shared by the packaging tests: running commands and demanding tools. */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, never throwing; the caller asserts on the result. */
export const run = (
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Result => {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  if (result.error !== undefined) throw result.error;
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
};

/** Runs a command and returns its stdout; throws with its output unless it exits 0. */
export const runOk = (
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): string => {
  const result = run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
};

const onPath = (command: string): boolean => run('sh', ['-c', 'command -v "$1"', 'sh', command]).code === 0;

/**
 * Throws, naming the Debian package to install, unless every tool is there.
 * Missing tools fail the tests rather than skip them, so CI cannot go green
 * without having checked the packages.
 */
export const requireTools = (tools: Record<string, string>): void => {
  const missing = Object.entries(tools).filter(([tool]) => (tool.startsWith('/') ? !existsSync(tool) : !onPath(tool)));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(' ');
    throw new Error(`missing ${missing.map(([tool]) => tool).join(', ')}: apt-get install ${packages}`);
  }
};

/** What the packaging tests need, by Debian package. */
export const PACKAGING_TOOLS: Record<string, string> = {
  'dpkg-deb': 'dpkg',
  'dpkg-shlibdeps': 'dpkg-dev',
  rpmbuild: 'rpm',
  rpm: 'rpm',
  rpmlint: 'rpmlint',
  lintian: 'lintian',
  'systemd-analyze': 'systemd',
  man: 'man-db',
  readelf: 'binutils',
  'qemu-aarch64-static': 'qemu-user-static',
  '/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1': 'libc6-arm64-cross',
  '/usr/aarch64-linux-gnu/lib/libstdc++.so.6': 'libstdc++6-arm64-cross',
  podman: 'podman',
  catatonit: 'catatonit',
  // The deb depends on it unless netavark is older than 1.14; here podman
  // uses CNI, so dpkg -i needs it.
  '/usr/sbin/nft': 'nftables',
  // The shell of the scratch roots the .rpm's scriptlets run in.
  '/bin/busybox': 'busybox-static',
};

/** Runs an arm64 executable here, through qemu-user with Debian's arm64 cross libraries. */
export const runArm64 = (binary: string, args: string[]): Result =>
  run('qemu-aarch64-static', ['-L', '/usr/aarch64-linux-gnu', binary, ...args]);

/**
 * The alternatives of a Depends field that a system with exactly the
 * `installed` packages (name: version) leaves unmet, as dpkg words them, or
 * '' when all are met. dpkg-checkbuilddeps evaluates them against a status
 * file of those packages: the same rules dpkg applies when it configures.
 */
export const unmetDebDepends = (depends: string, installed: Record<string, string>): string => {
  const dir = mkdtempSync(join(tmpdir(), 'runner-dpkgdb-'));
  try {
    mkdirSync(join(dir, 'updates'));
    writeFileSync(
      join(dir, 'status'),
      Object.entries(installed)
        .map(
          ([name, version]) =>
            `Package: ${name}\nStatus: install ok installed\nVersion: ${version}\nArchitecture: amd64\nMaintainer: test <test@example.org>\nDescription: stand-in\n`,
        )
        .join('\n'),
    );
    writeFileSync(join(dir, 'control'), 'Source: x\n\nPackage: x\nArchitecture: any\n');
    const result = run('dpkg-checkbuilddeps', ['--admindir', dir, '-d', depends, join(dir, 'control')]);
    if (result.code === 0) return '';
    const unmet = /Unmet build dependencies: (.+)$/m.exec(result.stderr)?.[1];
    if (unmet === undefined) throw new Error(`dpkg-checkbuilddeps failed: ${result.stderr}`);
    return unmet;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
