import { PULL_SETTINGS } from '../desired/pull-policy.ts';
import { runDaemon } from '../daemon.ts';
import { createLogger, LOG_FORMATS, LOG_LEVELS } from '../shared/logger.ts';
import type { ParsedArgs } from './command-spec.ts';
import type { RUN_FLAGS } from './commands.ts';
import { loadCliConfig } from './load-cli-config.ts';
import { oneOf } from './parse-flags.ts';

/**
 * The handler of RUN (src/cli/commands.ts): the daemon in the foreground
 * until SIGINT or SIGTERM. Flags override the config file; --pull and the
 * log flags are checked after the file is read.
 */
export const runForeground = async ({ values }: ParsedArgs<typeof RUN_FLAGS>): Promise<number> => {
  const loaded = await loadCliConfig(values);
  const config = {
    ...loaded,
    pull: oneOf('--pull', values.pull, PULL_SETTINGS) ?? loaded.pull,
    logLevel: oneOf('--log-level', values['log-level'], LOG_LEVELS) ?? loaded.logLevel,
    logFormat: oneOf('--log-format', values['log-format'], LOG_FORMATS) ?? loaded.logFormat,
  };
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat ?? (process.stderr.isTTY ? 'pretty' : 'json'),
  });

  const controller = new AbortController();
  let stopping = false;
  const onSignal = (name: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn(`${name} again: exiting now`);
      process.exit(130);
    }
    stopping = true;
    logger.info(`${name} received, stopping`);
    controller.abort(new Error(name));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await runDaemon({ config, logger }, controller.signal);
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
};
