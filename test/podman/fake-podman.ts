import { parseAllDocuments } from 'yaml';
import type {
  CallOptions,
  ContainerDetail,
  ExecResult,
  PlayResult,
  Podman,
  PodmanContainer,
  PodmanEvent,
  PodmanPod,
  PodAddress,
  PodmanSecret,
} from '../../src/podman/podman.ts';
import { PodmanError } from '../../src/podman/podman-error.ts';

export type PodmanMethod = keyof Podman;

export interface PodmanCall {
  method: PodmanMethod;
  args: unknown[];
}

/** What the next matching call does instead of its normal work. */
export type Script =
  /** Throws `error` (after leaving a half-created pod in state Created, with `leftover`, as podman 4.3 does). */
  | { kind: 'fail'; error: Error; leftover?: boolean }
  /** Never answers until its signal aborts (rejecting with the reason) or the gate is released (then runs normally). */
  | { kind: 'hang'; gate: HeldGate }
  /** Returns this value untouched, whatever it is (garbage included). */
  | { kind: 'return'; value: unknown };

export interface Gate {
  release: () => void;
  /** Resolves when the hanging call has started. */
  started: Promise<void>;
}

/** A gate as the fake holds it: the test releases it, the held call marks it started and waits. */
interface HeldGate extends Gate {
  released: Promise<void>;
  markStarted: () => void;
}

const newGate = (): HeldGate => {
  let release!: () => void;
  let markStarted!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  return { release, started, released, markStarted };
};

interface Scripted {
  method: PodmanMethod;
  script: Script;
  when?: (args: unknown[]) => boolean;
}

const MUTATIONS: readonly PodmanMethod[] = [
  'playKube',
  'removePod',
  'startPod',
  'removeSecret',
  'startContainer',
  'stopContainer',
  'runPauseContainer',
];

/** The image ID the fake's infra containers run (podman's pause image). */
export const PAUSE_IMAGE_ID = 'f'.repeat(64);

/**
 * An in-memory podman for component tests. It keeps pods (names, labels and
 * states as podman 4.3 would report them after `kube play`), records every
 * call, and can be scripted to fail, hang or answer garbage.
 *
 * Like podman: playing a pod whose name exists fails; removing a missing pod
 * succeeds; a Deployment named `web` makes a pod `web-pod-0`; pod labels come
 * from the pod's metadata (a Deployment's template metadata); a Secret in
 * a play replaces any secret of its name with a new ID (and no labels).
 */
export class FakePodman implements Podman {
  readonly pods = new Map<string, PodmanPod>();
  readonly calls: PodmanCall[] = [];
  readonly volumes = new Set<string>();
  /** Secret name → ID. */
  readonly secrets = new Map<string, string>();
  podmanVersion = '4.3.1';
  private scripts: Scripted[] = [];
  private readonly lateAnswers = new Map<PodmanMethod, HeldGate>();
  private counter = 0;
  private secretCounter = 0;

  // ---- scripting -------------------------------------------------------

  failNext(
    method: PodmanMethod,
    error: Error = playError(),
    options: { leftover?: boolean; when?: (args: unknown[]) => boolean } = {},
  ): void {
    this.scripts.push({ method, script: { kind: 'fail', error, leftover: options.leftover }, when: options.when });
  }

  /** The next matching call hangs; release the gate to let it finish normally. */
  hangNext(method: PodmanMethod, when?: (args: unknown[]) => boolean): Gate {
    const gate = newGate();
    this.scripts.push({ method, script: { kind: 'hang', gate }, when });
    return gate;
  }

  /**
   * The next list reports podman's state as it is now but answers only when
   * the gate is released: a slow `podman pod ps` on a busy host, whose answer
   * is stale by the time it arrives.
   */
  answerLate(method: 'listPods' | 'listContainers'): Gate {
    const gate = newGate();
    this.lateAnswers.set(method, gate);
    return gate;
  }

  /** The next matching call returns `value` as is (e.g. garbage instead of a pod list). */
  returnNext(method: PodmanMethod, value: unknown, when?: (args: unknown[]) => boolean): void {
    this.scripts.push({ method, script: { kind: 'return', value }, when });
  }

  // ---- inspection and outside interference ------------------------------

