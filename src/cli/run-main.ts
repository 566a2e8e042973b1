import { describeError, isRunnerError } from '../shared/errors.ts';
import { printable, printableLines } from '../shared/printable.ts';
import { versionText } from '../shared/version.ts';
import { MAIN_HELP } from './help.ts';

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
        write(MAIN_HELP);
        return command === undefined ? 2 : 0;
      case '-v':
      case '--version':
      case 'version':
        write(`${versionText()}\n`);
        return 0;
      // Commands are loaded when used, so `--version` and `validate` do not
      // pay for evaluating the daemon's dependencies (chokidar, execa, …).
      case 'run':
        return await (await import('./run-command.ts')).runCommand(rest);
      case 'validate':
        return await (await import('./validate-command.ts')).validateCommand(rest, write);
      case 'images':
        return await (await import('./images-command.ts')).imagesCommand(rest, write);
      case 'status':
        return await (await import('./status-command.ts')).statusCommand(rest, write);
      case 'events':
        return await (await import('./events-command.ts')).eventsCommand(rest, write);
      case 'logs':
        return await (await import('./logs-command.ts')).logsCommand(rest, write);
      case 'restart':
        return await (await import('./restart-command.ts')).restartCommand(rest, write);
      case 'doctor':
        return await (await import('./doctor-command.ts')).doctorCommand(rest, write);
      default:
        process.stderr.write(`runner: unknown command "${printable(command)}"\n\n${MAIN_HELP}`);
        return 2;
    }
  } catch (error) {
    if (isRunnerError(error)) {
      process.stderr.write(`runner: ${printableLines(error.message)}\n`);
      if (error.code === 'USAGE') process.stderr.write(`run "runner ${printable(command ?? '')} --help" for usage\n`);
      return error.code === 'USAGE' ? 2 : 1;
    }
    process.stderr.write(`runner: unexpected error: ${printable(describeError(error))}\n${error instanceof Error ? printableLines(error.stack ?? '') : ''}\n`);
    return 70;
  }
};
