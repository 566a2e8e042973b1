import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { RunnerError } from '../shared/errors.ts';
import { STATUS_FILE } from '../status/read-status.ts';
import type { ParsedArgs, Write } from './command-spec.ts';
import { COMMANDS, type COMPLETION_FLAGS } from './commands.ts';
import { renderBashCompletion } from './completion-bash.ts';
import { renderZshCompletion } from './completion-zsh.ts';
import { loadCliConfig } from './load-cli-config.ts';

/** A pod name as the manifests allow it (DNS-1123): nothing a shell would read as more than a word. */
const POD_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** The handler of COMPLETION (src/cli/commands.ts): a script, or the pod names the scripts complete. */
export const printCompletion = async (
  { values, positionals }: ParsedArgs<typeof COMPLETION_FLAGS>,
  write: Write,
): Promise<number> => {
  const what = positionals[0];
  if (what === 'bash') write(renderBashCompletion(COMMANDS));
  else if (what === 'zsh') write(renderZshCompletion(COMMANDS));
  else if (what === 'pods') write((await podNames(values)).map((name) => `${name}\n`).join(''));
  else throw new RunnerError('USAGE', `runner completion takes bash, zsh or pods (got "${what}")`);
  return 0;
};

/**
 * The pods named in the status file, live daemon or not: what a user can
 * mean at a TAB. Reads the file only (no podman call, no validation: a
 * completion must answer at once); any failure gives no names, never an error.
 */
const podNames = async (values: ParsedArgs<typeof COMPLETION_FLAGS>['values']): Promise<string[]> => {
  try {
    const { stateDir } = await loadCliConfig(values);
    const doc = JSON.parse(await readFile(path.join(stateDir, STATUS_FILE), 'utf8')) as { pods?: { name?: unknown }[] };
    const names = (doc.pods ?? [])
      .map((pod) => pod.name)
      .filter((name): name is string => typeof name === 'string' && POD_NAME.test(name));
    return [...new Set(names)].sort();
  } catch {
    return [];
  }
};
