import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RunnerError } from '../shared/errors.ts';
import type { CommandSpec, OptionTable, ParsedArgs, PositionalSpec } from './command-spec.ts';

/**
 * node's parseArgs, strict, with its errors turned into usage errors: an
 * unknown flag, a missing value or a value given to a boolean flag is
 * exit 2 with node's own message.
 */
export const parseFlags = <T extends NonNullable<ParseArgsConfig['options']>>(
  argv: string[],
  options: T,
  allowPositionals: boolean,
) => {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new RunnerError('USAGE', (error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
};

/** The command line of `command`, by its table entry; `help` is set for -h/--help. */
export const parseCommandLine = <O extends OptionTable>(
  command: CommandSpec<O>,
  argv: string[],
): ParsedArgs<O> & { help: boolean } => {
  const options: NonNullable<ParseArgsConfig['options']> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, option] of Object.entries(command.options))
    options[name] = option.short ? { type: option.type, short: option.short } : { type: option.type };
  const { values, positionals } = parseFlags(argv, options, (command.positionals?.max ?? 0) > 0);
  const { help, ...flags } = values;
  return { values: flags as ParsedArgs<O>['values'], positionals, help: help === true };
};

/** Too few or too many positional arguments, said as "runner logs needs exactly one POD". */
export const checkPositionals = (
  command: string,
  spec: PositionalSpec | undefined,
  positionals: readonly string[],
): void => {
  if (!spec) return;
  const { name, min, max } = spec;
  if (positionals.length < min && min === max)
    throw new RunnerError('USAGE', `runner ${command} needs exactly ${count(min)} ${name}`);
  if (positionals.length < min)
    throw new RunnerError('USAGE', `runner ${command} needs at least ${count(min)} ${name}`);
  if (positionals.length > max && min === max)
    throw new RunnerError('USAGE', `runner ${command} needs exactly ${count(max)} ${name}`);
  if (positionals.length > max) throw new RunnerError('USAGE', `runner ${command} takes at most ${count(max)} ${name}`);
};

const count = (n: number): string => (n === 1 ? 'one' : String(n));

export const oneOf = <T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined => {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value))
    throw new RunnerError('USAGE', `${flag} must be one of ${allowed.join(', ')} (got "${value}")`);
  return value as T;
};
