import { execa, type Options, type Result } from 'execa';
import { createGunzip } from 'node:zlib';
import * as v from 'valibot';
import type {
  CallOptions,
  ContainerDetail,
  ExecResult,
  PlayResult,
  Podman,
  PodmanContainer,
  PodmanEvent,
  PodmanPod,
  PodAddress,
  PodmanSecret,
} from './podman.ts';
import { classifyPodmanStderr, PodmanError, podmanErrorText } from './podman-error.ts';
import {
  containerInspectSchema,
  containerPsSchema,
  podLabelsSchema,
  podPsSchema,
  secretLsSchema,
  versionSchema,
} from './podman-schemas.ts';
import { readEventLines } from './event-lines.ts';
import { infoSchema as hostInfoSchema, toHostInfo, type PodmanHostInfo } from './host-info.ts';

export interface CliPodmanOptions {
  /** The podman executable; "podman" finds it on PATH. */
  path: string;
  /** Upper bound for any single call, so a hung podman cannot hang the runner. */
  timeoutMs: number;
  /** Extra environment for podman (tests set CONTAINERS_CONF); the host's own configuration is otherwise honoured. */
  env?: Record<string, string>;
  /**
   * Told of every call as it ends (not the long-lived event stream): the
   * arguments, exit code and time taken. The daemon logs these at trace
   * level, for an operator asking what the runner asks podman, and how slow
   * podman is to answer.
   */
  trace?: (line: string, fields: { args: string; exitCode?: number; ms: number }) => void;
}

/**
 * The podman driver: the only module that runs processes. Every call is an
 * argument array (never a shell), with a timeout and the caller's abort
 * signal; JSON output is validated; failures become PodmanError with podman's
 * own error text. Values from manifests never reach the argument list as
 * options: IDs and names are placed after `--`.
 */
export class CliPodman implements Podman {
  constructor(private readonly options: CliPodmanOptions) {}

  /**
   * podman's environment: the runner's, plus `env`, minus INVOCATION_ID.
   * systemd sets that variable in every service, and podman 4.3 takes it to
   * mean "conmon belongs to the calling unit": with the systemd cgroup
   * manager, conmon then stays in runner.service's cgroup instead of getting
   * a libpod-conmon scope of its own (measured in the nspawn e2e). The pods
   * are not the runner's processes; they must not be counted, limited or
   * killed as part of its unit.
   */
  private childEnv(): Record<string, string | undefined> {
    return { ...this.options.env, INVOCATION_ID: undefined };
  }

  async version(options?: CallOptions): Promise<string> {
    const result = await this.run(['version', '--format', 'json'], options);
    return this.parseJson(versionSchema, result, ['version']).Client.Version;
  }

  async listPods(options?: CallOptions): Promise<PodmanPod[]> {
    const args = ['pod', 'ps', '--format', 'json'];
    const pods = this.parseJson(podPsSchema, await this.run(args, options), args);
    return pods.map((pod) => ({
      id: pod.Id,
      name: pod.Name,
      status: pod.Status,
      created: pod.Created,
      labels: pod.Labels ?? {},
      containers: (pod.Containers ?? []).map((container) => ({
        id: container.Id,
        name: container.Names,
        status: container.Status,
      })),
    }));
  }

  async playKube(yaml: string, options?: CallOptions & { start?: boolean }): Promise<PlayResult> {
    const args = ['kube', 'play', '--quiet', ...(options?.start === false ? ['--start=false'] : []), '-'];
    const result = await this.run(args, { ...options, input: yaml });
    return { podIds: parsePlayOutput(String(result.stdout)) };
  }

  async removePod(id: string, stopTimeoutSeconds: number, options?: CallOptions): Promise<void> {
    // `-f` stops running containers first and makes a missing pod a success.
    await this.run(['pod', 'rm', '--force', '--time', String(Math.max(0, Math.round(stopTimeoutSeconds))), '--', id], {
      ...options,
      extraTimeoutMs: stopTimeoutSeconds * 1000,
    });
  }

  async podInfra(podId: string, options?: CallOptions): Promise<{ podName: string; image: string } | undefined> {
    // Templates, not JSON: `pod inspect` prints one object on 4.x and an array from 5.0.
    const [podName = '', infra = ''] = String(
      (await this.run(['pod', 'inspect', '--format', '{{.Name}} {{.InfraContainerID}}', '--', podId], options)).stdout,
    )
      .trim()
      .split(' ');
    if (!infra) return undefined;
    const image = String(
      (await this.run(['container', 'inspect', '--format', '{{.Image}}', '--', infra], options)).stdout,
    ).trim();
    return { podName, image };
  }

  async startPod(id: string, options?: CallOptions): Promise<void> {
    await this.run(['pod', 'start', '--', id], options);
  }

