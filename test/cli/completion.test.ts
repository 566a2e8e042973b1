import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { COMMANDS } from '../../src/cli/commands.ts';
import { renderBashCompletion } from '../../src/cli/completion-bash.ts';
import { renderZshCompletion } from '../../src/cli/completion-zsh.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

const REPO = path.join(import.meta.dirname, '../..');

let dir: string;
let stateDir: string;
let bashScript: string;
let zshScript: string;
before(async () => {
  dir = await makeTempDir('completion');
  stateDir = path.join(dir, 'state');
  await mkdir(stateDir);
  // What the completion reads of a status file: the pods' names, live daemon or not; an odd name is left out.
  await writeFile(
    path.join(stateDir, 'status.json'),
    JSON.stringify({ pods: [{ name: 'web' }, { name: 'worker' }, { name: 'api' }, { name: 'x; rm -rf /' }] }),
  );
  // The scripts call `runner completion pods` through the command word: here, the CLI from source.
  await writeFile(
    path.join(dir, 'runner'),
    `#!/bin/sh\nexec "${process.execPath}" --import "${import.meta.resolve('tsx')}" "${REPO}/src/cli/main.ts" "$@"\n`,
    { mode: 0o755 },
  );
  bashScript = path.join(dir, 'runner.bash');
  zshScript = path.join(dir, '_runner');
  await writeFile(bashScript, renderBashCompletion(COMMANDS));
  await writeFile(zshScript, renderZshCompletion(COMMANDS));
});
after(async () => {
  await removeTempDir(dir);
});

/** What bash offers for a command line whose last word is being completed, as `runner <TAB>` would. */
const bashComplete = (words: string[]): string[] => {
  const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _runner; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync(
    'bash',
    ['--norc', '--noprofile', '-c', script, 'bash', bashScript, path.join(dir, 'runner'), ...words],
    { cwd: dir, encoding: 'utf8' },
  );
  return out.split('\n').filter((line) => line !== '');
};

describe('bash completion generated from the command table', () => {
  it('completes commands, flags, flag values and files', () => {
    assert.deepEqual(bashComplete(['st']), ['status']);
    assert.deepEqual(bashComplete(['']), [
      'run',
      'validate',
      'images',
      'status',
      'events',
      'logs',
      'restart',
      'doctor',
      '--help',
      '--version',
    ]);
    assert.deepEqual(bashComplete(['status', '--j']), ['--json']);
    assert.deepEqual(bashComplete(['logs', '-']), [
      '--config',
      '--manifest-dir',
      '-c',
      '--container',
      '-f',
      '--follow',
      '--tail',
      '-h',
      '--help',
    ]);
    assert.deepEqual(bashComplete(['run', '--pull', 'm']), ['missing']);
    assert.deepEqual(bashComplete(['run', '--log-level', 't']), ['trace']);
    assert.deepEqual(bashComplete(['logs', '--tail', '']), [], 'a number: nothing to offer');
    assert.deepEqual(bashComplete(['validate', 'runner.b']), ['runner.bash']);
    assert.deepEqual(bashComplete(['status', '--state-dir', 'sta']), ['state']);
  });

  it('completes pod names from the status file of the state directory on the command line, once', () => {
    assert.deepEqual(bashComplete(['status', '--state-dir', stateDir, '']), ['api', 'web', 'worker']);
    assert.deepEqual(bashComplete(['restart', '--state-dir', stateDir, 'w']), ['web', 'worker']);
    assert.deepEqual(
      bashComplete(['status', '--state-dir=', stateDir, '-w', 'a']).length,
      0,
      'bash splits at "=": --state-dir = DIR',
    );
    assert.deepEqual(bashComplete(['events', '--state-dir', '=', stateDir, 'a']), ['api']);
    assert.deepEqual(bashComplete(['status', '--state-dir', stateDir, 'web', '']), [], 'status takes one POD');
  });
});

/**
 * zsh's completion functions stubbed to print what they are given: the
 * script's logic, without a terminal. (Checked by hand in an interactive zsh.)
 */
const zshCalls = (words: string[]): string => {
  const script = `
    _describe() { print -r -- "describe $*"; [[ $3 == pods ]] && print -rl -- $pods; }
    _arguments() { print -rl -- "arguments" "$@"; }
    _call_program() { shift; eval "$*"; }
    words=("$@"); CURRENT=$#
    source "${zshScript}"`;
  return execFileSync('zsh', ['-f', '-c', script, 'zsh', path.join(dir, 'runner'), ...words], {
    cwd: dir,
    encoding: 'utf8',
  });
};

describe('zsh completion generated from the command table', () => {
  it('is valid zsh', () => {
    execFileSync('zsh', ['-n', zshScript]);
  });

  it("describes the commands, then each command's flags and arguments", () => {
    assert.match(zshCalls(['st']), /^describe -t commands runner command commands$/m);
    const status = zshCalls(['status', '--j']);
    assert.match(status, /^--json\[the same data as a versioned JSON document\]$/m);
    assert.match(status, /^--state-dir=\[the daemon's state directory\]:dir:_files -\/$/m);
    assert.match(status, /^1::pod:_runner_pods$/m);
    assert.match(
      zshCalls(['run', '--log-level', '']),
      /^--log-level=\[silent, error, warn, info, debug or trace\]:level:\(silent error warn info debug trace\)$/m,
    );
  });

  it('completes pod names through runner completion pods', () => {
    // _runner_pods, as _arguments would call it for the POD argument (sourcing ran _runner, which shifted words).
    const pods = (words: string[]): string[] => {
      const script = `_describe() { print -rl -- $pods; }; _arguments() { :; }; _call_program() { shift; eval "$*"; }
        words=("$@"); CURRENT=$#; source "${zshScript}"; _runner_command=$1; _runner_pods`;
      const out = execFileSync('zsh', ['-f', '-c', script, 'zsh', path.join(dir, 'runner'), ...words], {
        cwd: dir,
        encoding: 'utf8',
      });
      return out.split('\n').filter((line) => line !== '');
    };
    assert.deepEqual(pods(['status', '--state-dir', stateDir, '']), ['api', 'web', 'worker']);
    assert.deepEqual(pods(['logs', '--state-dir', '/nonexistent', '']), [], 'no status file: no names, no error');
  });
});
