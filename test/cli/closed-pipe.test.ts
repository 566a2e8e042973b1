/**
 * `runner validate DIR | head -1`: the reader goes away before the runner has
 * written everything. The real executable is run (the handler lives in the
 * entry point, not in runMain) in a real shell pipeline.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CLOSED_PIPE_EXIT, exitQuietlyWhenPipeCloses } from '../../src/cli/closed-pipe.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

const REPO = path.resolve(import.meta.dirname, '../..');

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('closed-pipe');
});
afterEach(() => removeTempDir(dir));

/**
 * `runner ARGS | READER` in bash, with a real pipe (node's own child stdio is
 * a socket pair, whose buffer can take all of the output). Returns what the
 * reader printed, the runner's stderr and its exit code (PIPESTATUS).
 */
const pipeline = async (args: string[], reader: string): Promise<{ code: number; stderr: string; stdout: string }> => {
  const script = ['"$NODE" --import tsx "$MAIN" "$@" |', reader, '; echo "exit ${PIPESTATUS[0]}" >&2'].join(' ');
  const child = spawn('bash', ['-c', script, 'bash', ...args], {
    cwd: REPO,
    env: { ...process.env, NODE: process.execPath, MAIN: path.join(REPO, 'src/cli/main.ts') },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  await once(child, 'exit');
  const status = /exit (\d+)\n$/.exec(stderr);
  return { code: Number(status?.[1]), stderr: stderr.slice(0, status?.index), stdout };
};

describe('a reader that closes stdout early', () => {
  it('runner validate DIR | head -1: the first line, then a quiet exit 141, no stack trace', async () => {
    // About 200 KiB of output, far more than a pipe holds (64 KiB), so the
    // runner is still writing when head goes. Empty files are valid and cost no parsing.
    await Promise.all(
      Array.from({ length: 800 }, (_, index) =>
        writeFile(path.join(dir, `${String(index).padStart(4, '0')}-${'n'.repeat(230)}.yaml`), ''),
      ),
    );
    const { code, stderr, stdout } = await pipeline(['validate', dir], 'head -1');
    assert.match(stdout, /^\/.*\/0000-n+\.yaml: ok \(empty\)\n$/);
    assert.deepEqual({ code, stderr }, { code: CLOSED_PIPE_EXIT, stderr: '' });
  });

  it('any command: runner --help into a reader that reads nothing', async () => {
    const { code, stderr } = await pipeline(['--help'], 'true');
    assert.deepEqual({ code, stderr }, { code: CLOSED_PIPE_EXIT, stderr: '' });
  });

  it('only EPIPE is quiet: any other stream error is still thrown', () => {
    const exits: number[] = [];
    const listeners: ((error: NodeJS.ErrnoException) => void)[] = [];
    const stream = {
      on: (_event: string, listener: (error: NodeJS.ErrnoException) => void) => listeners.push(listener),
    } as unknown as NodeJS.WriteStream;
    exitQuietlyWhenPipeCloses(stream, (code) => exits.push(code));
    listeners[0]!(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    assert.throws(() => listeners[0]!(Object.assign(new Error('write EIO'), { code: 'EIO' })), /EIO/);
    assert.deepEqual(exits, [CLOSED_PIPE_EXIT]);
  });
});
