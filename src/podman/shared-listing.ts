import type { Clock } from '../shared/clock.ts';
import { isKeeper, KEEPER_SUFFIX } from '../shared/infra-keeper.ts';
import { MANAGED_LABEL } from '../shared/ownership.ts';
import type { CallOptions, Podman, PodmanContainer, PodmanEvent, PodmanPod } from './podman.ts';
import { podmanErrorKind } from './podman-error.ts';

/** A listing may answer a later ask this long after it ended, if nothing has changed since it began. */
const REUSE_MS = 2_000;

interface Listing {
  /** The change count when podman was asked. */
  changes: number;
  /** When it ended (undefined while podman answers). */
  endedAt: number | undefined;
  containers: Promise<PodmanContainer[]>;
}

/**
 * The podman the daemon's loops share: `listPods` and `listContainers` both
 * come from one `podman ps --all --pod`, and a listing answers every ask
 * made until something may have changed.
 *
 * At 100 pods one `ps --all` costs podman about 1.1 s of CPU and one
 * `pod ps` about 1.2 s (4.3.1, bench/RESULTS.md). The reconciler lists pods
 * and the supervisor lists containers right after it (each pass hands it the
 * desired units): two podman calls for one look. Here the second is answered
 * from the first when it is no more than REUSE_MS old and nothing has
 * happened since it began: no mutating call (play, rm, start, stop) has
 * ended and no podman event has arrived. Those are the only ways the runner
 * learns of a change, so such a listing is as good as a new one: every
 * caller's `InFlight` mark, taken before it asks, is then the same as at
 * the listing's start. Timed resyncs are minutes apart, so they always list.
 *
 * Pods are derived from the containers as `podman pod ps` derives them: the
 * status from the containers' states (libpod/pod_status.go, 4.3 to 5.x), the
 * labels from an app container (kube play gives each container its pod's
 * labels), the creation time from the oldest container. A pod whose
 * containers carry no labels at all (only its infra is left, or someone
 * else's pod) is asked for its labels once: pod labels never change, so the
 * answer is kept while the pod exists. A pod with no container at all is not
 * seen; kube play never makes one.
 */
export class SharedListing implements Podman {
  private changes = 0;
  private last: Listing | undefined;
  private readonly labelsByPod = new Map<string, Record<string, string>>();
  /** The runner's own pods as of the last listing: IDs and names. */
  private ours = { ids: new Set<string>(), names: new Set<string>() };

  /** `owns`: whether a pod with these labels is this runner's (its labels, its manifest directory). */
  constructor(
    private readonly podman: Podman,
    private readonly clock: Clock,
    private readonly owns: (labels: Readonly<Record<string, string>>) => boolean = () => true,
  ) {}

  /**
   * Whether an event may be about one of the runner's pods. podman's events
   * are the whole host's: other pods, other runners' (tests, a second
   * instance), and each one listened to costs a listing of every container
   * (about a second of podman's CPU at 100 pods). Ours: a container event
   * whose labels say so, or of a known pod's infra container or keeper; a
   * pod event of a known pod. Other kinds (images) are passed on. A pod the
   * runner has just played is not known yet, but its containers' events
   * carry its labels, and the play's end makes a pass anyway.
   */
  concerns(event: PodmanEvent): boolean {
    const { ids, names } = this.ours;
    if (event.type === 'pod') return ids.has(event.id);
    if (event.type !== 'container') return true;
    if (this.owns(event.attributes) || (event.podId !== undefined && ids.has(event.podId))) return true;
    if (isKeeper(event.name)) return names.has(event.name.slice(0, -KEEPER_SUFFIX.length));
    const infra = /^([0-9a-f]{12})-infra$/.exec(event.name)?.[1];
    return infra !== undefined && [...ids].some((id) => id.startsWith(infra));
  }

  /** Something happened that a listing taken before now cannot show. */
  noteChange(): void {
    this.changes += 1;
  }

  async listContainers(options?: CallOptions): Promise<PodmanContainer[]> {
    return structuredClone(await this.listing(options));
  }

