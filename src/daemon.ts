import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RunnerConfig } from './config/config-schema.ts';
import { wireDaemon, type Ground, type Service } from './daemon-wiring.ts';
import { CliPodman } from './podman/cli-podman.ts';
import { SharedListing } from './podman/shared-listing.ts';
import type { Podman } from './podman/podman.ts';
import { podmanErrorKind } from './podman/podman-error.ts';
import { gatherSnapshot, logHostFindings, runChecks } from './doctor/index.ts';
import { observePods } from './reconciler/observed-pods.ts';
import { ownerIn } from './shared/ownership.ts';
import { systemClock, type Clock } from './shared/clock.ts';
import { describeError, RunnerError } from './shared/errors.ts';
import type { Logger } from './shared/logger.ts';
import { APPLIED_DIR, AppliedStore } from './state/applied-store.ts';
import { OwnedSecrets } from './state/owned-secrets.ts';
import { RestartHistory } from './supervisor/restart-history.ts';
import { EventLog } from './status/event-log.ts';
import { readStatus } from './status/read-status.ts';
import { StatusGroup } from './status/status-group.ts';
import { currentBootId } from './shared/process-info.ts';
import { VERSION } from './shared/version.ts';
import { securityWarnings } from './config/security-warnings.ts';
import { removeStaleTemps } from './state/atomic-write.ts';
import { claimPidFile } from './state/pid-file.ts';
import {
  SdNotify,
  spawnSystemdNotify,
  takeNotifyEnv,
  type NotifySpawner,
  type NotifyTarget,
} from './shared/sd-notify.ts';
import { LoopDelayMonitor } from './shared/loop-delay.ts';

export interface DaemonDeps {
  config: RunnerConfig;
  logger: Logger;
  /** Injected by tests; the real podman CLI otherwise. */
  podman?: Podman;
  clock?: Clock;
  /** systemd's notify socket and how to reach it; from the environment and `systemd-notify` otherwise. */
  notify?: { target: NotifyTarget | undefined; spawn: NotifySpawner };
}

/** Every podman call, logged at trace level (`--log-level trace`); nothing is built at other levels. */
const podmanTrace = (logger: Logger): ((line: string, fields: Record<string, unknown>) => void) | undefined => {
  if (logger.level < 5) return undefined;
  const log = logger.withTag('podman');
  return (line, fields) => log.trace(line, fields);
};

/** How long in-flight podman calls may finish after a stop request before they are abandoned. */
const SHUTDOWN_GRACE_MS = 20_000;

/**
 * Event-loop delay, reported over 60-120 s (src/shared/loop-delay.ts). Each
 * sample is a timer wakeup, which costs CPU even when idle: on the 2-core
 * machine under load, sampling every 20 ms added 0.51 % of a core, 50 ms
 * 0.14 %, 100 ms 0.03 % (bench/RESULTS.md, "Watchdog"). 50 ms: a stall of
 * D ms reads between D - 50 and D, so a 100 ms stall is never read as none.
 */
const LOOP_DELAY = { resolutionMs: 50, windowMs: 60_000 };

/**
 * The composition root of `runner run`: builds the real dependencies and
 * runs the manifest source and the reconciler until `signal` aborts.
 *
 * Its steps: `openHost` (directories, PID file, systemd watchdog), `openGround`
 * (podman, the state directory, the last runner's status), `wireDaemon`
 * (src/daemon-wiring.ts: every component, connected, as services), then
 * `start`, `run` and `drain` of those services. A new component is a change
 * to the wiring only.
 *
 * On stop: the watcher closes, no new work starts, in-flight podman calls get
 * SHUTDOWN_GRACE_MS to finish and are then cancelled, and the pods are left
 * running (unless `stopPodsOnExit`), so restarting or upgrading the runner
 * does not restart workloads. A killed runner leaves nothing that the next
 * start cannot put right: every decision is re-made from podman's labels.
 */
export const runDaemon = async (deps: DaemonDeps, signal: AbortSignal): Promise<void> => {
  const clock = deps.clock ?? systemClock;
  const host = await openHost(deps, clock, signal);
  try {
    // The one controller of in-flight podman actions: aborted once the shutdown grace is over.
    const actions = new AbortController();
    const ground = await openGround(deps, clock, host, actions.signal, signal);
    const services = wireDaemon(ground);
    try {
      await start(services, ground, host, signal);
      await run(services, signal);
      await drain(services, ground, host, actions);
    } finally {
      for (const service of services) await service.close?.();
    }
  } finally {
    await host.close();
  }
};

/** What the daemon holds from its first step to its last. */
interface Host {
  log: Logger;
  notifier: SdNotify;
  loopDelay: LoopDelayMonitor;
  /** Stops the watchdog and the loop-delay monitor, and gives up the PID file. */
  close(): Promise<void>;
}

