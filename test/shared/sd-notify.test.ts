import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SdNotify, takeNotifyEnv, type NotifySpawner } from '../../src/shared/sd-notify.ts';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';

/** Records what would have been sent, as systemd-notify's arguments, with the time of sending. */
const recordingSpawner = (
  clock: FakeClock,
  fail?: () => Error | undefined,
): { spawn: NotifySpawner; sent: { at: number; args: string[]; env: Record<string, string> }[] } => {
  const sent: { at: number; args: string[]; env: Record<string, string> }[] = [];
  const spawn: NotifySpawner = async (args, env) => {
    sent.push({ at: clock.now(), args: [...args], env: { ...env } });
    const error = fail?.();
    if (error) throw error;
  };
  return { spawn, sent };
};

describe('takeNotifyEnv', () => {
  const cases: { name: string; env: Record<string, string>; pid: number; want: ReturnType<typeof takeNotifyEnv> }[] = [
    {
      name: 'no NOTIFY_SOCKET: not under systemd notify',
      env: { WATCHDOG_USEC: '60000000' },
      pid: 10,
      want: undefined,
    },
    {
      name: 'socket without watchdog',
      env: { NOTIFY_SOCKET: '/run/systemd/notify' },
      pid: 10,
      want: { socket: '/run/systemd/notify' },
    },
    {
      name: 'socket and watchdog for this pid',
      env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '60000000', WATCHDOG_PID: '10' },
      pid: 10,
      want: { socket: '/run/systemd/notify', watchdogMs: 60_000 },
    },
    {
      name: 'watchdog without WATCHDOG_PID is ours',
      env: { NOTIFY_SOCKET: '@abstract', WATCHDOG_USEC: '3000000' },
      pid: 10,
      want: { socket: '@abstract', watchdogMs: 3000 },
    },
    {
      name: 'watchdog of another process (inherited): no pings',
      env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '60000000', WATCHDOG_PID: '11' },
      pid: 10,
      want: { socket: '/run/systemd/notify' },
    },
    {
      name: 'unparsable WATCHDOG_USEC: no pings',
      env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '60s' },
      pid: 10,
      want: { socket: '/run/systemd/notify' },
    },
    {
      name: 'zero WATCHDOG_USEC: no pings',
      env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '0' },
      pid: 10,
      want: { socket: '/run/systemd/notify' },
    },
  ];
  for (const { name, env, pid, want } of cases) {
    it(name, () => {
      const copy: NodeJS.ProcessEnv = { ...env, PATH: '/usr/bin' };
      assert.deepEqual(takeNotifyEnv(copy, pid), want);
      // Removed so that podman, which inherits the environment, cannot speak to PID 1 as the runner's unit.
      assert.deepEqual(copy, { PATH: '/usr/bin' });
    });
  }
});

describe('SdNotify', () => {
  it('without a socket sends nothing and has no watchdog', async () => {
    const clock = new FakeClock();
    const { spawn, sent } = recordingSpawner(clock);
    const notify = new SdNotify({ target: undefined, spawn, clock, logger: memoryLogger().logger });
    assert.equal(notify.enabled, false);
    await notify.ready();
    await notify.stopping();
    await notify.runWatchdog(new AbortController().signal); // returns at once
    assert.deepEqual(sent, []);
  });

  it('READY=1 and STOPPING=1 go to the socket systemd named, with the status line', async () => {
    const clock = new FakeClock();
    const { spawn, sent } = recordingSpawner(clock);
    const notify = new SdNotify({
      target: { socket: '/run/systemd/notify' },
      spawn,
      clock,
      logger: memoryLogger().logger,
      status: () => '3/4 pods ready\nsecond line',
    });
    await notify.ready();
    await notify.stopping();
    assert.deepEqual(
      sent.map((item) => item.args),
      [
        ['READY=1', 'STATUS=3/4 pods ready second line'],
        ['STOPPING=1', 'STATUS=stopping; pods keep running'],
      ],
    );
    assert.deepEqual(sent[0]!.env, { NOTIFY_SOCKET: '/run/systemd/notify' });
  });

  it('pings WATCHDOG=1 every third of WATCHDOG_USEC until stopped', async () => {
    const clock = new FakeClock();
    const start = clock.now();
    const { spawn, sent } = recordingSpawner(clock);
    const notify = new SdNotify({
      target: { socket: '/run/systemd/notify', watchdogMs: 60_000 },
      spawn,
      clock,
      logger: memoryLogger().logger,
    });
    assert.equal(notify.watchdogIntervalMs, 20_000);
    const stop = new AbortController();
    const running = notify.runWatchdog(stop.signal);
    await flushMicrotasks();
    assert.equal(sent.length, 1, 'the first ping at once');
    await clock.advance(19_999);
    assert.equal(sent.length, 1, 'none before the interval');
    await clock.advance(1);
    await clock.advance(20_000);
    assert.deepEqual(
      sent.map((item) => [item.at - start, item.args]),
      [
        [0, ['WATCHDOG=1']],
        [20_000, ['WATCHDOG=1']],
        [40_000, ['WATCHDOG=1']],
      ],
    );
    stop.abort();
    await running;
    await clock.advance(60_000);
    assert.equal(sent.length, 3, 'no ping after the stop');
  });

  it('a failing systemd-notify is logged once per message, never thrown, and the pings go on', async () => {
    const clock = new FakeClock();
    let failing = true;
    const { spawn, sent } = recordingSpawner(clock, () =>
      failing ? new Error('systemd-notify: No such file or directory') : undefined,
    );
    const { logger, lines } = memoryLogger();
    const notify = new SdNotify({ target: { socket: '/run/systemd/notify', watchdogMs: 3000 }, spawn, clock, logger });
    const stop = new AbortController();
    const running = notify.runWatchdog(stop.signal);
    await flushMicrotasks();
    await clock.advance(1000);
    await clock.advance(1000);
    assert.equal(sent.length, 3);
    assert.equal(lines.filter((line) => String(line.msg).includes('cannot notify systemd')).length, 1);
    failing = false;
    await clock.advance(1000);
    assert.equal(lines.filter((line) => String(line.msg).includes('work again')).length, 1);
    stop.abort();
    await running;
  });
});
