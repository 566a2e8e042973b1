import { canonicalJson } from '../desired/canonical-hash.ts';
import type { Podman } from '../podman/podman.ts';
import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { createProbeExecutors, type ProbeExecutors } from './probe-executors.ts';
import {
  normalizeProbe,
  PROBE_FIELDS,
  PROBE_KINDS,
  type ContainerPortRef,
  type ProbeKind,
  type ProbeSpec,
} from '../manifest/probe-schema.ts';
import type { ContainerProbeStatus } from './probe-state.ts';
import { ProbeWorker, type ProbeWorkerEvent } from './probe-worker.ts';
import { StaleNeighbours } from './stale-neighbours.ts';

/**
 * Runs the Kubernetes probes of every running container the supervisor hands
 * it. Usage (the composition root builds it, the supervisor drives it):
 *
 *   const probes = new ProbeManager({ podman, clock, logger, onLivenessFailure, onStartupFailure, onChange });
 *   probes.sync(targets);   // the full set of running containers, every time it changes
 *   probes.statuses();      // for status output
 *   await probes.stop();    // at shutdown
 *
 * `sync` takes a full snapshot: new targets get a worker, vanished ones lose
 * theirs, and a target whose containerId, startedAt or probe specs changed
 * gets a fresh worker (a restarted container is probed anew, from its
 * initialDelaySeconds, with every counter at zero).
 *
 * Callbacks run synchronously from a probe loop; they must not block (start
 * the restart asynchronously). Each fires once per failure streak: after it
 * fires, the worker keeps probing but fires again only after a success ends
 * the streak, or for a new container start.
 */
export interface ProbeTarget {
  /** `${unitKey}/${containerName}`. */
  key: string;
  unitKey: string;
  podName: string;
  containerName: string;
  containerId: string;
  /** Unix ms when this container start began. */
  startedAt: number;
  podId: string;
  /** Host-network pods are probed on 127.0.0.1. */
  hostNetwork: boolean;
  /** Raw probe specs, as in DesiredContainer. */
  livenessProbe?: Record<string, unknown>;
  readinessProbe?: Record<string, unknown>;
  startupProbe?: Record<string, unknown>;
  /** The container's `ports`, to resolve probes that name a port; without it a named port is an error. */
  ports?: readonly ContainerPortRef[];
}

export interface ProbeManagerOptions {
  podman: Podman;
  clock: Clock;
  logger: Logger;
  /** `failureThreshold` liveness failures in a row: the container must be restarted. */
  onLivenessFailure: (target: ProbeTarget, message: string) => void;
  /** `failureThreshold` startup failures in a row: the container must be restarted. */
  onStartupFailure: (target: ProbeTarget, message: string) => void;
  /** `started`, `ready` or a probe's thresholded result changed for this key. */
  onChange?: (key: string) => void;
  /** Tests substitute these; default: the real ones over `podman`. */
  executors?: ProbeExecutors;
  /** Added to exec probes' timeouts for `podman exec`'s own cost (config `podman.execOverheadSeconds`); default 0. */
  execOverheadMs?: number;
  /** Clears a stale neighbour entry for each pod IP before its probes; tests give their own. */
  neighbours?: StaleNeighbours;
}

export type ProbeCounts = Record<ProbeKind, { success: number; failure: number }>;

const LOCALHOST = '127.0.0.1';
const KIND_NAMES: Record<ProbeKind, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

interface Entry {
  target: ProbeTarget;
  identity: string;
  worker: ProbeWorker;
}

export class ProbeManager {
  private readonly options: ProbeManagerOptions;
  private readonly logger: Logger;
  private readonly executors: ProbeExecutors;
  private readonly neighbours: StaleNeighbours;
  private readonly entries = new Map<string, Entry>();
  private readonly stopping = new Set<Promise<void>>();
  /** For pod IP look-ups shared by several workers: not tied to any one of them. */
  private readonly controller = new AbortController();
  private readonly counts: ProbeCounts = {
    liveness: { success: 0, failure: 0 },
    readiness: { success: 0, failure: 0 },
    startup: { success: 0, failure: 0 },
  };

  constructor(options: ProbeManagerOptions) {
    this.options = options;
    this.logger = options.logger.withTag('probes');
    this.executors = options.executors ?? createProbeExecutors(options.podman);
    this.neighbours = options.neighbours ?? new StaleNeighbours({ logger: this.logger });
  }

  /** Makes the running workers match `targets` (the complete set). No-op after stop(). */
  sync(targets: readonly ProbeTarget[]): void {
    if (this.controller.signal.aborted) return;
    const wanted = new Map(targets.map((target) => [target.key, target]));
    for (const [key, entry] of this.entries) {
      const target = wanted.get(key);
      if (target && identityOf(target) === entry.identity) {
        entry.target = target;
        continue;
      }
      this.retire(key, entry);
    }
    for (const [key, target] of wanted) {
      if (!this.entries.has(key)) this.launch(target);
    }
  }

