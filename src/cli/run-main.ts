import { describeError, isRunnerError } from '../shared/errors.ts';
import { printable, printableLines } from '../shared/printable.ts';
import { versionText } from '../shared/version.ts';
import { findCommand } from './commands.ts';
import { renderMainHelp } from './help.ts';
import { invokeCommand } from './invoke-command.ts';

const write = (text: string): void => {
  process.stdout.write(text);
};

/**
 * Dispatches a command line and returns the exit code; tests call this
 * directly instead of touching process.argv. Errors with a code are the
 * user's to fix and print as one message (usage errors with a hint);
 * anything else is a bug and prints its stack. Messages may quote manifest
 * values, so they are printed escaped (src/shared/printable.ts).
 */
export const runMain = async (argv: string[]): Promise<number> => {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        write(renderMainHelp());
        return command === undefined ? 2 : 0;
      case '-v':
      case '--version':
      case 'version':
        write(`${versionText()}\n`);
        return 0;
    }
    // The table (commands.ts) loads a command's handler when it runs, so
    // `--version` and `validate` do not pay for evaluating the daemon's
    // dependencies (chokidar, execa, …).
    const spec = findCommand(command);
    if (spec) return await invokeCommand(spec, rest, write);
    process.stderr.write(`runner: unknown command "${printable(command)}"\n\n${renderMainHelp()}`);
    return 2;
  } catch (error) {
    if (isRunnerError(error)) {
      process.stderr.write(`runner: ${printableLines(error.message)}\n`);
      if (error.code === 'USAGE') process.stderr.write(`run "runner ${printable(command ?? '')} --help" for usage\n`);
      return error.code === 'USAGE' ? 2 : 1;
    }
    process.stderr.write(
      `runner: unexpected error: ${printable(describeError(error))}\n${error instanceof Error ? printableLines(error.stack ?? '') : ''}\n`,
    );
    return 70;
  }
};
