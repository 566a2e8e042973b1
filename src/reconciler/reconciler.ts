import { buildDesiredState } from '../desired/desired-state.ts';
import type { DesiredUnit } from '../desired/desired-unit.ts';
import { formatProblem, type ManifestProblem } from '../manifest/manifest-problem.ts';
import type { ManifestSnapshot } from '../manifest/read-manifest-dir.ts';
import type { Podman } from '../podman/podman.ts';
import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import { createLimit } from '../shared/limit.ts';
import type { Logger } from '../shared/logger.ts';
import { Wakeup } from '../shared/wakeup.ts';
import { unitOf, type AppliedStore } from '../state/applied-store.ts';
import { executeAction, fields } from './execute-action.ts';
import { currentOwners, observePods, type ObservedPod } from './observed-pods.ts';
import { planActions, type Action } from './plan-actions.ts';
import { DEFAULT_APPLY_BACKOFF, retryDelayMs, type BackoffPolicy } from './retry-backoff.ts';

export interface ReconcilerOptions {
  podman: Podman;
  store: AppliedStore;
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
}

interface Failure {
  count: number;
  nextAt: number;
  /** The desired hash that failed; a new spec is tried at once. */
  hash: string | undefined;
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
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, Failure>();
  private readonly reported = new Map<string, string>();
  private readonly limit;
  private readonly wakeup: Wakeup;
  private pending = false;
  private podmanError: string | undefined;

  constructor(private readonly options: ReconcilerOptions) {
    this.limit = createLimit(Math.max(1, options.parallelism));
    this.wakeup = new Wakeup(options.clock);
  }

  /** A new full snapshot from the manifest source. */
  setSnapshot(snapshot: ManifestSnapshot): void {
    this.snapshot = snapshot;
    this.trigger();
  }

  /** Ask for a pass as soon as possible. */
  trigger(): void {
    this.pending = true;
    this.wakeup.wake();
  }

  /** Runs passes until `signal` aborts; in-flight actions get `actionSignal`, aborted separately on shutdown. */
  async run(signal: AbortSignal, actionSignal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!this.pending) await this.wakeup.wait(this.nextWakeDelay(), signal);
      if (signal.aborted) break;
      this.pending = false;
      await this.pass(actionSignal);
    }
  }

  /** Resolves when every in-flight action has finished (or failed). */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight.values()]);
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** True while an action for this unit is in flight. */
  isBusy(key: string): boolean {
    return this.inFlight.has(key);
  }

  /** One reconcile pass. Public for tests; `run` calls it. */
  async pass(signal: AbortSignal): Promise<void> {
    const snapshot = this.snapshot;
    if (!snapshot) return;
    const { podman, store, logger } = this.options;
    let observed: ObservedPod[];
    try {
      const pods = await podman.listPods({ signal });
      observed = observePods(pods, snapshot.dir);
      if (this.podmanError) logger.info('podman answers again');
      this.podmanError = undefined;
    } catch (error) {
      const message = describeError(error);
      if (message !== this.podmanError) logger.warn(`cannot list pods, will retry: ${message}`);
      this.podmanError = message;
      return;
    }

    const desired = buildDesiredState({
      snapshot,
      currentOwners: currentOwners(observed),
      lastApplied: store.all().map(unitOf),
      defaultStopTimeoutSeconds: this.options.defaultStopTimeoutSeconds,
    });
    this.reportHeldFiles(desired.heldFiles);
    this.options.onDesired?.(desired.units);
    await this.syncStore(desired.units, observed, new Set(desired.heldFiles.keys()));

    const actions = planActions({
      desired: desired.units,
      observed,
      heldFiles: new Set(desired.heldFiles.keys()),
      stopTimeoutFor: (key) => store.get(key)?.stopTimeoutSeconds ?? this.options.defaultStopTimeoutSeconds,
    });
    const blocked = new Set<string>();
    for (const action of actions) {
      if (action.type === 'blocked') {
        blocked.add(action.key);
        this.reportOnce(action.key, `cannot start pod ${action.unit.name} from ${action.unit.file}: ${action.reason}`, 'error');
        continue;
      }
      if (this.inFlight.has(action.key) || this.backingOff(action)) continue;
      this.dispatch(action, signal);
    }
    for (const key of this.reported.keys()) if (key.includes('#') && !blocked.has(key)) this.reported.delete(key);
  }

  private dispatch(action: Action, signal: AbortSignal): void {
    const { logger, clock } = this.options;
    const job = this.limit(() => executeAction(action, this.options, signal))
      .then(() => {
        this.failures.delete(action.key);
      })
      .catch((error: unknown) => {
        const previous = this.failures.get(action.key);
        const hash = 'unit' in action ? action.unit.hash : undefined;
        const count = previous && previous.hash === hash ? previous.count + 1 : 1;
        const delay = retryDelayMs(count, this.options.backoff ?? DEFAULT_APPLY_BACKOFF);
        this.failures.set(action.key, { count, hash, nextAt: clock.now() + delay });
        const what = 'unit' in action ? `pod ${action.unit.name} from ${action.unit.file}` : `pod ${action.podNames.join(', ')}`;
        logger.error(`${action.type} of ${what} failed (attempt ${count}, next try in ${Math.round(delay / 1000)}s): ${describeError(error)}`, 'unit' in action ? fields(action.unit) : { key: action.key });
      })
      .finally(() => {
        this.inFlight.delete(action.key);
        this.trigger();
      });
    this.inFlight.set(action.key, job);
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
  private async syncStore(desired: readonly { key: string; hash: string }[], observed: readonly ObservedPod[], heldFiles: ReadonlySet<string>): Promise<void> {
    const { store } = this.options;
    const running = new Set(observed.map((pod) => pod.key));
    try {
      for (const unit of desired) {
        if (this.inFlight.has(unit.key)) continue;
        const pods = observed.filter((pod) => pod.key === unit.key);
        if (pods.length > 0 && pods.every((pod) => pod.hash === unit.hash) && store.get(unit.key)?.hash !== unit.hash) {
          await store.put(unit as Parameters<AppliedStore['put']>[0], new Date(this.options.clock.now()));
        }
      }
      const wanted = new Set(desired.map((unit) => unit.key));
      for (const record of store.all()) {
        if (!wanted.has(record.key) && !running.has(record.key) && !heldFiles.has(record.file) && !this.inFlight.has(record.key)) {
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
      const keeping = this.options.store.all().some((record) => record.file === file) ? '; its last applied spec keeps running' : '';
      for (const problem of problems) logger.error(formatProblem(problem), { file });
      logger.warn(`not applying ${file}: ${problems.length} problem(s)${keeping}`, { file });
    }
    for (const key of [...this.reported.keys()]) {
      if (!key.startsWith('file:')) continue;
      const file = key.slice('file:'.length);
      if (heldFiles.has(file)) continue;
      this.reported.delete(key);
      logger.info(`${file} is valid again`, { file });
    }
  }

  private reportOnce(key: string, message: string, level: 'error' | 'warn'): void {
    if (this.reported.get(key) === message) return;
    this.reported.set(key, message);
    this.options.logger[level](message);
  }

  private nextWakeDelay(): number {
    const now = this.options.clock.now();
    let delay = this.options.resyncMs;
    for (const failure of this.failures.values()) delay = Math.min(delay, Math.max(0, failure.nextAt - now));
    return delay;
  }
}