  async volumeExists(name: string, options?: CallOptions): Promise<boolean> {
    const result = await this.run(['volume', 'exists', '--', name], { ...options, okExitCodes: [0, 1] });
    return result.exitCode === 0;
  }

  async removeSecret(name: string, options?: CallOptions): Promise<void> {
    const result = await this.run(['secret', 'rm', '--', name], { ...options, okExitCodes: [0, 1, 125] });
    if (result.exitCode !== 0 && classifyPodmanStderr(String(result.stderr)).kind !== 'not-found') {
      throw this.failure(['secret', 'rm', '--', name], result);
    }
  }

  async listSecrets(options?: CallOptions): Promise<PodmanSecret[]> {
    // `--format json` prints the word "json" on 4.3; a template of one JSON object a line works on 4.3 and 5.x.
    const args = ['secret', 'ls', '--format', '{{json .}}'];
    const result = await this.run(args, options);
    const lines = String(result.stdout)
      .split('\n')
      .filter((line) => line.trim() !== '');
    return this.parseJson(secretLsSchema, result, args, `[${lines.join(',')}]`).map((secret) => ({
      id: secret.ID,
      name: secret.Name,
    }));
  }

  /**
   * One `ps --all --pod` answers what both the supervisor and the reconciler
   * need (src/podman/shared-listing.ts derives the pods from it): `--pod`
   * adds the pod's name for about 0.1 s at 100 pods. No label filter: on
   * podman 4.3 the infra container carries the pause image's labels, not
   * the pod's, and the infra's state is part of the answer.
   */
  async listContainers(options?: CallOptions): Promise<PodmanContainer[]> {
    const args = ['ps', '--all', '--pod', '--format', 'json'];
    const containers = this.parseJson(containerPsSchema, await this.run(args, options), args);
    return containers.map((container) => ({
      id: container.Id,
      name: container.Names?.[0] ?? container.Id.slice(0, 12),
      podId: container.Pod ?? '',
      podName: container.PodName ?? '',
      ...(container.Created ? { createdAt: container.Created * 1000 } : {}),
      isInfra: container.IsInfra === true,
      imageId: container.ImageID ?? '',
      state: container.State.toLowerCase(),
      exitCode: container.ExitCode ?? 0,
      startedAt: unixSeconds(container.StartedAt),
      exitedAt: unixSeconds(container.ExitedAt),
      labels: container.Labels ?? {},
    }));
  }

  async podLabels(id: string, options?: CallOptions): Promise<Record<string, string>> {
    // A template, not `--format json`: `pod inspect` prints one object on 4.x and an array from 5.0.
    const args = ['pod', 'inspect', '--format', '{{json .Labels}}', '--', id];
    return this.parseJson(podLabelsSchema, await this.run(args, options), args) ?? {};
  }

  async startContainer(id: string, options?: CallOptions): Promise<void> {
    await this.run(['start', '--', id], options);
  }

  async runPauseContainer(
    podId: string,
    name: string,
    image: string,
    labels: Record<string, string>,
    options?: CallOptions,
  ): Promise<string> {
    const labelArgs = Object.entries(labels).map(([key, value]) => `--label=${key}=${value}`);
    const args = [
      'run',
      '--detach',
      `--pod=${podId}`,
      `--name=${name}`,
      ...labelArgs,
      '--cap-drop=all',
      '--read-only',
      '--log-driver=none',
      '--restart=no',
      '--pull=never',
      '--',
      image,
    ];
    return String((await this.run(args, options)).stdout).trim();
  }

  async stopContainer(id: string, timeoutSeconds: number, options?: CallOptions): Promise<void> {
    await this.run(['stop', '--time', String(Math.max(0, Math.round(timeoutSeconds))), '--', id], {
      ...options,
      extraTimeoutMs: timeoutSeconds * 1000,
    });
  }

  async inspectContainer(id: string, options?: CallOptions): Promise<ContainerDetail> {
    const args = ['container', 'inspect', '--format', 'json', '--', id];
    const [detail] = this.parseJson(containerInspectSchema, await this.run(args, options), args);
    const finished = detail!.State.FinishedAt ? Date.parse(detail!.State.FinishedAt) : Number.NaN;
    return {
      oomKilled: detail!.State.OOMKilled === true,
      exitCode: detail!.State.ExitCode ?? 0,
      finishedAt: Number.isFinite(finished) && finished > 0 ? finished : undefined,
    };
  }