/** The directories, the PID file, and systemd's watchdog: pings run from the start, harmless before READY=1. */
const openHost = async ({ config, logger, notify }: DaemonDeps, clock: Clock, signal: AbortSignal): Promise<Host> => {
  await requireDirectory(config.manifestDir, 'manifest directory');
  await mkdir(config.stateDir, { recursive: true, mode: 0o755 }).catch((error: unknown) => {
    throw new RunnerError('STATE_IO', `cannot create state directory ${config.stateDir}: ${describeError(error)}`, {
      cause: error,
    });
  });
  const pidFile = await claimPidFile(config.stateDir);
  // Taken before any podman call: podman must not inherit NOTIFY_SOCKET (see takeNotifyEnv).
  const notifyTarget = notify ? notify.target : takeNotifyEnv(process.env, process.pid);
  const notifier = new SdNotify({
    target: notifyTarget,
    spawn: notify?.spawn ?? spawnSystemdNotify,
    clock,
    logger: logger.withTag('systemd'),
  });
  const loopDelay = new LoopDelayMonitor({ clock, ...LOOP_DELAY });
  loopDelay.start();
  // A start-up that hangs is for TimeoutStartSec to judge.
  const watchdogStop = new AbortController();
  const stopWatchdog = (): void => watchdogStop.abort();
  signal.addEventListener('abort', stopWatchdog, { once: true });
  const watchdog = notifier.runWatchdog(watchdogStop.signal);
  const close = async (): Promise<void> => {
    watchdogStop.abort();
    signal.removeEventListener('abort', stopWatchdog);
    await watchdog;
    loopDelay.stop();
    await pidFile.release();
  };
  return { log: logger.withTag('daemon'), notifier, loopDelay, close };
};

/** What the components are built from: podman, the state directory, the last runner's status. */
const openGround = async (
  deps: DaemonDeps,
  clock: Clock,
  host: Host,
  actions: AbortSignal,
  signal: AbortSignal,
): Promise<Ground> => {
  const { config, logger } = deps;
  const { log } = host;
  await removeLeftTemps(config, log);
  const { podman, podmanVersion } = await openPodman(deps, clock, log, signal);
  const { store, secrets } = await loadApplied(config, log);
  log.info(`runner starting: manifests in ${config.manifestDir}, state in ${config.stateDir}, podman ${podmanVersion}`);
  for (const warning of securityWarnings(config)) log.warn(warning);
  // `runner doctor`'s checks, once, as warnings that never hold up the start; only with the real podman (tests inject a fake).
  if (!deps.podman) checkHostOnce(config, clock, logger, signal);
  const history = new RestartHistory(config.stateDir);
  await history.load();
  const statusGroup = new StatusGroup(config.statusGroup, logger.withTag('status'));
  const eventLog = new EventLog(config.stateDir, clock, { group: statusGroup });
  const { startedAt, bootId, reboot } = await lastRun(config, clock, log);
  return {
    config,
    logger,
    clock,
    podman,
    podmanVersion,
    store,
    secrets,
    history,
    eventLog,
    statusGroup,
    loopDelay: host.loopDelay,
    notifier: host.notifier,
    startedAt,
    bootId,
    reboot,
    actions,
  };
};

/** A runner killed mid-write leaves its temp file; no other writer runs now (the PID file is ours). */
const removeLeftTemps = async (config: RunnerConfig, log: Logger): Promise<void> => {
  const stale = [
    ...(await removeStaleTemps(config.stateDir)),
    ...(await removeStaleTemps(path.join(config.stateDir, APPLIED_DIR))),
    ...(config.metrics.textfile
      ? await removeStaleTemps(path.dirname(config.metrics.textfile), [path.basename(config.metrics.textfile)])
      : []),
  ];
  if (stale.length > 0)
    log.info(`removed ${stale.length} temp file(s) left by an interrupted write: ${stale.join(', ')}`);
};

/** The podman the daemon's components share, and its version. */
const openPodman = async (
  deps: DaemonDeps,
  clock: Clock,
  log: Logger,
  signal: AbortSignal,
): Promise<{ podman: Podman; podmanVersion: string }> => {
  const { config } = deps;
  // One `podman ps` answers the reconciler and the supervisor alike (src/podman/shared-listing.ts).
  const podman =
    deps.podman ??
    new SharedListing(
      new CliPodman({
        path: config.podman.path,
        timeoutMs: config.podman.timeoutSeconds * 1000,
        trace: podmanTrace(deps.logger),
      }),
      clock,
      (labels) => ownerIn(labels, config.manifestDir) !== undefined,
    );
  // A missing podman is a setup error: say so and stop. A podman that hangs
  // or fails right now is a fault the runner must ride out: keep going, the
  // reconciler retries and status shows the error.
  const podmanVersion = await podman.version({ signal }).catch((error: unknown) => {
    if (podmanErrorKind(error) === 'podman-missing')
      throw new RunnerError('PODMAN_MISSING', describeError(error), { cause: error });
    log.warn(`podman does not answer yet: ${describeError(error)}; retrying as the runner goes`);
    return 'unknown';
  });
  return { podman, podmanVersion };
};

