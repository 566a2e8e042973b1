import type { RunnerConfig } from './config/config-schema.ts';
import type { DesiredUnit } from './desired/desired-unit.ts';
import { OffThreadParser } from './desired/off-thread-parser.ts';
import { describeMissingImage, ImageLoader, missingImages } from './images/index.ts';
import { ManifestSource } from './manifest/watch-manifest-dir.ts';
import type { Podman } from './podman/podman.ts';
import { needsKeeperFirst } from './podman/play-kept.ts';
import { SharedListing } from './podman/shared-listing.ts';
import { ProbeManager, type ProbeTarget } from './probes/index.ts';
import type { Recovery } from './reconciler/plan-actions.ts';
import { Reconciler } from './reconciler/reconciler.ts';
import type { Clock } from './shared/clock.ts';
import { describeError } from './shared/errors.ts';
import { Link } from './shared/link.ts';
import type { Logger } from './shared/logger.ts';
import type { LoopDelayMonitor } from './shared/loop-delay.ts';
import { ReadyGate } from './shared/ready-gate.ts';
import type { SdNotify } from './shared/sd-notify.ts';
import { VERSION } from './shared/version.ts';
import type { AppliedStore } from './state/applied-store.ts';
import { writeFileAtomic } from './state/atomic-write.ts';
import type { OwnedSecrets } from './state/owned-secrets.ts';
import { collectStatus, statusSummary } from './status/collect-status.ts';
import type { EventLog } from './status/event-log.ts';
import { startMetricsServer } from './status/metrics-server.ts';
import { renderPrometheus } from './status/prometheus.ts';
import { serveRestartRequests } from './status/restart-requests-loop.ts';
import type { StatusGroup } from './status/status-group.ts';
import { StatusWriter } from './status/status-writer.ts';
import { EventWatcher } from './supervisor/event-watcher.ts';
import type { RestartHistory } from './supervisor/restart-history.ts';
import { Supervisor } from './supervisor/supervisor.ts';

/**
 * A part of the running daemon, as its lifecycle (src/daemon.ts) sees it.
 * Every step is optional; each runs for every service in the order the
 * wiring lists them.
 */
export interface Service {
  name: string;
  /** Before anything runs; the daemon is started once every start has resolved. */
  start?: (signal: AbortSignal) => Promise<void>;
  /** Until the signal aborts. */
  run?: (signal: AbortSignal) => Promise<void>;
  /** After every run has ended: take no new work. */
  stop?: () => Promise<void>;
  /** Then, within the shutdown grace: let the work in flight finish. */
  settle?: () => Promise<void>;
  /** Last, whatever happened before, a failed start included. */
  close?: () => Promise<void>;
}

/** What the components are built from: made by the daemon before it wires them. */
export interface Ground {
  config: RunnerConfig;
  logger: Logger;
  clock: Clock;
  podman: Podman;
  podmanVersion: string;
  store: AppliedStore;
  secrets: OwnedSecrets;
  history: RestartHistory;
  eventLog: EventLog;
  statusGroup: StatusGroup;
  loopDelay: LoopDelayMonitor;
  notifier: SdNotify;
  startedAt: number;
  bootId: string;
  /** Set when the host has rebooted since the last runner ran (src/supervisor/reboot-exits.ts). */
  reboot: { rebootCutoff: number; previousRunnerSeenAt: number } | undefined;
  /** The signal podman actions run with: aborted only once the shutdown grace is over. */
  actions: AbortSignal;
}

/** status.json is rewritten at least this often; readers call a file older than 3 heartbeats stale. */
const STATUS_HEARTBEAT_SECONDS = 5;

/** While podman's events stream is down, podman is listed this often (the kubelet's generic PLEG relists every second). */
const RELIST_WHILE_DOWN_MS = 10_000;

/**
 * The calls between components that run against the build order (a
 * component told something by one built after it). Each is connected once,
 * in `wireDaemon`.
 */
interface Links {
  reconcilerChanged: Link;
  statusChanged: Link;
  unitsDesired: Link<[readonly DesiredUnit[]]>;
  podRecovered: Link<[DesiredUnit, Recovery]>;
  probeTargets: Link<[ProbeTarget[]]>;
  eventsMissed: Link;
}

/**
 * Builds every component of `runner run` in dependency order (images,
 * reconciler, supervisor, probes, podman events, status, manifests),
 * connects them, and returns them as services in the order they start: the
 * manifests first (read once before anything runs), then image archives,
 * the metrics listener, and the loops.
 */
