/**
 * What a manifest may ask of the host. Writing a manifest is root-equivalent
 * (SECURITY.md); the policy narrows what a mistaken or hostile manifest can do
 * with that power. The defaults run the static pods this tool exists for (a
 * kubeadm-style etcd, HAProxy or keepalived pod with hostNetwork, NET_ADMIN
 * and a few host directories) and refuse what they never need.
 */
export type Toggle = 'allow' | 'deny';

export interface Policy {
  /** `securityContext.privileged: true`: every device and capability, no confinement. */
  privileged: Toggle;
  /** The host's network stack: load balancers and VIPs (keepalived, HAProxy, etcd) need it. */
  hostNetwork: Toggle;
  /** The host's process namespace: lets a pod see and signal every process. */
  hostPID: Toggle;
  /** The host's IPC namespace (shared memory of host processes). */
  hostIPC: Toggle;
  /** `securityContext.capabilities.add`: names without `CAP_`, or "any". Dropping is always allowed. */
  capabilities: { allowed: readonly string[] | 'any' };
  /** hostPath volumes: allowed at all, and only at or under these prefixes (segment-wise, after normalizing). */
  hostPath: { allow: boolean; pathPrefixes: readonly string[] };
}

export const DEFAULT_POLICY: Policy = {
  privileged: 'deny',
  hostNetwork: 'allow',
  hostPID: 'deny',
  hostIPC: 'deny',
  capabilities: { allowed: ['NET_ADMIN', 'NET_RAW', 'NET_BIND_SERVICE', 'NET_BROADCAST'] },
  hostPath: { allow: true, pathPrefixes: ['/etc/haproxy', '/etc/keepalived', '/etc/kubernetes', '/var/lib/etcd'] },
};

/** A policy that refuses nothing (tests, and hosts that accept the risk knowingly). */
export const PERMISSIVE_POLICY: Policy = {
  privileged: 'allow',
  hostNetwork: 'allow',
  hostPID: 'allow',
  hostIPC: 'allow',
  capabilities: { allowed: 'any' },
  hostPath: { allow: true, pathPrefixes: ['/'] },
};

/** `cap_net_admin`, `CAP_NET_ADMIN` and `NET_ADMIN` are the same capability to podman. */
export const normalizeCapability = (name: string): string => name.trim().toUpperCase().replace(/^CAP_/, '');
