/**
 * Bad input against the real runner and podman: a directory full of hostile
 * files (alias bomb, deep nesting, 50 MB, 360,000 keys, garbage, invalid UTF-8, FIFO,
 * device node, socket, a directory, symlinks to /dev/zero and out of the
 * directory, bad names and ports, policy and trust violations, files that
 * flap in and out of existence). The runner must keep serving the good pods,
 * with the same pod IDs, and report each bad file by name.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, mkdir, open, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  createWorkspace,
  podByName,
  podYaml,
  requirePodman,
  sleep,
  startRunner,
  uniquePrefix,
  waitFor,
  type RunnerProcess,
  type Workspace,
} from './harness.ts';

const running = (name: string) => async () => {
  const pod = await podByName(name);
  return pod?.status === 'Running' ? pod : undefined;
};

const aliasBomb = (): string => {
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i += 1) {
    const ref = `*${String.fromCharCode(96 + i)}`;
    levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(ref).join(',')}]`);
  }
  return `${levels.join('\n')}\n`;
};

describe('hardening: hostile files in the manifest directory', () => {
  let ws: Workspace;
  let runner: RunnerProcess;
  let server: net.Server | undefined;
  const prefix = uniquePrefix('hard');
  const before1 = `${prefix}-before`;
  const after1 = `${prefix}-after`;
  const badFiles: string[] = [];

  before(async () => {
    await requirePodman();
    ws = await createWorkspace();
    await chmod(ws.manifestDir, 0o755);
    runner = await startRunner(ws);
  });
  after(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await runner?.stop();
    await ws?.cleanup();
  });

  it('keeps every good pod running (same ID) and reports every bad file', async () => {
    const dir = ws.manifestDir;
    const at = (name: string): string => path.join(dir, name);
    await writeFile(at('good-before.yaml'), podYaml(before1));
    const first = await waitFor('the first good pod', running(before1), 30_000);

    const bad = async (name: string, make: (file: string) => Promise<unknown>): Promise<void> => {
      badFiles.push(at(name));
      await make(at(name));
    };
    const withName = (name: string) => podYaml(name).replace(/name: .*\n/, `name: ${JSON.stringify(name)}\n`);
    await bad('bomb.yaml', (file) => writeFile(file, aliasBomb()));
    await bad('deep.yaml', (file) => writeFile(file, '['.repeat(100_000)));
    await bad('big.yaml', async (file) => {
      await (await open(file, 'w')).close();
      await truncate(file, 50 * 1024 * 1024); // sparse
    });
    await bad('many-keys.yaml', (file) => {
      const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: cm', 'data:'];
      for (let i = 0; lines.length < 360_000; i += 1) lines.push(`  key-${i}: "value ${i}"`);
      return writeFile(file, `${lines.join('\n')}\n`);
    });
    await bad('garbage.yaml', (file) =>
      writeFile(file, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256))),
    );
    await bad('latin1.yaml', (file) =>
      writeFile(file, Buffer.from('apiVersion: v1\nkind: Pod\nmetadata:\n  name: caf\xe9\n', 'latin1')),
    );
    await bad('fifo.yaml', async (file) => execFileSync('mkfifo', [file]));
    await bad('dev.yaml', async (file) =>
      process.geteuid?.() === 0 ? execFileSync('mknod', [file, 'c', '1', '3']) : symlink('/dev/null', file),
    );
    await bad('sock.yaml', async (file) => {
      server = net.createServer();
      await new Promise<void>((resolve) => server!.listen(file, resolve));
    });
    await bad('x.yaml', (file) => mkdir(file));
    await bad('zero.yaml', (file) => symlink('/dev/zero', file));
    await bad('outside.yaml', async (file) => {
      await writeFile(path.join(ws.dir, 'outside.txt'), podYaml(`${prefix}-outside`));
      await symlink(path.join(ws.dir, 'outside.txt'), file);
    });
    await bad('dotdot.yaml', (file) => writeFile(file, withName('a..b')));
    await bad('slash.yaml', (file) => writeFile(file, withName('a/b')));
    await bad('spaces.yaml', (file) => writeFile(file, withName('a b')));
    await bad('upper.yaml', (file) => writeFile(file, withName('Web')));
    await bad('long.yaml', (file) => writeFile(file, withName('a'.repeat(300))));
    await bad('flag.yaml', (file) => writeFile(file, withName('--privileged')));
    await bad('dup.yaml', (file) =>
      writeFile(file, podYaml(`${prefix}-dup`).replace(/( {4}- name: main\n(.*\n)*)/, '$1$1')),
    );
    await bad('ports.yaml', (file) =>
      writeFile(
        file,
        podYaml(`${prefix}-ports`, { extraSpec: '' }).concat('      ports:\n        - containerPort: 70000\n'),
      ),
    );
    await bad('privileged.yaml', (file) =>
      writeFile(file, podYaml(`${prefix}-priv`).concat('      securityContext:\n        privileged: true\n')),
    );
    await bad('hostpath.yaml', (file) =>
      writeFile(
        file,
        podYaml(`${prefix}-hp`, {
          extraSpec: '  volumes:\n    - name: v\n      hostPath:\n        path: /etc/haproxy/../shadow',
        }),
      ),
    );
    // Issue 11's three ways past the policy: a merge key, a key in another case, a claim on a host device.
    await bad('merge.yaml', (file) =>
      writeFile(file, podYaml(`${prefix}-merge`).concat('      securityContext:\n        <<: { privileged: true }\n')),
    );
    await bad('case.yaml', (file) =>
      writeFile(
        file,
        podYaml(`${prefix}-case`).concat('      securityContext:\n        Capabilities: { Add: [SYS_ADMIN] }\n'),
      ),
    );
    await bad('claim.yaml', (file) =>
      writeFile(
        file,
        'apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: root\n  annotations:\n    volume.podman.io/device: /\n    volume.podman.io/type: none\n    volume.podman.io/mount-options: bind\n---\n'.concat(
          podYaml(`${prefix}-claim`, {
            extraSpec: '  volumes:\n    - name: r\n      persistentVolumeClaim: { claimName: root }',
          }),
        ),
      ),
    );
    await bad('unconfined.yaml', (file) =>
      writeFile(
        file,
        podYaml(`${prefix}-unconfined`, { extraSpec: '  securityContext:\n    seccompProfile: { type: Unconfined }' }),
      ),
    );
    // A good file edited into one of them: the pod keeps running its last good spec.
    await bad('good-before.yaml', (file) =>
      writeFile(file, podYaml(before1).concat('      securityContext:\n        <<: { privileged: true }\n')),
    );
    await bad('writable.yaml', async (file) => {
      await writeFile(file, podYaml(`${prefix}-writable`));
      await chmod(file, 0o666);
    });
    // Files that exist only for a moment: listed, then gone before (or while) they are read.
    for (let i = 0; i < 100; i += 1) {
      await writeFile(at('flap.yaml'), podYaml(`${prefix}-flap`));
      await rm(at('flap.yaml'));
    }

    await writeFile(at('good-after.yaml'), podYaml(after1));
    const second = await waitFor('the second good pod', running(after1), 30_000);

    const errorsFor = (file: string) =>
      runner.logs.filter((log) => log.level === 'error' && JSON.stringify(log).includes(file));
    await waitFor(
      'an error naming every bad file',
      async () => badFiles.every((file) => errorsFor(file).length > 0),
      15_000,
    ).catch(() => {
      assert.fail(`no error logged for: ${badFiles.filter((file) => errorsFor(file).length === 0).join(', ')}`);
    });
    const expected: Record<string, RegExp> = {
      'bomb.yaml': /alias/i,
      'big.yaml': /larger than the 10485760-byte limit/,
      'many-keys.yaml': /:100002:3.*more than 200000 keys and values in one file/,
      'latin1.yaml': /not valid UTF-8/,
      'fifo.yaml': /not a regular file/,
      'dev.yaml': /not a regular file|outside the manifest directory/,
      'sock.yaml': /not a regular file \(socket\)/,
      'x.yaml': /not a regular file/,
      'zero.yaml': /symlink to \/dev\/zero, outside the manifest directory/,
      'outside.yaml': /outside the manifest directory/,
      'dotdot.yaml': /metadata\.name: must be a DNS-1123 label/,
      'slash.yaml': /metadata\.name: must be a DNS-1123 label/,
      'spaces.yaml': /metadata\.name: must be a DNS-1123 label/,
      'upper.yaml': /metadata\.name: must be a DNS-1123 label/,
      'long.yaml': /metadata\.name: must be at most 63 characters/,
      'flag.yaml': /metadata\.name: must be a DNS-1123 label/,
      'dup.yaml': /container names must be unique/,
      'ports.yaml': /containerPort: must be between 1 and 65535/,
      'privileged.yaml': /spec\.containers\[0\]\.securityContext\.privileged: denied by policy\.privileged/,
      'hostpath.yaml':
        /\/etc\/shadow \(written \/etc\/haproxy\/\.\.\/shadow\) is outside policy\.hostPath\.pathPrefixes/,
      'writable.yaml': /writable by group and others/,
      'merge.yaml': /:\d+:\d+: spec\.containers\[0\]\.securityContext\.<<: YAML merge keys \(<<\) are not accepted/,
      'case.yaml':
        /:\d+:\d+: spec\.containers\[0\]\.securityContext\.Capabilities: field names are case-sensitive; did you mean `capabilities`\?/,
      'claim.yaml':
        /:\d+:\d+: metadata\.annotations\["volume\.podman\.io\/device"\]: \/ is outside policy\.hostPath\.pathPrefixes/,
      'unconfined.yaml':
        /:\d+:\d+: spec\.securityContext\.seccompProfile\.type: Unconfined is denied by policy\.seccompUnconfined/,
      'good-before.yaml': /YAML merge keys/,
    };
    for (const [name, pattern] of Object.entries(expected)) {
      const messages = errorsFor(at(name)).map((log) => String(log.msg));
      assert.ok(
        messages.some((message) => pattern.test(message)),
        `${name}: ${messages.join(' | ')}`,
      );
    }

    await sleep(4_000); // two resyncs with every bad file in place
    assert.equal(runner.child.exitCode, null, 'the runner is still running');
    assert.equal((await podByName(before1))?.id, first.id);
    assert.equal((await podByName(before1))?.status, 'Running');
    assert.equal((await podByName(after1))?.id, second.id);
    for (const name of [
      'outside',
      'dup',
      'ports',
      'priv',
      'hp',
      'writable',
      'flap',
      'merge',
      'case',
      'claim',
      'unconfined',
    ])
      assert.equal(await podByName(`${prefix}-${name}`), undefined, name);

    const status = await readFile(path.join(ws.stateDir, 'status.json'), 'utf8').catch(() => undefined);
    if (status !== undefined) {
      for (const file of badFiles) assert.ok(status.includes(JSON.stringify(file)), `status.json lists ${file}`);
    }
  });
});
