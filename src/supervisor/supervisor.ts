/**
 * The health supervisor: keeps every container of every desired pod running
 * as its restartPolicy says, with CrashLoopBackOff, and records why.
 *
 * The runner owns restarts: pods are played with restartPolicy Never, so
 * podman never restarts anything by itself (its own policy would restart a
 * crasher immediately, forever, and not at all after `podman stop` or a
 * reboot). Per container:
 *
 *     running ──exit / died event──▶ exited ──policy says no──▶ done (Succeeded / Failed)
 *        ▲                             │
 *        │                        policy says restart
 *        │                             ▼
 *        └──── podman start ◀── backing off until exitedAt + delay(step)
 *
 *     running ──liveness/startup probe failed──▶ podman stop ──▶ exited (reason LivenessFailed)
 *     running, infra container dead ──▶ podman stop ──▶ exited (reason InfraDied)
 *
 *     exited by the host's reboot or power cut (reboot-exits.ts) ──▶ podman start at once
 *        under Always and OnFailure whatever the exit code, no step of backoff (HostRebooted);
 *        Never: done (Failed, not Completed)
 *
 * delay(step) is 0 for the first restart, then initial, doubling to max; the
 * step resets after resetAfter of clean running. Counts, reasons and the
 * next restart time persist in the state directory (RestartHistory).
 *
 * Who does what: the reconciler makes pods exist with the right spec
 * (create, replace, remove); the supervisor only starts and stops containers
 * of pods that exist with the desired hash, and leaves a unit alone while the
 * reconciler has work in flight for it. Decisions come from `podman ps -a`,
 * listed on a timer and after every event that is not acted on directly:
 * events are hints, a lost one costs a resync interval, not a restart.
 *
 * Two ways to find a death, one rule (`restartDue`):
 * - its `died` event, when the restart is due at once (a first restart) and
 *   the pod keeps its infra (a keeper runs, see src/shared/infra-keeper.ts):
 *   the event names the container and its exit code, so `podman start` runs
 *   with no listing first (measured in bench/REACTION.md);
 * - a listing: every other case (backoff, a pod stopped from outside, no
 *   keeper yet, the events stream down).
 * Both go through one serial slot per container. A listing taken before an
 * action on a container finished is stale for it (`inFlight`), and a
 * `died` event older than the runner's last start of that container is one
 * already handled: no death is restarted twice.
 */
import type { DesiredUnit } from '../desired/desired-unit.ts';
import type { Podman, PodmanContainer, PodmanEvent } from '../podman/podman.ts';
import type { ProbeTarget } from '../probes/probe-manager.ts';
import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import { isKeeper } from '../shared/infra-keeper.ts';
import { HASH_LABEL, ownerOf } from '../shared/ownership.ts';
import type { Logger } from '../shared/logger.ts';
import { discardEvents, type EventSink } from '../shared/event-sink.ts';
import { InFlight } from '../shared/in-flight.ts';
import { Loop } from '../shared/loop.ts';
import { InfraKeepers } from './infra-keepers.ts';
import { restartDue, restartsAfter, shouldRestart, type CrashLoopPolicy } from './restart-backoff.ts';
import {
  endedByReboot,
  exitMark,
  firstStartAfterReboot,
  isRecordedExit,
  lostWithMachine,
  type RebootFacts,
} from './reboot-exits.ts';
import type { ContainerHistory, RestartHistory, RestartReason } from './restart-history.ts';

/**
 * The reconciler's work on units, as the supervisor sees it (the reconciler's
 * `InFlight` of its units provides it). Create, replace and remove are the
 * reconciler's; while it works on a unit, or once it has finished work on one
 * after the supervisor listed containers, that list is not to be acted on for
 * that unit.
 */
export interface ReconcilerActivity {
  /** Taken just before listing containers. */
  mark(): number;
  isBusy(unitKey: string, mark: number): boolean;
}

export interface SupervisorOptions {
  podman: Podman;
  clock: Clock;
  logger: Logger;
  history: RestartHistory;
  policy: CrashLoopPolicy;
  /** Re-list at least this often, whatever the events say. */
  resyncMs: number;
  /** The reconciler's work on units: hands off a unit it is working on, or finished work on after the containers were listed. */
  activity: ReconcilerActivity;
  /** Called after each evaluation with the running containers that have probes. */
  onProbeTargets?: (targets: ProbeTarget[]) => void;
  /** A pod vanished or changed shape: the reconciler should look. */
  onPodChanged?: () => void;
  /** Told after every evaluation and finished action: status has changed. */
  onChange?: () => void;
  /**
   * A death was found by listing that the events stream never reported:
   * the stream has stalled (podman's log rotated under it, a journald
   * setting drops events). The daemon reopens it.
   */
  onEventsMissed?: () => void;
  events?: EventSink;
  /**
   * Set when the host has rebooted since a runner last ran here: when this
   * runner started (ms since the epoch). A container that exited before then
   * was stopped by the shutdown, not by a fault of its own (nothing starts
   * the runner's containers but the runner), unless the last runner recorded
   * it as a completion well before it stopped (src/supervisor/reboot-exits.ts).
   * It is restarted under Always and OnFailure whatever its exit code,
   * recorded as HostRebooted, and adds no step of backoff.
   */
  rebootCutoff?: number;
  /** After a reboot: the last runner's last status write in the boot before (ms), if known. */
  previousRunnerSeenAt?: number;
}

