import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { runMain } from '../../src/cli/run-main.ts';
import { VERSION } from '../../src/shared/version.ts';
import { readManifestFixture } from '../helpers/fixtures.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

/**
 * Runs the CLI in-process with stdout and stderr captured. Only strings are
 * captured: node's test runner reports through the same stdout with Buffers,
 * and those pass through untouched.
 */
const cli = async (argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
  const out: string[] = [];
  const err: string[] = [];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- put back as is, and called with its stream as this
  const realOut = process.stdout.write;
  // eslint-disable-next-line @typescript-eslint/unbound-method -- as above
  const realErr = process.stderr.write;
  const capture = (sink: string[], real: typeof process.stdout.write) =>
    function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]): boolean {
      if (typeof chunk === 'string') {
        sink.push(chunk);
        return true;
      }
      return (real as (...args: unknown[]) => boolean).call(this, chunk, ...rest);
    } as typeof process.stdout.write;
  process.stdout.write = capture(out, realOut);
  process.stderr.write = capture(err, realErr);
  try {
    const code = await runMain(argv);
    return { code, stdout: out.join(''), stderr: err.join('') };
  } finally {
    process.stdout.write = realOut;
    process.stderr.write = realErr;
  }
};

const lines = (text: string): string[] => text.split('\n').filter((line) => line !== '');

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('cli');
});
afterEach(async () => {
  await removeTempDir(dir);
});

describe('runner validate', () => {
  it('a directory of valid manifests: exit 0, one ok line each, ignored files listed', async () => {
    await writeFile(path.join(dir, 'web.yaml'), readManifestFixture('pod.yaml'));
    await writeFile(
      path.join(dir, 'both.yaml'),
      readManifestFixture('configmap-and-pod.yaml').replace('name: web\nspec', 'name: both\nspec'),
    );
    await writeFile(path.join(dir, 'web.yaml~'), 'junk');
    await writeFile(path.join(dir, '.web.yaml.swp'), 'junk');
    const { code, stdout } = await cli(['validate', dir]);
    assert.equal(code, 0, stdout);
    assert.deepEqual(lines(stdout), [
      `${dir}/web.yaml~: ignored (editor backup)`,
      `${dir}/both.yaml: ok (ConfigMap/web-config, Pod/both)`,
      `${dir}/web.yaml: ok (Pod/web)`,
      '2 file(s) checked: 2 valid, 0 invalid',
    ]);
  });

  it('an invalid file: exit 1 and file:line:col: field: message', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: Bad\nspec:\n  containers:\n    - name: a\n');
    const { code, stdout } = await cli(['validate', file]);
    assert.equal(code, 1);
    const out = lines(stdout);
    assert.ok(
      out.includes(
        `${file}:4:9: metadata.name: must be a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit`,
      ),
      stdout,
    );
    assert.ok(out.includes(`${file}:7:7: spec.containers[0].image: is required`), stdout);
    assert.equal(out.at(-1), '1 file(s) checked: 0 valid, 1 invalid');
  });

  it('a name clash between files of a directory: exit 1, naming both files', async () => {
    await writeFile(path.join(dir, 'a.yaml'), readManifestFixture('pod.yaml'));
    await writeFile(path.join(dir, 'b.yaml'), readManifestFixture('pod.yaml'));
    const { code, stdout } = await cli(['validate', dir]);
    assert.equal(code, 1);
    assert.ok(
      lines(stdout).some((line) =>
        line.startsWith(`${dir}/b.yaml: metadata.name: Pod/web is already defined in ${dir}/a.yaml`),
      ),
      stdout,
    );
    assert.equal(lines(stdout).at(-1), '2 file(s) checked: 1 valid, 1 invalid');
  });

  it('a missing path: exit 1', async () => {
    const { code, stdout } = await cli(['validate', path.join(dir, 'nope.yaml')]);
    assert.equal(code, 1);
    assert.ok(stdout.includes(`${dir}/nope.yaml: no such file or directory`));
  });

  it('an empty file is valid', async () => {
    await writeFile(path.join(dir, 'empty.yaml'), '');
    const { code, stdout } = await cli(['validate', path.join(dir, 'empty.yaml')]);
    assert.equal(code, 0);
    assert.ok(stdout.includes(`${dir}/empty.yaml: ok (empty)`));
  });

  it('a value holding control characters cannot forge an ok line or reach the terminal', async () => {
    const forged = `Pod\r${dir}/evil.yaml: ok (Pod/web)\n\u001b]0;owned\u0007\u001b[2J`;
    await writeFile(
      path.join(dir, 'evil.yaml'),
      `apiVersion: v1\nkind: ${JSON.stringify(forged)}\nmetadata:\n  name: web\n`,
    );
    await writeFile(path.join(dir, 'bad\nname.yaml~'), 'junk');
    const { code, stdout } = await cli(['validate', dir]);
    assert.equal(code, 1);
    assert.doesNotMatch(stdout, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    assert.deepEqual(
      lines(stdout).filter((line) => line.includes(': ok')).length,
      1,
      'the only "ok" is inside the escaped problem line',
    );
    assert.ok(
      stdout.includes(`kind "Pod\\r${dir}/evil.yaml: ok (Pod/web)\\n\\x1b]0;owned\\x07\\x1b[2J" is not supported`),
      stdout,
    );
    assert.ok(stdout.includes(`${dir}/bad\\nname.yaml~: ignored (editor backup)`), stdout);
    assert.match(lines(stdout).at(-1) ?? '', /^1 file\(s\) checked: 0 valid, 1 invalid$/);
  });

  it('no arguments is a usage error: exit 2', async () => {
    const { code, stdout, stderr } = await cli(['validate']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /needs at least one FILE or DIR/);
  });

  it('an unknown flag is a usage error: exit 2', async () => {
    const { code } = await cli(['validate', '--frobnicate', dir]);
    assert.equal(code, 2);
  });
});