  callsOf(method: PodmanMethod): PodmanCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Calls that change something (play, remove, start, secret rm). */
  mutations(): PodmanCall[] {
    return this.calls.filter((call) => MUTATIONS.includes(call.method));
  }

  clearCalls(): void {
    this.calls.length = 0;
  }

  podByName(name: string): PodmanPod | undefined {
    return [...this.pods.values()].find((pod) => pod.name === name);
  }

  /** A pod created by someone else (e.g. `podman pod create`), with whatever labels. */
  addPod(pod: Partial<PodmanPod> & { name: string }): PodmanPod {
    const full: PodmanPod = {
      id: this.nextId(),
      status: 'Running',
      labels: {},
      created: this.nextCreated(),
      containers: [],
      ...pod,
    };
    this.pods.set(full.id, full);
    return full;
  }

  /** A secret created by someone else (`podman secret create`); returns its ID. */
  addSecret(name: string): string {
    const id = this.nextSecretId();
    this.secrets.set(name, id);
    return id;
  }

  /** Someone ran `podman pod rm -f` behind the runner's back. */
  deleteBehindBack(id: string): void {
    this.pods.delete(id);
  }

  setStatus(id: string, status: string): void {
    const pod = this.pods.get(id);
    if (!pod) throw new Error(`no pod ${id}`);
    pod.status = status;
    for (const container of pod.containers) container.status = status.toLowerCase();
  }

  // ---- Podman ------------------------------------------------------------

  async version(options?: CallOptions): Promise<string> {
    const scripted = await this.enter('version', [], options);
    if (scripted) return scripted.value as string;
    return this.podmanVersion;
  }

  async listPods(options?: CallOptions): Promise<PodmanPod[]> {
    const scripted = await this.enter('listPods', [], options);
    if (scripted) return scripted.value as PodmanPod[];
    return this.late(
      'listPods',
      [...this.pods.values()].map((pod) => structuredClone(pod)),
    );
  }

  async playKube(yaml: string, options?: CallOptions & { start?: boolean }): Promise<PlayResult> {
    const scripted = await this.enter(
      'playKube',
      [yaml, ...(options?.start === false ? [{ start: false }] : [])],
      options,
      () => this.playLeftover(yaml),
    );
    if (scripted) return scripted.value as PlayResult;
    const pods = podsOf(yaml);
    for (const pod of pods) {
      if (this.podByName(pod.name))
        throw playError(`adding pod to state: name "${pod.name}" is in use: pod already exists`);
    }
    const ids: string[] = [];
    for (const pod of pods) ids.push(this.createPod(pod, options?.start === false ? 'Created' : 'Running').id);
    for (const claim of claimsOf(yaml)) {
      if (this.volumes.has(claim)) throw playError(`volume with name ${claim} already exists: volume already exists`);
      this.volumes.add(claim);
    }
    for (const secret of secretsOf(yaml)) this.secrets.set(secret, this.nextSecretId());
    return { podIds: ids };
  }

  async removePod(id: string, stopTimeoutSeconds: number, options?: CallOptions): Promise<void> {
    const scripted = await this.enter('removePod', [id, stopTimeoutSeconds], options);
    if (scripted) return;
    this.pods.delete(id);
  }

  async podInfra(podId: string, options?: CallOptions): Promise<{ podName: string; image: string } | undefined> {
    const scripted = await this.enter('podInfra', [podId], options);
    if (scripted) return scripted.value as { podName: string; image: string } | undefined;
    const pod = this.pods.get(podId);
    if (!pod)
      throw new PodmanError({
        args: ['pod', 'inspect', '--', podId],
        exitCode: 125,
        stderr: `Error: no such pod ${podId}`,
        timedOut: false,
        message: 'podman pod inspect exited with 125: no such pod',
      });
    return { podName: pod.name, image: PAUSE_IMAGE_ID };
  }

  async startPod(id: string, options?: CallOptions): Promise<void> {
    const scripted = await this.enter('startPod', [id], options);
    if (scripted) return;
    const pod = this.pods.get(id);
    if (!pod)
      throw new PodmanError({
        args: ['pod', 'start', '--', id],
        exitCode: 125,
        stderr: `Error: no pod with name or ID ${id} found: no such pod`,
        timedOut: false,
        message: `podman pod start exited with 125: no pod with name or ID ${id} found: no such pod`,
      });
    this.setStatus(id, 'Running');
  }

