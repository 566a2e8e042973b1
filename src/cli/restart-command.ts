import path from 'node:path';
import { DEFAULT_CONFIG_PATH } from '../config/config-schema.ts';
import { loadConfigFile, resolveConfig } from '../config/load-config.ts';
import { systemClock, type Clock } from '../shared/clock.ts';
import { RunnerError } from '../shared/errors.ts';
import { printable } from '../shared/printable.ts';
import { readStatus, type ReadStatusOptions } from '../status/read-status.ts';
import { ANSWER_TIMEOUT_MS, removeRestartRequest, waitForRestartAnswer, writeRestartRequest } from '../status/restart-request.ts';
import { RESTART_HELP } from './help.ts';
import { parseFlags } from './parse-flags.ts';
import { EXIT_NOT_RUNNING } from './render-report.ts';

export interface RestartDeps {
  clock?: Clock;
  read?: ReadStatusOptions;
  timeoutMs?: number;
}

/** `runner restart POD`: asks the live daemon (src/status/restart-request.ts), so the restart is supervised and recorded as Manual. */
export const restartCommand = async (argv: string[], write: (text: string) => void, deps: RestartDeps = {}): Promise<number> => {
  const { values, positionals } = parseFlags(argv, { config: { type: 'string' }, 'state-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } }, true);
  if (values.help) {
    write(RESTART_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new RunnerError('USAGE', 'runner restart needs exactly one POD');
  const pod = positionals[0]!;
  const file = await loadConfigFile(values.config ?? DEFAULT_CONFIG_PATH, values.config !== undefined);
  const stateDir = path.resolve(resolveConfig(file, { stateDir: values['state-dir'] }).stateDir);
  const clock = deps.clock ?? systemClock;
  const reading = await readStatus(stateDir, clock.now(), deps.read);
  if (reading.kind !== 'live') {
    process.stderr.write(`runner: runner is not running; nothing recorded (use podman pod restart ${printable(pod)} to restart by hand)\n  ${printable(reading.reason)}\n`);
    return EXIT_NOT_RUNNING;
  }
  if (!reading.doc.pods.some((item) => item.name === pod || item.podName === pod)) {
    throw new RunnerError('USAGE', `no pod "${pod}" in ${reading.doc.manifestDir} (runner status lists them)`);
  }
  let id: string;
  try {
    id = await writeRestartRequest(stateDir, pod, clock.now());
  } catch (error) {
    const denied = (error as NodeJS.ErrnoException).code === 'EACCES' || (error as NodeJS.ErrnoException).code === 'EROFS';
    throw new RunnerError('STATE_IO', `cannot write a restart request in ${stateDir}: ${(error as Error).message}${denied ? ' (runner restart needs write access to the state directory: run it as root)' : ''}`, { cause: error });
  }
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.on('SIGINT', stop);
  try {
    const answer = await waitForRestartAnswer(stateDir, id, clock, { timeoutMs: deps.timeoutMs ?? ANSWER_TIMEOUT_MS, signal: controller.signal });
    if (!answer) {
      process.stderr.write(`runner: no answer from the runner within ${Math.round((deps.timeoutMs ?? ANSWER_TIMEOUT_MS) / 1000)}s; request withdrawn\n`);
      return 1;
    }
    (answer.ok ? write : (text: string) => process.stderr.write(text))(`${printable(answer.message)}\n`);
    return answer.ok ? 0 : 1;
  } finally {
    process.off('SIGINT', stop);
    await removeRestartRequest(stateDir, id);
  }
};
