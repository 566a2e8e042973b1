import { systemClock, type Clock } from '../shared/clock.ts';
import { RunnerError } from '../shared/errors.ts';
import { printable } from '../shared/printable.ts';
import { readStatus, type ReadStatusOptions } from '../status/read-status.ts';
import {
  ANSWER_TIMEOUT_MS,
  removeRestartRequest,
  waitForRestartAnswer,
  writeRestartRequest,
} from '../status/restart-request.ts';
import type { ParsedArgs, Write } from './command-spec.ts';
import { RESTART, RESTART_FLAGS } from './commands.ts';
import { invokeCommand } from './invoke-command.ts';
import { loadCliConfig } from './load-cli-config.ts';
import { EXIT_NOT_RUNNING } from './render-report.ts';

export interface RestartDeps {
  clock?: Clock;
  read?: ReadStatusOptions;
  timeoutMs?: number;
}

/** `runner restart POD`: asks the live daemon (src/status/restart-request.ts), so the restart is supervised and recorded as Manual. */
export const restartCommand = (argv: string[], write: Write, deps: RestartDeps = {}): Promise<number> =>
  invokeCommand(RESTART, argv, write, deps);

/** The handler of RESTART (src/cli/commands.ts). */
export const restartPod = async (
  { values, positionals }: ParsedArgs<typeof RESTART_FLAGS>,
  write: Write,
  deps: RestartDeps = {},
): Promise<number> => {
  const pod = positionals[0]!;
  const { stateDir } = await loadCliConfig(values);
  const clock = deps.clock ?? systemClock;
  const reading = await readStatus(stateDir, clock.now(), deps.read);
  if (reading.kind !== 'live') {
    process.stderr.write(
      `runner: runner is not running; nothing recorded (use podman pod restart ${printable(pod)} to restart by hand)\n  ${printable(reading.reason)}\n`,
    );
    return EXIT_NOT_RUNNING;
  }
  if (!reading.doc.pods.some((item) => item.name === pod || item.podName === pod)) {
    throw new RunnerError('USAGE', `no pod "${pod}" in ${reading.doc.manifestDir} (runner status lists them)`);
  }
  let id: string;
  try {
    id = await writeRestartRequest(stateDir, pod, clock.now());
  } catch (error) {
    const denied =
      (error as NodeJS.ErrnoException).code === 'EACCES' || (error as NodeJS.ErrnoException).code === 'EROFS';
    throw new RunnerError(
      'STATE_IO',
      `cannot write a restart request in ${stateDir}: ${(error as Error).message}${denied ? ' (runner restart needs write access to the state directory: run it as root)' : ''}`,
      { cause: error },
    );
  }
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGINT', stop);
  try {
    const answer = await waitForRestartAnswer(stateDir, id, clock, {
      timeoutMs: deps.timeoutMs ?? ANSWER_TIMEOUT_MS,
      signal: controller.signal,
    });
    if (!answer) {
      process.stderr.write(
        `runner: no answer from the runner within ${Math.round((deps.timeoutMs ?? ANSWER_TIMEOUT_MS) / 1000)}s; request withdrawn\n`,
      );
      return 1;
    }
    (answer.ok ? write : (text: string) => process.stderr.write(text))(`${printable(answer.message)}\n`);
    return answer.ok ? 0 : 1;
  } finally {
    process.off('SIGINT', stop);
    await removeRestartRequest(stateDir, id);
  }
};
