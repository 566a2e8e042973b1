import { constants, readdirSync } from 'node:fs';
import { access, open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { directoryTrustProblem, type TrustOptions } from '../manifest/trust.ts';
import type { PodmanHostInfo } from '../podman/host-info.ts';
import { PodmanError, podmanErrorKind } from '../podman/podman-error.ts';
import type { CallOptions } from '../podman/podman.ts';
import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import { currentBootId } from '../shared/process-info.ts';
import { containersConfFiles, parseContainersConf } from './containers-conf.ts';
import type { HostSnapshot } from './host-snapshot.ts';

/** The podman calls the doctor makes (CliPodman has them). */
export interface DoctorPodman {
  version(options?: CallOptions): Promise<string>;
  hostInfo(options?: CallOptions): Promise<PodmanHostInfo>;
}

export interface GatherDeps {
  podman: DoctorPodman;
  manifestDir: string;
  stateDir: string;
  trust: TrustOptions;
  clock: Clock;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

/** Reads the host once: two podman calls, then files. Never throws for what it finds; only the checks judge. */
export const gatherSnapshot = async (deps: GatherDeps): Promise<HostSnapshot> => {
  // First, before a daemon that runs these checks at its start writes its own records.
  const recorded = await lastRecorded(deps.stateDir);
  const now = deps.clock.now();
  const options = deps.signal ? { signal: deps.signal } : {};
  const podman = await deps.podman.version(options).then(
    (version) => ({ ok: true as const, version }),
    (error: unknown) => ({ ok: false as const, kind: podmanErrorKind(error), message: describeError(error) }),
  );
  const info =
    podman.ok || podman.kind !== 'podman-missing'
      ? await deps.podman.hostInfo(options).then(
          (host) => ({ ok: true as const, host }),
          (error: unknown) => ({
            ok: false as const,
            kind: podmanErrorKind(error),
            message: describeError(error),
            causeLine: error instanceof PodmanError ? error.causeLine : '',
          }),
        )
      : undefined;
  const confFiles = containersConfFiles(deps.env, dropIns);
  const confTexts = (
    await Promise.all(
      confFiles.map(async (file) => ({ file, text: await readFile(file, 'utf8').catch(() => undefined) })),
    )
  ).filter((item): item is { file: string; text: string } => item.text !== undefined);
  const manifestExists = await stat(deps.manifestDir).then(
    (stats) => stats.isDirectory(),
    () => false,
  );
  const trustProblem = manifestExists ? await directoryTrustProblem(deps.manifestDir, deps.trust) : undefined;
  return {
    podman,
    info,
    firewall: await findFirewall(deps.env),
    containersConf: parseContainersConf(confTexts),
    cgroupHybrid: await access('/sys/fs/cgroup/unified/cgroup.controllers').then(
      () => true,
      () => false,
    ),
    storage: info?.ok ? await storageWritable(info.host.graphRoot) : undefined,
    manifestDir: { path: deps.manifestDir, exists: manifestExists, ...(trustProblem ? { trustProblem } : {}) },
    clock: { now, ...recorded, ...withBootId(currentBootId()) },
  };
};

const withBootId = (bootId: string | undefined): { bootId?: string } => (bootId ? { bootId } : {});

const dropIns = (dir: string): string[] => {
  try {
    return readdirSync(dir)
      .filter((name) => name.endsWith('.conf'))
      .sort()
      .map((name) => path.join(dir, name));
  } catch {
    return [];
  }
};

/** Where podman's network stack would find iptables and nft: the PATH, plus /usr/sbin and /sbin, which podman adds for netavark. */
const findFirewall = async (env: NodeJS.ProcessEnv): Promise<HostSnapshot['firewall']> => {
  const dirs = [
    ...new Set([
      ...(env.PATH ?? '').split(':').filter((dir) => dir.startsWith('/')),
      '/usr/sbin',
      '/sbin',
      '/usr/bin',
      '/bin',
    ]),
  ];
  const find = async (name: string): Promise<string | undefined> => {
    for (const dir of dirs) {
      const file = path.join(dir, name);
      const ok =
        (await stat(file).then(
          (stats) => stats.isFile(),
          () => false,
        )) &&
        (await access(file, constants.X_OK).then(
          () => true,
          () => false,
        ));
      if (ok) return file;
    }
    return undefined;
  };
  const [iptables, nft] = await Promise.all([find('iptables'), find('nft')]);
  return { ...(iptables ? { iptables } : {}), ...(nft ? { nft } : {}) };
};

/** The storage root, or the nearest directory above it that exists, writable by this process. */
const storageWritable = async (root: string): Promise<HostSnapshot['storage']> => {
  let dir = root;
  while (
    !(await stat(dir).then(
      () => true,
      () => false,
    )) &&
    dir !== path.dirname(dir)
  )
    dir = path.dirname(dir);
  try {
    await access(dir, constants.W_OK);
    return { path: root, writable: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      path: root,
      writable: false,
      reason:
        code === 'EROFS'
          ? 'read-only file system'
          : code === 'EACCES'
            ? `permission denied (${dir})`
            : describeError(error),
    };
  }
};

/** The runner's latest recorded time: status.json's heartbeat, or the last line of events.jsonl. */
const lastRecorded = async (stateDir: string): Promise<{ lastRecorded?: { at: number; file: string } }> => {
  const candidates: { at: number; file: string }[] = [];
  const statusFile = path.join(stateDir, 'status.json');
  const eventsFile = path.join(stateDir, 'events.jsonl');
  const [status, lines] = await Promise.all([
    readFile(statusFile, 'utf8')
      .then((text) => JSON.parse(text) as { daemon?: { updatedAt?: unknown } })
      .catch(() => undefined),
    lastLines(eventsFile),
  ]);
  if (typeof status?.daemon?.updatedAt === 'number') candidates.push({ at: status.daemon.updatedAt, file: statusFile });
  // The last line that parses: a torn last line (a runner killed mid-write) says nothing about the clock.
  for (const line of lines.reverse()) {
    const time = parseTime(line);
    if (time === undefined) continue;
    candidates.push({ at: time, file: eventsFile });
    break;
  }
  const latest = candidates.sort((a, b) => b.at - a.at)[0];
  return latest ? { lastRecorded: latest } : {};
};

const TAIL_BYTES = 16 * 1024;

const parseTime = (line: string): number | undefined => {
  try {
    const time = (JSON.parse(line) as { time?: unknown }).time;
    return typeof time === 'number' ? time : undefined;
  } catch {
    return undefined;
  }
};

/** The complete lines in the last 16 KiB of a file (the first may be cut: it is dropped unless the file is that small). */
const lastLines = async (file: string): Promise<string[]> => {
  const handle = await open(file, 'r').catch(() => undefined);
  if (!handle) return [];
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    const lines = buffer.toString('utf8').split('\n');
    return (length < size ? lines.slice(1) : lines).filter((line) => line.trim());
  } finally {
    await handle.close();
  }
};