  async volumeExists(name: string, options?: CallOptions): Promise<boolean> {
    const scripted = await this.enter('volumeExists', [name], options);
    if (scripted) return scripted.value as boolean;
    return this.volumes.has(name);
  }

  async removeSecret(name: string, options?: CallOptions): Promise<void> {
    const scripted = await this.enter('removeSecret', [name], options);
    if (scripted) return;
    this.secrets.delete(name);
  }

  async listSecrets(options?: CallOptions): Promise<PodmanSecret[]> {
    const scripted = await this.enter('listSecrets', [], options);
    if (scripted) return scripted.value as PodmanSecret[];
    return [...this.secrets].map(([name, id]) => ({ id, name }));
  }

  // ---- containers (for the supervisor) -------------------------------------

  /** Per-container facts podman's `ps -a`/`inspect` would report; absent means defaults. */
  readonly containerFacts = new Map<
    string,
    { exitCode: number; startedAt?: number; exitedAt?: number; oomKilled?: boolean }
  >();
  /** Labels of containers created apart from a play (`runPauseContainer`); played containers carry their pod's. */
  readonly containerLabels = new Map<string, Record<string, string>>();
  /** Scripted `exec` answers by container ID; default: exit 0. */
  readonly execResults = new Map<string, ExecResult>();
  /** A clock for the timestamps the fake reports; tests set it to their fake clock. */
  now: () => number = () => Date.UTC(2026, 0, 1);
  private readonly eventListeners = new Set<(event: PodmanEvent) => void>();

  /** A container exits (crash, OOM kill, `podman stop`): state, exit code and a `died` event, as podman 4.3 reports them. */
  exitContainer(id: string, exitCode: number, options: { oomKilled?: boolean } = {}): void {
    const found = this.findContainer(id);
    if (!found) throw new Error(`no container ${id}`);
    found.container.status = 'exited';
    this.containerFacts.set(id, {
      ...this.containerFacts.get(id),
      exitCode,
      exitedAt: this.now(),
      oomKilled: options.oomKilled ?? false,
    });
    if (found.pod.containers.every((container) => container.status !== 'running')) found.pod.status = 'Exited';
    else found.pod.status = 'Degraded';
    this.emitEvent({
      type: 'container',
      status: 'died',
      id,
      name: found.container.name,
      time: this.now(),
      exitCode,
      podId: undefined,
      attributes: { ...found.pod.labels },
    });
  }

  emitEvent(event: PodmanEvent): void {
    for (const listener of this.eventListeners) listener(event);
  }

  containerByName(name: string): { id: string; name: string; status: string } | undefined {
    for (const pod of this.pods.values()) {
      const container = pod.containers.find((item) => item.name === name);
      if (container) return container;
    }
    return undefined;
  }

  async listContainers(options?: CallOptions): Promise<PodmanContainer[]> {
    const scripted = await this.enter('listContainers', [], options);
    if (scripted) return scripted.value as PodmanContainer[];
    return this.late(
      'listContainers',
      [...this.pods.values()].flatMap((pod) => {
        const podRunning = pod.status === 'Running' || pod.status === 'Degraded';
        const createdAt = Date.parse(pod.created) || undefined;
        const infra: PodmanContainer = {
          id: `${pod.id.slice(0, 60)}ffff`,
          name: `${pod.id.slice(0, 12)}-infra`,
          podId: pod.id,
          podName: pod.name,
          ...(createdAt ? { createdAt } : {}),
          isInfra: true,
          imageId: PAUSE_IMAGE_ID,
          state: podRunning ? 'running' : 'exited',
          exitCode: 0,
          startedAt: undefined,
          exitedAt: undefined,
          labels: {},
        };
        return [
          infra,
          ...pod.containers.map((container) => {
            const facts = this.containerFacts.get(container.id);
            const labels = this.containerLabels.get(container.id) ?? { ...pod.labels };
            const imageId = this.containerLabels.has(container.id) ? PAUSE_IMAGE_ID : 'a'.repeat(64);
            return {
              id: container.id,
              name: container.name,
              podId: pod.id,
              podName: pod.name,
              ...(createdAt ? { createdAt } : {}),
              isInfra: false,
              imageId,
              state: container.status,
              exitCode: facts?.exitCode ?? 0,
              startedAt: facts?.startedAt,
              exitedAt: facts?.exitedAt,
              labels,
            };
          }),
        ];
      }),
    );
  }

