import assert from 'node:assert/strict';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CliPodman } from '../../src/podman/cli-podman.ts';
import { PodmanError } from '../../src/podman/podman-error.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

/**
 * A stand-in podman executable: records its arguments (one per line) and its
 * stdin, then behaves as FAKE_MODE says. `exec sleep` so a kill reaches the
 * sleeping process itself.
 */
const SCRIPT = `#!/bin/sh
printf '%s\\n' "$@" > "$FAKE_LOG"
cat > "$FAKE_LOG.stdin"
case "$FAKE_MODE" in
  stdout) printf '%s' "$FAKE_STDOUT" ;;
  sleep) exec sleep 30 ;;
  env) env > "$FAKE_LOG.env" ;;
  exit) printf '%s' "$FAKE_STDERR" >&2; exit "$FAKE_EXIT" ;;
esac
`;

const POD_PS_4_3 = JSON.stringify([
  {
    Cgroup: 'machine.slice',
    Containers: [
      { Id: 'c1'.repeat(32), Names: 'a1b2c3d4e5f6-infra', Status: 'running', RestartCount: 0 },
      { Id: 'c2'.repeat(32), Names: 'web-main', Status: 'running', RestartCount: 0 },
    ],
    Created: '2026-01-01T10:00:00.123456789Z',
    Id: 'a1'.repeat(32),
    InfraId: 'c1'.repeat(32),
    Name: 'web',
    Namespace: '',
    Networks: ['podman'],
    Status: 'Running',
    Labels: { app: 'web', 'static-pod-runner/managed': 'true' },
  },
  {
    Created: '2026-01-01T10:00:01Z',
    Id: 'b2'.repeat(32),
    Name: 'bare',
    Status: 'Created',
    Labels: null,
    Containers: null,
  },
]);

let dir: string;
let executable: string;
let log: string;

before(async () => {
  dir = await makeTempDir('podman');
  executable = path.join(dir, 'podman');
  log = path.join(dir, 'calls');
  await writeFile(executable, SCRIPT);
  await chmod(executable, 0o755);
});
after(async () => {
  await removeTempDir(dir);
});

const podman = (env: Record<string, string>, timeoutMs = 10_000): CliPodman =>
  new CliPodman({ path: executable, timeoutMs, env: { FAKE_LOG: log, ...env } });
const answering = (stdout: string): CliPodman => podman({ FAKE_MODE: 'stdout', FAKE_STDOUT: stdout });
const exiting = (code: number, stderr: string): CliPodman =>
  podman({ FAKE_MODE: 'exit', FAKE_EXIT: String(code), FAKE_STDERR: stderr });
const argsSeen = async (): Promise<string[]> => (await readFile(log, 'utf8')).split('\n').slice(0, -1);

const rejectsWith = async (promise: Promise<unknown>, check: (error: PodmanError) => void): Promise<void> => {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof PodmanError, String(error));
    check(error);
    return true;
  });
};