/** What status shows for one container. */
export interface ContainerView {
  name: string;
  id: string | undefined;
  image: string;
  state: string;
  exitCode: number | undefined;
  startedAt: number | undefined;
  history: ContainerHistory;
}

/** How late a `died` event may arrive (podman's file backend polls every 250 ms) before it counts as missed. */
const EVENTS_LAG_MS = 3_000;

/** How soon after a container's death podman's exit policy stops the pod. */
const EXIT_POLICY_WINDOW_MS = 3_000;

/** How long before a `died` event a `kill` event of the same container says who killed it. */
const KILL_WINDOW_MS = 5_000;

/** The slot keeper actions of a pod run in: the keeper's ID, or the pod's while there is none yet. */
const keeperSlot = (podId: string, keeper: PodmanContainer | undefined): string => keeper?.id ?? `keeper:${podId}`;

/** How often a pod podman is stopping is looked at, and how long past its grace period at most (Supervisor.podBeingStopped). */
const POD_STOP_RECHECK_MS = 500;
const POD_STOP_MARGIN_MS = 10_000;

export class Supervisor {
  private units = new Map<string, DesiredUnit>();
  private readonly loop: Loop;
  /**
   * Actions on containers (and keepers), by container ID: one at a time, and
   * a listing taken before one finished is stale for that container (the
   * reconciler's units, one level down).
   */
  private readonly inFlight = new InFlight();
  /** Exits already recorded, by container ID: podman's ExitedAt (seconds) when handled. */
  private readonly handledExit = new Map<string, number | undefined>();
  /** Exits recorded from a `died` event: until the container runs again, a listing shows that same exit. */
  private readonly exitRecorded = new Set<string>();
  /** When the runner last asked podman to start a container, by ID: a `died` event older than that was handled. */
  private readonly startRequestedAt = new Map<string, number>();
  /** Time of the last `kill` event per container: a SIGKILL someone asked for is no OOM kill. */
  private readonly killedAt = new Map<string, number>();
  private readonly keepers: InfraKeepers;
  /** The signal actions run with: the one the last evaluation was given (events act between evaluations). */
  private actionSignal: AbortSignal | undefined;
  /** Why we stopped a container ourselves (liveness, infra died), by container ID. */
  private readonly pendingReason = new Map<string, RestartReason>();
  /** Pods stopped from outside (`podman pod stop`), from pod events. */
  private readonly externallyStopped = new Set<string>();
  private lastContainers: PodmanContainer[] = [];
  /** Probe targets of the last evaluation by unit, kept for units the reconciler is busy with. */
  private lastTargets = new Map<string, ProbeTarget[]>();
  /** When a container was first seen running, for podman versions that report no start time. */
  private readonly firstSeenRunning = new Map<string, number>();
  private listError: string | undefined;
  /** When this supervisor (this runner) began: no run started since was lost with the machine. */
  private readonly startedAt: number;

  constructor(private readonly options: SupervisorOptions) {
    this.startedAt = options.rebootCutoff ?? options.clock.now();
    this.loop = new Loop({ clock: options.clock, idleMs: () => this.nextDelay() });
    this.keepers = new InfraKeepers({ podman: options.podman, clock: options.clock, logger: options.logger });
  }

  /** The desired units, from the reconciler after each of its passes. */
  setDesired(units: readonly DesiredUnit[]): void {
    this.units = new Map(units.map((unit) => [unit.key, unit]));
    this.options.history.retain(new Set(this.units.keys()));
    this.trigger();
  }

  trigger(): void {
    this.loop.wake();
  }

  /** A podman event: a hint to look again, or a death to act on at once (see the top of this file). */
  onEvent(event: PodmanEvent): void {
    const now = this.options.clock.now();
    if (event.type === 'container') {
      if (event.status === 'kill') this.killedAt.set(event.id, event.time);
      if (event.status === 'died') {
        this.diedSeen.add(event.id);
        const known = this.lastContainers.find((container) => container.id === event.id);
        if (known) {
          this.recentDeaths.set(known.podId, now);
          known.state = 'exited'; // until the next listing: status shows it, and a dead keeper keeps nothing up
          known.exitCode = event.exitCode ?? known.exitCode;
          if (this.restartOnDeath(known, event, now)) return;
        }
      }
      if (event.status === 'remove') this.options.onPodChanged?.();
      if (event.status === 'died' || event.status === 'remove' || event.status === 'stop') this.trigger();
    } else if (event.type === 'pod') {
      // A kube-play pod stops by itself once its last container exited
      // (ExitPolicy stop): that `stop` follows a death. A `stop` with no
      // death just before it is `podman pod stop` from outside (the runner
      // never stops a pod it keeps).
      const died = this.recentDeaths.get(event.id);
      if (event.status === 'stop' && (died === undefined || now - died > EXIT_POLICY_WINDOW_MS))
        this.externallyStopped.add(event.id);
      if (event.status === 'remove' || event.status === 'stop' || event.status === 'kill')
        this.options.onPodChanged?.();
      this.trigger();
    }
  }