  async listPods(options?: CallOptions): Promise<PodmanPod[]> {
    const containers = await this.listing(options);
    const pods: PodmanPod[] = [];
    for (const pod of podsFromContainers(containers, this.labelsByPod)) {
      const labels = pod.labels ?? (await this.askLabels(pod.id, options));
      if (labels) pods.push({ ...pod, labels });
    }
    const present = new Set(pods.map((pod) => pod.id));
    for (const id of this.labelsByPod.keys()) if (!present.has(id)) this.labelsByPod.delete(id);
    return pods;
  }

  /**
   * The labels of a pod whose containers carry none (an app container
   * removed by hand; a pod being removed, its infra the last one left).
   * Undefined when the pod is gone since the listing: it is no pod at all,
   * not someone else's pod with that name. Another failure fails the list.
   */
  private async askLabels(id: string, options?: CallOptions): Promise<Record<string, string> | undefined> {
    try {
      const labels = await this.podman.podLabels(id, options);
      this.labelsByPod.set(id, labels);
      return labels;
    } catch (error) {
      if (podmanErrorKind(error) === 'not-found') return undefined;
      throw error;
    }
  }

  private listing(options?: CallOptions): Promise<PodmanContainer[]> {
    const last = this.last;
    const fresh =
      last !== undefined &&
      last.changes === this.changes &&
      (last.endedAt === undefined || this.clock.now() - last.endedAt <= REUSE_MS);
    if (fresh && !options?.signal?.aborted) return last.containers;
    const listing: Listing = {
      changes: this.changes,
      endedAt: undefined,
      containers: this.podman.listContainers(options),
    };
    this.last = listing;
    listing.containers.then(
      (containers) => {
        listing.endedAt = this.clock.now();
        this.learnOwnPods(containers);
      },
      () => {
        if (this.last === listing) this.last = undefined; // a failure is nobody's answer but its own caller's
      },
    );
    return listing.containers;
  }

  private learnOwnPods(containers: readonly PodmanContainer[]): void {
    const ids = new Set<string>();
    const names = new Set<string>();
    for (const container of containers) {
      const labels = this.labelsByPod.get(container.podId) ?? container.labels;
      if (!container.podId || !this.owns(labels)) continue;
      ids.add(container.podId);
      if (container.podName) names.add(container.podName);
    }
    this.ours = { ids, names };
  }

  /** A call that may change podman's state: once it ends, no listing taken before counts as fresh. */
  private changing<T>(call: Promise<T>): Promise<T> {
    return call.finally(() => (this.changes += 1));
  }

  // ---- everything else goes straight to podman ----

