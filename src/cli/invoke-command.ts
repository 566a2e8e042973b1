import type { CommandSpec, OptionTable, Write } from './command-spec.ts';
import { renderCommandHelp } from './help.ts';
import { checkPositionals, parseCommandLine } from './parse-flags.ts';

/**
 * Runs one command of the table with its arguments (after the command
 * name): parses them by the table, prints the help for -h/--help, checks the
 * number of positional arguments, then loads the handler and runs it. Usage
 * errors are thrown as RunnerError('USAGE'); runMain prints them.
 */
export const invokeCommand = async <O extends OptionTable, D>(
  command: CommandSpec<O, D>,
  argv: string[],
  write: Write,
  deps?: D,
): Promise<number> => {
  const { values, positionals, help } = parseCommandLine(command, argv);
  if (help) {
    write(renderCommandHelp(command));
    return 0;
  }
  checkPositionals(command.name, command.positionals, positionals);
  const handler = await command.load();
  return handler({ values, positionals }, write, deps);
};