describe('runner (main)', () => {
  it('--version prints the version and the node version', async () => {
    for (const flag of ['--version', '-v', 'version']) {
      const { code, stdout } = await cli([flag]);
      assert.equal(code, 0);
      assert.ok(stdout.includes(VERSION), stdout);
      assert.ok(stdout.includes(`node ${process.versions.node}`), stdout);
    }
  });

  it('--help exits 0 and no command exits 2, both with usage on stdout', async () => {
    const help = await cli(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage:/);
    const none = await cli([]);
    assert.equal(none.code, 2);
    assert.match(none.stdout, /Usage:/);
  });

  it('an unknown command exits 2 and names it', async () => {
    const { code, stdout, stderr } = await cli(['frobnicate']);
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.match(stderr, /unknown command "frobnicate"/);
  });

  it('run with a missing manifest directory exits 1 with a clear message (podman is never reached)', async () => {
    const manifests = path.join(dir, 'no-such-dir');
    const state = path.join(dir, 'state');
    await mkdir(state);
    const config = path.join(dir, 'config.yaml');
    await writeFile(config, 'podman:\n  path: /nonexistent/podman\n');
    const { code, stdout, stderr } = await cli([
      'run',
      '--config',
      config,
      '--manifest-dir',
      manifests,
      '--state-dir',
      state,
      '--log-level',
      'silent',
    ]);
    assert.equal(code, 1);
    assert.equal(stdout, '');
    assert.match(stderr, new RegExp(`manifest directory ${manifests} does not exist or is not a directory`));
    assert.doesNotMatch(stderr, /podman/);
  });

  it('run with an invalid config file exits 1 naming the key', async () => {
    const config = path.join(dir, 'config.yaml');
    await writeFile(config, 'paralelism: 2\n');
    const { code, stderr } = await cli(['run', '--config', config, '--manifest-dir', dir, '--state-dir', dir]);
    assert.equal(code, 1);
    assert.match(stderr, /config\.yaml:1: paralelism: unknown key/);
  });

  it('error messages are printed escaped: an unknown command or flag cannot drive the terminal', async () => {
    const unknown = await cli(['\u001b[2Jwho']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^runner: unknown command "\\x1b\[2Jwho"\n/);
    const usage = await cli(['validate', '--\u001b[2J']);
    assert.equal(usage.code, 2);
    assert.doesNotMatch(usage.stderr, /\u001b/);
    assert.match(usage.stderr, /\\x1b\[2J/);
  });

  it('run with a bad --log-level is a usage error', async () => {
    const { code, stderr } = await cli(['run', '--log-level', 'loud', '--manifest-dir', dir, '--state-dir', dir]);
    assert.equal(code, 2);
    assert.match(stderr, /--log-level must be one of/);
  });
});
