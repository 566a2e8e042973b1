import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { RunnerConfig } from './config/config-schema.ts';
import { ManifestSource } from './manifest/watch-manifest-dir.ts';
import { OffThreadParser } from './desired/off-thread-parser.ts';
import { CliPodman } from './podman/cli-podman.ts';
import { SharedListing } from './podman/shared-listing.ts';
import type { Podman } from './podman/podman.ts';
import { podmanErrorKind } from './podman/podman-error.ts';
import { gatherSnapshot, logHostFindings, runChecks } from './doctor/index.ts';
import { Reconciler } from './reconciler/reconciler.ts';
import { observePods } from './reconciler/observed-pods.ts';
import { ownerIn } from './shared/ownership.ts';
import { systemClock, type Clock } from './shared/clock.ts';
import { describeError, RunnerError } from './shared/errors.ts';
import type { Logger } from './shared/logger.ts';
import { APPLIED_DIR, AppliedStore } from './state/applied-store.ts';
import { OwnedSecrets } from './state/owned-secrets.ts';
import { EventWatcher } from './supervisor/event-watcher.ts';
import { RestartHistory } from './supervisor/restart-history.ts';
import { Supervisor } from './supervisor/supervisor.ts';
import { collectStatus, statusSummary } from './status/collect-status.ts';
import { EventLog } from './status/event-log.ts';
import { readStatus } from './status/read-status.ts';
import { StatusWriter } from './status/status-writer.ts';
import { StatusGroup } from './status/status-group.ts';
import { currentBootId } from './shared/process-info.ts';
import { VERSION } from './shared/version.ts';
import { describeMissingImage, ImageLoader, missingImages } from './images/index.ts';
import { ProbeManager } from './probes/index.ts';
import { securityWarnings } from './policy/security-warnings.ts';
import { renderPrometheus } from './status/prometheus.ts';
import { startMetricsServer } from './status/metrics-server.ts';
import { serveRestartRequests } from './status/restart-requests-loop.ts';
import { removeStaleTemps, writeFileAtomic } from './state/atomic-write.ts';
import { claimPidFile } from './state/pid-file.ts';
import { SdNotify, spawnSystemdNotify, takeNotifyEnv, type NotifySpawner, type NotifyTarget } from './shared/sd-notify.ts';
import { ReadyGate } from './shared/ready-gate.ts';
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

/** status.json is rewritten at least this often; readers call a file older than 3 heartbeats stale. */
const STATUS_HEARTBEAT_SECONDS = 5;

/** While podman's events stream is down, podman is listed this often (the kubelet's generic PLEG relists every second). */
const RELIST_WHILE_DOWN_MS = 10_000;

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
 * On stop: the watcher closes, no new work starts, in-flight podman calls get
 * SHUTDOWN_GRACE_MS to finish and are then cancelled, and the pods are left
 * running (unless `stopPodsOnExit`), so restarting or upgrading the runner
 * does not restart workloads. A killed runner leaves nothing that the next
 * start cannot put right: every decision is re-made from podman's labels.
 */