  /** Containers whose death the events stream reported (until their next start). */
  private readonly diedSeen = new Set<string>();
  /** Last `died` event per pod, to tell an exit-policy pod stop from an outside one. */
  private readonly recentDeaths = new Map<string, number>();

  /**
   * The event path: restarts a container from its `died` event when the
   * restart is due now and nothing else is in the way. True when the event
   * needs no listing (acted on, or a death already handled); false leaves it
   * to an evaluation.
   */
  private restartOnDeath(container: PodmanContainer, event: PodmanEvent, now: number): boolean {
    const signal = this.actionSignal;
    const unit = this.unitOf(container);
    const name =
      unit && !container.isInfra && container.labels[HASH_LABEL] === unit.hash
        ? containerNameIn(unit, container.name)
        : undefined;
    if (!signal || !unit || !name) return false;
    if (this.inFlight.has(container.id)) return true; // its end triggers a look
    if ((this.startRequestedAt.get(container.id) ?? Number.NEGATIVE_INFINITY) > event.time) {
      this.diedSeen.delete(container.id); // the runner started it after this death: already handled
      return true;
    }
    const keeperUp = this.lastContainers.some(
      (item) => item.podId === container.podId && isKeeper(item.name) && item.state === 'running',
    );
    if (
      !keeperUp ||
      this.externallyStopped.has(container.podId) ||
      this.options.activity.isBusy(unit.key, this.options.activity.mark())
    )
      return false;
    // A death from before this runner started, after a reboot: the listing tells whether the shutdown caused it.
    if (this.options.rebootCutoff !== undefined && event.time < this.options.rebootCutoff) return false;
    const exitCode = event.exitCode ?? 0;
    if (!shouldRestart(unit.restartPolicy, exitCode)) return false;
    const { history, policy } = this.options;
    const entry = history.get(unit.key, unit.hash, name);
    const startedAt = Math.max(container.startedAt ?? 0, this.startRequestedAt.get(container.id) ?? 0) || undefined;
    const { step, due } = restartDue(
      { step: entry.backoffStep, exitedAt: event.time, startedAt, lastRestartAt: entry.lastRestartAt },
      policy,
    );
    if (due > now) return false; // backing off: the listing path sets nextRestartAt and wakes at it
    const killed = (this.killedAt.get(container.id) ?? Number.NEGATIVE_INFINITY) >= event.time - KILL_WINDOW_MS;
    this.killedAt.delete(container.id);
    this.dispatch(container.id, async () => {
      this.diedSeen.delete(container.id);
      let oomKilled = false;
      // Only a SIGKILL can be the OOM killer's; podman's event does not say, its state does.
      if (exitCode === 137 && !killed && !this.pendingReason.has(container.id)) {
        oomKilled =
          (await this.options.podman.inspectContainer(container.id, { signal }).catch(() => undefined))?.oomKilled ??
          false;
      }
      if (entry.backoffStep !== step) entry.backoffStep = step;
      const reason = this.pendingReason.get(container.id) ?? this.exitReason(container.podId, exitCode, oomKilled);
      this.recordExit(container, unit, entry, { at: event.time, exitCode, reason });
      this.exitRecorded.add(container.id);
      await this.restart(container, unit, entry, signal);
    });
    return true;
  }

  /** A probe said the container must be restarted. */
  async probeFailed(
    containerId: string,
    reason: 'LivenessFailed' | 'StartupFailed',
    message: string,
    signal: AbortSignal,
  ): Promise<void> {
    const container = this.lastContainers.find((item) => item.id === containerId);
    const unit = container ? this.unitOf(container) : undefined;
    if (!container || !unit || container.state !== 'running') return;
    this.options.logger.warn(
      `${reason === 'LivenessFailed' ? 'liveness' : 'startup'} probe of ${container.name} failed: ${message}; restarting it`,
      { pod: unit.name, container: container.name, file: unit.file },
    );
    this.events.record({
      type: 'ProbeFailed',
      pod: unit.name,
      container: containerNameIn(unit, container.name) ?? container.name,
      file: unit.file,
      message: `${reason === 'LivenessFailed' ? 'liveness' : 'startup'} probe failed: ${message}; restarting the container`,
    });
    this.pendingReason.set(containerId, reason);
    await this.stopInSlot(container, unit, signal);
  }

