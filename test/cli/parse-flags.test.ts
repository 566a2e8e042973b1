import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IMAGES, LOGS, STATUS, VALIDATE } from '../../src/cli/commands.ts';
import { checkPositionals, parseCommandLine } from '../../src/cli/parse-flags.ts';
import { RunnerError } from '../../src/shared/errors.ts';

/** The usage error a command line gets, or undefined. */
const usageError = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof RunnerError && error.code === 'USAGE', String(error));
    return error.message;
  }
};

describe('parsing by the command table (strict node parseArgs)', () => {
  it('flags, short flags, repeated flags (the last wins) and -- before positionals', () => {
    const parsed = parseCommandLine(STATUS, ['--state-dir', '/a', '-w', '--state-dir=/b', '--', '--json']);
    assert.deepEqual(parsed, { values: { 'state-dir': '/b', watch: true }, positionals: ['--json'], help: false });
    assert.deepEqual(parseCommandLine(LOGS, ['-fc', 'side', 'web']).values, { follow: true, container: 'side' });
    assert.equal(parseCommandLine(STATUS, ['-h']).help, true);
  });

  it("unknown flags, missing values, values given to a boolean and stray positionals are usage errors with node's message", () => {
    const cases: [string[], string][] = [
      [['--frobnicate'], "Unknown option '--frobnicate'"],
      [['-wz'], "Unknown option '-z'"],
      [['--json=false'], "Option '--json' does not take an argument"],
      [['--no-json'], "Unknown option '--no-json'"],
      [['--stateDir', '/x'], "Unknown option '--stateDir'"],
    ];
    for (const [argv, message] of cases)
      assert.equal(
        usageError(() => parseCommandLine(STATUS, argv)),
        message,
        argv.join(' '),
      );
    assert.equal(
      usageError(() => parseCommandLine(STATUS, ['--config'])),
      "Option '--config <value>' argument missing",
    );
    assert.match(
      usageError(() => parseCommandLine(STATUS, ['--config', '--json'])) ?? '',
      /^Option '--config' argument is ambiguous/,
    );
    assert.equal(
      usageError(() => parseCommandLine(IMAGES, ['x'])),
      "Unexpected argument 'x'. This command does not take positional arguments",
    );
  });

  it('the number of positionals, said as each command said it', () => {
    assert.equal(
      usageError(() => checkPositionals('status', STATUS.positionals, ['a', 'b'])),
      'runner status takes at most one POD',
    );
    assert.equal(
      usageError(() => checkPositionals('logs', LOGS.positionals, [])),
      'runner logs needs exactly one POD',
    );
    assert.equal(
      usageError(() => checkPositionals('logs', LOGS.positionals, ['a', 'b'])),
      'runner logs needs exactly one POD',
    );
    assert.equal(
      usageError(() => checkPositionals('validate', VALIDATE.positionals, [])),
      'runner validate needs at least one FILE or DIR',
    );
    assert.equal(
      usageError(() => checkPositionals('validate', VALIDATE.positionals, ['a', 'b', 'c'])),
      undefined,
    );
  });
});