  async execInContainer(
    id: string,
    command: readonly string[],
    timeoutMs: number,
    options?: CallOptions,
  ): Promise<ExecResult> {
    // Everything after the container ID is the command inside the container, never a podman option.
    // No events: each exec is an `exec` and an `exec_died` event, which podman 5
    // writes to the journal under runner.service (30 lines a minute for one
    // probe every 2 s, issue 14), and which would wake the runner's own event
    // watcher for nothing. An exec probe is the runner's health check, not an
    // operator's exec to audit; `podman exec` by hand keeps its events.
    const result = await this.run(['--events-backend=none', 'exec', '--', id, ...command], {
      ...options,
      okExitCodes: 'any',
      timeoutMs,
    });
    return {
      exitCode: result.exitCode ?? -1,
      output: `${String(result.stdout)}${String(result.stderr)}`.slice(0, 4096),
    };
  }

  async podAddress(podId: string, options?: CallOptions): Promise<PodAddress | undefined> {
    const infraArgs = ['pod', 'inspect', '--format', '{{.InfraContainerID}}', '--', podId];
    const infra = String((await this.run(infraArgs, options)).stdout).trim();
    if (!infra) return undefined;
    const args = ['container', 'inspect', '--format', 'json', '--', infra];
    const [detail] = this.parseJson(containerInspectSchema, await this.run(args, options), args);
    // The first network with an address, else the old top-level fields: both say IPAddress and MacAddress.
    const settings = detail!.NetworkSettings;
    const found = Object.values(settings?.Networks ?? {}).find((item) => item.IPAddress) ?? settings;
    if (!found?.IPAddress) return undefined;
    return { ip: found.IPAddress, ...(found.MacAddress ? { mac: found.MacAddress } : {}) };
  }

  streamEvents(options: CallOptions & { since?: Date }): AsyncIterable<PodmanEvent> {
    const args = ['events', '--format', 'json', ...(options.since ? ['--since', options.since.toISOString()] : [])];
    const child = execa(this.options.path, args, {
      reject: false,
      cancelSignal: options.signal,
      forceKillAfterDelay: 2000,
      env: this.childEnv(),
      stdin: 'ignore',
      stderr: 'ignore',
      buffer: false,
    });
    return readEventLines(child.stdout, () => child.kill());
  }

  // ---- images (src/images/) ----

  async loadImage(
    archivePath: string,
    options: CallOptions & { gunzip?: boolean; timeoutMs?: number } = {},
  ): Promise<string[]> {
    // --quiet: no progress lines on stderr. A runner killed mid-load leaves this
    // podman running with a broken stderr pipe; with progress lines it dies of
    // SIGPIPE at the next one and leaves an archive-sized temporary copy in
    // /var/tmp, while quiet it finishes the load and cleans up (podman 4.3.1).
    // Errors are still printed.
    const args = options.gunzip ? ['load', '--quiet'] : ['load', '--quiet', `--input=${archivePath}`];
    const stdin: Options['stdin'] = options.gunzip ? [{ file: archivePath }, { transform: createGunzip() }] : undefined;
    const result = await this.run(args, { ...options, ...(stdin ? { stdin } : {}) });
    return parseLoadOutput(String(result.stdout));
  }

  async imageExists(ref: string, options?: CallOptions): Promise<boolean> {
    const result = await this.run(['image', 'exists', '--', ref], { ...options, okExitCodes: [0, 1] });
    return result.exitCode === 0;
  }

  async storageRoot(options?: CallOptions): Promise<string> {
    const args = ['info', '--format', 'json'];
    return this.parseJson(infoSchema, await this.run(args, options), args).store.graphRoot;
  }

  /** The host as podman sees it (runtime, network backend, cgroups, storage), for `runner doctor`. */
  async hostInfo(options?: CallOptions): Promise<PodmanHostInfo> {
    const args = ['info', '--format', 'json'];
    return toHostInfo(this.parseJson(hostInfoSchema, await this.run(args, options), args));
  }

  // ---- operator commands (src/cli/) ----