export const wireDaemon = (ground: Ground): Service[] => {
  const { config, logger, notifier } = ground;
  const links: Links = {
    reconcilerChanged: new Link('reconciler changed'),
    statusChanged: new Link('status changed'),
    unitsDesired: new Link('desired units'),
    podRecovered: new Link('pod recovered'),
    probeTargets: new Link('probe targets'),
    eventsMissed: new Link('events missed'),
  };
  const readiness = new ReadyGate(() => {
    logger.withTag('daemon').debug('ready: manifests read and podman listed');
    void notifier.ready();
  });
  const images = new ImageLoader({
    podman: ground.podman,
    clock: ground.clock,
    logger: logger.withTag('images'),
    imagesDir: config.imagesDir,
    stateDir: config.stateDir,
    resyncMs: 60_000,
  });
  const reconciler = buildReconciler(ground, links, images);
  const supervisor = buildSupervisor(ground, links, reconciler);
  const probes = buildProbes(ground, links, supervisor);
  const events = buildEventWatcher(ground, reconciler, supervisor);
  const status = buildStatusWriter(ground, reconciler, supervisor, probes);
  const parser = new OffThreadParser({
    build: { defaultStopTimeoutSeconds: config.stopTimeoutSeconds, pull: config.pull },
    clock: ground.clock,
    logger: logger.withTag('manifests'),
  });
  const source = buildManifestSource(ground, parser, reconciler);

  links.reconcilerChanged.connect(() => {
    links.statusChanged.send();
    const view = reconciler.view();
    if (view.observedAt !== undefined || view.podmanError !== undefined) readiness.podmanListed();
  });
  links.statusChanged.connect(() => status.changed());
  links.unitsDesired.connect((units) => supervisor.setDesired(units));
  links.podRecovered.connect((unit, recovery) => supervisor.recordRecovery(unit, recovery));
  links.probeTargets.connect((targets) => probes.sync(targets));
  links.eventsMissed.connect(() => events.reopen());
  images.onLoaded((loaded) => {
    ground.eventLog.record({
      type: 'ImageLoaded',
      message: `loaded ${loaded.refs.join(', ') || 'an image'} from ${loaded.archive}`,
    });
    reconciler.imagesArrived();
  });

  const startManifests = async (signal: AbortSignal): Promise<void> => {
    await source.start(signal);
    readiness.manifestsRead();
    notifier.reportStatus(() => statusSummary(status.collect()));
  };
  return [
    { name: 'manifests', start: startManifests, stop: () => source.stop(), close: () => parser.close() },
    { name: 'image archives', start: (signal) => images.start(signal), stop: () => images.stop() },
    { name: 'metrics listener', start: (signal) => startMetrics(ground, status, signal) },
    { name: 'probes', settle: () => probes.stop() },
    { name: 'reconciler', run: (signal) => reconciler.run(signal, ground.actions), settle: () => reconciler.settled() },
    { name: 'supervisor', run: (signal) => supervisor.run(signal, ground.actions), settle: () => supervisor.settled() },
    { name: 'podman events', run: (signal) => events.run(signal) },
    { name: 'status file', run: (signal) => status.run(signal) },
    {
      name: 'restart requests',
      run: (signal) => serveRestartRequests(restartRequests(ground, reconciler, supervisor), signal),
    },
  ];
};

const buildReconciler = (ground: Ground, links: Links, images: ImageLoader): Reconciler => {
  const { config, podman } = ground;
  return new Reconciler({
    podman,
    store: ground.store,
    secrets: ground.secrets,
    clock: ground.clock,
    logger: ground.logger.withTag('reconciler'),
    parallelism: config.parallelism,
    defaultStopTimeoutSeconds: config.stopTimeoutSeconds,
    resyncMs: config.resyncIntervalSeconds * 1000,
    onDesired: links.unitsDesired.send,
    onRecovered: links.podRecovered.send,
    onChange: links.reconcilerChanged.send,
    events: ground.eventLog,
    pull: config.pull,
    keeperFirst: needsKeeperFirst(ground.podmanVersion),
    explainMissingImages: async (unit, callSignal) => {
      const absent = await missingImages(unit.images, podman, { signal: callSignal });
      if (absent.length === 0) return undefined;
      const context = { imagesDir: config.imagesDir, pull: config.pull, ...images.status() };
      return absent.map((image) => describeMissingImage(image, context)).join('; ');
    },
  });
};

const buildSupervisor = (ground: Ground, links: Links, reconciler: Reconciler): Supervisor => {
  const { config } = ground;
  return new Supervisor({
    podman: ground.podman,
    clock: ground.clock,
    logger: ground.logger.withTag('supervisor'),
    history: ground.history,
    policy: {
      initialMs: config.restartBackoff.initialSeconds * 1000,
      maxMs: config.restartBackoff.maxSeconds * 1000,
      resetAfterMs: config.restartBackoff.resetAfterSeconds * 1000,
    },
    resyncMs: config.resyncIntervalSeconds * 1000,
    activity: reconciler.activity,
    onProbeTargets: links.probeTargets.send,
    onPodChanged: () => reconciler.trigger(),
    onChange: links.statusChanged.send,
    events: ground.eventLog,
    onEventsMissed: links.eventsMissed.send,
    // The last runner's last write: an exit it recorded just before is the shutdown's (src/supervisor/reboot-exits.ts).
    ...ground.reboot,
  });
};

