import type { PodmanHostInfo } from '../podman/host-info.ts';
import type { PodmanErrorKind } from '../podman/podman-error.ts';

/**
 * Everything `runner doctor` looks at, gathered once (gather-snapshot.ts) so
 * that the checks are pure functions of it and tests can feed fake hosts.
 */
export interface HostSnapshot {
  /** `podman version`: the client version, or why it could not be asked. */
  podman: { ok: true; version: string } | { ok: false; kind: PodmanErrorKind | undefined; message: string };
  /** `podman info`, or why it failed (a missing OCI runtime makes every podman command fail). */
  info:
    | { ok: true; host: PodmanHostInfo }
    | { ok: false; kind: PodmanErrorKind | undefined; message: string; causeLine: string }
    | undefined;
  /** Where the firewall programs are; undefined when not found on PATH, /usr/sbin or /sbin. */
  firewall: { iptables?: string; nft?: string };
  /** What containers.conf sets (podman's own files, in its order). */
  containersConf: ContainersConfSettings;
  /** `/sys/fs/cgroup/unified` is a cgroup2 mount beside v1 controllers. */
  cgroupHybrid: boolean;
  /** Whether podman's storage root can be written: undefined when podman did not say where it is. */
  storage: { path: string; writable: true } | { path: string; writable: false; reason: string } | undefined;
  manifestDir: { path: string; exists: boolean; trustProblem?: string };
  clock: {
    now: number;
    /** The latest time the runner recorded (status.json, events.jsonl), when there is one. */
    lastRecorded?: { at: number; file: string };
    /** The kernel's boot id; undefined when /proc/sys/kernel/random/boot_id cannot be read. */
    bootId?: string;
  };
}

export interface ContainersConfSettings {
  /** The files read, in order; later ones win. */
  files: string[];
  /** `[containers] pids_limit`; podman's default (2048) when unset. */
  pidsLimit?: number;
  /** `[network] firewall_driver` (netavark 1.14 and later): `iptables` or `nftables`. */
  firewallDriver?: string;
}

export type Severity = 'ok' | 'warning' | 'error';

/** One finding: what was checked, how it stands, and the fix when it is not ok. */
export interface Finding {
  check: string;
  severity: Severity;
  message: string;
  fix?: string;
}
