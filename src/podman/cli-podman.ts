import { execa, type Result } from 'execa';
import * as v from 'valibot';
import type { CallOptions, PlayResult, Podman, PodmanPod } from './podman.ts';
import { PodmanError, podmanErrorText } from './podman-error.ts';
import { podPsSchema, versionSchema } from './podman-schemas.ts';

export interface CliPodmanOptions {
  /** The podman executable; "podman" finds it on PATH. */
  path: string;
  /** Upper bound for any single call, so a hung podman cannot hang the runner. */
  timeoutMs: number;
  /** Extra environment for podman (tests set CONTAINERS_CONF); the host's own configuration is otherwise honoured. */
  env?: Record<string, string>;
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
      containers: (pod.Containers ?? []).map((container) => ({ id: container.Id, name: container.Names, status: container.Status })),
    }));
  }

  async playKube(yaml: string, options?: CallOptions): Promise<PlayResult> {
    const result = await this.run(['kube', 'play', '--quiet', '-'], { ...options, input: yaml });
    return { podIds: parsePlayOutput(String(result.stdout)) };
  }

  async removePod(id: string, stopTimeoutSeconds: number, options?: CallOptions): Promise<void> {
    // `-f` stops running containers first and makes a missing pod a success.
    await this.run(['pod', 'rm', '--force', '--time', String(Math.max(0, Math.round(stopTimeoutSeconds))), '--', id], {
      ...options,
      extraTimeoutMs: stopTimeoutSeconds * 1000,
    });
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
    if (result.exitCode !== 0 && !/no such secret/i.test(String(result.stderr))) {
      throw this.failure(['secret', 'rm', '--', name], result);
    }
  }

  private async run(
    args: string[],
    options: CallOptions & { input?: string; okExitCodes?: number[]; extraTimeoutMs?: number } = {},
  ): Promise<Result> {
    let result: Result;
    try {
      result = await execa(this.options.path, args, {
        input: options.input ?? '',
        reject: false,
        timeout: this.options.timeoutMs + (options.extraTimeoutMs ?? 0),
        forceKillAfterDelay: 2000,
        cancelSignal: options.signal,
        env: { ...this.options.env },
        extendEnv: true,
        stripFinalNewline: true,
        maxBuffer: 64 * 1024 * 1024,
      });
    } catch (error) {
      throw new PodmanError({ args, stderr: '', timedOut: false, message: `cannot run ${this.options.path}: ${(error as Error).message}`, cause: error });
    }
    if (result.timedOut) {
      throw new PodmanError({ args, stderr: String(result.stderr), timedOut: true, message: `podman ${args.slice(0, 2).join(' ')} did not answer within ${Math.round((this.options.timeoutMs + (options.extraTimeoutMs ?? 0)) / 1000)}s` });
    }
    if (result.failed && result.exitCode === undefined) {
      const missing = (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
      throw new PodmanError({
        args,
        stderr: String(result.stderr ?? ''),
        timedOut: false,
        message: missing ? `podman not found at "${this.options.path}": install podman (apt-get install podman)` : `podman ${args.slice(0, 2).join(' ')} failed: ${result.shortMessage}`,
        cause: result.cause,
      });
    }
    if (!(options.okExitCodes ?? [0]).includes(result.exitCode ?? -1)) throw this.failure(args, result);
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

  private parseJson<T extends v.GenericSchema>(schema: T, result: Result, args: string[]): v.InferOutput<T> {
    try {
      return v.parse(schema, JSON.parse(String(result.stdout) || 'null'));
    } catch (error) {
      throw new PodmanError({ args, stderr: String(result.stderr), timedOut: false, message: `podman ${args.slice(0, 2).join(' ')} printed output the runner cannot read: ${(error as Error).message}`, cause: error });
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
