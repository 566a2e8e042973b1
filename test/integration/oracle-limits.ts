/**
 * The policy as the policy oracle reads it (oracle-facts.ts), from the
 * runner's Policy. Read defensively: the Policy type grows (the Pod
 * Security Standards baseline keys came after 42e18c6, and the oracle must
 * run against older trees unchanged), and a key that is absent means the
 * baseline's answer.
 */
import type { Policy } from '../../src/policy/policy.ts';

/** The Pod Security Standards baseline's safe sysctls (kubernetes.io/docs/concepts/security/pod-security-standards). */
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

/** `NET_ADMIN`, `net_admin` and `CAP_NET_ADMIN` as podman writes them: `CAP_NET_ADMIN`. */
export const capName = (name: string): string => {
  const upper = name.trim().toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
};

/** What the policy allows, as the oracle compares it with podman's JSON: `true` for a toggle set to allow. */
export interface Limits {
  privileged: boolean;
  hostNetwork: boolean;
  hostPID: boolean;
  hostIPC: boolean;
  /** With the CAP_ prefix; 'any' for no limit. */
  capabilities: ReadonlySet<string> | 'any';
  hostPaths: readonly string[];
  /** Allowed only for read-only mounts. */
  readOnlyHostPaths: readonly string[];
  sysctls: ReadonlySet<string> | 'any';
  hostPorts: ((port: number) => boolean) | 'any';
  seccompUnconfined: boolean;
  appArmorUnconfined: boolean;
  seLinuxOptions: boolean;
  procMountUnmasked: boolean;
}

type Loose = Record<string, unknown>;
const allowed = (toggle: unknown): boolean => toggle === 'allow';

export const limitsOf = (policy: Policy): Limits => {
  const raw = policy as unknown as Loose;
  const hostPath = (raw.hostPath ?? {}) as {
    allow?: boolean;
    pathPrefixes?: string[];
    readOnlyPathPrefixes?: string[];
  };
  const listed = (value: unknown, fallback: readonly string[]): readonly string[] | 'any' => {
    const list = (value as { allowed?: unknown } | undefined)?.allowed;
    return list === 'any' ? 'any' : Array.isArray(list) ? (list as string[]) : fallback;
  };
  const caps = listed(raw.capabilities, []);
  const sysctls = listed(raw.sysctls, [...SAFE_SYSCTLS]);
  const ports = (raw.hostPorts as { allowed?: unknown } | undefined)?.allowed;
  return {
    privileged: allowed(raw.privileged),
    hostNetwork: allowed(raw.hostNetwork),
    hostPID: allowed(raw.hostPID),
    hostIPC: allowed(raw.hostIPC),
    capabilities: caps === 'any' ? 'any' : new Set(caps.map(capName)),
    hostPaths: hostPath.allow === false ? [] : (hostPath.pathPrefixes ?? []),
    readOnlyHostPaths: hostPath.allow === false ? [] : (hostPath.readOnlyPathPrefixes ?? []),
    sysctls: sysctls === 'any' ? 'any' : new Set(sysctls.map((name) => name.replace(/\//g, '.'))),
    hostPorts: !Array.isArray(ports)
      ? 'any'
      : (port) =>
          (ports as (number | string)[]).some((entry) => {
            const [from, to = from] = String(entry).split('-').map(Number);
            return from !== undefined && to !== undefined && port >= from && port <= to;
          }),
    seccompUnconfined: allowed(raw.seccompUnconfined),
    appArmorUnconfined: allowed(raw.appArmorUnconfined),
    seLinuxOptions: allowed(raw.seLinuxOptions),
    procMountUnmasked: allowed(raw.procMountUnmasked),
  };
};
