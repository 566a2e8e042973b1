import { CliPodman } from '../podman/cli-podman.ts';
import type { Podman } from '../podman/podman.ts';
import { observePods } from '../reconciler/observed-pods.ts';
import { RunnerError } from '../shared/errors.ts';
import { printable } from '../shared/printable.ts';
import type { ParsedArgs, Write } from './command-spec.ts';
import { LOGS, LOGS_FLAGS } from './commands.ts';
import { invokeCommand } from './invoke-command.ts';
import { loadCliConfig } from './load-cli-config.ts';
import { podFromPodman } from '../status/offline-status.ts';

export interface LogsDeps {
  podman?: Pick<Podman, 'listPods' | 'logs'>;
}

/**
 * `runner logs POD [-c CONTAINER] [-f] [--tail N]`: finds the pod among the
 * pods from this manifest directory (by manifest name or podman pod name)
 * and streams `podman logs` of `<podman pod name>-<container>`.
 */
export const logsCommand = (argv: string[], write: Write, deps: LogsDeps = {}): Promise<number> =>
  invokeCommand(LOGS, argv, write, deps);

/** The handler of LOGS (src/cli/commands.ts). */
export const showLogs = async (
  { values, positionals }: ParsedArgs<typeof LOGS_FLAGS>,
  _write: Write,
  deps: LogsDeps = {},
): Promise<number> => {
  const tail = values.tail === undefined ? undefined : Number(values.tail);
  if (tail !== undefined && !(Number.isInteger(tail) && tail >= 0))
    throw new RunnerError('USAGE', `--tail must be a whole number (got "${values.tail}")`);
  const config = await loadCliConfig(values);
  const manifestDir = config.manifestDir;
  const podman =
    deps.podman ?? new CliPodman({ path: config.podman.path, timeoutMs: config.podman.timeoutSeconds * 1000 });

  const name = positionals[0]!;
  const managed = observePods(await podman.listPods(), manifestDir).filter((pod) => pod.key !== undefined);
  const pod = managed.find((item) => item.name === name) ?? managed.find((item) => podFromPodman(item).name === name);
  if (!pod) {
    const known = managed.map((item) => podFromPodman(item).name).sort();
    return fail(
      `no pod "${name}" from ${manifestDir} in podman${known.length > 0 ? ` (pods: ${known.join(', ')})` : ''}`,
    );
  }
  const containers = podFromPodman(pod).containers.map((container) => container.name);
  let container = values.container;
  if (container === undefined) {
    if (containers.length !== 1) {
      return fail(`a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
    }
    container = containers[0]!;
  } else if (!containers.includes(container)) {
    return fail(`container ${container} is not valid for pod ${name}, choose one of: [${containers.join(' ')}]`);
  }

  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGINT', stop);
  try {
    return await podman.logs(`${pod.name}-${container}`, {
      follow: values.follow === true,
      ...(tail !== undefined ? { tail } : {}),
      signal: controller.signal,
    });
  } finally {
    process.off('SIGINT', stop);
  }
};

/** Not found is the operator's mistake but not a usage error: exit 1, as kubectl does. */
const fail = (message: string): number => {
  process.stderr.write(`runner: ${printable(message)}\n`);
  return 1;
};