describe('CliPodman against a fake podman executable', () => {
  it('version: reads Client.Version', async () => {
    assert.equal(
      await answering('{"Client":{"APIVersion":"4.3.1","Version":"4.3.1","GoVersion":"go1.19.8"}}').version(),
      '4.3.1',
    );
    assert.deepEqual(await argsSeen(), ['version', '--format', 'json']);
  });

  it('listPods: maps podman 4.3 JSON, null labels and containers included', async () => {
    const pods = await answering(POD_PS_4_3).listPods();
    assert.deepEqual(await argsSeen(), ['pod', 'ps', '--format', 'json']);
    assert.deepEqual(pods, [
      {
        id: 'a1'.repeat(32),
        name: 'web',
        status: 'Running',
        created: '2026-01-01T10:00:00.123456789Z',
        labels: { app: 'web', 'static-pod-runner/managed': 'true' },
        containers: [
          { id: 'c1'.repeat(32), name: 'a1b2c3d4e5f6-infra', status: 'running' },
          { id: 'c2'.repeat(32), name: 'web-main', status: 'running' },
        ],
      },
      {
        id: 'b2'.repeat(32),
        name: 'bare',
        status: 'Created',
        created: '2026-01-01T10:00:01Z',
        labels: {},
        containers: [],
      },
    ]);
  });

  it('listContainers: maps podman 4.3 `ps -a --pod` JSON (unix seconds, the image ID, "never exited", the pod name)', async () => {
    const ps = JSON.stringify([
      {
        Id: 'c1'.repeat(32),
        Names: ['a1b2c3d4e5f6-infra'],
        Pod: 'a1'.repeat(32),
        PodName: 'web',
        IsInfra: true,
        ImageID: 'f0'.repeat(32),
        State: 'running',
        ExitCode: 0,
        StartedAt: 1796216661,
        ExitedAt: -62135596800,
        Labels: null,
        Created: 1796216660,
      },
      {
        Id: 'c2'.repeat(32),
        Names: ['web-main'],
        Pod: 'a1'.repeat(32),
        PodName: 'web',
        IsInfra: false,
        ImageID: 'e0'.repeat(32),
        State: 'exited',
        ExitCode: 137,
        StartedAt: 1796216661,
        ExitedAt: 1796216663,
        Labels: { app: 'web' },
      },
    ]);
    const containers = await answering(ps).listContainers();
    assert.deepEqual(await argsSeen(), ['ps', '--all', '--pod', '--format', 'json']);
    assert.deepEqual(containers, [
      {
        id: 'c1'.repeat(32),
        name: 'a1b2c3d4e5f6-infra',
        podId: 'a1'.repeat(32),
        podName: 'web',
        createdAt: 1796216660000,
        isInfra: true,
        imageId: 'f0'.repeat(32),
        state: 'running',
        exitCode: 0,
        startedAt: 1796216661000,
        exitedAt: undefined,
        labels: {},
      },
      {
        id: 'c2'.repeat(32),
        name: 'web-main',
        podId: 'a1'.repeat(32),
        podName: 'web',
        isInfra: false,
        imageId: 'e0'.repeat(32),
        state: 'exited',
        exitCode: 137,
        startedAt: 1796216661000,
        exitedAt: 1796216663000,
        labels: { app: 'web' },
      },
    ]);
  });

  it('podLabels: a template, read on 4.x (one object) and 5.x (one per pod) alike; a pod with none is {}', async () => {
    assert.deepEqual(await answering('{"static-pod-runner/managed":"true"}\n').podLabels('a1'.repeat(32)), {
      'static-pod-runner/managed': 'true',
    });
    assert.deepEqual(await argsSeen(), ['pod', 'inspect', '--format', '{{json .Labels}}', '--', 'a1'.repeat(32)]);
    assert.deepEqual(await answering('null\n').podLabels('x'), {});
    await rejectsWith(answering('{"a": 1}').podLabels('x'), (error) => assert.match(error.message, /cannot read/));
  });

  it('listPods: no pods', async () => {
    assert.deepEqual(await answering('[]\n').listPods(), []);
  });

  const garbage: [string, string][] = [
    ['text', 'this is not json'],
    ['truncated JSON', POD_PS_4_3.slice(0, 50)],
    ['the wrong shape', '[{"Id": 1, "Name": "web"}]'],
    ['an object instead of a list', '{"Id":"x"}'],
  ];
  for (const [what, stdout] of garbage) {
    it(`listPods: ${what} is a PodmanError saying the output cannot be read`, async () => {
      await rejectsWith(answering(stdout).listPods(), (error) => {
        assert.match(error.message, /podman pod ps printed output the runner cannot read/);
        assert.equal(error.timedOut, false);
      });
    });
  }

  it('playKube: feeds the YAML on stdin and returns the pod ids', async () => {
    const id = 'd4'.repeat(32);
    const yaml = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n';
    const result = await answering(`Pod:\n${id}\nContainer:\n${'e5'.repeat(32)}\n\n`).playKube(yaml);
    assert.deepEqual(result, { podIds: [id] });
    assert.deepEqual(await argsSeen(), ['kube', 'play', '--quiet', '-']);
    assert.equal(await readFile(`${log}.stdin`, 'utf8'), yaml);
  });

  // Names and IDs always come after `--`, so a value can never be read as an option.
  const idCalls: [string, (p: CliPodman) => Promise<unknown>, string[]][] = [
    ['removePod', (p) => p.removePod('--all', 7.4), ['pod', 'rm', '--force', '--time', '7', '--', '--all']],
    [
      'removePod with a negative timeout',
      (p) => p.removePod('abc', -3),
      ['pod', 'rm', '--force', '--time', '0', '--', 'abc'],
    ],
    ['startPod', (p) => p.startPod('-x'), ['pod', 'start', '--', '-x']],
    ['volumeExists', (p) => p.volumeExists('--help'), ['volume', 'exists', '--', '--help']],
    ['removeSecret', (p) => p.removeSecret('-f'), ['secret', 'rm', '--', '-f']],
    ['startContainer', (p) => p.startContainer('-a'), ['start', '--', '-a']],
    ['stopContainer', (p) => p.stopContainer('-a', 5), ['stop', '--time', '5', '--', '-a']],
    [
      'runPauseContainer',
      (p) => p.runPauseContainer('-p', '-n', '-i', { a: 'b' }),
      [
        'run',
        '--detach',
        '--pod=-p',
        '--name=-n',
        '--label=a=b',
        '--cap-drop=all',
        '--read-only',
        '--log-driver=none',
        '--restart=no',
        '--pull=never',
        '--',
        '-i',
      ],
    ],
  ];
  for (const [what, call, expected] of idCalls) {
    it(`${what}: arguments ${expected.join(' ')}`, async () => {
      await call(answering(''));
      assert.deepEqual(await argsSeen(), expected);
    });
  }

  it('volumeExists: exit 0 is true, exit 1 is false, anything else an error', async () => {
    assert.equal(await exiting(0, '').volumeExists('data'), true);
    assert.equal(await exiting(1, '').volumeExists('data'), false);
    await rejectsWith(exiting(125, 'Error: boom\n').volumeExists('data'), (error) => assert.equal(error.exitCode, 125));
  });

  it('removeSecret: a missing secret is not an error, another failure is', async () => {
    await exiting(125, 'Error: no secret with name or id "creds": no such secret\n').removeSecret('creds');
    await rejectsWith(exiting(125, 'Error: permission denied\n').removeSecret('creds'), (error) =>
      assert.match(error.message, /permission denied/),
    );
  });

  it('listSecrets: one JSON object a line, as podman 4.3 prints them for {{json .}}', async () => {
    const lines = [
      '{"ID":"849612f8d769009018e3446d4","Name":"creds","Driver":"file","CreatedAt":"Less than a second ago","UpdatedAt":"Less than a second ago"}',
      '{"ID":"74efa433ace4c139b9d801d0b","Name":"tls","Driver":"file","CreatedAt":"2 hours ago","UpdatedAt":"2 hours ago"}',
    ];
    assert.deepEqual(await answering(`${lines.join('\n')}\n`).listSecrets(), [
      { id: '849612f8d769009018e3446d4', name: 'creds' },
      { id: '74efa433ace4c139b9d801d0b', name: 'tls' },
    ]);
    assert.deepEqual(await argsSeen(), ['secret', 'ls', '--format', '{{json .}}']);
    assert.deepEqual(await answering('').listSecrets(), []);
    await rejectsWith(answering('json\n').listSecrets(), (error) =>
      assert.match(error.message, /podman secret ls printed output the runner cannot read/),
    );
  });

  it("exit 125: a PodmanError with the exit code, podman's Error: text, and no syslog noise", async () => {
    const stderr =
      'time="2026-01-01T00:00:00Z" level=warning msg="failed to connect to syslog"\nError: no pod with name or ID web found: no such pod\n';
    await rejectsWith(exiting(125, stderr).startPod('web'), (error) => {
      assert.equal(error.code, 'PODMAN_FAILED');
      assert.equal(error.exitCode, 125);
      assert.equal(error.timedOut, false);
      assert.equal(error.message, 'podman pod start exited with 125: no pod with name or ID web found: no such pod');
      assert.ok(error.stderr.includes('failed to connect to syslog'), 'the raw stderr is kept for logs');
      assert.deepEqual(error.args, ['pod', 'start', '--', 'web']);
    });
  });

  it('kube play whose containers did not start: the kind and the cause of the one that failed (podman 4.3.1 stderr, seen)', async () => {
    const stderr = [
      'time="2026-12-02T17:32:57Z" level=warning msg="Failed to load cached network config"',
      'starting container 8a8f0db35de26731de859de3052d50459b991384b32f6898d947a75a64c746df: plugin type="bridge" failed (add): cni plugin bridge failed: failed to locate iptables: exec: "iptables": executable file not found in $PATH',
      'starting container 978eafec13d2cba6e4255c1e72c34cb02943a9241ec2c687f38fb41d1cd1d78a: a dependency of container 978eafec13d2cba6e4255c1e72c34cb02943a9241ec2c687f38fb41d1cd1d78a failed to start: container state improper',
      'Error: failed to start 2 containers',
      '',
    ].join('\n');
    await rejectsWith(exiting(125, stderr).playKube('apiVersion: v1\n'), (error) => {
      assert.equal(error.kind, 'network-setup');
      assert.match(error.causeLine, /^container 8a8f0db35de2: plugin type="bridge" failed \(add\)/);
      assert.match(
        error.message,
        /^podman kube play exited with 125: failed to start 2 containers; container 8a8f0db35de2: .*failed to locate iptables/,
      );
    });
  });

  it('podman not found: kind podman-missing', async () => {
    await rejectsWith(new CliPodman({ path: '/nonexistent/podman', timeoutMs: 5_000 }).version(), (error) =>
      assert.equal(error.kind, 'podman-missing'),
    );
  });

  it('a hung podman: a PodmanError with timedOut after the timeout', async () => {
    const started = Date.now();
    await rejectsWith(podman({ FAKE_MODE: 'sleep' }, 300).listPods(), (error) => {
      assert.equal(error.timedOut, true);
      assert.equal(error.code, 'PODMAN_TIMEOUT');
      assert.match(error.message, /did not answer within/);
    });
    assert.ok(Date.now() - started < 5_000);
  });

  it("execInContainer: no podman events for a probe's exec, the command after --, any exit code an answer", async () => {
    const result = await exiting(3, 'not ready').execInContainer('c1', ['sh', '-c', 'exit 3'], 5_000);
    assert.deepEqual(await argsSeen(), ['--events-backend=none', 'exec', '--', 'c1', 'sh', '-c', 'exit 3']);
    assert.deepEqual(result, { exitCode: 3, output: 'not ready' });
  });

  it('trace: every call with its arguments, its outcome and how long it took', async () => {
    const lines: { line: string; fields: { args: string; exitCode?: number; ms: number } }[] = [];
    const trace = (line: string, fields: { args: string; exitCode?: number; ms: number }): void =>
      void lines.push({ line, fields });
    const traced = (env: Record<string, string>, timeoutMs = 10_000): CliPodman =>
      new CliPodman({ path: executable, timeoutMs, env: { FAKE_LOG: log, ...env }, trace });
    await traced({ FAKE_MODE: 'exit', FAKE_EXIT: '1', FAKE_STDERR: '' }).volumeExists('data');
    await assert.rejects(traced({ FAKE_MODE: 'sleep' }, 300).listPods());
    assert.equal(lines.length, 2);
    assert.match(lines[0]!.line, /^podman volume exists (-- )?data: exit 1 after \d+ ms$/);
    assert.equal(lines[0]!.fields.exitCode, 1);
    assert.match(lines[1]!.line, /^podman pod ps .*: timed out after \d+ ms$/);
    assert.ok(lines[1]!.fields.ms >= 300, `${lines[1]!.fields.ms} ms`);
  });

  it('an aborted signal ends a hung call promptly', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const call = podman({ FAKE_MODE: 'sleep' }).listPods({ signal: controller.signal });
    setTimeout(() => controller.abort(new Error('shutting down')), 100);
    await assert.rejects(call);
    assert.ok(Date.now() - started < 5_000);
  });

  it('a missing binary: the message says to install podman', async () => {
    const missing = new CliPodman({ path: path.join(dir, 'no-such-podman'), timeoutMs: 1_000 });
    await rejectsWith(missing.version(), (error) => {
      assert.match(error.message, /podman not found at ".*no-such-podman": install podman/);
    });
  });
});

describe('CliPodman: environment', () => {
  it("passes the runner's environment and its own, but not systemd's INVOCATION_ID", async () => {
    const saved = process.env['INVOCATION_ID'];
    process.env['INVOCATION_ID'] = '0123456789abcdef0123456789abcdef';
    try {
      await podman({ FAKE_MODE: 'env', CONTAINERS_CONF: '/etc/x.conf' }).removeSecret('s');
    } finally {
      if (saved === undefined) delete process.env['INVOCATION_ID'];
      else process.env['INVOCATION_ID'] = saved;
    }
    const env = await readFile(`${log}.env`, 'utf8');
    assert.match(env, /^CONTAINERS_CONF=\/etc\/x\.conf$/m);
    assert.match(env, /^PATH=/m, "the runner's environment is kept");
    assert.doesNotMatch(env, /INVOCATION_ID/, 'conmon must not think it belongs to runner.service');
  });
});