  /**
   * The reconciler brought back a pod that ran this spec: every container in
   * it started again, so each restart is counted, as the kubelet counts a new
   * sandbox. `removed`: a container or the pod was removed by hand
   * (RemovedExternally). `lost`: podman kept only a half-created pod; counted
   * as HostRebooted when the host has rebooted since the runner last ran,
   * and not at all otherwise (a runner killed mid-play leaves the same, and
   * nothing had run). No step of backoff either way: the containers did not
   * crash.
   */
  recordRecovery(unit: DesiredUnit, recovery: 'removed' | 'lost'): void {
    const reason: RestartReason | undefined =
      recovery === 'removed'
        ? 'RemovedExternally'
        : this.options.rebootCutoff !== undefined
          ? 'HostRebooted'
          : undefined;
    if (!reason) return;
    const { history, clock, logger } = this.options;
    const at = clock.now();
    for (const { name } of unit.containers) {
      const entry = history.get(unit.key, unit.hash, name);
      entry.lastReason = reason;
      delete entry.lastExitCode; // it did not exit: it was removed, or lost with the power
      history.recordRestart(entry, { at, reason });
      logger.info(
        `container ${name} of pod ${unit.name} runs again in a re-created pod (${reason}; restart ${entry.restartCount})`,
        { pod: unit.name, container: name, file: unit.file },
      );
      this.events.record({
        type: 'Restarted',
        pod: unit.name,
        container: name,
        file: unit.file,
        message: `restart ${entry.restartCount}: ${reason}, the pod was re-created`,
      });
    }
    void history.save();
    this.options.onChange?.();
  }

  /** A restart asked for by an operator (`runner restart`): recorded as Manual. */
  async restartPod(key: string, signal: AbortSignal): Promise<boolean> {
    const unit = this.units.get(key);
    if (!unit) return false;
    const containers = this.lastContainers.filter(
      (container) => this.unitOf(container)?.key === key && container.state === 'running',
    );
    for (const container of containers) {
      this.pendingReason.set(container.id, 'Manual');
      await this.stopInSlot(container, unit, signal);
    }
    for (const name of unit.containers.map((container) => container.name))
      this.options.history.get(key, unit.hash, name).backoffStep = 0;
    this.trigger();
    return true;
  }

  async run(signal: AbortSignal, actionSignal: AbortSignal): Promise<void> {
    await this.loop.run(signal, () => this.evaluate(actionSignal));
    await this.options.history.save();
  }

  async settled(): Promise<void> {
    await this.inFlight.settled();
  }

  /** The containers of a unit as last seen, with their restart history. */
  view(key: string): ContainerView[] {
    const unit = this.units.get(key);
    if (!unit) return [];
    const mine = this.containersOf(key);
    return unit.containers.map((desired) => {
      const seen = mine.find((container) => containerNameIn(unit, container.name) === desired.name);
      return {
        name: desired.name,
        id: seen?.id,
        image: desired.image,
        state: seen?.state ?? 'missing',
        exitCode: seen && seen.state !== 'running' ? seen.exitCode : undefined,
        startedAt: seen?.startedAt,
        history: this.options.history.get(key, unit.hash, desired.name),
      };
    });
  }

  get podmanError(): string | undefined {
    return this.listError;
  }

  /** One look at podman's containers and every decision that follows. Public for tests. */
  async evaluate(signal: AbortSignal): Promise<void> {
    this.actionSignal = signal;
    const marks = { reconciler: this.options.activity.mark(), containers: this.inFlight.mark() };
    const containers = await this.list(signal);
    if (containers === undefined) return;
    this.lastContainers = containers;
    this.recheckAt = undefined;
    const now = this.options.clock.now();
    const targetsByUnit = new Map<string, ProbeTarget[]>();
    for (const unit of this.units.values()) {
      // Hands off a unit the reconciler is busy with, or a pod podman is stopping,
      // but keep probing what runs: dropping the targets would reset readiness.
      const targets = await this.evaluateUnit(unit, containers, marks, now, signal);
      targetsByUnit.set(unit.key, targets ?? this.lastTargets.get(unit.key) ?? []);
    }
    this.forgetGone(containers, marks.containers);
    this.lastTargets = targetsByUnit;
    this.options.onProbeTargets?.([...targetsByUnit.values()].flat());
    await this.options.history.save();
    this.options.onChange?.();
  }

  /** podman's containers, or undefined when it cannot list them (warned about once per distinct error). */
  private async list(signal: AbortSignal): Promise<PodmanContainer[] | undefined> {
    try {
      const containers = await this.options.podman.listContainers({ signal });
      this.listError = undefined;
      return containers;
    } catch (error) {
      const message = describeError(error);
      if (message !== this.listError) this.options.logger.warn(`cannot list containers, will retry: ${message}`);
      this.listError = message;
      return undefined;
    }
  }

