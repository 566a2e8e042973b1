/**
 * The narrow view of podman the rest of the runner depends on. `CliPodman`
 * implements it by shelling out to the podman CLI; tests use `FakePodman`
 * (test/podman/fake-podman.ts). Every method takes an AbortSignal so shutdown
 * can abandon in-flight calls.
 */
export interface PodmanPod {
  id: string;
  name: string;
  /** podman's pod status: Created, Running, Degraded, Stopped, Exited, Paused, Error. */
  status: string;
  labels: Record<string, string>;
  /** ISO timestamp. */
  created: string;
  containers: PodmanPodContainer[];
}

export interface PodmanPodContainer {
  id: string;
  name: string;
  /** lower-case container state: created, running, exited, stopped, paused, … */
  status: string;
}

/** One container, from `podman ps -a` (infra containers included). */
export interface PodmanContainer {
  id: string;
  name: string;
  podId: string;
  /** The pod's name (`ps --pod`); empty or absent when not in a pod or not reported. */
  podName?: string;
  /** Unix ms of the container's creation; absent when not reported. */
  createdAt?: number;
  isInfra: boolean;
  /** ID of the image it runs. */
  imageId: string;
  /** lower-case: created, running, exited, stopped, paused, … */
  state: string;
  exitCode: number;
  /** Unix milliseconds; undefined when never started / never exited. */
  startedAt: number | undefined;
  exitedAt: number | undefined;
  labels: Record<string, string>;
}

export interface ContainerDetail {
  oomKilled: boolean;
  exitCode: number;
  /** Unix ms. */
  finishedAt: number | undefined;
}

export interface ExecResult {
  exitCode: number;
  output: string;
}

/** One line of `podman events --format json`, normalized across podman 4.x and 5.x. */
export interface PodmanEvent {
  type: string;
  status: string;
  id: string;
  name: string;
  /** Unix ms. */
  time: number;
  /** Only on 4.x `died` events when non-zero, always on 5.x. */
  exitCode: number | undefined;
  podId: string | undefined;
  attributes: Record<string, string>;
}

/** One podman secret, from `podman secret ls`. */
export interface PodmanSecret {
  id: string;
  name: string;
}

export interface PlayResult {
  /** IDs of pods the play created (as podman reported them). */
  podIds: string[];
}

export interface CallOptions {
  signal?: AbortSignal;
}

/** A pod's address on its network: its IP, and the MAC of its interface where podman reports one. */
export interface PodAddress {
  ip: string;
  mac?: string;
}

export interface Podman {
  /** podman's version string, e.g. "4.3.1". */
  version(options?: CallOptions): Promise<string>;
  /** Every pod on the host, managed or not (ownership is decided from labels by the caller). */
  listPods(options?: CallOptions): Promise<PodmanPod[]>;
  /** `podman kube play` of the given YAML, fed on stdin; `start: false` creates the pods without starting them (`--start=false`, 4.3 and 5.x). */
  playKube(yaml: string, options?: CallOptions & { start?: boolean }): Promise<PlayResult>;
  /** Stop (waiting up to `stopTimeoutSeconds`) and remove a pod and its containers. Missing pods are not an error. */
  removePod(id: string, stopTimeoutSeconds: number, options?: CallOptions): Promise<void>;
  /** A pod's name and its infra container's image ID ('' when the infra runs from a rootfs, podman 5.5+); undefined when it has no infra. */
  podInfra(podId: string, options?: CallOptions): Promise<{ podName: string; image: string } | undefined>;
  /** `podman pod start`: starts a stopped pod's containers again. */
  startPod(id: string, options?: CallOptions): Promise<void>;
  volumeExists(name: string, options?: CallOptions): Promise<boolean>;
  /** Removes a podman secret; a missing secret is not an error. */
  removeSecret(name: string, options?: CallOptions): Promise<void>;
  /** Every podman secret on the host (ownership is decided by the caller: src/state/owned-secrets.ts). */
  listSecrets(options?: CallOptions): Promise<PodmanSecret[]>;
  /** Every container on the host (`ps -a --pod`), infra containers included, with its pod's name. */
  listContainers(options?: CallOptions): Promise<PodmanContainer[]>;
  /** A pod's own labels (`pod inspect`), for a pod none of whose containers carries them (its app containers were removed). */
  podLabels(id: string, options?: CallOptions): Promise<Record<string, string>>;
  /** Starts a container (podman starts the pod's infra container with it when needed). */
  startContainer(id: string, options?: CallOptions): Promise<void>;
  /**
   * Creates and starts, in the pod, a container that runs `image`'s own
   * command with no capabilities, a read-only root and no log: the infra
   * image's pause process (src/shared/infra-keeper.ts). Returns its ID.
   */
  runPauseContainer(
    podId: string,
    name: string,
    image: string,
    labels: Record<string, string>,
    options?: CallOptions,
  ): Promise<string>;
  /** Stops a container: SIGTERM, then SIGKILL after `timeoutSeconds`. */
  stopContainer(id: string, timeoutSeconds: number, options?: CallOptions): Promise<void>;
  inspectContainer(id: string, options?: CallOptions): Promise<ContainerDetail>;
  /** Runs a command in a running container; a non-zero exit is a result, not an error. */
  execInContainer(
    id: string,
    command: readonly string[],
    timeoutMs: number,
    options?: CallOptions,
  ): Promise<ExecResult>;
  /** The pod's address on its network, from its infra container; undefined for host-network pods. */
  podAddress(podId: string, options?: CallOptions): Promise<PodAddress | undefined>;
  /**
   * `podman events` as a stream, until the signal aborts or podman's process
   * ends (the iterator then finishes; the caller restarts it with `since`).
   */
  streamEvents(options: CallOptions & { since?: Date }): AsyncIterable<PodmanEvent>;
  // ---- images (src/images/) ----
  /**
   * `podman load` of an archive on disk; returns the references podman
   * reports. `gunzip` streams the file through gzip into podman's stdin
   * (4.3.1 cannot read a gzip-compressed docker-archive by path).
   */
  loadImage(archivePath: string, options?: CallOptions & { gunzip?: boolean; timeoutMs?: number }): Promise<string[]>;
  /** `podman image exists REF`: whether the reference resolves in local storage (no registry is contacted). */
  imageExists(ref: string, options?: CallOptions): Promise<boolean>;
  /** podman's image storage directory (`podman info` → store.graphRoot), for free-space checks. */
  storageRoot(options?: CallOptions): Promise<string>;
  // ---- operator commands (src/cli/) ----
  /**
   * `podman logs` of one container, streamed straight to this process's
   * stdout and stderr (only the CLI calls it); resolves with podman's exit
   * code. No timeout: `follow` runs until the signal aborts.
   */
  logs(container: string, options: CallOptions & { follow?: boolean; tail?: number }): Promise<number>;
}
