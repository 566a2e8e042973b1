import type { CommandSpec } from './command-spec.ts';
import { COMMANDS } from './commands.ts';

/** Where a command's summary starts in `runner --help`. */
const SUMMARY_COLUMN = 32;
const DEFAULT_HELP_COLUMN = 21;

const HELP_FLAG = { label: '-h, --help', help: 'this text' };

/** `runner --help`: one line per command of the table, then the version and help lines. */
export const renderMainHelp = (commands: readonly CommandSpec[] = COMMANDS): string => {
  const line = (synopsis: string, summary: string): string =>
    `  ${synopsis.padEnd(SUMMARY_COLUMN - 2)}${summary.split('\n').join(`\n${' '.repeat(SUMMARY_COLUMN)}`)}`;
  const lines = commands.filter((command) => !command.hidden).map((command) => line(command.synopsis, command.summary));
  return `runner: Kubernetes static pods on podman, without a kubelet.

Usage:
${lines.join('\n')}
${line('runner --version', 'print version, commit and embedded Node.js version')}
${line('runner --help', 'this text; "runner COMMAND --help" for a command')}

Pods are created with "podman kube play" from the .yaml, .yml and .json files
directly in the manifest directory. Edit a file and its pod is replaced;
delete it and the pod goes; remove the pod by hand and it comes back.
`;
};

/** How a flag is shown: `-c, --container NAME`. */
export const flagLabel = (name: string, option: { short?: string; value?: string }): string =>
  `${option.short ? `-${option.short}, ` : ''}--${name}${option.value ? ` ${option.value}` : ''}`;

/** `runner COMMAND --help`: usage, description, the options (with -h last) and the exit status. */
export const renderCommandHelp = (command: CommandSpec): string => {
  const column = command.helpColumn ?? DEFAULT_HELP_COLUMN;
  const rows = [
    ...Object.entries(command.options).map(([name, option]) => ({ label: flagLabel(name, option), help: option.help })),
    HELP_FLAG,
  ];
  const options = rows.map((row) => `  ${row.label.padEnd(column - 1)} ${row.help}`).join('\n');
  const exit = command.exitStatus === undefined ? '' : `\n${command.exitStatus}\n`;
  return `Usage: ${command.usage}\n\n${command.description}\n\n${command.optionsHeading}\n${options}\n${exit}`;
};