  /**
   * The decisions for one unit's pod: each container's exit noted, restarts
   * dispatched or scheduled, the infra kept. Returns the probe targets of what
   * runs, or undefined when the unit is left alone this time.
   */
  private async evaluateUnit(
    unit: DesiredUnit,
    containers: readonly PodmanContainer[],
    marks: { reconciler: number; containers: number },
    now: number,
    signal: AbortSignal,
  ): Promise<ProbeTarget[] | undefined> {
    if (this.options.activity.isBusy(unit.key, marks.reconciler)) return undefined;
    const app = this.containersOf(unit.key).filter(
      (container) => !container.isInfra && !isKeeper(container.name) && container.labels[HASH_LABEL] === unit.hash,
    );
    const podIds = new Set(app.map((container) => container.podId));
    if (app.length === 0 || podIds.size > 1) return []; // missing or duplicated: the reconciler's job
    const podId = app[0]!.podId;
    const infra = containers.find((container) => container.isInfra && container.podId === podId);
    if (this.podBeingStopped(unit, infra, containers, now)) return undefined;
    const infraDown = infra !== undefined && infra.state !== 'running' && infra.state !== 'stopping';
    const targets: ProbeTarget[] = [];
    for (const container of app) {
      const name = containerNameIn(unit, container.name);
      if (!name || this.inFlight.isBusy(container.id, marks.containers)) continue;
      const entry = this.options.history.get(unit.key, unit.hash, name);
      if (container.state === 'running') {
        const target = this.onRunning(container, unit, name, entry, infraDown, now, signal);
        if (target !== undefined) targets.push(target);
      } else if (container.state === 'exited' || container.state === 'stopped' || container.state === 'created') {
        if (this.keeperInFlight(podId, containers)) continue; // see keepInfra: its end makes another look
        await this.onExited(container, unit, name, entry, now, signal);
      }
    }
    this.keepInfra(unit, podId, app, infra, containers, marks.containers, signal);
    return targets;
  }

  /** A running container: its exit forgotten, its backoff reset once it has run long enough, and its probe target. */
  private onRunning(
    container: PodmanContainer,
    unit: DesiredUnit,
    name: string,
    entry: ContainerHistory,
    infraDown: boolean,
    now: number,
    signal: AbortSignal,
  ): ProbeTarget | undefined {
    const { history, policy, logger } = this.options;
    this.handledExit.delete(container.id);
    this.exitRecorded.delete(container.id);
    if (infraDown) {
      logger.warn(`the infra container of pod ${unit.name} is not running; restarting ${container.name}`, {
        pod: unit.name,
        file: unit.file,
      });
      this.pendingReason.set(container.id, 'InfraDied');
      this.dispatch(container.id, () => this.stop(container, unit, signal));
      return undefined;
    }
    if (
      entry.backoffStep > 0 &&
      container.startedAt !== undefined &&
      now - container.startedAt >= policy.resetAfterMs
    ) {
      entry.backoffStep = 0;
      history.touch();
    }
    if (entry.nextRestartAt !== undefined) {
      entry.nextRestartAt = undefined;
      history.touch();
    }
    return this.probeTarget(container, unit, name, now);
  }

  /** What the probe manager needs to probe a running container; undefined when it has no probe. */
  private probeTarget(
    container: PodmanContainer,
    unit: DesiredUnit,
    name: string,
    now: number,
  ): ProbeTarget | undefined {
    const desired = unit.containers.find((item) => item.name === name);
    if (!desired || (!desired.livenessProbe && !desired.readinessProbe && !desired.startupProbe)) return undefined;
    if (!this.firstSeenRunning.has(container.id)) this.firstSeenRunning.set(container.id, now);
    return {
      key: `${unit.key}/${name}`,
      unitKey: unit.key,
      podName: unit.name,
      containerName: name,
      containerId: container.id,
      startedAt: container.startedAt ?? this.firstSeenRunning.get(container.id)!,
      podId: container.podId,
      hostNetwork: unit.hostNetwork,
      ...(desired.livenessProbe ? { livenessProbe: desired.livenessProbe } : {}),
      ...(desired.readinessProbe ? { readinessProbe: desired.readinessProbe } : {}),
      ...(desired.startupProbe ? { startupProbe: desired.startupProbe } : {}),
      ...(desired.ports ? { ports: desired.ports } : {}),
    };
  }

  /** A container that is not running: its exit noted, then a restart now, a restart scheduled by the backoff, or none (restartPolicy). */
  private async onExited(
    container: PodmanContainer,
    unit: DesiredUnit,
    name: string,
    entry: ContainerHistory,
    now: number,
    signal: AbortSignal,
  ): Promise<void> {
    const { history, policy, logger } = this.options;
    const lost = lostWithMachine(container, this.startedAt);
    const rebooted = endedByReboot(container, lost, entry, this.reboot);
    await this.noteExit(container, unit, entry, lost, rebooted, signal);
    if (!restartsAfter(unit.restartPolicy, container.exitCode, rebooted)) return;
    const exitedAt = entry.lastExitAt ?? container.exitedAt ?? now;
    // The first start after a reboot is due at once, whatever the step; a failed one backs off.
    const { step, due } =
      rebooted && firstStartAfterReboot(container, lost, entry)
        ? { step: entry.backoffStep, due: now }
        : restartDue(
            { step: entry.backoffStep, exitedAt, startedAt: container.startedAt, lastRestartAt: entry.lastRestartAt },
            policy,
          );
    if (step !== entry.backoffStep) entry.backoffStep = step; // it had run cleanly long enough before this exit
    if (due > now) {
      if (entry.nextRestartAt !== due) {
        entry.nextRestartAt = due;
        history.touch();
        logger.info(
          `container ${container.name} is crash-looping: restart in ${Math.ceil((due - now) / 1000)}s (restart ${entry.restartCount + 1})`,
          { pod: unit.name, container: name, file: unit.file },
        );
      }
      return;
    }
    this.dispatch(container.id, () => this.restart(container, unit, entry, signal));
  }

