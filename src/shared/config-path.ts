/**
 * Where the runner looks for its config file when no `--config` is given.
 * Here, not in src/config, because messages from lower layers name it (the
 * policy tells a user which setting in which file would permit a manifest).
 */
export const DEFAULT_CONFIG_PATH = '/etc/runner/config.yaml';
