import { buildDesiredState } from '../desired/desired-state.ts';
import type { DesiredUnit } from '../desired/desired-unit.ts';
import type { PullSetting } from '../desired/pull-policy.ts';
import { formatProblem, type ManifestProblem } from '../manifest/manifest-problem.ts';
import type { ManifestSnapshot } from '../manifest/read-manifest-dir.ts';
import { KeeperImage } from '../podman/play-kept.ts';
import type { Podman } from '../podman/podman.ts';
import { podmanErrorKind } from '../podman/podman-error.ts';
import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import { createLimit } from '../shared/limit.ts';
import type { Logger } from '../shared/logger.ts';
import { discardEvents, type EventSink } from '../shared/event-sink.ts';
import type { DesiredState } from '../desired/desired-state.ts';
import { InFlight } from '../shared/in-flight.ts';
import { Loop } from '../shared/loop.ts';
import { unitOf, type AppliedStore } from '../state/applied-store.ts';
import type { OwnedSecrets } from '../state/owned-secrets.ts';
import { executeAction, fields } from './execute-action.ts';
import { currentOwners, observePods, type ObservedPod } from './observed-pods.ts';
import { planActions, type Action, type Recovery } from './plan-actions.ts';
import { DEFAULT_APPLY_BACKOFF, retryDelayMs, type BackoffPolicy } from './retry-backoff.ts';

export interface ReconcilerOptions {
  podman: Podman;
  store: AppliedStore;
  /** Which podman secrets the runner made: a play never replaces anyone else's. */
  secrets: OwnedSecrets;
  clock: Clock;
  logger: Logger;
  /** How many units may be applied at once (work for one unit is always serial). */
  parallelism: number;
  defaultStopTimeoutSeconds: number;
  /** A full pass runs at least this often, whatever the events say. */
  resyncMs: number;
  backoff?: BackoffPolicy;
  /** Told the desired units after every pass (the supervisor keeps their containers running). */
  onDesired?: (units: readonly DesiredUnit[]) => void;
  /** Told after every pass and every finished action: status has changed. */
  onChange?: () => void;
  events?: EventSink;
  /** The runner's `pull` setting, rendered into every unit (see src/desired/pull-policy.ts). */
  pull?: PullSetting;
  /**
   * After a failed create/replace: says which images the unit lacks, as a
   * message for the operator, or undefined when images are not the problem.
   * Such a unit waits for `imagesArrived()` (or the long retry) instead of
   * retrying on the normal backoff.
   */
  explainMissingImages?: (unit: DesiredUnit, signal: AbortSignal) => Promise<string | undefined>;
  /** A pod that ran this unit's spec was brought back (see `Recovery`): the supervisor counts it as a restart. */
  onRecovered?: (unit: DesiredUnit, recovery: Recovery) => void;
  /** Pods get their infra keeper before their containers start (needsKeeperFirst of the podman version); default true. */
  keeperFirst?: boolean;
}

export interface Failure {
  count: number;
  nextAt: number;
  /** The desired hash that failed; a new spec is tried at once. */
  hash: string | undefined;
  message: string;
  /** The unit waits for an image (an archive to land, a pull to become possible). */
  imageMissing: boolean;
}

/** What the reconciler knows after its last pass, for status. */
export interface ReconcilerView {
  desired: DesiredState | undefined;
  observed: readonly ObservedPod[];
  /** Unix ms of the last pass that listed podman's pods. */
  observedAt: number | undefined;
  failures: ReadonlyMap<string, Failure>;
  blocked: ReadonlyMap<string, string>;
  inFlight: ReadonlyMap<string, Action['type']>;
  podmanError: string | undefined;
}

/**
 * The reconciler: makes podman match the latest manifest snapshot.
 *
 * A pass lists every pod once, builds the desired state, plans, and hands each
 * action to a worker. Work for one unit is serial (a unit with an action in
 * flight is skipped and looked at again when it finishes); different units run
 * in parallel up to `parallelism`. Passes run when the snapshot changes, when
 * an action finishes, when a retry comes due, and on the resync timer, so
 * nothing depends on remembering what happened: each pass starts from
 * podman's real state and the labels on it.
 */