  /** Forgets what it kept about containers podman no longer lists. */
  private forgetGone(containers: readonly PodmanContainer[], containerMark: number): void {
    const ids = new Set(containers.map((container) => container.id));
    const running = new Set(
      containers.filter((container) => container.state === 'running').map((container) => container.id),
    );
    for (const id of [...this.handledExit.keys()]) if (!ids.has(id)) this.handledExit.delete(id);
    for (const map of [this.startRequestedAt, this.killedAt])
      for (const id of [...map.keys()]) if (!ids.has(id)) map.delete(id);
    for (const id of [...this.exitRecorded]) if (!ids.has(id)) this.exitRecorded.delete(id);
    this.inFlight.forget(ids, containerMark);
    this.keepers.retain(new Set(containers.map((container) => container.podId)));
    for (const id of [...this.diedSeen]) if (!ids.has(id)) this.diedSeen.delete(id);
    for (const id of [...this.firstSeenRunning.keys()]) if (!running.has(id)) this.firstSeenRunning.delete(id);
  }

  private get events(): EventSink {
    return this.options.events ?? discardEvents;
  }

  /** The reboot this runner started after, if any. */
  private get reboot(): RebootFacts | undefined {
    const { rebootCutoff, previousRunnerSeenAt } = this.options;
    return rebootCutoff === undefined
      ? undefined
      : { cutoff: rebootCutoff, ...(previousRunnerSeenAt !== undefined ? { previousRunnerSeenAt } : {}) };
  }

  /**
   * Records an exit found by listing, once: exit code, reason, time. An exit
   * is known by its time, or for a run lost with the machine (no exit time)
   * by its start, so a runner restart does not record it again. An exit the
   * last runner recorded as its own that turns out to be the reboot's is
   * recorded again, as HostRebooted.
   */
  private async noteExit(
    container: PodmanContainer,
    unit: DesiredUnit,
    entry: ContainerHistory,
    lost: boolean,
    rebooted: boolean,
    signal: AbortSignal,
  ): Promise<void> {
    if (container.state === 'created' && container.exitedAt === undefined && !lost) return; // never ran: nothing to record
    if (this.exitRecorded.has(container.id)) return; // recorded from its `died` event
    if (this.handledExit.has(container.id) && this.handledExit.get(container.id) === exitMark(container, lost)) return;
    let finishedAt = lost ? undefined : container.exitedAt;
    let oomKilled = false;
    if (!lost) {
      try {
        const detail = await this.options.podman.inspectContainer(container.id, { signal });
        finishedAt = detail.finishedAt ?? finishedAt;
        oomKilled = detail.oomKilled;
      } catch {
        // gone or podman busy: the seconds from `ps` will do
      }
    }
    this.handledExit.set(container.id, exitMark(container, lost));
    const mark = lost ? container.startedAt : finishedAt;
    // Recorded before a runner restart (and, after a reboot, with the reboot's reason).
    if (isRecordedExit(entry, mark) && (!rebooted || entry.lastReason === 'HostRebooted')) return;
    if (
      !rebooted &&
      !this.diedSeen.delete(container.id) &&
      finishedAt !== undefined &&
      this.options.clock.now() - finishedAt > EVENTS_LAG_MS &&
      this.options.clock.now() - finishedAt < this.options.resyncMs * 3
    ) {
      this.options.logger.warn(
        `the death of ${container.name} was not reported by podman's events; reopening the events stream`,
      );
      this.options.onEventsMissed?.();
    }
    const reason = rebooted
      ? 'HostRebooted'
      : (this.pendingReason.get(container.id) ?? this.exitReason(container.podId, container.exitCode, oomKilled));
    // A lost run has no exit code of its own: podman's is an older exit's, or 0.
    this.recordExit(
      container,
      unit,
      entry,
      { at: mark ?? this.options.clock.now(), exitCode: lost ? undefined : container.exitCode, reason },
      rebooted,
    );
  }

  /** Writes one exit into the history, the log and the event log. */
  private recordExit(
    container: PodmanContainer,
    unit: DesiredUnit,
    entry: ContainerHistory,
    exit: { at: number; exitCode: number | undefined; reason: RestartReason },
    rebooted = false,
  ): void {
    this.pendingReason.delete(container.id);
    entry.lastExitAt = exit.at;
    if (exit.exitCode === undefined) delete entry.lastExitCode;
    else entry.lastExitCode = exit.exitCode;
    entry.lastReason = exit.reason;
    this.options.history.touch();
    const then = restartsAfter(unit.restartPolicy, exit.exitCode ?? 0, rebooted)
      ? 'will restart'
      : `restartPolicy ${unit.restartPolicy}: left exited`;
    const what =
      exit.exitCode === undefined
        ? 'was lost when the host went down, with no exit recorded'
        : `exited with code ${exit.exitCode}`;
    this.options.logger.info(`container ${container.name} ${what} (${exit.reason}); ${then}`, {
      pod: unit.name,
      container: container.name,
      file: unit.file,
    });
    this.events.record({
      type: 'Exited',
      pod: unit.name,
      container: containerNameIn(unit, container.name) ?? container.name,
      file: unit.file,
      message: `${what} (${exit.reason}); ${then}`,
    });
  }