  async podLabels(id: string, options?: CallOptions): Promise<Record<string, string>> {
    const scripted = await this.enter('podLabels', [id], options);
    if (scripted) return scripted.value as Record<string, string>;
    const pod = this.pods.get(id);
    if (!pod)
      throw new PodmanError({
        args: ['pod', 'inspect', '--', id],
        exitCode: 125,
        stderr: `Error: no such pod ${id}`,
        timedOut: false,
        message: 'podman pod inspect exited with 125: no such pod',
      });
    return { ...pod.labels };
  }

  async startContainer(id: string, options?: CallOptions): Promise<void> {
    const scripted = await this.enter('startContainer', [id], options);
    if (scripted) return;
    const found = this.findContainer(id);
    if (!found)
      throw new PodmanError({
        args: ['start', '--', id],
        exitCode: 125,
        stderr: `Error: no container with name or ID "${id}" found: no such container`,
        timedOut: false,
        message: `podman start exited with 125: no such container`,
      });
    found.container.status = 'running';
    this.containerFacts.set(id, { ...(this.containerFacts.get(id) ?? { exitCode: 0 }), startedAt: this.now() });
    found.pod.status = found.pod.containers.every((container) => container.status === 'running')
      ? 'Running'
      : 'Degraded';
  }

  async runPauseContainer(
    podId: string,
    name: string,
    image: string,
    labels: Record<string, string>,
    options?: CallOptions,
  ): Promise<string> {
    const scripted = await this.enter('runPauseContainer', [podId, name, image, labels], options);
    if (scripted) return scripted.value as string;
    const pod = this.pods.get(podId);
    if (!pod)
      throw new PodmanError({
        args: ['run', '--pod', podId],
        exitCode: 125,
        stderr: `Error: no pod with name or ID ${podId} found: no such pod`,
        timedOut: false,
        message: 'podman run exited with 125: no such pod',
      });
    if (this.containerByName(name))
      throw new PodmanError({
        args: ['run', '--name', name],
        exitCode: 125,
        stderr: `Error: creating container storage: the container name "${name}" is already in use`,
        timedOut: false,
        message: 'podman run exited with 125: name in use',
      });
    const id = this.nextId();
    pod.containers.push({ id, name, status: 'running' });
    this.containerLabels.set(id, { ...labels });
    this.containerFacts.set(id, { exitCode: 0, startedAt: this.now() });
    if (pod.status === 'Exited' || pod.status === 'Stopped') pod.status = 'Degraded';
    return id;
  }

  async stopContainer(id: string, timeoutSeconds: number, options?: CallOptions): Promise<void> {
    const scripted = await this.enter('stopContainer', [id, timeoutSeconds], options);
    if (scripted) return;
    if (this.findContainer(id)?.container.status === 'running') this.exitContainer(id, 137);
  }

  async inspectContainer(id: string, options?: CallOptions): Promise<ContainerDetail> {
    const scripted = await this.enter('inspectContainer', [id], options);
    if (scripted) return scripted.value as ContainerDetail;
    const facts = this.containerFacts.get(id);
    return { oomKilled: facts?.oomKilled ?? false, exitCode: facts?.exitCode ?? 0, finishedAt: facts?.exitedAt };
  }

  async execInContainer(
    id: string,
    command: readonly string[],
    timeoutMs: number,
    options?: CallOptions,
  ): Promise<ExecResult> {
    const scripted = await this.enter('execInContainer', [id, command, timeoutMs], options);
    if (scripted) return scripted.value as ExecResult;
    return this.execResults.get(id) ?? { exitCode: 0, output: '' };
  }

  async podAddress(podId: string, options?: CallOptions): Promise<PodAddress | undefined> {
    const scripted = await this.enter('podAddress', [podId], options);
    if (scripted) return scripted.value as PodAddress | undefined;
    if (!this.pods.has(podId)) return undefined;
    const host = (Number.parseInt(podId.slice(-4), 16) % 250) + 2;
    return { ip: `10.89.0.${host}`, mac: `02:00:00:00:00:${host.toString(16).padStart(2, '0')}` };
  }