export class Reconciler {
  private snapshot: ManifestSnapshot | undefined;
  /** Which units have an action in flight (and which), or just finished one: the supervisor keeps its hands off them. */
  readonly activity = new InFlight<Action['type']>();
  private readonly blocked = new Map<string, string>();
  /** Unit key → hash of its pod when this runner last saw one (see `remember`). */
  private readonly seen = new Map<string, string>();
  private lastDesired: DesiredState | undefined;
  private lastObserved: { pods: ObservedPod[]; at: number } | undefined;
  private readonly failures = new Map<string, Failure>();
  private readonly reported = new Map<string, string>();
  /** Learned by the first play that makes a keeper, so that the next plays need not inspect for it. */
  private readonly keeperImage = new KeeperImage();
  private readonly limit;
  private readonly loop: Loop;
  /** How many times a pass was asked for, and how many of those were new snapshots (see `pass`). */
  private triggers = 0;
  private snapshotTriggers = 0;
  private podmanError: string | undefined;

  constructor(private readonly options: ReconcilerOptions) {
    this.limit = createLimit(Math.max(1, options.parallelism));
    this.loop = new Loop({ clock: options.clock, idleMs: () => this.nextWakeDelay() });
  }

  /** A new full snapshot from the manifest source. */
  setSnapshot(snapshot: ManifestSnapshot): void {
    this.snapshot = snapshot;
    this.snapshotTriggers += 1;
    this.trigger();
  }

  /**
   * New images are in podman's storage: units waiting for one are tried at
   * once. Any image event calls this (other users of podman load, pull and
   * tag images all day), so it asks for a pass only when a unit waits.
   */
  imagesArrived(): void {
    let waiting = false;
    for (const [key, failure] of this.failures) {
      if (!failure.imageMissing) continue;
      this.failures.delete(key);
      waiting = true;
    }
    if (waiting) this.trigger();
  }

  /** Ask for a pass as soon as possible. */
  trigger(): void {
    this.triggers += 1;
    this.loop.wake();
  }

  /** Runs passes until `signal` aborts; in-flight actions get `actionSignal`, aborted separately on shutdown. */
  async run(signal: AbortSignal, actionSignal: AbortSignal): Promise<void> {
    await this.loop.run(signal, () => this.pass(actionSignal));
  }

  /** Resolves when every in-flight action has finished (or failed). */
  async settled(): Promise<void> {
    await this.activity.settled();
  }

  get inFlightCount(): number {
    return this.activity.size;
  }

  view(): ReconcilerView {
    return {
      desired: this.lastDesired,
      observed: this.lastObserved?.pods ?? [],
      observedAt: this.lastObserved?.at,
      failures: this.failures,
      blocked: this.blocked,
      inFlight: this.activity.labels,
      podmanError: this.podmanError,
    };
  }