  status(key: string): ContainerProbeStatus | undefined {
    return this.entries.get(key)?.worker.status();
  }

  statuses(): Map<string, ContainerProbeStatus> {
    return new Map([...this.entries].map(([key, entry]) => [key, entry.worker.status()]));
  }

  /** Probe results since the manager was created, per kind (monotonic, for metrics). */
  probeCounts(): ProbeCounts {
    return structuredClone(this.counts);
  }

  /** Aborts every worker and pod IP look-up and waits for all loops to end. */
  async stop(): Promise<void> {
    this.controller.abort(new Error('probe manager stopped'));
    for (const [key, entry] of this.entries) this.retire(key, entry);
    await Promise.all([...this.stopping]);
  }

  private launch(target: ProbeTarget): void {
    const fields = { pod: target.podName, container: target.containerName };
    const probes: Partial<Record<ProbeKind, ProbeSpec>> = {};
    for (const kind of PROBE_KINDS) {
      const raw = target[PROBE_FIELDS[kind]];
      if (raw === undefined) continue;
      try {
        probes[kind] = normalizeProbe(raw, target.ports ?? []);
      } catch (error) {
        // The manifest schema makes this unreachable for real manifests; never probe with a guess.
        this.logger.error(`${KIND_NAMES[kind]} probe not run: ${describeError(error)}`, { ...fields, probe: kind });
      }
    }
    // Filled in below; events only arrive after start().
    const entry: Entry = { target, identity: identityOf(target), worker: undefined as unknown as ProbeWorker };
    entry.worker = new ProbeWorker({
      containerId: target.containerId,
      startedAt: target.startedAt,
      probes,
      executors: this.executors,
      clock: this.options.clock,
      execOverheadMs: this.options.execOverheadMs ?? 0,
      resolveHost: (signal) => this.hostOf(entry.target, signal),
      onEvent: (event) => this.handle(entry, event),
    });
    this.entries.set(target.key, entry);
    entry.worker.start();
    this.notify(target.key);
  }

  private retire(key: string, entry: Entry): void {
    this.entries.delete(key);
    const done = entry.worker.stop().finally(() => this.stopping.delete(done));
    this.stopping.add(done);
    this.notify(key);
  }

  private handle(entry: Entry, event: ProbeWorkerEvent): void {
    // A retired worker's last in-flight result must not reach the supervisor.
    if (this.entries.get(entry.target.key) !== entry) return;
    const { target } = entry;
    const fields = { pod: target.podName, container: target.containerName };
    switch (event.type) {
      case 'result':
        this.counts[event.kind][event.ok ? 'success' : 'failure'] += 1;
        return;
      case 'failing':
        this.logger.warn(
          `${KIND_NAMES[event.kind]} probe of ${target.podName}/${target.containerName} failed: ${event.message}`,
          { ...fields, probe: event.kind },
        );
        return;
      case 'livenessFailed':
        this.logger.warn(
          `Liveness probe of ${target.podName}/${target.containerName} failed too often; the container will be restarted: ${event.message}`,
          { ...fields, probe: 'liveness' },
        );
        this.safely(() => this.options.onLivenessFailure(target, event.message), fields);
        return;
      case 'startupFailed':
        this.logger.warn(
          `Startup probe of ${target.podName}/${target.containerName} failed too often; the container will be restarted: ${event.message}`,
          { ...fields, probe: 'startup' },
        );
        this.safely(() => this.options.onStartupFailure(target, event.message), fields);
        return;
      case 'changed':
        this.notify(target.key);
        return;
    }
  }

  private notify(key: string): void {
    const { onChange } = this.options;
    if (onChange) this.safely(() => onChange(key), { key });
  }

  private safely(callback: () => void, fields: Record<string, string>): void {
    try {
      callback();
    } catch (error) {
      this.logger.error(`probe callback failed: ${describeError(error)}`, fields);
    }
  }

  /**
   * Where probes without a `host` go: 127.0.0.1 for host-network pods, else
   * the pod IP. Each worker (one container start) keeps what it got: a pod
   * started again can come back with another IP (measured on podman 4.3:
   * 10.88.0.3, then 10.88.0.6 after a stop and start), and its containers
   * start again with it, so no IP outlives the container start it was found for.
   */
  private async hostOf(target: ProbeTarget, signal: AbortSignal): Promise<string> {
    if (target.hostNetwork) return LOCALHOST;
    const address = await this.options.podman.podAddress(target.podId, { signal });
    if (address === undefined) return LOCALHOST;
    await this.neighbours.clear(address);
    return address.ip;
  }
}

/** What makes a worker reusable: the same container start with the same probes. */
const identityOf = (target: ProbeTarget): string =>
  canonicalJson({
    containerId: target.containerId,
    startedAt: target.startedAt,
    podId: target.podId,
    hostNetwork: target.hostNetwork,
    probes: PROBE_KINDS.map((kind) => target[PROBE_FIELDS[kind]] ?? null),
    ports: target.ports ?? null,
  });
