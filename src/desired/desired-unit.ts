import type { WorkloadKind } from '../manifest/kube-schema.ts';

/**
 * One workload the runner must keep running: a Pod (or Deployment) from one
 * manifest file, with the ConfigMaps, Secrets and PersistentVolumeClaims of
 * the same file that it is played together with.
 */
export interface DesiredUnit {
  /** Unique identity: `<file>#<Kind>/<name>`; also how observed pods are matched (labels). */
  key: string;
  file: string;
  /** `<Kind>/<name>`, the value of the unit label. */
  unit: string;
  kind: WorkloadKind;
  name: string;
  /** The pod name podman will use, where it is certain (a Pod's own name); for conflict checks. */
  podName?: string;
  /** Hash of the normalized spec (all documents played for this unit, before labels are added). */
  hash: string;
  /** The YAML fed to `podman kube play`, ownership labels included. */
  yaml: string;
  /** Seconds podman waits for the containers to stop before killing them. */
  stopTimeoutSeconds: number;
  /** Pod restartPolicy (Always when unset), as Kubernetes defines it. */
  restartPolicy: 'Always' | 'OnFailure' | 'Never';
  /** Names of PersistentVolumeClaims (podman volumes) and Secrets the YAML creates. */
  volumes: string[];
  secrets: string[];
  /** spec.hostNetwork: probes then reach the pod on 127.0.0.1. */
  hostNetwork: boolean;
  /** App containers in pod order, with the probes the runner (not podman) runs for them. */
  containers: DesiredContainer[];
  /**
   * Every image the pod needs (initContainers, then containers), without
   * duplicates: what a failed play is checked against, so that nothing has
   * to parse `yaml` again to find them.
   */
  images: string[];
}

export interface DesiredContainer {
  name: string;
  image: string;
  /** Probe specs exactly as written (validated); podman is never given them. */
  livenessProbe?: Record<string, unknown>;
  readinessProbe?: Record<string, unknown>;
  startupProbe?: Record<string, unknown>;
  /** The container's ports (names resolve probes' named ports). */
  ports?: { name?: string; containerPort: number }[];
}
