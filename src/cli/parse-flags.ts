import { parseArgs, type ParseArgsConfig } from 'node:util';
import { RunnerError } from '../shared/errors.ts';

/** node's parseArgs, with its errors turned into usage errors. */
export const parseFlags = <T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals: boolean) => {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    throw new RunnerError('USAGE', (error as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
};

export const oneOf = <T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined => {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new RunnerError('USAGE', `${flag} must be one of ${allowed.join(', ')} (got "${value}")`);
  return value as T;
};
