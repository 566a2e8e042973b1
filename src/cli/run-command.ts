import path from 'node:path';
import { DEFAULT_CONFIG_PATH } from '../config/config-schema.ts';
import { PULL_SETTINGS } from '../desired/pull-policy.ts';
import { loadConfigFile, resolveConfig } from '../config/load-config.ts';
import { runDaemon } from '../daemon.ts';
import { createLogger, LOG_FORMATS, LOG_LEVELS } from '../shared/logger.ts';
import { RUN_HELP } from './help.ts';
import { oneOf, parseFlags } from './parse-flags.ts';

export const runCommand = async (argv: string[]): Promise<number> => {
  const { values } = parseFlags(
    argv,
    {
      config: { type: 'string' },
      'manifest-dir': { type: 'string' },
      'state-dir': { type: 'string' },
      'images-dir': { type: 'string' },
      pull: { type: 'string' },
      'log-level': { type: 'string' },
      'log-format': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    false,
  );
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const file = await loadConfigFile(values.config ?? DEFAULT_CONFIG_PATH, values.config !== undefined);
  const config = resolveConfig(file, {
    manifestDir: values['manifest-dir'] && path.resolve(values['manifest-dir']),
    stateDir: values['state-dir'] && path.resolve(values['state-dir']),
    imagesDir: values['images-dir'] && path.resolve(values['images-dir']),
    pull: oneOf('--pull', values.pull, PULL_SETTINGS),
    logLevel: oneOf('--log-level', values['log-level'], LOG_LEVELS),
    logFormat: oneOf('--log-format', values['log-format'], LOG_FORMATS),
  });
  config.manifestDir = path.resolve(config.manifestDir);
  config.stateDir = path.resolve(config.stateDir);
  config.imagesDir = path.resolve(config.imagesDir);
  const logger = createLogger({ level: config.logLevel, format: config.logFormat ?? (process.stderr.isTTY ? 'pretty' : 'json') });

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