/** What the last runner applied, and the secrets it created. */
const loadApplied = async (
  config: RunnerConfig,
  log: Logger,
): Promise<{ store: AppliedStore; secrets: OwnedSecrets }> => {
  const store = new AppliedStore(config.stateDir);
  const { skipped } = await store.load();
  for (const file of skipped) log.warn(`ignoring unreadable state file ${file}`);
  const secrets = new OwnedSecrets(config.stateDir);
  const { adopted } = await secrets.load(store.all());
  if (adopted.length > 0)
    log.info(
      `no record of the secrets the runner created: taking those of the applied manifests as its own (${adopted.join(', ')})`,
    );
  return { store, secrets };
};

/** `runner doctor`'s checks, logged once in the background. */
const checkHostOnce = (config: RunnerConfig, clock: Clock, logger: Logger, signal: AbortSignal): void => {
  const gather = {
    podman: new CliPodman({ path: config.podman.path, timeoutMs: config.podman.timeoutSeconds * 1000 }),
    manifestDir: config.manifestDir,
    stateDir: config.stateDir,
    trust: config.trust,
    clock,
    env: process.env,
    signal,
  };
  void logHostFindings(async () => runChecks(await gatherSnapshot(gather)), logger.withTag('doctor'), signal);
};

/**
 * Whether the host has rebooted since the last runner ran. The last runner's
 * status file names the boot it ran in; /proc/stat's btime cannot say this:
 * in a container it is the host kernel's boot.
 */
const lastRun = async (
  config: RunnerConfig,
  clock: Clock,
  log: Logger,
): Promise<Pick<Ground, 'startedAt' | 'bootId' | 'reboot'>> => {
  const startedAt = clock.now();
  const bootId = currentBootId() ?? 'unknown';
  const previous = await readStatus(config.stateDir, startedAt, { bootId });
  const rebooted = bootId !== 'unknown' && previous.kind !== 'absent' && previous.doc.daemon.bootId !== bootId;
  if (!rebooted) return { startedAt, bootId, reboot: undefined };
  log.info('the host has rebooted since the runner last ran: containers it finds exited are restarted as HostRebooted');
  return {
    startedAt,
    bootId,
    reboot: { rebootCutoff: startedAt, previousRunnerSeenAt: previous.doc.daemon.updatedAt },
  };
};

/** Starts the services in order: the manifests are read, the watchers are up, the metrics listener listens. */
const start = async (
  services: readonly Service[],
  { eventLog, podmanVersion }: Ground,
  host: Host,
  signal: AbortSignal,
): Promise<void> => {
  eventLog.record({
    type: 'DaemonStarted',
    message: `runner ${VERSION} started (pid ${process.pid}, podman ${podmanVersion})`,
  });
  for (const service of services) await service.start?.(signal);
  host.log.info('runner ready');
};

/** Runs every service's loop until `signal` aborts. READY=1 goes out from the first of them (ReadyGate, in the wiring). */
const run = async (services: readonly Service[], signal: AbortSignal): Promise<void> => {
  await Promise.all(services.flatMap((service) => (service.run ? [service.run(signal)] : [])));
};

/**
 * The shutdown: systemd hears STOPPING=1, every service stops taking work,
 * then the work in flight gets SHUTDOWN_GRACE_MS to finish before its podman
 * calls are cancelled (`actions`), and the restart history and event log are
 * written last; then the pods are stopped only when `stopPodsOnExit` says so.
 */
const drain = async (
  services: readonly Service[],
  ground: Ground,
  host: Host,
  actions: AbortController,
): Promise<void> => {
  const { clock, history, eventLog, config } = ground;
  host.log.info('stopping: no new work; waiting for podman calls in flight');
  await host.notifier.stopping();
  for (const service of services) await service.stop?.();
  const grace = new AbortController();
  const timer = clock.sleep(SHUTDOWN_GRACE_MS, grace.signal).then(
    () => actions.abort(new Error('runner is shutting down')),
    () => undefined,
  );
  for (const service of services) await service.settle?.();
  await history.save();
  eventLog.record({
    type: 'DaemonStopped',
    message: config.stopPodsOnExit ? 'runner stopped; its pods were stopped' : 'runner stopped; its pods keep running',
  });
  await eventLog.flush();
  grace.abort();
  await timer;
  if (config.stopPodsOnExit) await stopManagedPods(ground.podman, config, host.log);
  host.log.info(config.stopPodsOnExit ? 'runner stopped' : 'runner stopped; its pods keep running');
};

const requireDirectory = async (dir: string, what: string): Promise<void> => {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new RunnerError(
      'MANIFEST_DIR',
      `${what} ${dir} does not exist or is not a directory (create it with: mkdir -p ${dir})`,
    );
  }
};

const stopManagedPods = async (podman: Podman, config: RunnerConfig, log: Logger): Promise<void> => {
  const pods = observePods(await podman.listPods(), config.manifestDir).filter((pod) => pod.key !== undefined);
  for (const pod of pods) {
    await podman
      .removePod(pod.id, config.stopTimeoutSeconds)
      .catch((error: unknown) => log.warn(`could not remove pod ${pod.name}: ${describeError(error)}`));
  }
  log.info(`stopped ${pods.length} pod(s) (stopPodsOnExit)`);
};