  /** One reconcile pass. Public for tests; `run` calls it. */
  async pass(signal: AbortSignal): Promise<void> {
    if (!this.snapshot) return;
    const { podman, store, logger } = this.options;
    let observed: ObservedPod[];
    // Work that finishes while podman lists makes the list stale for its unit.
    const mark = this.activity.mark();
    const asked = { pending: this.loop.pending, triggers: this.triggers, snapshots: this.snapshotTriggers };
    let snapshot: ManifestSnapshot;
    try {
      const pods = await podman.listPods({ signal });
      // The snapshot is taken after the listing: one that landed while podman
      // listed is planned now, not after another listing (seconds on a loaded
      // host: issue 13). The list is no older than `mark`, so whatever the
      // runner did since is accounted for, as in any pass.
      snapshot = this.snapshot;
      if (!asked.pending && this.triggers - asked.triggers === this.snapshotTriggers - asked.snapshots)
        this.loop.answered(); // only snapshots asked since: planned here
      observed = observePods(pods, snapshot.dir);
      if (this.podmanError) logger.info('podman answers again');
      this.podmanError = undefined;
    } catch (error) {
      const message = describeError(error);
      if (message !== this.podmanError) logger.warn(`cannot list pods, will retry: ${message}`);
      this.podmanError = message;
      this.options.onChange?.();
      return;
    }
    this.lastObserved = { pods: observed, at: this.options.clock.now() };

    const desired = buildDesiredState({
      snapshot,
      currentOwners: currentOwners(observed),
      lastApplied: store.all().map(unitOf),
      defaultStopTimeoutSeconds: this.options.defaultStopTimeoutSeconds,
      ...(this.options.pull ? { pull: this.options.pull } : {}),
    });
    this.lastDesired = desired;
    this.reportHeldFiles(desired.heldFiles);
    this.options.onDesired?.(desired.units);
    await this.syncStore(desired.units, observed, new Set(desired.heldFiles.keys()), mark);

    const actions = planActions({
      desired: desired.units,
      observed,
      heldFiles: new Set(desired.heldFiles.keys()),
      stopTimeoutFor: (key) => store.get(key)?.stopTimeoutSeconds ?? this.options.defaultStopTimeoutSeconds,
      seenHash: (key) => this.seen.get(key),
    });
    const blocked = new Map<string, string>();
    for (const action of actions) {
      // Busy, or done since the list was taken: the pass its end triggers decides
      // (a pod seen half removed by the unit's own replace is no conflict).
      if (this.activity.isBusy(action.key, mark)) {
        const before = this.blocked.get(action.key);
        if (before !== undefined) blocked.set(action.key, before);
        continue;
      }
      if (action.type === 'blocked') {
        blocked.set(action.key, action.reason);
        if (
          this.reportOnce(
            action.key,
            `cannot start pod ${action.unit.name} from ${action.unit.file}: ${action.reason}`,
            'error',
          )
        ) {
          this.events.record({
            type: 'Conflict',
            pod: action.unit.name,
            file: action.unit.file,
            message: action.reason,
          });
        }
        continue;
      }
      if (this.backingOff(action)) continue;
      this.dispatch(action, signal);
    }
    const desiredKeys = new Set(desired.units.map((unit) => unit.key));
    this.activity.forget(desiredKeys, mark);
    this.remember(observed, desiredKeys);
    for (const key of this.reported.keys()) if (key.includes('#') && !blocked.has(key)) this.reported.delete(key);
    this.blocked.clear();
    for (const [key, reason] of blocked) this.blocked.set(key, reason);
    this.options.onChange?.();
  }

  private get events(): EventSink {
    return this.options.events ?? discardEvents;
  }

  private dispatch(action: Action, signal: AbortSignal): void {
    const { logger, clock } = this.options;
    const work = (): Promise<void> =>
      this.limit(() =>
        executeAction(action, { ...this.options, events: this.events, keeperImage: this.keeperImage }, signal),
      )
        .then(() => {
          this.failures.delete(action.key);
          if (action.type === 'create' || action.type === 'replace') {
            this.seen.set(action.key, action.unit.hash); // it runs: played just now
            if (action.recovers) this.options.onRecovered?.(action.unit, action.recovers);
          }
        })
        .catch(async (error: unknown) => {
          const previous = this.failures.get(action.key);
          const hash = 'unit' in action ? action.unit.hash : undefined;
          const count = previous && previous.hash === hash ? previous.count + 1 : 1;
          const policy = this.options.backoff ?? DEFAULT_APPLY_BACKOFF;
          const missing =
            action.type === 'create' || action.type === 'replace'
              ? await this.options.explainMissingImages?.(action.unit, signal).catch(() => undefined)
              : undefined;
          // Without its image a unit cannot start however often it is tried:
          // wait for imagesArrived(), with a slow retry in case the image comes
          // some other way (a `podman load` by hand, a registry back online).
          const delay = missing ? policy.maxMs : retryDelayMs(count, policy);
          const message = missing ? `ImageMissing: ${missing}` : describeError(error);
          const imageMissing = missing !== undefined || podmanErrorKind(error) === 'image-missing';
          this.failures.set(action.key, { count, hash, nextAt: clock.now() + delay, message, imageMissing });
          const what =
            'unit' in action ? `pod ${action.unit.name} from ${action.unit.file}` : `pod ${action.podNames.join(', ')}`;
          logger.error(
            `${action.type} of ${what} failed (attempt ${count}, next try in ${Math.round(delay / 1000)}s): ${message}`,
            'unit' in action ? fields(action.unit) : { key: action.key },
          );
          this.events.record({
            type: 'ApplyFailed',
            ...('unit' in action
              ? { pod: action.unit.name, file: action.unit.file }
              : { pod: action.podNames.join(',') }),
            message: `${action.type} failed (attempt ${count}): ${message}`,
          });
        });
    void this.activity.run(action.key, work, {
      label: action.type,
      onEnd: () => {
        this.trigger();
        this.options.onChange?.();
      },
    });
  }