  /** Why a container stopped, when the runner did not stop it itself and no reboot did. */
  private exitReason(podId: string, exitCode: number, oomKilled: boolean): RestartReason {
    if (this.externallyStopped.has(podId)) return 'StoppedExternally';
    if (oomKilled) return 'OOMKilled';
    return exitCode === 0 ? 'Completed' : 'Exited';
  }

  private async restart(
    container: PodmanContainer,
    unit: DesiredUnit,
    entry: ContainerHistory,
    signal: AbortSignal,
  ): Promise<void> {
    const { podman, clock, history, logger } = this.options;
    const name = containerNameIn(unit, container.name)!;
    const at = clock.now();
    this.startRequestedAt.set(container.id, at);
    // A start after a reboot is no step towards a crash loop; a failed one is.
    let backoffFree = false;
    try {
      await podman.startContainer(container.id, { signal });
      backoffFree = entry.lastReason === 'HostRebooted';
      history.recordRestart(entry, {
        at,
        reason: entry.lastReason ?? 'Exited',
        ...(entry.lastExitCode !== undefined ? { exitCode: entry.lastExitCode } : {}),
      });
      this.handledExit.delete(container.id);
      this.exitRecorded.delete(container.id);
      this.externallyStopped.delete(container.podId);
      this.recentDeaths.delete(container.podId);
      logger.info(
        `restarted container ${container.name} (${entry.lastReason ?? 'Exited'}, exit code ${entry.lastExitCode ?? '?'}; restart ${entry.restartCount})`,
        { pod: unit.name, container: name, file: unit.file },
      );
      this.events.record({
        type: 'Restarted',
        pod: unit.name,
        container: name,
        file: unit.file,
        message: `restart ${entry.restartCount}: ${entry.lastReason ?? 'Exited'}, last exit code ${entry.lastExitCode ?? '?'}`,
      });
    } catch (error) {
      entry.lastRestartAt = at;
      logger.error(`cannot restart container ${container.name}: ${describeError(error)}`, {
        pod: unit.name,
        container: name,
        file: unit.file,
      });
      this.options.onPodChanged?.();
    } finally {
      if (!backoffFree) entry.backoffStep += 1;
      history.touch();
    }
  }

  /** Sees to the pod's infra keeper (infra-keepers.ts), after the pod's own containers. */
  private keepInfra(
    unit: DesiredUnit,
    podId: string,
    app: PodmanContainer[],
    infra: PodmanContainer | undefined,
    containers: readonly PodmanContainer[],
    mark: number,
    signal: AbortSignal,
  ): void {
    const keeper = containers.find((container) => container.podId === podId && isKeeper(container.name));
    const slot = keeperSlot(podId, keeper);
    if (this.inFlight.isBusy(slot, mark)) return;
    // One start in a pod at a time: a keeper made or started while a container
    // of the pod starts makes two podman processes start the pod's infra at
    // once, which on podman 5.4 hung both for 90 s and left the pod
    // unstartable (a crash-looping pod right after its play, podman 5 tier).
    // Seen before plays made the keeper first: that hang was most likely the
    // exit policy's cleanup of src/podman/play-kept.ts, which holds the pod's
    // lock; kept, as two starts in one pod gain nothing.
    // The container goes first; its end makes another look, and the keeper then.
    if (app.some((container) => this.inFlight.has(container.id))) return;
    const action = this.keepers.plan(podId, unit.restartPolicy, app, infra, keeper);
    if (!action) return;
    // The pod stop that follows a keeper's stop is podman's exit policy, not an outside stop.
    if (action.type === 'stop') this.recentDeaths.set(podId, this.options.clock.now());
    const first = app[0]!;
    const podName = first.name.slice(0, first.name.length - (containerNameIn(unit, first.name)?.length ?? 0) - 1);
    this.dispatch(slot, () => this.keepers.apply(action, unit, { id: podId, name: podName }, signal));
  }

  /**
   * A stop of the runner's own (probe, operator) in the container's slot: its
   * `died` event is then no death to restart from at once, and the listing
   * after the stop restarts it as its reason and backoff say.
   */
  private async stopInSlot(container: PodmanContainer, unit: DesiredUnit, signal: AbortSignal): Promise<void> {
    await this.inFlight.idle(container.id);
    this.dispatch(container.id, () => this.stop(container, unit, signal));
    await this.inFlight.idle(container.id);
  }

  private async stop(container: PodmanContainer, unit: DesiredUnit, signal: AbortSignal): Promise<void> {
    try {
      await this.options.podman.stopContainer(container.id, unit.stopTimeoutSeconds, { signal });
    } catch (error) {
      this.options.logger.error(`cannot stop container ${container.name}: ${describeError(error)}`, {
        pod: unit.name,
        file: unit.file,
      });
    }
  }