  async logs(container: string, options: CallOptions & { follow?: boolean; tail?: number } = {}): Promise<number> {
    const args = [
      'logs',
      ...(options.follow ? ['--follow'] : []),
      ...(options.tail !== undefined ? ['--tail', String(options.tail)] : []),
      '--',
      container,
    ];
    const result = await execa(this.options.path, args, {
      reject: false,
      cancelSignal: options.signal,
      forceKillAfterDelay: 2000,
      env: this.childEnv(),
      stdin: 'ignore',
      stdout: 'inherit',
      stderr: 'inherit',
    });
    if (result.exitCode === undefined && (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
      throw new PodmanError({
        args,
        stderr: '',
        timedOut: false,
        kind: 'podman-missing',
        message: `podman not found at "${this.options.path}": install podman (apt-get install podman)`,
        cause: result.cause,
      });
    }
    return result.isCanceled ? 0 : (result.exitCode ?? 1);
  }

  private async run(
    args: string[],
    options: CallOptions & {
      input?: string;
      stdin?: Options['stdin'];
      okExitCodes?: number[] | 'any';
      extraTimeoutMs?: number;
      timeoutMs?: number;
    } = {},
  ): Promise<Result> {
    const timeout = (options.timeoutMs ?? this.options.timeoutMs) + (options.extraTimeoutMs ?? 0);
    let result: Result;
    const started = performance.now();
    try {
      result = await execa(this.options.path, args, {
        ...(options.stdin ? { stdin: options.stdin } : { input: options.input ?? '' }),
        reject: false,
        timeout,
        forceKillAfterDelay: 2000,
        cancelSignal: options.signal,
        env: this.childEnv(),
        extendEnv: true,
        stripFinalNewline: true,
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (error) {
      throw new PodmanError({
        args,
        stderr: '',
        timedOut: false,
        message: `cannot run ${this.options.path}: ${(error as Error).message}`,
        cause: error,
      });
    }
    if (this.options.trace) {
      const ms = Math.round(performance.now() - started);
      const line = `podman ${args.join(' ')}`.slice(0, 300);
      const outcome = result.timedOut
        ? 'timed out'
        : result.isCanceled
          ? 'cancelled'
          : `exit ${result.exitCode ?? '?'}`;
      this.options.trace(`${line}: ${outcome} after ${ms} ms`, {
        args: line,
        ...(result.exitCode !== undefined ? { exitCode: result.exitCode } : {}),
        ms,
      });
    }
    if (result.timedOut) {
      throw new PodmanError({
        args,
        stderr: String(result.stderr),
        timedOut: true,
        message: `podman ${args.slice(0, 2).join(' ')} did not answer within ${Math.round(timeout / 1000)}s`,
      });
    }
    if (result.failed && result.exitCode === undefined) {
      const missing = (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
      throw new PodmanError({
        args,
        stderr: String(result.stderr ?? ''),
        timedOut: false,
        ...(missing ? { kind: 'podman-missing' as const } : {}),
        message: missing
          ? `podman not found at "${this.options.path}": install podman (apt-get install podman)`
          : `podman ${args.slice(0, 2).join(' ')} failed: ${result.shortMessage}`,
        cause: result.cause,
      });
    }
    const ok = options.okExitCodes ?? [0];
    if (ok !== 'any' && !ok.includes(result.exitCode ?? -1)) throw this.failure(args, result);
    return result;
  }

  private failure(args: string[], result: Result): PodmanError {
    const text = podmanErrorText(String(result.stderr));
    return new PodmanError({
      args,
      exitCode: result.exitCode,
      stderr: String(result.stderr),
      timedOut: false,
      message: `podman ${args.slice(0, 2).join(' ')} exited with ${result.exitCode}${text ? `: ${text}` : ''}`,
    });
  }

  /** `text`: the JSON to read, when it is not stdout as printed. */
  private parseJson<T extends v.GenericSchema>(
    schema: T,
    result: Result,
    args: string[],
    text = String(result.stdout),
  ): v.InferOutput<T> {
    try {
      return v.parse(schema, JSON.parse(text || 'null'));
    } catch (error) {
      throw new PodmanError({
        args,
        stderr: String(result.stderr),
        timedOut: false,
        message: `podman ${args.slice(0, 2).join(' ')} printed output the runner cannot read: ${(error as Error).message}`,
        cause: error,
      });
    }
  }
}

/** `kube play --quiet` prints "Pod:\n<id>\nContainer:\n<id>..." on 4.x; collect the IDs under "Pod:". */
export const parsePlayOutput = (stdout: string): string[] => {
  const ids: string[] = [];
  let section = '';
  for (const line of stdout.split('\n').map((item) => item.trim())) {
    if (/^[A-Za-z ]+:$/.test(line)) section = line;
    else if (section === 'Pod:' && /^[0-9a-f]{12,64}$/.test(line)) ids.push(line);
  }
  return ids;
};

/** podman's unix-seconds timestamps, where 0 or negative (-62135596800) mean "never". */
const unixSeconds = (value: number | null | undefined): number | undefined =>
  value && value > 0 ? value * 1000 : undefined;

/** `podman info --format json`: only the storage root is read. */
const infoSchema = v.looseObject({ store: v.looseObject({ graphRoot: v.pipe(v.string(), v.nonEmpty()) }) });

/** `podman load` prints "Loaded image: REF" (4.x, one line per image) or "Loaded image(s): A,B" (older). */
export const parseLoadOutput = (stdout: string): string[] =>
  stdout
    .split('\n')
    .map((line) => /^Loaded image(?:\(s\))?:\s*(.+)$/.exec(line.trim())?.[1])
    .filter((refs): refs is string => refs !== undefined)
    .flatMap((refs) =>
      refs
        .split(',')
        .map((ref) => ref.trim())
        .filter(Boolean),
    );
