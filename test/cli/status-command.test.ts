import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import * as v from 'valibot';
import { statusCommand, type StatusDeps } from '../../src/cli/status-command.ts';
import { statusReportSchema } from '../../src/cli/render-report.ts';
import { humanDuration } from '../../src/cli/render-duration.ts';
import { CLEAR_SCREEN, shouldColour } from '../../src/cli/render-colour.ts';
import type { StatusDocument } from '../../src/status/status-schema.ts';
import { FakePodman } from '../podman/fake-podman.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';
import {
  asLive,
  eventsFixture,
  FIXTURE_NOW,
  IMPOSSIBLE_PID,
  loadStatusFixture,
  writeStatus,
} from '../status/status-fixtures.ts';

/**
 * Golden outputs live in test/fixtures/status/golden.json; after a deliberate
 * change to the rendering, regenerate with UPDATE_GOLDEN=1 and review the diff.
 */
const GOLDEN_FILE = path.resolve(import.meta.dirname, '../fixtures/status/golden.json');
const golden = JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as Record<string, string>;
const update = process.env.UPDATE_GOLDEN === '1';
process.on('exit', () => {
  if (update) writeFileSync(GOLDEN_FILE, `${JSON.stringify(golden, null, 2)}\n`);
});
const assertGolden = (name: string, actual: string): void => {
  if (update) golden[name] = actual;
  else assert.equal(actual, golden[name], `golden output "${name}" differs`);
};

let stateDir: string;
let podman: FakePodman;
beforeEach(async () => {
  stateDir = await makeTempDir('status-cli');
  podman = new FakePodman();
});
afterEach(async () => {
  await removeTempDir(stateDir);
});

const run = async (args: string[], deps: StatusDeps = {}): Promise<{ code: number; out: string }> => {
  let out = '';
  const code = await statusCommand(
    ['--state-dir', stateDir, '--manifest-dir', '/etc/runner/manifests', ...args],
    (text) => {
      out += text;
    },
    { now: () => FIXTURE_NOW, colour: false, timeZone: 'UTC', podman, ...deps },
  );
  return { code, out };
};

const liveMixed = (): Promise<void> => writeStatus(stateDir, asLive(loadStatusFixture('mixed')), eventsFixture());