  /** Runs one action on a container (or a keeper slot); one at a time per ID. */
  private dispatch(containerId: string, work: () => Promise<void>): void {
    const saved = (): Promise<void> => work().finally(() => this.options.history.save());
    void this.inFlight.run(containerId, saved, {
      onEnd: () => {
        this.trigger();
        this.options.onChange?.();
      },
    });
  }

  /** A keeper action of this pod under way (keepInfra): its containers wait for it. */
  private keeperInFlight(podId: string, containers: readonly PodmanContainer[]): boolean {
    const keeper = containers.find((container) => container.podId === podId && isKeeper(container.name));
    // A keeper being made is in the slot of its pod until a listing shows it.
    return (
      this.inFlight.has(keeperSlot(podId, undefined)) ||
      (keeper !== undefined && this.inFlight.has(keeperSlot(podId, keeper)))
    );
  }

  /**
   * The last listing's containers of one unit (by their labels), indexed once
   * per listing: status asks for every unit every few seconds, and scanning
   * every container for every pod was most of an idle runner's CPU at 100
   * pods (bench/RESULTS.md, issue 12).
   */
  private containersOf(key: string): readonly PodmanContainer[] {
    if (this.byUnit?.from !== this.lastContainers) {
      const index = new Map<string, PodmanContainer[]>();
      for (const container of this.lastContainers) {
        const unit = ownerOf(container.labels)?.key;
        if (unit === undefined) continue;
        const list = index.get(unit);
        if (list) list.push(container);
        else index.set(unit, [container]);
      }
      this.byUnit = { from: this.lastContainers, index };
    }
    return this.byUnit.index.get(key) ?? [];
  }

  private byUnit: { from: readonly PodmanContainer[]; index: Map<string, PodmanContainer[]> } | undefined;

  private unitOf(container: PodmanContainer): DesiredUnit | undefined {
    const key = ownerOf(container.labels)?.key;
    return key === undefined ? undefined : this.units.get(key);
  }

  /**
   * True while podman is stopping the pod (`podman pod stop`, or the exit
   * policy once no container but the infra runs: src/shared/infra-keeper.ts),
   * as the listing shows it half-way:
   * - the infra still runs but no other container of the pod does; or
   * - the keeper and the infra are down while an app container still runs
   *   (a pod stop ends the pause containers at once, the app within its grace).
   * Starting a container or the keeper then races podman's own stop: on
   * podman 5.4 that left systemd stopping conmon scopes for 90 s, both
   * `podman start` calls hung as long and the pod stayed unstartable
   * ("internal libpod error") until it was re-created; 4.3 did not mind.
   * Such a pod is left alone and looked at again when the stop's events come,
   * or in POD_STOP_RECHECK_MS; after its grace period and POD_STOP_MARGIN_MS
   * (a pod that keeps its infra up by design, a keeper killed alone) the
   * supervisor acts as on any other listing.
   */
  private podBeingStopped(
    unit: DesiredUnit,
    infra: PodmanContainer | undefined,
    containers: readonly PodmanContainer[],
    now: number,
  ): boolean {
    if (infra === undefined) return false;
    const members = containers.filter((container) => container.podId === infra.podId && !container.isInfra);
    const running = (container: PodmanContainer): boolean =>
      container.state === 'running' || container.state === 'stopping';
    const keeper = members.find((container) => isKeeper(container.name));
    let since: number | undefined;
    if (running(infra) && members.length > 0 && !members.some(running))
      since = Math.max(...members.map((container) => container.exitedAt ?? 0));
    else if (!running(infra) && keeper !== undefined && !running(keeper) && members.some(running))
      since = keeper.exitedAt ?? 0;
    if (since === undefined) return false;
    if (since > 0 && now - since > unit.stopTimeoutSeconds * 1000 + POD_STOP_MARGIN_MS) return false;
    this.recheckAt = Math.min(this.recheckAt ?? Number.POSITIVE_INFINITY, now + POD_STOP_RECHECK_MS);
    return true;
  }

  /** A look asked for by a pod podman is stopping (podBeingStopped). */
  private recheckAt: number | undefined;

  private nextDelay(): number {
    let delay = this.options.resyncMs;
    const now = this.options.clock.now();
    if (this.recheckAt !== undefined) delay = Math.min(delay, Math.max(0, this.recheckAt - now));
    for (const unit of this.units.values()) {
      const recorded = this.options.history.peek(unit.key);
      for (const entry of Object.values(recorded?.containers ?? {})) {
        if (entry.nextRestartAt !== undefined) delay = Math.min(delay, Math.max(0, entry.nextRestartAt - now));
      }
    }
    return delay;
  }
}

/** The manifest's name of a podman container (`<pod>-<container>`): the longest desired name it ends with. */
export const containerNameIn = (unit: DesiredUnit, podmanName: string): string | undefined =>
  unit.containers
    .map((container) => container.name)
    .filter((name) => podmanName.endsWith(`-${name}`))
    .sort((a, b) => b.length - a.length)[0];