export const runDaemon = async ({ config, logger, podman: injected, clock = systemClock, notify }: DaemonDeps, signal: AbortSignal): Promise<void> => {
  const log = logger.withTag('daemon');
  await requireDirectory(config.manifestDir, 'manifest directory');
  await mkdir(config.stateDir, { recursive: true, mode: 0o755 }).catch((error: unknown) => {
    throw new RunnerError('STATE_IO', `cannot create state directory ${config.stateDir}: ${describeError(error)}`, { cause: error });
  });
  const pidFile = await claimPidFile(config.stateDir);
  let parser: OffThreadParser | undefined;
  // Taken before any podman call: podman must not inherit NOTIFY_SOCKET (see takeNotifyEnv).
  const notifyTarget = notify ? notify.target : takeNotifyEnv(process.env, process.pid);
  let statusLine: (() => string) | undefined;
  const notifier = new SdNotify({ target: notifyTarget, spawn: notify?.spawn ?? spawnSystemdNotify, clock, logger: logger.withTag('systemd'), status: () => statusLine?.() });
  const loopDelay = new LoopDelayMonitor({ clock, ...LOOP_DELAY });
  loopDelay.start();
  // Pings run from the start, harmless before READY=1; a start-up that hangs is for TimeoutStartSec to judge.
  const watchdogStop = new AbortController();
  const stopWatchdog = (): void => watchdogStop.abort();
  signal.addEventListener('abort', stopWatchdog, { once: true });
  const watchdog = notifier.runWatchdog(watchdogStop.signal);
  try {
    // A runner killed mid-write leaves its temp file; no other writer runs now (the PID file is ours).
    const stale = [
      ...(await removeStaleTemps(config.stateDir)),
      ...(await removeStaleTemps(path.join(config.stateDir, APPLIED_DIR))),
      ...(config.metrics.textfile ? await removeStaleTemps(path.dirname(config.metrics.textfile), [path.basename(config.metrics.textfile)]) : []),
    ];
    if (stale.length > 0) log.info(`removed ${stale.length} temp file(s) left by an interrupted write: ${stale.join(', ')}`);
    // One `podman ps` answers the reconciler and the supervisor alike (src/podman/shared-listing.ts).
    const podman = injected ?? new SharedListing(new CliPodman({ path: config.podman.path, timeoutMs: config.podman.timeoutSeconds * 1000, trace: podmanTrace(logger) }), clock, (labels) => ownerIn(labels, config.manifestDir) !== undefined);
    // A missing podman is a setup error: say so and stop. A podman that hangs
    // or fails right now is a fault the runner must ride out: keep going, the
    // reconciler retries and status shows the error.
    const version = await podman.version({ signal }).catch((error: unknown) => {
      if (podmanErrorKind(error) === 'podman-missing') throw new RunnerError('PODMAN_MISSING', describeError(error), { cause: error });
      log.warn(`podman does not answer yet: ${describeError(error)}; retrying as the runner goes`);
      return 'unknown';
    });
    const store = new AppliedStore(config.stateDir);
    const { skipped } = await store.load();
    for (const file of skipped) log.warn(`ignoring unreadable state file ${file}`);
    const secrets = new OwnedSecrets(config.stateDir);
    const { adopted } = await secrets.load(store.all());
    if (adopted.length > 0) log.info(`no record of the secrets the runner created: taking those of the applied manifests as its own (${adopted.join(', ')})`);
    log.info(`runner starting: manifests in ${config.manifestDir}, state in ${config.stateDir}, podman ${version}`);
    for (const warning of securityWarnings(config)) log.warn(warning);
    // `runner doctor`'s checks, once, as warnings that never hold up the start; only with the real podman (tests inject a fake).
    if (!injected) {
      const doctorPodman = new CliPodman({ path: config.podman.path, timeoutMs: config.podman.timeoutSeconds * 1000 });
      const gather = { podman: doctorPodman, manifestDir: config.manifestDir, stateDir: config.stateDir, trust: config.trust, clock, env: process.env, signal };
      void logHostFindings(async () => runChecks(await gatherSnapshot(gather)), logger.withTag('doctor'), signal);
    }

    const history = new RestartHistory(config.stateDir);
    await history.load();
    const statusGroup = new StatusGroup(config.statusGroup, logger.withTag('status'));
    const eventLog = new EventLog(config.stateDir, clock, { group: statusGroup });
    const startedAt = clock.now();
    const bootId = currentBootId() ?? 'unknown';
    // The last runner's status file names the boot it ran in. /proc/stat's
    // btime cannot say this: in a container it is the host kernel's boot.
    const previous = await readStatus(config.stateDir, startedAt, { bootId });
    const rebooted = bootId !== 'unknown' && previous.kind !== 'absent' && previous.doc.daemon.bootId !== bootId;
    if (rebooted) log.info('the host has rebooted since the runner last ran: containers it finds exited are restarted as HostRebooted');
    let statusWriter: StatusWriter | undefined;
    const changed = (): void => statusWriter?.changed();

    const actions = new AbortController();
    const readiness = new ReadyGate(() => {
      log.debug('ready: manifests read and podman listed');
      void notifier.ready();
    });
    let supervisor: Supervisor | undefined;
    let eventWatcher: EventWatcher | undefined;
    const images = new ImageLoader({ podman, clock, logger: logger.withTag('images'), imagesDir: config.imagesDir, stateDir: config.stateDir, resyncMs: 60_000 });
    const reconciler = new Reconciler({
      podman,
      store,
      secrets,
      clock,
      logger: logger.withTag('reconciler'),
      parallelism: config.parallelism,
      defaultStopTimeoutSeconds: config.stopTimeoutSeconds,
      resyncMs: config.resyncIntervalSeconds * 1000,
      onDesired: (units) => supervisor?.setDesired(units),
      onRecovered: (unit, recovery) => supervisor?.recordRecovery(unit, recovery),
      onChange: () => {
        changed();
        const view = reconciler.view();
        if (view.observedAt !== undefined || view.podmanError !== undefined) readiness.podmanListed();
      },
      events: eventLog,
      pull: config.pull,
      explainMissingImages: async (unit, callSignal) => {
        const absent = await missingImages(unit.images, podman, { signal: callSignal });
        if (absent.length === 0) return undefined;
        const context = { imagesDir: config.imagesDir, pull: config.pull, ...images.status() };
        return absent.map((image) => describeMissingImage(image, context)).join('; ');
      },
    });
    supervisor = new Supervisor({
      podman,
      clock,
      logger: logger.withTag('supervisor'),
      history,
      policy: {
        initialMs: config.restartBackoff.initialSeconds * 1000,
        maxMs: config.restartBackoff.maxSeconds * 1000,
        resetAfterMs: config.restartBackoff.resetAfterSeconds * 1000,
      },
      resyncMs: config.resyncIntervalSeconds * 1000,
      activity: reconciler.activity,
      onProbeTargets: (targets) => probes?.sync(targets),
      onPodChanged: () => reconciler.trigger(),
      onChange: changed,
      events: eventLog,
      onEventsMissed: () => eventWatcher?.reopen(),
      // The last runner's last write: an exit it recorded just before is the shutdown's (src/supervisor/reboot-exits.ts).
      ...(rebooted ? { rebootCutoff: startedAt, previousRunnerSeenAt: previous.doc.daemon.updatedAt } : {}),
    });
    const statusSupervisor = supervisor;
    const restartAfterProbe = (containerId: string, reason: 'LivenessFailed' | 'StartupFailed', message: string): void => {
      void statusSupervisor.probeFailed(containerId, reason, message, actions.signal).catch((error: unknown) => log.error(`restart after a failed probe: ${describeError(error)}`));
    };
    const probes = new ProbeManager({
      podman,
      clock,
      logger: logger.withTag('probes'),
      execOverheadMs: config.podman.execOverheadSeconds * 1000,
      onLivenessFailure: (target, message) => restartAfterProbe(target.containerId, 'LivenessFailed', message),
      onStartupFailure: (target, message) => restartAfterProbe(target.containerId, 'StartupFailed', message),
      onChange: changed,
    });
    statusWriter = new StatusWriter({
      stateDir: config.stateDir,
      clock,
      logger: logger.withTag('status'),
      heartbeatMs: STATUS_HEARTBEAT_SECONDS * 1000,
      group: statusGroup,
      ...(config.metrics.textfile ? { alsoWrite: (doc) => writeFileAtomic(config.metrics.textfile!, renderPrometheus(doc), 0o644) } : {}),
      collect: () => {
        const view = reconciler.view();
        const stateError = history.lastSaveError ?? eventLog.lastError;
        const podmanError = view.podmanError ?? statusSupervisor.podmanError;
        return collectStatus({
          now: clock.now(),
          manifestDir: config.manifestDir,
          daemon: {
            pid: process.pid,
            bootId,
            version: VERSION,
            startedAt,
            updatedAt: clock.now(),
            heartbeatSeconds: STATUS_HEARTBEAT_SECONDS,
            podmanVersion: version,
            ...(podmanError ? { podmanError } : {}),
            ...(stateError ? { stateError } : {}),
            ...(view.observedAt !== undefined ? { lastReconcileAt: view.observedAt } : {}),
            eventLoop: loopDelay.report(),
          },
          reconciler: view,
          containers: (key) => statusSupervisor.view(key),
          probes: (key) => probes.status(key),
          probeFailures: Object.fromEntries(Object.entries(probes.probeCounts()).map(([kind, counts]) => [kind, counts.failure])),
        });
      },
    });
    eventLog.record({ type: 'DaemonStarted', message: `runner ${VERSION} started (pid ${process.pid}, podman ${version})` });
    const events = new EventWatcher({
      podman,
      clock,
      logger: logger.withTag('events'),
      onEvent: (event) => {
        // An image loaded or pulled by anyone (an archive, `podman load` by hand) may be what a pod waits for.
        if (event.type === 'image' && ['load', 'pull', 'tag'].includes(event.status)) reconciler.imagesArrived();
        // Another pod's event (anyone's, on a shared host) would cost a listing and tell nothing.
        if (podman instanceof SharedListing && !podman.concerns(event)) return;
        supervisor.onEvent(event);
      },
      // The stream is down or was: a lost event would otherwise wait for the timed resync (minutes).
      onRelist: () => {
        reconciler.trigger();
        supervisor.trigger();
      },
      relistMs: Math.min(RELIST_WHILE_DOWN_MS, config.resyncIntervalSeconds * 1000),
    });
    eventWatcher = events;
    images.onLoaded((loaded) => {
      eventLog.record({ type: 'ImageLoaded', message: `loaded ${loaded.refs.join(', ') || 'an image'} from ${loaded.archive}` });
      reconciler.imagesArrived();
    });
    // Manifests are parsed, validated and rendered on a worker thread: a
    // large one held the event loop for seconds, and exec probes of other
    // pods timed out (issue 12). The options are the reconciler's.
    parser = new OffThreadParser({ build: { defaultStopTimeoutSeconds: config.stopTimeoutSeconds, pull: config.pull }, clock, logger: logger.withTag('manifests') });
    const source = new ManifestSource({
      dir: config.manifestDir,
      clock,
      logger: logger.withTag('manifests'),
      trust: config.trust,
      policy: config.policy,
      parse: parser.parse,
      resyncMs: config.resyncIntervalSeconds * 1000,
      onSnapshot: (snapshot) => {
        log.debug(`manifest snapshot: ${snapshot.files.length} file(s)`);
        reconciler.setSnapshot(snapshot);
      },
    });
    await source.start(signal);
    readiness.manifestsRead();
    statusLine = () => statusSummary(statusWriter.collect());
    await images.start(signal);
    log.info('runner ready');
    if (config.metrics.listen) {
      const server = await startMetricsServer({ listen: config.metrics.listen, render: () => renderPrometheus(statusWriter.collect()), signal });
      log.info(`metrics on http://${server.address.host}:${server.address.port}/metrics`);
    }
    const restarts = serveRestartRequests(
      {
        stateDir: config.stateDir,
        clock,
        logger: log,
        restart: async (pod) => {
          const unit = reconciler.view().desired?.units.find((item) => item.name === pod);
          if (!unit) return { ok: false, message: `no pod named ${pod} in ${config.manifestDir}` };
          const done = await statusSupervisor.restartPod(unit.key, actions.signal);
          if (done) eventLog.record({ type: 'Restarted', pod, file: unit.file, message: 'restart requested by an operator (runner restart)' });
          return done ? { ok: true, message: `pod ${pod} restarting (recorded as Manual)` } : { ok: false, message: `pod ${pod} is not running under the runner yet` };
        },
      },
      signal,
    );
    await Promise.all([reconciler.run(signal, actions.signal), supervisor.run(signal, actions.signal), events.run(signal), statusWriter.run(signal), restarts]);

    log.info('stopping: no new work; waiting for podman calls in flight');
    await notifier.stopping();
    await source.stop();
    await images.stop();
    const grace = new AbortController();
    const timer = clock.sleep(SHUTDOWN_GRACE_MS, grace.signal).then(() => actions.abort(new Error('runner is shutting down')), () => undefined);
    await probes.stop();
    await Promise.all([reconciler.settled(), supervisor.settled()]);
    await history.save();
    eventLog.record({ type: 'DaemonStopped', message: config.stopPodsOnExit ? 'runner stopped; its pods were stopped' : 'runner stopped; its pods keep running' });
    await eventLog.flush();
    grace.abort();
    await timer;
    if (config.stopPodsOnExit) await stopManagedPods(podman, config, log);
    log.info(config.stopPodsOnExit ? 'runner stopped' : 'runner stopped; its pods keep running');
  } finally {
    watchdogStop.abort();
    signal.removeEventListener('abort', stopWatchdog);
    await watchdog;
    loopDelay.stop();
    await parser?.close();
    await pidFile.release();
  }
};

const requireDirectory = async (dir: string, what: string): Promise<void> => {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    throw new RunnerError('MANIFEST_DIR', `${what} ${dir} does not exist or is not a directory (create it with: mkdir -p ${dir})`);
  }
};

const stopManagedPods = async (podman: Podman, config: RunnerConfig, log: Logger): Promise<void> => {
  const pods = observePods(await podman.listPods(), config.manifestDir).filter((pod) => pod.key !== undefined);
  for (const pod of pods) {
    await podman.removePod(pod.id, config.stopTimeoutSeconds).catch((error: unknown) => log.warn(`could not remove pod ${pod.name}: ${describeError(error)}`));
  }
  log.info(`stopped ${pods.length} pod(s) (stopPodsOnExit)`);
};