describe('runner status: table and detail (golden, fixed clock)', () => {
  it('the table: a row per pod and per invalid file, notes, summary; reads no podman', async () => {
    await liveMixed();
    const { code, out } = await run([]);
    assertGolden('table', out);
    assert.equal(code, 1);
    assert.equal(podman.calls.length, 0, 'a live daemon means the file is enough');
    assert.ok(
      out.split('\n').every((line) => line.length <= 120 || line.startsWith('  ')),
      'table lines fit 120 columns',
    );
  });

  for (const pod of ['worker', 'api', 'proxy', 'broken', 'migrate', 'web', 'metrics']) {
    it(`detail: runner status ${pod}`, async () => {
      await liveMixed();
      const { out } = await run([pod]);
      assertGolden(`detail-${pod}`, out);
    });
  }

  it('a warning line when podman does not answer or the state cannot be written', async () => {
    const doc = asLive(loadStatusFixture('healthy'));
    await writeStatus(stateDir, {
      ...doc,
      daemon: {
        ...doc.daemon,
        podmanError: 'podman pod ps did not answer within 120s',
        stateError: 'cannot write /var/lib/runner/status.json: ENOSPC',
      },
    });
    const { code, out } = await run([]);
    assertGolden('table-warnings', out);
    assert.equal(code, 1);
  });

  it('colour only for the STATUS cell, and only on a terminal without NO_COLOR', async () => {
    await liveMixed();
    const { out } = await run([], { colour: true });
    assert.match(out, /\u001b\[32mRunning {9}\u001b\[0m/);
    assert.match(out, /\u001b\[31mCrashLoopBackOff\u001b\[0m/);
    assert.match(out, /\u001b\[32mCompleted/);
    assert.equal(shouldColour({ isTTY: true }, {}), true);
    assert.equal(shouldColour({ isTTY: true }, { NO_COLOR: '1' }), false);
    assert.equal(shouldColour({ isTTY: false }, {}), false);
  });

  it('durations as kubectl prints them', () => {
    const s = 1000;
    assert.deepEqual(
      [
        59 * s,
        119 * s,
        200 * s,
        600 * s,
        3 * 3600 * s + 5 * 60 * s,
        5 * 3600 * s,
        30 * 3600 * s,
        52 * 3600 * s,
        400 * 86400 * s,
        800 * 86400 * s,
      ].map(humanDuration),
      ['59s', '119s', '3m20s', '10m', '3h5m', '5h', '30h', '2d4h', '400d', '2y70d'],
    );
  });
});

describe('runner status --json', () => {
  it('validates against the StatusReport schema, with apiVersion and counts', async () => {
    await liveMixed();
    const { code, out } = await run(['--json']);
    const report = v.parse(statusReportSchema, JSON.parse(out));
    assert.equal(report.apiVersion, 'static-pod-runner/v1');
    assert.equal(report.kind, 'StatusReport');
    assert.equal(report.daemon.state, 'running');
    assert.equal(report.daemon.pid, process.pid);
    assert.equal(report.observedBy, 'daemon');
    assert.equal(report.pods.length, 6);
    assert.deepEqual(
      {
        pods: report.summary.pods,
        ready: report.summary.ready,
        running: report.summary.byStatus.Running,
        crash: report.summary.byStatus.CrashLoopBackOff,
        invalid: report.summary.invalidManifests,
        exit: report.summary.exitCode,
      },
      { pods: 6, ready: 3, running: 3, crash: 1, invalid: 2, exit: 1 },
    );
    assert.equal(code, 1);
  });

  it('for one pod, and without a daemon (podman view), still schema-valid', async () => {
    await liveMixed();
    const one = v.parse(statusReportSchema, JSON.parse((await run(['--json', 'web'])).out));
    assert.deepEqual(
      one.pods.map((pod) => pod.name),
      ['web'],
    );
    assert.equal(one.summary.exitCode, 0);
    await removeTempDir(stateDir);
    const absent = await run(['--json']);
    const report = v.parse(statusReportSchema, JSON.parse(absent.out));
    assert.equal(report.daemon.state, 'absent');
    assert.equal(report.observedBy, 'podman');
    assert.equal(absent.code, 3);
  });
});

describe('runner status: exit codes', () => {
  const variants: [string, (doc: StatusDocument) => StatusDocument, number][] = [
    ['healthy', (doc) => doc, 0],
    [
      'a pod not ready',
      (doc) => ({ ...doc, pods: doc.pods.map((pod) => (pod.name === 'web' ? { ...pod, readyContainers: 0 } : pod)) }),
      1,
    ],
    [
      'a crash loop',
      (doc) => ({ ...doc, pods: [...doc.pods, loadStatusFixture('mixed').pods.find((pod) => pod.name === 'worker')!] }),
      1,
    ],
    [
      'an ImageMissing pod',
      (doc) => ({
        ...doc,
        pods: [...doc.pods, loadStatusFixture('mixed').pods.find((pod) => pod.name === 'metrics')!],
      }),
      1,
    ],
    [
      'an invalid manifest',
      (doc) => ({ ...doc, invalidManifests: loadStatusFixture('mixed').invalidManifests.slice(0, 1) }),
      1,
    ],
    [
      'a Conflict',
      (doc) => ({
        ...doc,
        pods: doc.pods.map((pod) =>
          pod.name === 'web'
            ? { ...pod, status: 'Conflict' as const, message: 'Pod/web is already defined by a.yaml' }
            : pod,
        ),
      }),
      1,
    ],
    ['podman not answering', (doc) => ({ ...doc, daemon: { ...doc.daemon, podmanError: 'timed out' } }), 1],
    [
      'stale: 5 minutes without a heartbeat',
      (doc) => ({ ...doc, daemon: { ...doc.daemon, updatedAt: FIXTURE_NOW - 5 * 60_000 } }),
      3,
    ],
    ['stale: written before a reboot', (doc) => ({ ...doc, daemon: { ...doc.daemon, bootId: 'another-boot' } }), 3],
    ['stale: the daemon pid is dead', (doc) => ({ ...doc, daemon: { ...doc.daemon, pid: IMPOSSIBLE_PID } }), 3],
  ];
  for (const [name, change, expected] of variants) {
    it(`${name}: exit ${expected}`, async () => {
      await writeStatus(stateDir, change(asLive(loadStatusFixture('healthy'))));
      assert.equal((await run([])).code, expected);
    });
  }

  it('daemon absent (no file): says so first, shows what podman reports for this manifest dir, exit 3', async () => {
    await podman.playKube(`apiVersion: v1
kind: Pod
metadata:
  name: web
  labels:
    static-pod-runner/managed: "true"
    static-pod-runner/source: /etc/runner/manifests/web.yaml
    static-pod-runner/unit: Pod/web
    static-pod-runner/hash: abc
spec:
  containers: [{ name: main, image: busybox }, { name: side, image: busybox }]
`);
    await podman.playKube(
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: other\nspec:\n  containers: [{ name: main, image: busybox }]\n',
    );
    for (const pod of podman.pods.values()) pod.status = 'Running';
    [...podman.pods.values()][0]!.containers[1]!.status = 'exited';
    const { code, out } = await run([]);
    assert.equal(code, 3);
    const lines = out.split('\n');
    assert.equal(
      lines[0],
      `runner is not running (no status file at ${stateDir}/status.json); showing what podman reports`,
    );
    assert.deepEqual(lines.slice(1, 3), [
      'NAME   READY   STATUS    RESTARTS   AGE    SOURCE',
      'web    1/2     Running   0          331d   web.yaml',
    ]);
    assert.equal(lines.at(-2), '1 pod: 1 running (1 not ready)');
    assert.ok(!out.includes('other'), 'pods without the runner labels are not shown');
  });

  it('stale file and podman failing: still exit 3, with the podman error', async () => {
    const doc = asLive(loadStatusFixture('healthy'));
    await writeStatus(stateDir, { ...doc, daemon: { ...doc.daemon, pid: IMPOSSIBLE_PID } });
    podman.failNext('listPods', new Error('cannot connect to podman'));
    const { code, out } = await run([]);
    assert.equal(code, 3);
    assert.match(
      out.split('\n')[0]!,
      /^runner is not running \(status file from pid 4194305 is 2s old and that process is gone\)/,
    );
    assert.match(out, /warning: podman is not answering: cannot connect to podman/);
  });

  it('an unknown POD: exit 1 with a live daemon', async () => {
    await liveMixed();
    const { code, out } = await run(['nope']);
    assert.equal(code, 1);
    assert.match(out, /no pod or manifest "nope"/);
  });
});

describe('runner status --watch', () => {
  it("redraws from a cleared screen as the status changes, and returns the last frame's exit code", async () => {
    await writeStatus(stateDir, asLive(loadStatusFixture('mixed')));
    const frames: string[] = [];
    const controller = new AbortController();
    const warnings: string[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning.message);
    };
    process.on('warning', onWarning);
    let flipped = false;
    // Frames drawn since the healthy status was on disk; -1 until then (a loaded machine may draw many frames first).
    let afterWrite = -1;
    try {
      const code = await statusCommand(
        ['--state-dir', stateDir, '--manifest-dir', '/etc/runner/manifests', '--watch'],
        (text) => {
          frames.push(text);
          if (afterWrite >= 0) afterWrite += 1;
          if (frames.length === 3 && !flipped) {
            flipped = true;
            // The daemon writes a healthy status between two frames.
            void writeStatus(stateDir, asLive(loadStatusFixture('healthy'))).then(() => {
              afterWrite = 0;
            });
          }
          if (frames.length >= 40 && afterWrite >= 2) controller.abort();
        },
        {
          now: () => FIXTURE_NOW,
          colour: false,
          timeZone: 'UTC',
          podman,
          signal: controller.signal,
          watchIntervalMs: 1,
        },
      );
      assert.ok(
        frames.every((frame) => frame.startsWith(CLEAR_SCREEN)),
        'every frame starts on a cleared screen',
      );
      assert.match(frames[0]!, /CrashLoopBackOff/);
      assert.doesNotMatch(frames.at(-1)!, /CrashLoopBackOff/, 'the last frame shows the new status');
      assert.equal(code, 0, 'the healthy status was the last one drawn');
      assert.equal(podman.calls.length, 0);
      assert.deepEqual(warnings, [], 'no listener leak warning after 40 frames');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('--watch and --json cannot be combined', async () => {
    await assert.rejects(run(['--watch', '--json']), /--watch and --json cannot be combined/);
  });
});

describe('runner status and events print what containers and manifests wrote inertly', () => {
  /** Clears the screen, sets the window title, and starts a line that looks like a healthy row. */
  const HOSTILE = 'down\u001b[2J\u001b]0;owned\u0007\r\nweb   1/1   Running\u009b31m\u202eevil';
  const ESCAPED = 'down\\x1b[2J\\x1b]0;owned\\x07\\r\\nweb   1/1   Running\\x9b31m\\u202eevil';

  const hostileStatus = (): StatusDocument => {
    const doc = asLive(loadStatusFixture('healthy'));
    const web = doc.pods.find((pod) => pod.name === 'web')!;
    const main = web.containers[0]!;
    const pods = doc.pods.map((pod) =>
      pod !== web
        ? pod
        : {
            ...web,
            readyContainers: 0,
            message: `probe says ${HOSTILE}`,
            containers: [
              {
                ...main,
                ready: false,
                probes: {
                  readiness: {
                    result: 'failure' as const,
                    consecutiveFailures: 3,
                    consecutiveSuccesses: 0,
                    lastMessage: `exec: exit code 1: ${HOSTILE}`,
                  },
                },
              },
            ],
          },
    );
    return { ...doc, pods };
  };
  const unsafe = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

  it('table and detail: control characters are escaped, no line is forged; --json escapes them and keeps the exact value', async () => {
    const event = {
      time: FIXTURE_NOW - 1000,
      type: 'ProbeFailed',
      pod: 'web',
      message: `readiness probe failed: ${HOSTILE}`,
    };
    await writeStatus(stateDir, hostileStatus(), `${JSON.stringify(event)}\n`);
    for (const args of [[], ['web']]) {
      const { out } = await run(args);
      assert.doesNotMatch(out, unsafe, `runner status ${args.join(' ')}`);
      assert.ok(out.includes(ESCAPED), `runner status ${args.join(' ')} shows the escaped text`);
      assert.ok(!out.split('\n').some((line) => line.startsWith('web   1/1')), 'no forged row');
    }
    const { out } = await run(['--json', 'web']);
    assert.doesNotMatch(out, unsafe, 'JSON escapes them too');
    const report = JSON.parse(out) as { pods: { message?: string }[] };
    assert.equal(report.pods[0]?.message, `probe says ${HOSTILE}`);
  });

  it('runner events: one escaped line per event; --json the same JSON, escaped', async () => {
    const { eventsCommand } = await import('../../src/cli/events-command.ts');
    await writeFile(
      path.join(stateDir, 'events.jsonl'),
      `${JSON.stringify({ time: FIXTURE_NOW, type: 'Applied', pod: 'web', message: HOSTILE })}\n`,
    );
    let out = '';
    await eventsCommand(['--state-dir', stateDir], (text) => (out += text), { timeZone: 'UTC' });
    assert.equal(out, `2026-11-28 05:00:00  Applied          pod/web  ${ESCAPED}\n`);
    out = '';
    await eventsCommand(['--state-dir', stateDir, '--json'], (text) => (out += text));
    assert.doesNotMatch(out, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    assert.equal((JSON.parse(out) as { message: string }).message, HOSTILE);
  });
});

describe("runner status: the daemon's event-loop delay", () => {
  const withLoop = (maxDelayMs: number): StatusDocument => {
    const doc = asLive(loadStatusFixture('healthy'));
    return {
      ...doc,
      daemon: {
        ...doc.daemon,
        eventLoop: {
          windowSeconds: 75.2,
          maxDelayMs,
          p99DelayMs: 3.5,
          maxDelaySinceStartMs: Math.max(maxDelayMs, 1200),
        },
      },
    };
  };

  it('--json carries daemon.eventLoop as the daemon wrote it', async () => {
    await writeStatus(stateDir, withLoop(40));
    const report = v.parse(statusReportSchema, JSON.parse((await run(['--json'])).out));
    assert.deepEqual(report.daemon.eventLoop, {
      windowSeconds: 75.2,
      maxDelayMs: 40,
      p99DelayMs: 3.5,
      maxDelaySinceStartMs: 1200,
    });
  });

  it('a status file of an older runner, without eventLoop, still reads', async () => {
    await writeStatus(stateDir, asLive(loadStatusFixture('healthy')));
    const { code, out } = await run(['--json']);
    assert.equal(code, 0);
    const report = v.parse(statusReportSchema, JSON.parse(out));
    assert.equal(report.daemon.state, 'running');
    assert.equal(report.daemon.eventLoop, undefined);
  });

  it('the table warns when the loop was blocked for 100 ms or more in the window, and only then', async () => {
    await writeStatus(stateDir, withLoop(99));
    assert.ok(!(await run([])).out.includes('event loop'), 'a 99 ms worst delay is not shown');
    await writeStatus(stateDir, withLoop(2350));
    const { code, out } = await run([]);
    assert.equal(code, 0, 'a slow loop alone does not make the pods unhealthy');
    assert.match(
      out,
      /^warning: the runner's event loop was blocked for up to 2\.4 s in the last 75 s \(99th percentile 4 ms; worst since start 2\.4 s\); probes and restarts wait that long$/m,
    );
    const pod = loadStatusFixture('healthy').pods[0]!.name;
    assert.match(
      (await run([pod])).out,
      /^warning: the runner's event loop was blocked for up to 2\.4 s/m,
      'runner status POD shows it too',
    );
  });
});
