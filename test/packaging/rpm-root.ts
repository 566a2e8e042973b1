/**
 * Scratch roots for the .rpm, since no RPM-based machine is reachable here:
 * an empty rpm database under a temporary directory, optionally with a shell
 * and a systemctl stand-in so that rpm runs the scriptlets (chrooted, as it
 * does on a real machine), and small fake packages that provide what a real
 * distribution would, so that rpm can evaluate the package's Requires.
 */
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, runOk } from './helpers.ts';

/**
 * Logs its arguments and exits with the status in /systemctl.rc (0 without
 * it). Only shell builtins: the root has no other programs.
 */
const SYSTEMCTL_STAND_IN = `#!/bin/sh
echo "$*" >> /systemctl.log
rc=0
[ -f /systemctl.rc ] && read -r rc < /systemctl.rc
exit "$rc"
`;

export interface ScratchRoot {
  path: string;
  /** rpm with --root: the database and the files are the root's. */
  rpm: (args: string[]) => string;
  /** The systemctl calls the scriptlets made since the last call, one per line. */
  systemctlCalls: () => string[];
  /** Makes the scriptlets' test for a running systemd (/run/systemd/system) hold or not. */
  systemdRunning: (running: boolean) => void;
  /** The exit status of every later systemctl call. */
  systemctlExits: (status: number) => void;
  remove: () => void;
}

/**
 * An empty root with an rpm database. With `shell`, it also has busybox as
 * /bin/sh, root in /etc/passwd and /etc/group, a /dev directory for the
 * scriptlets' `>/dev/null` (a plain file there) and the systemctl stand-in.
 */
export const scratchRoot = (options: { shell: boolean }): ScratchRoot => {
  const path = mkdtempSync(join(tmpdir(), 'runner-rpmroot-'));
  runOk('rpm', ['--root', path, '--initdb']);
  if (options.shell) {
    for (const dir of ['bin', 'usr/bin', 'etc', 'dev', 'run']) mkdirSync(join(path, dir), { recursive: true });
    copyFileSync('/bin/busybox', join(path, 'bin/busybox'));
    chmodSync(join(path, 'bin/busybox'), 0o755);
    symlinkSync('busybox', join(path, 'bin/sh'));
    writeFileSync(join(path, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(path, 'etc/group'), 'root:x:0:\n');
    writeFileSync(join(path, 'usr/bin/systemctl'), SYSTEMCTL_STAND_IN, { mode: 0o755 });
  }
  const log = join(path, 'systemctl.log');
  return {
    path,
    rpm: (args) => runOk('rpm', ['--root', path, ...args]),
    systemctlCalls: () => {
      let calls: string[] = [];
      try {
        calls = readFileSync(log, 'utf8')
          .split('\n')
          .filter((line) => line !== '');
      } catch {
        // No call yet.
      }
      rmSync(log, { force: true });
      return calls;
    },
    systemdRunning: (running) => {
      if (running) mkdirSync(join(path, 'run/systemd/system'), { recursive: true });
      else rmSync(join(path, 'run/systemd'), { recursive: true, force: true });
    },
    systemctlExits: (status) => writeFileSync(join(path, 'systemctl.rc'), `${status}\n`),
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
};

/**
 * Builds an empty noarch package `name` of `version` that provides each of
 * `provides` (a name, or `name = version`), into `dir`; returns its file.
 */
export const fakeRpm = (dir: string, name: string, version: string, provides: readonly string[] = []): string => {
  const work = mkdtempSync(join(tmpdir(), 'runner-fakerpm-'));
  try {
    const spec = join(work, `${name}.spec`);
    writeFileSync(
      spec,
      [
        `Name: ${name}`,
        `Version: ${version}`,
        'Release: 1',
        'Summary: stand-in',
        'License: MIT',
        'BuildArch: noarch',
        ...provides.map((provide) => `Provides: ${provide}`),
        '%description',
        'A stand-in for the packaging tests.',
        '%files',
        '',
      ].join('\n'),
    );
    runOk('rpmbuild', [
      '-bb',
      spec,
      '--quiet',
      '--define',
      `_topdir ${work}`,
      '--define',
      `_rpmdir ${dir}`,
      '--define',
      '_rpmfilename %%{NAME}.rpm',
    ]);
    return join(dir, `${name}.rpm`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
};

/**
 * The bodies of the spec's %post, %preun and %postun, keyed as `rpm
 * --scripts` names them, read from rpm/static-pod-runner.spec.
 */
export const specScriptlets = (): Record<string, string> => {
  const spec = readFileSync(join(ROOT, 'rpm/static-pod-runner.spec'), 'utf8');
  const names: Record<string, string> = { post: 'postinstall', preun: 'preuninstall', postun: 'postuninstall' };
  const scriptlets: Record<string, string> = {};
  const sections = spec.split(/^%(?=\w+\s*$)/m);
  for (const section of sections) {
    const [head = '', ...body] = section.split('\n');
    const name = names[head.trim()];
    if (name !== undefined) scriptlets[name] = body.join('\n').trim();
  }
  return scriptlets;
};

/** Parses `rpm --scripts` output into bodies keyed by scriptlet name. */
export const parseRpmScripts = (output: string): Record<string, string> => {
  const scriptlets: Record<string, string> = {};
  for (const part of output.split(/^(?=\w+ scriptlet \(using [^)]+\):$)/m)) {
    const match = /^(\w+) scriptlet \(using \/bin\/sh\):\n([\s\S]*)$/.exec(part);
    if (match?.[1] !== undefined && match[2] !== undefined) scriptlets[match[1]] = match[2].trim();
  }
  return scriptlets;
};