const buildProbes = (ground: Ground, links: Links, supervisor: Supervisor): ProbeManager => {
  const log = ground.logger.withTag('daemon');
  const restartAfterProbe = (
    containerId: string,
    reason: 'LivenessFailed' | 'StartupFailed',
    message: string,
  ): void => {
    void supervisor
      .probeFailed(containerId, reason, message, ground.actions)
      .catch((error: unknown) => log.error(`restart after a failed probe: ${describeError(error)}`));
  };
  return new ProbeManager({
    podman: ground.podman,
    clock: ground.clock,
    logger: ground.logger.withTag('probes'),
    execOverheadMs: ground.config.podman.execOverheadSeconds * 1000,
    onLivenessFailure: (target, message) => restartAfterProbe(target.containerId, 'LivenessFailed', message),
    onStartupFailure: (target, message) => restartAfterProbe(target.containerId, 'StartupFailed', message),
    onChange: links.statusChanged.send,
  });
};

const buildEventWatcher = (ground: Ground, reconciler: Reconciler, supervisor: Supervisor): EventWatcher => {
  const { podman } = ground;
  return new EventWatcher({
    podman,
    clock: ground.clock,
    logger: ground.logger.withTag('events'),
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
    relistMs: Math.min(RELIST_WHILE_DOWN_MS, ground.config.resyncIntervalSeconds * 1000),
  });
};

const buildStatusWriter = (
  ground: Ground,
  reconciler: Reconciler,
  supervisor: Supervisor,
  probes: ProbeManager,
): StatusWriter => {
  const { config, clock, history, eventLog } = ground;
  const textfile = config.metrics.textfile;
  return new StatusWriter({
    stateDir: config.stateDir,
    clock,
    logger: ground.logger.withTag('status'),
    heartbeatMs: STATUS_HEARTBEAT_SECONDS * 1000,
    group: ground.statusGroup,
    ...(textfile ? { alsoWrite: (doc) => writeFileAtomic(textfile, renderPrometheus(doc), 0o644) } : {}),
    collect: () => {
      const view = reconciler.view();
      const stateError = history.lastSaveError ?? eventLog.lastError;
      const podmanError = view.podmanError ?? supervisor.podmanError;
      return collectStatus({
        now: clock.now(),
        manifestDir: config.manifestDir,
        daemon: {
          pid: process.pid,
          bootId: ground.bootId,
          version: VERSION,
          startedAt: ground.startedAt,
          updatedAt: clock.now(),
          heartbeatSeconds: STATUS_HEARTBEAT_SECONDS,
          podmanVersion: ground.podmanVersion,
          ...(podmanError ? { podmanError } : {}),
          ...(stateError ? { stateError } : {}),
          ...(view.observedAt !== undefined ? { lastReconcileAt: view.observedAt } : {}),
          eventLoop: ground.loopDelay.report(),
        },
        reconciler: view,
        containers: (key) => supervisor.view(key),
        probes: (key) => probes.status(key),
        probeFailures: Object.fromEntries(
          Object.entries(probes.probeCounts()).map(([kind, counts]) => [kind, counts.failure]),
        ),
      });
    },
  });
};

/**
 * Manifests are parsed, validated and rendered on a worker thread: a large
 * one held the event loop for seconds, and exec probes of other pods timed
 * out (issue 12). The parser's options are the reconciler's.
 */
const buildManifestSource = (ground: Ground, parser: OffThreadParser, reconciler: Reconciler): ManifestSource => {
  const { config } = ground;
  const log = ground.logger.withTag('daemon');
  return new ManifestSource({
    dir: config.manifestDir,
    clock: ground.clock,
    logger: ground.logger.withTag('manifests'),
    trust: config.trust,
    policy: config.policy,
    parse: parser.parse,
    resyncMs: config.resyncIntervalSeconds * 1000,
    onSnapshot: (snapshot) => {
      log.debug(`manifest snapshot: ${snapshot.files.length} file(s)`);
      reconciler.setSnapshot(snapshot);
    },
  });
};

const startMetrics = async ({ config, logger }: Ground, status: StatusWriter, signal: AbortSignal): Promise<void> => {
  if (!config.metrics.listen) return;
  const server = await startMetricsServer({
    listen: config.metrics.listen,
    render: () => renderPrometheus(status.collect()),
    signal,
  });
  logger.withTag('daemon').info(`metrics on http://${server.address.host}:${server.address.port}/metrics`);
};

/** `runner restart POD`: a restart of the pod's containers, recorded as Manual. */
const restartRequests = (
  ground: Ground,
  reconciler: Reconciler,
  supervisor: Supervisor,
): Parameters<typeof serveRestartRequests>[0] => {
  const { config, eventLog } = ground;
  return {
    stateDir: config.stateDir,
    clock: ground.clock,
    logger: ground.logger.withTag('daemon'),
    restart: async (pod) => {
      const unit = reconciler.view().desired?.units.find((item) => item.name === pod);
      if (!unit) return { ok: false, message: `no pod named ${pod} in ${config.manifestDir}` };
      const done = await supervisor.restartPod(unit.key, ground.actions);
      if (done)
        eventLog.record({
          type: 'Restarted',
          pod,
          file: unit.file,
          message: 'restart requested by an operator (runner restart)',
        });
      return done
        ? { ok: true, message: `pod ${pod} restarting (recorded as Manual)` }
        : { ok: false, message: `pod ${pod} is not running under the runner yet` };
    },
  };
};
