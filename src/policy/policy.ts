/**
 * What a manifest may ask of the host. Writing a manifest is root-equivalent
 * (SECURITY.md); the policy narrows what a mistaken or hostile manifest can do
 * with that power. The defaults are the Kubernetes Pod Security Standards'
 * baseline level, with the exemptions the static pods this tool exists for
 * need (a kubeadm control plane, HAProxy, keepalived or kube-vip: hostNetwork,
 * NET_ADMIN and NET_RAW, a few host directories, published ports).
 */
export type Toggle = 'allow' | 'deny';

/** A port, or an inclusive range written "from-to". */
export type PortRange = number | `${number}-${number}`;

/** The Pod Security Standards levels: the starting point the other keys adjust. */
export const POLICY_LEVELS = ['privileged', 'baseline', 'restricted'] as const;
export type PolicyLevel = (typeof POLICY_LEVELS)[number];

export interface Policy {
  /**
   * The level the other keys start from. `restricted` also requires what the
   * restricted level adds: non-root, no privilege escalation, every capability
   * dropped, a seccomp profile set, only volumes that hold no host data.
   */
  level: PolicyLevel;
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
  /**
   * hostPath volumes: allowed at all, and only at or under `pathPrefixes`
   * (segment-wise, after normalizing), or under `readOnlyPathPrefixes` when
   * every mount of the volume is `readOnly: true`.
   */
  hostPath: { allow: boolean; pathPrefixes: readonly string[]; readOnlyPathPrefixes: readonly string[] };
  /** `ports[].hostPort`: "any", or the ports and ranges a pod may publish on the host. */
  hostPorts: { allowed: readonly PortRange[] | 'any' };
  /** `seccompProfile.type: Unconfined`: no system-call filter. */
  seccompUnconfined: Toggle;
  /** `appArmorProfile.type: Unconfined`: no AppArmor confinement. */
  appArmorUnconfined: Toggle;
  /** `seLinuxOptions` with a `user`, a `role` or a `type` other than the container types (`spc_t` is unconfined). */
  seLinuxOptions: Toggle;
  /** `procMount: Unmasked`: /proc and /sys without the runtime's masked paths. */
  procMountUnmasked: Toggle;
  /** `securityContext.sysctls`: names (dots or slashes), or "any". */
  sysctls: { allowed: readonly string[] | 'any' };
}

/** The capabilities the baseline level lets a container add (the runtimes' default set). */
export const BASELINE_CAPABILITIES = [
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
];

/** The baseline level's safe sysctls: namespaced, and isolated from the host and other pods. */
export const SAFE_SYSCTLS = [
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
];

/**
 * The system trust store, which kubeadm's kube-apiserver and
 * kube-controller-manager mount read-only. Only the certificate parts of
 * /etc/pki: on RHEL-family hosts it also holds private keys (kubeadm mounts
 * these two since v1.31, the whole of /etc/pki before).
 */
export const READ_ONLY_HOST_PATHS = [
  '/etc/ssl/certs',
  '/etc/ca-certificates',
  '/etc/pki/ca-trust',
  '/etc/pki/tls/certs',
  '/usr/share/ca-certificates',
  '/usr/local/share/ca-certificates',
];

/**
 * The configuration and data of the static pods this tool exists for, and the
 * kubelet's flexvolume plugin directory, which kubeadm's
 * kube-controller-manager mounts read-write (no kubelet runs plugins from it
 * on a runner host).
 */
export const HOST_PATHS = [
  '/etc/haproxy',
  '/etc/keepalived',
  '/etc/kubernetes',
  '/var/lib/etcd',
  '/usr/libexec/kubernetes/kubelet-plugins/volume/exec',
];

export const DEFAULT_POLICY: Policy = {
  level: 'baseline',
  privileged: 'deny',
  hostNetwork: 'allow',
  hostPID: 'deny',
  hostIPC: 'deny',
  capabilities: { allowed: [...BASELINE_CAPABILITIES, 'NET_ADMIN', 'NET_RAW', 'NET_BROADCAST'] },
  hostPath: { allow: true, pathPrefixes: HOST_PATHS, readOnlyPathPrefixes: READ_ONLY_HOST_PATHS },
  hostPorts: { allowed: 'any' },
  seccompUnconfined: 'deny',
  appArmorUnconfined: 'deny',
  seLinuxOptions: 'deny',
  procMountUnmasked: 'deny',
  sysctls: { allowed: SAFE_SYSCTLS },
};

/** A policy that refuses nothing (tests, and hosts that accept the risk knowingly). */
export const PERMISSIVE_POLICY: Policy = {
  level: 'privileged',
  privileged: 'allow',
  hostNetwork: 'allow',
  hostPID: 'allow',
  hostIPC: 'allow',
  capabilities: { allowed: 'any' },
  hostPath: { allow: true, pathPrefixes: ['/'], readOnlyPathPrefixes: [] },
  hostPorts: { allowed: 'any' },
  seccompUnconfined: 'allow',
  appArmorUnconfined: 'allow',
  seLinuxOptions: 'allow',
  procMountUnmasked: 'allow',
  sysctls: { allowed: 'any' },
};

/**
 * The restricted level: the baseline without its exemptions (no host
 * network, ports or paths; only NET_BIND_SERVICE may be added), plus the
 * restricted checks.
 */
export const RESTRICTED_POLICY: Policy = {
  ...DEFAULT_POLICY,
  level: 'restricted',
  hostNetwork: 'deny',
  capabilities: { allowed: ['NET_BIND_SERVICE'] },
  hostPath: { allow: false, pathPrefixes: [], readOnlyPathPrefixes: [] },
  hostPorts: { allowed: [] },
};

/** Where each level starts, before the config's own keys. */
export const LEVEL_POLICIES: Record<PolicyLevel, Policy> = {
  privileged: PERMISSIVE_POLICY,
  baseline: DEFAULT_POLICY,
  restricted: RESTRICTED_POLICY,
};

/** `cap_net_admin`, `CAP_NET_ADMIN` and `NET_ADMIN` are the same capability to podman. */
export const normalizeCapability = (name: string): string => name.trim().toUpperCase().replace(/^CAP_/, '');

/** `net/ipv4/ip_forward` and `net.ipv4.ip_forward` name the same sysctl. */
export const normalizeSysctl = (name: string): string => name.trim().replace(/\//g, '.');

/** Whether `port` is one of the allowed ports or inside one of the allowed ranges. */
export const portAllowed = (port: number, allowed: readonly PortRange[]): boolean =>
  allowed.some((entry) => {
    if (typeof entry === 'number') return entry === port;
    const [from, to] = entry.split('-').map(Number);
    return from !== undefined && to !== undefined && port >= from && port <= to;
  });