  streamEvents(options: CallOptions & { since?: Date }): AsyncIterable<PodmanEvent> {
    this.calls.push({ method: 'streamEvents', args: [options.since] });
    const queue: PodmanEvent[] = [];
    let wake: (() => void) | undefined;
    const listener = (event: PodmanEvent): void => {
      queue.push(event);
      wake?.();
    };
    this.eventListeners.add(listener);
    const listeners = this.eventListeners;
    const signal = options.signal;
    let ended = false;
    const end = (): void => {
      ended = true;
      wake?.();
    };
    this.streamEnders.add(end);
    const enders = this.streamEnders;
    return {
      async *[Symbol.asyncIterator]() {
        try {
          while (!signal?.aborted && !ended) {
            const event = queue.shift();
            if (event) {
              yield event;
              continue;
            }
            await new Promise<void>((resolve) => {
              wake = resolve;
              signal?.addEventListener('abort', () => resolve(), { once: true });
            });
            wake = undefined;
          }
        } finally {
          listeners.delete(listener);
          enders.delete(end);
        }
      },
    };
  }

  /** Silences every open event stream: open, but nothing comes any more (podman's events process hangs, its log rotated). */
  endEventStreams(): void {
    this.eventListeners.clear();
  }

  /** Ends every open event stream, as when podman's events process exits. */
  closeEventStreams(): void {
    for (const end of this.streamEnders) end();
  }

  private readonly streamEnders = new Set<() => void>();

  private findContainer(
    id: string,
  ): { pod: PodmanPod; container: { id: string; name: string; status: string } } | undefined {
    for (const pod of this.pods.values()) {
      const container = pod.containers.find((item) => item.id === id || item.name === id);
      if (container) return { pod, container };
    }
    return undefined;
  }

  // ---- images (src/images/) -------------------------------------------------

  /** Images `imageExists` reports absent; every other reference is present. */
  readonly absentImages = new Set<string>();
  /** What `loadImage` of an archive path loads (default: nothing, as for an archive with no tags). */
  readonly archiveRefs = new Map<string, string[]>();
  graphRoot = '/var/lib/containers/storage';

  async loadImage(
    archivePath: string,
    options?: CallOptions & { gunzip?: boolean; timeoutMs?: number },
  ): Promise<string[]> {
    const scripted = await this.enter('loadImage', [archivePath, options?.gunzip === true], options);
    if (scripted) return scripted.value as string[];
    const refs = this.archiveRefs.get(archivePath) ?? [];
    for (const ref of refs) this.absentImages.delete(ref);
    return refs;
  }

  async imageExists(ref: string, options?: CallOptions): Promise<boolean> {
    const scripted = await this.enter('imageExists', [ref], options);
    if (scripted) return scripted.value as boolean;
    return !this.absentImages.has(ref);
  }

  async storageRoot(options?: CallOptions): Promise<string> {
    const scripted = await this.enter('storageRoot', [], options);
    if (scripted) return scripted.value as string;
    return this.graphRoot;
  }

  // ---- operator commands (src/cli/) ----------------------------------------

  /** What `logs` writes to stdout per container name; a container not listed exits 125 as podman does. */
  readonly containerLogs = new Map<string, string>();

  async logs(container: string, options: CallOptions & { follow?: boolean; tail?: number } = {}): Promise<number> {
    const scripted = await this.enter('logs', [container, options.follow === true, options.tail], options);
    if (scripted) return scripted.value as number;
    const text = this.containerLogs.get(container);
    if (text === undefined) return 125;
    const lines = text.split('\n').filter(Boolean);
    process.stdout.write(`${(options.tail !== undefined ? lines.slice(-options.tail) : lines).join('\n')}\n`);
    return 0;
  }

  // ---- internals -----------------------------------------------------------

  /** Answers `now` at once, or when the gate of an `answerLate` releases it. */
  private async late<T>(method: PodmanMethod, now: T): Promise<T> {
    const gate = this.lateAnswers.get(method);
    if (!gate) return now;
    this.lateAnswers.delete(method);
    gate.markStarted();
    await gate.released;
    return now;
  }

