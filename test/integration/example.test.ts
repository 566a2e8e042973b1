/**
 * The README's first command, for real: `scripts/example.sh` runs the runner
 * on the bundled examples/manifests. Its pods come up, `hello` answers on
 * port 8080 of the host, and Ctrl-C stops the runner and leaves them running.
 * The script picks podman's settings itself (the test fixture only when the
 * host's defaults cannot run a container), as it does for a user.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { podByName, REPO, removePodsFrom, requirePodman, waitFor } from './harness.ts';

const EXAMPLES = path.join(REPO, 'examples/manifests');

describe('the README example (scripts/example.sh)', () => {
  before(async () => {
    await requirePodman();
    await removePodsFrom(EXAMPLES);
  });
  after(async () => removePodsFrom(EXAMPLES));

  it('runs hello and ticker, hello answers on localhost:8080, and Ctrl-C leaves them running', async () => {
    const { CONTAINERS_CONF: _ignored, ...env } = process.env;
    const child = spawn('bash', ['scripts/example.sh', '--log-format', 'json'], {
      cwd: REPO,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let output = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output = (output + chunk).slice(-8_000)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(
        'hello and ticker to run',
        async () => {
          if (child.exitCode !== null) return true; // failed: said below
          return (await podByName('hello'))?.status === 'Running' && (await podByName('ticker'))?.status === 'Running';
        },
        120_000,
      );
      assert.equal(child.exitCode, null, `example.sh exited before its pods ran:\n${output}`);
      const page = await waitFor(
        'hello to answer on localhost:8080',
        async () => {
          const response = await fetch('http://127.0.0.1:8080/');
          return response.ok ? response.text() : undefined;
        },
        30_000,
      );
      assert.match(page, /Hello from a static pod/);
      const ids = [(await podByName('hello'))!.id, (await podByName('ticker'))!.id];
      child.kill('SIGINT');
      assert.equal(await exited, 0, `the runner stops cleanly on Ctrl-C:\n${output}`);
      assert.deepEqual([(await podByName('hello'))?.id, (await podByName('ticker'))?.id], ids, 'its pods keep running');
      assert.equal((await podByName('hello'))?.status, 'Running');
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    }
  });
});
