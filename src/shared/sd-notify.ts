import { execFile } from 'node:child_process';
import type { Clock } from './clock.ts';
import { describeError } from './errors.ts';
import type { Logger } from './logger.ts';
import { Loop } from './loop.ts';

/**
 * systemd's notify protocol (sd_notify(3)) without a native addon.
 *
 * The message is a datagram on the AF_UNIX socket named by $NOTIFY_SOCKET,
 * and Node cannot send AF_UNIX datagrams (dgram knows udp4/udp6 only; net
 * knows streams only). So the runner runs `systemd-notify`, which systemd
 * ships wherever it is PID 1, once per message.
 *
 * Who the message is from: the unit says `NotifyAccess=main`, so PID 1 takes
 * only messages whose SCM_CREDENTIALS name the runner. systemd-notify sends
 * with its parent's PID (the runner: execFile runs it directly, no shell)
 * when it may, which as root it may (systemd-notify(1), 252 and 257: "will
 * first attempt to invoke sd_notify() pretending to have the PID of the
 * invoking process"; src/notify/notify.c, `pidref_parent_if_applicable`).
 * That also removes the race the man page warns of: a short-lived sender may
 * be gone before PID 1 reads its credentials, but these credentials name the
 * runner, which is still alive; and systemd-notify waits (BARRIER=1) until
 * PID 1 has read the message. No `--pid`: it would add MAINPID= to every
 * ping. Measured in test/packaging/nspawn.e2e.ts (systemd 252).
 */

/** Runs systemd-notify with these arguments and environment; rejects when it fails or times out. */
export type NotifySpawner = (args: readonly string[], env: Record<string, string>) => Promise<void>;

/** Where to send, taken from the environment systemd gave the runner. */
export interface NotifyTarget {
  socket: string;
  /** WATCHDOG_USEC in ms, when the watchdog is on and meant for this process. */
  watchdogMs?: number;
}

/** A systemd-notify that does not answer within this is abandoned (its own barrier waits 5 s). */
const SPAWN_TIMEOUT_MS = 10_000;

/**
 * Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID and deletes them from
 * `env`, as sd_notify's `unset_environment` does: podman inherits the
 * runner's environment, and with NOTIFY_SOCKET set `podman run`/`kube play`
 * speak the protocol themselves (MAINPID=conmon, READY=1), which PID 1 would
 * reject, or worse, take. WATCHDOG_PID names the process the watchdog is
 * for; a different one means the variables were inherited, not meant for us.
 */
export const takeNotifyEnv = (env: NodeJS.ProcessEnv, pid: number): NotifyTarget | undefined => {
  const socket = env.NOTIFY_SOCKET;
  const usec = env.WATCHDOG_USEC;
  const watchdogPid = env.WATCHDOG_PID;
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  if (!socket) return undefined;
  const watchdogMs = usec !== undefined && /^[1-9][0-9]*$/.test(usec) ? Number(usec) / 1000 : undefined;
  const forUs = watchdogPid === undefined || watchdogPid === String(pid);
  return { socket, ...(watchdogMs !== undefined && forUs ? { watchdogMs } : {}) };
};

/** The real spawner: `systemd-notify` from PATH, with a timeout. */
export const spawnSystemdNotify: NotifySpawner = (args, env) =>
  new Promise((resolve, reject) => {
    execFile(
      'systemd-notify',
      [...args],
      {
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
        timeout: SPAWN_TIMEOUT_MS,
        windowsHide: true,
      },
      (error, _stdout, stderr) => {
        if (error)
          reject(new Error(`systemd-notify ${args.join(' ')}: ${stderr.trim() || error.message}`, { cause: error }));
        else resolve();
      },
    );
  });

export interface SdNotifyOptions {
  /** Absent when the runner was not started by systemd with Type=notify: every call is then a no-op. */
  target: NotifyTarget | undefined;
  spawn: NotifySpawner;
  clock: Clock;
  logger: Logger;
  /** A short summary sent as STATUS= with each watchdog ping (`systemctl status` shows it); it costs no extra process. */
  status?: () => string | undefined;
}

/**
 * Sends READY=1, STOPPING=1, STATUS= and the watchdog pings. Failures are
 * logged (once per distinct message) and never thrown: a runner that cannot
 * notify still supervises, and a missing ping is for systemd to judge.
 */
export class SdNotify {
  private lastError: string | undefined;
  private readonly env: Record<string, string>;
  private status: (() => string | undefined) | undefined;

  constructor(private readonly options: SdNotifyOptions) {
    this.env = options.target ? { NOTIFY_SOCKET: options.target.socket } : {};
    this.status = options.status;
  }

  /** From now on STATUS= says this (the daemon's summary, once there is one to give: until then pings carry none). */
  reportStatus(status: () => string | undefined): void {
    this.status = status;
  }

  /** Whether systemd listens (NOTIFY_SOCKET was set). */
  get enabled(): boolean {
    return this.options.target !== undefined;
  }

  /**
   * How often the watchdog loop pings: a third of WATCHDOG_USEC, so two
   * pings may be late or lost before systemd acts. Undefined without a watchdog.
   */
  get watchdogIntervalMs(): number | undefined {
    const ms = this.options.target?.watchdogMs;
    return ms === undefined ? undefined : Math.max(1, Math.floor(ms / 3));
  }

  ready(): Promise<void> {
    return this.send(['READY=1', ...this.statusField()]);
  }

  stopping(): Promise<void> {
    return this.send(['STOPPING=1', 'STATUS=stopping; pods keep running']);
  }

  /**
   * Pings WATCHDOG=1 every `watchdogIntervalMs` until `signal` aborts. The
   * ping comes from the event loop on purpose: a loop that is blocked or a
   * process that is stopped sends nothing, and systemd restarts the runner.
   * Returns at once when there is no watchdog.
   */
  async runWatchdog(signal: AbortSignal): Promise<void> {
    const interval = this.watchdogIntervalMs;
    if (interval === undefined) return;
    const pings = new Loop({ clock: this.options.clock, idleMs: () => interval, pending: true });
    await pings.run(signal, () => this.send(['WATCHDOG=1', ...this.statusField()]));
  }

  private statusField(): string[] {
    const text = this.status?.();
    return text ? [`STATUS=${text.replace(/\n/g, ' ')}`] : [];
  }

  private async send(fields: string[]): Promise<void> {
    if (!this.options.target) return;
    try {
      await this.options.spawn(fields, this.env);
      if (this.lastError) this.options.logger.info('systemd notifications work again');
      this.lastError = undefined;
    } catch (error) {
      const message = describeError(error);
      if (message !== this.lastError) this.options.logger.warn(`cannot notify systemd (${fields[0]}): ${message}`);
      this.lastError = message;
    }
  }
}