  version(options?: CallOptions): Promise<string> {
    return this.podman.version(options);
  }
  playKube(yaml: string, options?: CallOptions & { start?: boolean }): ReturnType<Podman['playKube']> {
    return this.changing(this.podman.playKube(yaml, options));
  }
  removePod(id: string, stopTimeoutSeconds: number, options?: CallOptions): Promise<void> {
    return this.changing(this.podman.removePod(id, stopTimeoutSeconds, options));
  }
  podInfra(podId: string, options?: CallOptions): ReturnType<Podman['podInfra']> {
    return this.podman.podInfra(podId, options);
  }
  startPod(id: string, options?: CallOptions): Promise<void> {
    return this.changing(this.podman.startPod(id, options));
  }
  volumeExists(name: string, options?: CallOptions): Promise<boolean> {
    return this.podman.volumeExists(name, options);
  }
  removeSecret(name: string, options?: CallOptions): Promise<void> {
    return this.podman.removeSecret(name, options);
  }
  listSecrets(options?: CallOptions): ReturnType<Podman['listSecrets']> {
    return this.podman.listSecrets(options);
  }
  podLabels(id: string, options?: CallOptions): Promise<Record<string, string>> {
    return this.podman.podLabels(id, options);
  }
  startContainer(id: string, options?: CallOptions): Promise<void> {
    return this.changing(this.podman.startContainer(id, options));
  }
  runPauseContainer(
    podId: string,
    name: string,
    image: string,
    labels: Record<string, string>,
    options?: CallOptions,
  ): Promise<string> {
    return this.changing(this.podman.runPauseContainer(podId, name, image, labels, options));
  }
  stopContainer(id: string, timeoutSeconds: number, options?: CallOptions): Promise<void> {
    return this.changing(this.podman.stopContainer(id, timeoutSeconds, options));
  }
  inspectContainer(id: string, options?: CallOptions): ReturnType<Podman['inspectContainer']> {
    return this.podman.inspectContainer(id, options);
  }
  execInContainer(
    id: string,
    command: readonly string[],
    timeoutMs: number,
    options?: CallOptions,
  ): ReturnType<Podman['execInContainer']> {
    return this.podman.execInContainer(id, command, timeoutMs, options);
  }
  podAddress(podId: string, options?: CallOptions): ReturnType<Podman['podAddress']> {
    return this.podman.podAddress(podId, options);
  }
  /** An event about the runner's pods is a change: a listing taken before it may not show it. */
  async *streamEvents(options: CallOptions & { since?: Date }): AsyncIterable<PodmanEvent> {
    for await (const event of this.podman.streamEvents(options)) {
      if (this.concerns(event)) this.changes += 1;
      yield event;
    }
  }
  loadImage(archivePath: string, options?: CallOptions & { gunzip?: boolean; timeoutMs?: number }): Promise<string[]> {
    return this.podman.loadImage(archivePath, options);
  }
  imageExists(ref: string, options?: CallOptions): Promise<boolean> {
    return this.podman.imageExists(ref, options);
  }
  storageRoot(options?: CallOptions): Promise<string> {
    return this.podman.storageRoot(options);
  }
  logs(container: string, options: CallOptions & { follow?: boolean; tail?: number }): Promise<number> {
    return this.podman.logs(container, options);
  }
}

/** A pod as derived from its containers; `labels` undefined when none of them carries any. */
export type DerivedPod = Omit<PodmanPod, 'labels'> & { labels: Record<string, string> | undefined };

/**
 * Groups `ps --all --pod` rows into pods, as `podman pod ps` reports them.
 * `knownLabels`: pod labels learnt before, by pod ID.
 */
export const podsFromContainers = (
  containers: readonly PodmanContainer[],
  knownLabels: ReadonlyMap<string, Record<string, string>> = new Map(),
): DerivedPod[] => {
  const byPod = new Map<string, PodmanContainer[]>();
  for (const container of containers)
    if (container.podId) byPod.set(container.podId, [...(byPod.get(container.podId) ?? []), container]);
  return [...byPod].map(([id, members]) => {
    // Not the infra (the pause image's labels) nor a keeper (its own label only).
    const candidates = members.filter((container) => !container.isInfra && !isKeeper(container.name));
    const labelled =
      candidates.find((container) => container.labels[MANAGED_LABEL] !== undefined) ??
      candidates.find((container) => Object.keys(container.labels).length > 0);
    const created = Math.min(...members.map((container) => container.createdAt ?? Number.POSITIVE_INFINITY));
    return {
      id,
      name: members.find((container) => container.podName)?.podName ?? '',
      status: podStatus(members.map((container) => container.state)),
      labels: knownLabels.get(id) ?? (labelled ? { ...labelled.labels } : undefined),
      created: Number.isFinite(created) ? new Date(created).toISOString() : '',
      containers: members.map((container) => ({ id: container.id, name: container.name, status: container.state })),
    };
  });
};

/** podman's pod status from its containers' states (createPodStatusResults, libpod/pod_status.go, 4.3 to 5.x). */
export const podStatus = (states: readonly string[]): string => {
  if (states.length === 0) return 'Created';
  let stopped = 0;
  let running = 0;
  let paused = 0;
  let errored = 0;
  for (const state of states) {
    if (state === 'exited' || state === 'stopped') stopped += 1;
    else if (state === 'running') running += 1;
    else if (state === 'paused') paused += 1;
    else if (state !== 'created' && state !== 'configured') errored += 1;
  }
  if (running === states.length) return 'Running';
  if (running > 0) return 'Degraded';
  if (paused === states.length) return 'Paused';
  if (stopped === states.length) return 'Exited';
  if (stopped > 0) return 'Stopped';
  if (errored > 0) return 'Error';
  return 'Created';
};
