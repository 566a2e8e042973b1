import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { runMain } from '../../src/cli/run-main.ts';
import { COMMANDS } from '../../src/cli/commands.ts';

/**
 * The help is generated from the command table (src/cli/commands.ts). The
 * fixtures are the help texts as they were written by hand before the table
 * (test/fixtures/cli/help-*.txt): the generated text must stay the same.
 */
const fixture = (name: string): string =>
  readFileSync(path.join(import.meta.dirname, '../fixtures/cli', `help-${name}.txt`), 'utf8');

const stdoutOf = async (argv: string[]): Promise<{ code: number; stdout: string }> => {
  const out: string[] = [];
  const original: unknown = Reflect.get(process.stdout, 'write');
  const real = process.stdout.write.bind(process.stdout) as (...args: unknown[]) => boolean;
  process.stdout.write = (chunk: unknown, ...rest: unknown[]): boolean => {
    if (typeof chunk === 'string') {
      out.push(chunk);
      return true;
    }
    return real(chunk, ...rest);
  };
  try {
    return { code: await runMain(argv), stdout: out.join('') };
  } finally {
    Reflect.set(process.stdout, 'write', original);
  }
};

describe('help generated from the command table', () => {
  it('runner --help is the text it was', async () => {
    assert.deepEqual(await stdoutOf(['--help']), { code: 0, stdout: fixture('main') });
  });

  for (const name of ['run', 'validate', 'images', 'status', 'events', 'logs', 'restart', 'doctor']) {
    it(`runner ${name} --help and -h are the text they were`, async () => {
      assert.deepEqual(await stdoutOf([name, '--help']), { code: 0, stdout: fixture(name) });
      assert.deepEqual(await stdoutOf([name, '-h']), { code: 0, stdout: fixture(name) });
    });
  }

  it('every visible command of the table is in runner --help, the hidden completion command is not', async () => {
    const { stdout } = await stdoutOf(['--help']);
    for (const command of COMMANDS)
      assert.equal(stdout.includes(`  runner ${command.name}`), !command.hidden, command.name);
  });
});