  /** Records the call, then applies a matching script; returns a value for `return` scripts. */
  private async enter(
    method: PodmanMethod,
    args: unknown[],
    options: CallOptions | undefined,
    onLeftover?: () => void,
  ): Promise<{ value: unknown } | undefined> {
    this.calls.push({ method, args });
    const signal = options?.signal;
    if (signal?.aborted) throw signal.reason;
    const index = this.scripts.findIndex((item) => item.method === method && (item.when?.(args) ?? true));
    if (index < 0) return undefined;
    const [{ script }] = this.scripts.splice(index, 1) as [Scripted];
    switch (script.kind) {
      case 'fail':
        if (script.leftover) onLeftover?.();
        throw script.error;
      case 'return':
        return { value: script.value };
      case 'hang': {
        const { gate } = script;
        gate.markStarted();
        await new Promise<void>((resolve, reject) => {
          const onAbort = (): void => reject(signal?.reason);
          if (signal) signal.addEventListener('abort', onAbort, { once: true });
          void gate.released.then(() => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          });
        });
        return undefined;
      }
    }
  }

  /** What a failed 4.3 `kube play` leaves: the pod, in state Created, with its labels. */
  private playLeftover(yaml: string): void {
    for (const pod of podsOf(yaml)) if (!this.podByName(pod.name)) this.createPod(pod, 'Created');
  }

  private createPod(
    pod: { name: string; labels: Record<string, string>; containers: string[] },
    status: string,
  ): PodmanPod {
    const full: PodmanPod = {
      id: this.nextId(),
      name: pod.name,
      status,
      labels: { ...pod.labels },
      created: this.nextCreated(),
      containers: pod.containers.map((container) => ({
        id: this.nextId(),
        name: `${pod.name}-${container}`,
        status: status.toLowerCase(),
      })),
    };
    this.pods.set(full.id, full);
    return full;
  }

  private nextId(): string {
    this.counter += 1;
    return this.counter.toString(16).padStart(64, '0');
  }

  /** podman's secret IDs are 25 hex digits; counted apart from pods and containers, whose IDs tests compare. */
  private nextSecretId(): string {
    this.secretCounter += 1;
    return this.secretCounter.toString(16).padStart(25, '0');
  }

  private nextCreated(): string {
    return new Date(Date.UTC(2026, 0, 1) + this.counter * 1000).toISOString();
  }
}

export const playError = (text = 'creating pod: image not known'): PodmanError =>
  new PodmanError({
    args: ['kube', 'play', '--quiet', '-'],
    exitCode: 125,
    stderr: `Error: ${text}\n`,
    timedOut: false,
    message: `podman kube play exited with 125: ${text}`,
  });

type Doc = {
  kind?: string;
  metadata?: { name?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
};

const docsOf = (yaml: string): Doc[] => {
  const docs = parseAllDocuments(yaml);
  return (Array.isArray(docs) ? docs : []).map((doc) => (doc.toJS() ?? {}) as Doc);
};

const containerNames = (spec: unknown): string[] =>
  ((spec as { containers?: { name?: string }[] } | undefined)?.containers ?? []).map(
    (container) => container.name ?? 'unnamed',
  );

/** The pods a play creates: a Pod by its own name, a Deployment as `<name>-pod-0` (podman 4.3). */
const podsOf = (yaml: string): { name: string; labels: Record<string, string>; containers: string[] }[] =>
  docsOf(yaml).flatMap((doc) => {
    if (doc.kind === 'Pod')
      return [
        { name: doc.metadata?.name ?? '', labels: doc.metadata?.labels ?? {}, containers: containerNames(doc.spec) },
      ];
    if (doc.kind === 'Deployment') {
      const template = (doc.spec?.template ?? {}) as { metadata?: { labels?: Record<string, string> }; spec?: unknown };
      return [
        {
          name: `${doc.metadata?.name ?? ''}-pod-0`,
          labels: template.metadata?.labels ?? {},
          containers: containerNames(template.spec),
        },
      ];
    }
    return [];
  });

const claimsOf = (yaml: string): string[] =>
  docsOf(yaml)
    .filter((doc) => doc.kind === 'PersistentVolumeClaim')
    .map((doc) => doc.metadata?.name ?? '');
const secretsOf = (yaml: string): string[] =>
  docsOf(yaml)
    .filter((doc) => doc.kind === 'Secret')
    .map((doc) => doc.metadata?.name ?? '');