  /**
   * Keeps the hash of each desired unit's pod as last seen (or played), so
   * that a pod which vanishes is known to have run here. Memory only, on
   * purpose: a pod gone while the runner was down may have gone by design
   * (`stopPodsOnExit` removes them), so that is no restart.
   */
  private remember(observed: readonly ObservedPod[], desiredKeys: ReadonlySet<string>): void {
    for (const pod of observed) if (pod.key !== undefined && pod.hash !== undefined) this.seen.set(pod.key, pod.hash);
    for (const key of this.seen.keys()) if (!desiredKeys.has(key)) this.seen.delete(key);
  }

  private backingOff(action: Action): boolean {
    const failure = this.failures.get(action.key);
    if (!failure) return false;
    const hash = 'unit' in action ? action.unit.hash : undefined;
    if (failure.hash !== hash) return false; // a different spec: try it now
    return this.options.clock.now() < failure.nextAt;
  }

  /**
   * Keep the state directory true to podman: record a unit that runs with the
   * desired hash but was never recorded (the runner was killed between play
   * and write), and forget units that neither exist nor are wanted.
   */
  private async syncStore(
    desired: readonly { key: string; hash: string }[],
    observed: readonly ObservedPod[],
    heldFiles: ReadonlySet<string>,
    mark: number,
  ): Promise<void> {
    const { store } = this.options;
    const running = new Set(observed.map((pod) => pod.key));
    try {
      for (const unit of desired) {
        if (this.activity.isBusy(unit.key, mark)) continue;
        const pods = observed.filter((pod) => pod.key === unit.key);
        if (pods.length > 0 && pods.every((pod) => pod.hash === unit.hash) && store.get(unit.key)?.hash !== unit.hash) {
          await store.put(unit as Parameters<AppliedStore['put']>[0], new Date(this.options.clock.now()));
        }
      }
      const wanted = new Set(desired.map((unit) => unit.key));
      for (const record of store.all()) {
        if (
          !wanted.has(record.key) &&
          !running.has(record.key) &&
          !heldFiles.has(record.file) &&
          !this.activity.isBusy(record.key, mark)
        ) {
          await store.delete(record.key);
        }
      }
    } catch (error) {
      this.reportOnce('state', `cannot write the state directory: ${describeError(error)}`, 'warn');
    }
  }

  private reportHeldFiles(heldFiles: ReadonlyMap<string, ManifestProblem[]>): void {
    const { logger } = this.options;
    for (const [file, problems] of heldFiles) {
      const text = problems.map(formatProblem).join('\n');
      if (this.reported.get(`file:${file}`) === text) continue;
      this.reported.set(`file:${file}`, text);
      const keeping = this.options.store.all().some((record) => record.file === file)
        ? '; its last applied spec keeps running'
        : '';
      for (const problem of problems) logger.error(formatProblem(problem), { file });
      logger.warn(`not applying ${file}: ${problems.length} problem(s)${keeping}`, { file });
      this.events.record({
        type: 'InvalidManifest',
        file,
        message: `${formatProblem(problems[0]!)}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}${keeping}`,
      });
    }
    for (const key of [...this.reported.keys()]) {
      if (!key.startsWith('file:')) continue;
      const file = key.slice('file:'.length);
      if (heldFiles.has(file)) continue;
      this.reported.delete(key);
      logger.info(`${file} is valid again`, { file });
      this.events.record({ type: 'ManifestValid', file, message: `${file} is valid again` });
    }
  }

  /** Logs a message once while it stays true; says whether it logged. */
  private reportOnce(key: string, message: string, level: 'error' | 'warn'): boolean {
    if (this.reported.get(key) === message) return false;
    this.reported.set(key, message);
    this.options.logger[level](message);
    return true;
  }

  private nextWakeDelay(): number {
    const now = this.options.clock.now();
    let delay = this.options.resyncMs;
    for (const failure of this.failures.values()) delay = Math.min(delay, Math.max(0, failure.nextAt - now));
    return delay;
  }
}
