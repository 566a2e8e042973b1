import path from 'node:path';
import { DEFAULT_CONFIG_PATH, type RunnerConfig } from '../config/defaults.ts';
import { loadConfigFile, resolveConfig } from '../config/load-config.ts';

/** The flags that every command reading the config may have; each has a subset. */
export interface ConfigFlags {
  config?: string;
  'manifest-dir'?: string;
  'state-dir'?: string;
  'images-dir'?: string;
}

/**
 * The configuration a command works with: the defaults, then the config file
 * (--config, or the default path, where a missing file is fine), then the
 * directory flags. The directories come back absolute, resolved against the
 * working directory, whether they came from a flag, the file or a default.
 */
export const loadCliConfig = async (flags: ConfigFlags): Promise<RunnerConfig> => {
  const file = await loadConfigFile(flags.config ?? DEFAULT_CONFIG_PATH, flags.config !== undefined);
  const config = resolveConfig(file, {
    manifestDir: flags['manifest-dir'],
    stateDir: flags['state-dir'],
    imagesDir: flags['images-dir'],
  });
  return {
    ...config,
    manifestDir: path.resolve(config.manifestDir),
    stateDir: path.resolve(config.stateDir),
    imagesDir: path.resolve(config.imagesDir),
  };
};
