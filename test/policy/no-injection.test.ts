/**
 * No manifest value can become a podman option or reach a shell. Two halves:
 * validation refuses names that could (a leading "-", spaces, "$(...)", ";"),
 * and values that pass validation (an image, a command, an env value) reach
 * podman only as YAML on stdin or after "--": a fake podman executable records
 * its exact argv (NUL-separated) and stdin.
 */
import assert from 'node:assert/strict';
import { access, chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildUnits } from '../../src/desired/build-units.ts';
import { parseManifest } from '../../src/manifest/parse-manifest.ts';
import { CliPodman } from '../../src/podman/cli-podman.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

const SCRIPT = `#!/bin/sh
for arg in "$@"; do printf '%s\\0' "$arg"; done > "$FAKE_LOG"
cat > "$FAKE_LOG.stdin"
case "$1" in
  kube) printf 'Pod:\\n%s\\n' "${'a'.repeat(64)}" ;;
esac
`;

const SHELLY = [
  '-rf',
  '--privileged',
  'web; touch MARKER',
  '$(touch MARKER)',
  '`touch MARKER`',
  'a b',
  '|touch MARKER',
  '&& touch MARKER',
];

const manifest = (name: string, container = 'main', image = 'busybox'): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: container, image }] },
  });

describe('validation refuses names that could turn into flags or shell', () => {
  it('pod and container names, and images starting with "-"', () => {
    for (const bad of SHELLY) {
      const pod = parseManifest('/m/x.yaml', manifest(bad));
      assert.ok(
        pod.problems.some((problem) => problem.field === 'metadata.name'),
        `pod name ${bad}`,
      );
      const container = parseManifest('/m/x.yaml', manifest('ok', bad));
      assert.ok(
        container.problems.some((problem) => problem.field === 'spec.containers[0].name'),
        `container name ${bad}`,
      );
    }
    for (const image of ['-x', '--privileged', '  --rm']) {
      const parsed = parseManifest('/m/x.yaml', manifest('ok', 'main', image));
      assert.ok(
        parsed.problems.some((problem) => problem.field === 'spec.containers[0].image'),
        `image ${image}`,
      );
    }
  });
});

describe('CliPodman against a recording fake podman: manifest values never become arguments', () => {
  let dir: string;
  let podman: CliPodman;
  let log: string;
  const marker = (): string => path.join(dir, 'MARKER');
  const argv = async (): Promise<string[]> => (await readFile(log, 'utf8')).split('\0').slice(0, -1);

  before(async () => {
    dir = await makeTempDir('injection');
    const script = path.join(dir, 'podman');
    log = path.join(dir, 'argv');
    await writeFile(script, SCRIPT);
    await chmod(script, 0o755);
    podman = new CliPodman({ path: script, timeoutMs: 5000, env: { FAKE_LOG: log } });
    process.chdir(dir); // a relative MARKER would land here if anything ran a shell
  });
  after(async () => {
    process.chdir(path.resolve(import.meta.dirname, '../..'));
    await removeTempDir(dir);
  });

  it('kube play gets the whole manifest on stdin, and a fixed argv', async () => {
    const evil = SHELLY.join(' ');
    const text = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web', labels: { note: evil } },
      spec: {
        containers: [
          {
            name: 'main',
            image: `busybox:${'$(touch MARKER)'}`,
            command: SHELLY,
            args: SHELLY,
            env: [{ name: 'X', value: evil }],
          },
        ],
      },
    });
    const parsed = parseManifest(path.join(dir, 'web.json'), text);
    assert.deepEqual(parsed.problems, []);
    const [unit] = buildUnits(parsed, { defaultStopTimeoutSeconds: 1 });
    await podman.playKube(unit!.yaml);
    assert.deepEqual(await argv(), ['kube', 'play', '--quiet', '-']);
    const stdin = await readFile(`${log}.stdin`, 'utf8');
    for (const value of SHELLY) assert.ok(stdin.includes(value), value);
    await assert.rejects(access(marker()));
  });

  it('names and IDs go after "--"', async () => {
    for (const value of SHELLY) {
      const calls: [() => Promise<unknown>, string[]][] = [
        [() => podman.removePod(value, 1), ['pod', 'rm', '--force', '--time', '1', '--', value]],
        [() => podman.startPod(value), ['pod', 'start', '--', value]],
        [() => podman.volumeExists(value), ['volume', 'exists', '--', value]],
        [() => podman.removeSecret(value), ['secret', 'rm', '--', value]],
        [() => podman.imageExists(value), ['image', 'exists', '--', value]],
        [() => podman.startContainer(value), ['start', '--', value]],
        [() => podman.stopContainer(value, 1), ['stop', '--time', '1', '--', value]],
      ];
      for (const [call, expected] of calls) {
        await call();
        assert.deepEqual(await argv(), expected);
      }
    }
    await assert.rejects(access(marker()));
  });

  it('an exec probe command follows `--` and the container ID, where podman reads it as the command, not options', async () => {
    await podman.execInContainer('c'.repeat(64), SHELLY, 5000);
    assert.deepEqual(await argv(), ['--events-backend=none', 'exec', '--', 'c'.repeat(64), ...SHELLY]);
    await assert.rejects(access(marker()));
  });
});
