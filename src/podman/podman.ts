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

export interface PlayResult {
  /** IDs of pods the play created (as podman reported them). */
  podIds: string[];
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface Podman {
  /** podman's version string, e.g. "4.3.1". */
  version(options?: CallOptions): Promise<string>;
  /** Every pod on the host, managed or not (ownership is decided from labels by the caller). */
  listPods(options?: CallOptions): Promise<PodmanPod[]>;
  /** `podman kube play` of the given YAML, fed on stdin. */
  playKube(yaml: string, options?: CallOptions): Promise<PlayResult>;
  /** Stop (waiting up to `stopTimeoutSeconds`) and remove a pod and its containers. Missing pods are not an error. */
  removePod(id: string, stopTimeoutSeconds: number, options?: CallOptions): Promise<void>;
  /** `podman pod start`: starts a stopped pod's containers again. */
  startPod(id: string, options?: CallOptions): Promise<void>;
  volumeExists(name: string, options?: CallOptions): Promise<boolean>;
  /** Removes a podman secret; a missing secret is not an error. */
  removeSecret(name: string, options?: CallOptions): Promise<void>;
}
