/**
 * What podman really gave a pod, read from its own JSON, and how that
 * compares with what the policy allows. Pure: the podman calls are in
 * oracle-observe.ts. Field names were read from podman 4.3.1 on Debian 12:
 * - `podman container inspect`: HostConfig.Privileged, CapAdd, PidMode,
 *   IpcMode, NetworkMode, UTSMode, SecurityOpt, Devices, VolumesFrom;
 *   EffectiveCaps, BoundingCaps; Mounts[{Type, Name, Source}]. On 4.3,
 *   Privileged and SecurityOpt are derived from annotations
 *   (io.podman.annotations.*), so they are not the whole truth:
 * - the OCI runtime spec that `podman init` writes (OCIConfigPath) is what
 *   runc is told: process.capabilities, linux.seccomp, linux.maskedPaths,
 *   linux.readonlyPaths, linux.sysctl, linux.namespaces, mounts, annotations.
 *   A seccomp annotation, for example, removes linux.seccomp and shows in no
 *   inspect field.
 * - `podman volume inspect`: Driver, Options{device, type, o}; a PVC's
 *   volume.podman.io/* annotations become these options.
 * The baseline (podman's default capabilities, masked and read-only paths)
 * is measured on a plain pod played the same way, not written down here.
 * podman 4.3's kube play ignores hostPID, hostIPC, procMount, sysctls and the
 * seccompProfile and appArmorProfile fields (it reads seccomp from
 * annotations only), so on 4.3 those checks can only fire through
 * annotations; they are kept for the podman versions that read the fields.
 */
import type { Policy } from '../../src/policy/policy.ts';
import { capName, limitsOf, type Limits } from './oracle-limits.ts';

export interface ContainerInspect {
  Id: string;
  Name: string;
  IsInfra?: boolean;
  OCIConfigPath?: string;
  State?: { Pid?: number };
  EffectiveCaps?: string[] | null;
  BoundingCaps?: string[] | null;
  Mounts?: { Type: string; Name?: string; Source: string; Destination: string; RW?: boolean }[] | null;
  HostConfig: {
    Privileged?: boolean;
    CapAdd?: string[] | null;
    PidMode?: string;
    IpcMode?: string;
    NetworkMode?: string;
    UTSMode?: string;
    SecurityOpt?: string[] | null;
    Devices?: { PathOnHost: string; PathInContainer: string }[] | null;
    VolumesFrom?: string[] | null;
  };
}

export interface PodInspect {
  Id: string;
  Name: string;
  InfraContainerID?: string;
  InfraConfig?: {
    HostNetwork?: boolean;
    pid_ns?: string;
    PortBindings?: Record<string, { HostIp?: string; HostPort: string }[] | null> | null;
  };
  Containers?: { Id: string; Name: string }[] | null;
}

export interface VolumeInspect {
  Name: string;
  Driver: string;
  Options?: Record<string, string> | null;
}

/** The parts of an OCI runtime spec (config.json) the oracle reads. */
export interface OciSpec {
  process?: { capabilities?: Record<string, string[] | undefined>; apparmorProfile?: string; selinuxLabel?: string };
  mounts?: { type?: string; source?: string; destination: string; options?: string[] }[];
  annotations?: Record<string, string>;
  hooks?: Record<string, unknown[] | undefined>;
  linux?: {
    namespaces?: { type: string; path?: string }[];
    seccomp?: unknown;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    sysctl?: Record<string, string>;
    devices?: unknown[];
  };
}

/** Everything podman created for one case. */
export interface Observed {
  pods: PodInspect[];
  containers: ContainerInspect[];
  volumes: VolumeInspect[];
  /** By container ID; only for containers that were initialised. */
  specs: Map<string, OciSpec>;
  /** Files that appeared in the case's escape sentinel directory (written by podman outside any volume). */
  escaped: string[];
}

/** What a plain pod gets from this podman, measured once. */
export interface Baseline {
  capabilities: ReadonlySet<string>;
  maskedPaths: readonly string[];
  readonlyPaths: readonly string[];
  /** podman's storage (graphRoot, runRoot): its own bind mounts (hosts, resolv.conf, volumes) come from there. */
  storageRoots: readonly string[];
}

/** SELinux types the baseline allows; user and role must not be set at all. */
const SAFE_SELINUX_TYPES = new Set(['container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
/** Annotation namespaces that the OCI runtime itself acts on (crun's handlers, runc's systemd unit properties). */
const RUNTIME_ANNOTATIONS = ['run.oci.', 'org.systemd.property.'];
/**
 * podman 5.x (5.4.2 on Debian 13; not 4.3) puts these on every container
 * itself, so that systemd stops the container's scope as podman would: the
 * default stop signal (SIGTERM) and the stop timeout. Any other value, or any
 * other systemd property, is still the manifest's doing.
 */
const isPodmanOwnStopAnnotation = (key: string, value: string): boolean =>
  (key === 'org.systemd.property.KillSignal' && value === '15') ||
  (key === 'org.systemd.property.TimeoutStopUSec' && /^uint64 \d+$/.test(value));

/** Segment-wise "at or under", written here again rather than imported: the oracle must not share the runner's mistakes. */
export const isUnder = (target: string, prefixes: readonly string[]): boolean =>
  prefixes.some((prefix) => {
    const base = prefix.replace(/\/+$/, '') || '/';
    return base === '/' || target === base || target.startsWith(`${base}/`);
  });

/** Whether a host path may be mounted, read-only or not. podman hands over cleaned paths; `..` is refused outright. */
const hostPathAllowed = (source: string, readOnly: boolean, limits: Limits): boolean =>
  source.startsWith('/') &&
  !source.split('/').includes('..') &&
  (isUnder(source, limits.hostPaths) || (readOnly && isUnder(source, limits.readOnlyHostPaths)));

/** Capabilities beyond podman's defaults and policy.capabilities.allowed. */
export const excessCapabilities = (caps: Iterable<string>, limits: Limits, baseline: Baseline): string[] => {
  if (limits.capabilities === 'any') return [];
  const permitted = new Set([...baseline.capabilities, ...limits.capabilities]);
  return [...new Set([...caps].map(capName))].filter((cap) => !permitted.has(cap)).sort();
};

/** Security options that switch a confinement off (seccomp, AppArmor, SELinux, masked paths) and the policy key that would allow it. */
export const confinementOptOuts = (securityOpt: readonly string[], limits: Limits): string[] =>
  securityOpt.filter((option) => {
    const [key = '', value = ''] = option.split(/=(.*)/s);
    if (key === 'seccomp') return value === 'unconfined' && !limits.seccompUnconfined;
    if (key === 'apparmor') return value === 'unconfined' && !limits.appArmorUnconfined;
    if (key === 'label') {
      if (limits.seLinuxOptions || value.startsWith('level:')) return false;
      return (
        value === 'disable' ||
        value.startsWith('user:') ||
        value.startsWith('role:') ||
        (value.startsWith('type:') && !SAFE_SELINUX_TYPES.has(value.slice('type:'.length)))
      );
    }
    return (key === 'unmask' || key === 'systempaths' || key === 'proc-opts') && !limits.procMountUnmasked;
  });

/** Host paths a volume's options reach: `device` (unless tmpfs) and paths in `o` (bind sources, overlay lower/upper/work dirs). */
export const volumeHostPaths = (volume: VolumeInspect): string[] => {
  const options = volume.Options ?? {};
  const paths: string[] = [];
  const device = options.device;
  if (device !== undefined && !(device === 'tmpfs' && options.type === 'tmpfs')) paths.push(device);
  for (const option of (options.o ?? '').split(',')) {
    const value = option.split(/=(.*)/s)[1];
    if (value !== undefined) paths.push(...value.split(':').filter((part) => part.startsWith('/')));
  }
  return paths;
};

const containerFindings = (ctr: ContainerInspect, limits: Limits, baseline: Baseline): string[] => {
  const host = ctr.HostConfig;
  const found: string[] = [];
  if (host.Privileged === true && !limits.privileged) found.push('privileged');
  const caps = excessCapabilities(
    [...(ctr.EffectiveCaps ?? []), ...(ctr.BoundingCaps ?? []), ...(host.CapAdd ?? [])],
    limits,
    baseline,
  );
  if (caps.length > 0)
    found.push(`capabilities beyond the default set and policy.capabilities.allowed: ${caps.join(', ')}`);
  if (host.PidMode === 'host' && !limits.hostPID) found.push('host PID namespace');
  if (host.IpcMode === 'host' && !limits.hostIPC) found.push('host IPC namespace');
  if (host.NetworkMode === 'host' && !limits.hostNetwork) found.push('host network');
  for (const option of confinementOptOuts(host.SecurityOpt ?? [], limits)) found.push(`security option ${option}`);
  for (const mount of ctr.Mounts ?? []) {
    if (mount.Type === 'bind' && !hostPathAllowed(mount.Source, mount.RW === false, limits))
      found.push(
        `bind mount of ${mount.Source} (at ${mount.Destination}${mount.RW === false ? ', read-only' : ''}) outside policy.hostPath`,
      );
  }
  for (const device of host.Devices ?? []) {
    if (!hostPathAllowed(device.PathOnHost, false, limits))
      found.push(`host device ${device.PathOnHost} outside policy.hostPath`);
  }
  if ((host.VolumesFrom ?? []).length > 0) found.push(`volumes of other containers: ${host.VolumesFrom!.join(', ')}`);
  return found;
};

/** What the runtime is told, from config.json. `infraPid`: the pod's namespaces are its infra container's. */
const specFindings = (spec: OciSpec, infraPid: number | undefined, limits: Limits, baseline: Baseline): string[] => {
  const found: string[] = [];
  const caps = excessCapabilities(
    Object.values(spec.process?.capabilities ?? {}).flatMap((list) => list ?? []),
    limits,
    baseline,
  );
  if (caps.length > 0)
    found.push(`OCI capabilities beyond the default set and policy.capabilities.allowed: ${caps.join(', ')}`);
  if (spec.linux?.seccomp === undefined && !limits.seccompUnconfined) found.push('no seccomp filter (unconfined)');
  if (spec.process?.apparmorProfile === 'unconfined' && !limits.appArmorUnconfined) found.push('AppArmor unconfined');
  const [user, role, type] = (spec.process?.selinuxLabel ?? '').split(':');
  if (
    spec.process?.selinuxLabel &&
    !limits.seLinuxOptions &&
    !(user === 'system_u' && role === 'system_r' && SAFE_SELINUX_TYPES.has(type ?? ''))
  )
    found.push(`SELinux process label ${spec.process.selinuxLabel}`);
  if (!limits.procMountUnmasked) {
    const masked = new Set(spec.linux?.maskedPaths ?? []);
    const unmasked = baseline.maskedPaths.filter((path) => !masked.has(path));
    if (unmasked.length > 0) found.push(`unmasked ${unmasked.join(', ')}`);
    const readonly = new Set(spec.linux?.readonlyPaths ?? []);
    const writable = baseline.readonlyPaths.filter((path) => !readonly.has(path));
    if (writable.length > 0) found.push(`not read-only: ${writable.join(', ')}`);
  }
  for (const key of Object.keys(spec.linux?.sysctl ?? {})) {
    if (limits.sysctls !== 'any' && !limits.sysctls.has(key))
      found.push(`sysctl ${key}=${spec.linux!.sysctl![key]} outside policy.sysctls`);
  }
  if ((spec.linux?.devices ?? []).length > 0 && !limits.privileged)
    found.push(`${spec.linux!.devices!.length} host devices`);
  const namespaces = new Map((spec.linux?.namespaces ?? []).map((ns) => [ns.type, ns.path]));
  const own = (type: string): boolean =>
    namespaces.has(type) &&
    (namespaces.get(type) === undefined ||
      namespaces.get(type) === `/proc/${infraPid}/ns/${type === 'network' ? 'net' : type}`);
  if (!own('mount')) found.push('host mount namespace');
  if (!own('pid') && !limits.hostPID) found.push('OCI: host PID namespace');
  if (!own('ipc') && !limits.hostIPC) found.push('OCI: host IPC namespace');
  if (!own('network') && !limits.hostNetwork) found.push('OCI: host network');
  for (const mount of spec.mounts ?? []) {
    const options = mount.options ?? [];
    if (mount.type === 'sysfs' && !options.includes('ro') && !limits.privileged) found.push('sysfs mounted read-write');
    if (mount.type !== 'bind' || mount.source === undefined) continue;
    if (options.some((option) => option === 'shared' || option === 'rshared') && !limits.privileged)
      found.push(`bind mount of ${mount.source} with shared propagation (mounts reach the host)`);
    if (isUnder(mount.source, baseline.storageRoots)) continue;
    if (!hostPathAllowed(mount.source, options.includes('ro'), limits))
      found.push(`OCI bind mount of ${mount.source} (at ${mount.destination}) outside policy.hostPath`);
  }
  for (const key of Object.keys(spec.annotations ?? {})) {
    if (
      RUNTIME_ANNOTATIONS.some((prefix) => key.startsWith(prefix)) &&
      !isPodmanOwnStopAnnotation(key, spec.annotations![key]!)
    )
      found.push(`annotation the runtime acts on: ${key}=${spec.annotations![key]}`);
  }
  const hooks = Object.values(spec.hooks ?? {}).reduce((sum, list) => sum + (list?.length ?? 0), 0);
  if (hooks > 0) found.push(`${hooks} OCI hooks`);
  return found;
};

/**
 * Everything podman gave the pods of one case beyond the policy, one line
 * per finding, each naming the container, pod or volume. Empty means within
 * the policy.
 */
export const findingsBeyondPolicy = (observed: Observed, policy: Policy, baseline: Baseline): string[] => {
  const limits = limitsOf(policy);
  const found: string[] = [];
  const infraPid = new Map<string, number | undefined>();
  for (const pod of observed.pods) {
    const infra = observed.containers.find((ctr) => ctr.Id === pod.InfraContainerID);
    for (const member of pod.Containers ?? []) infraPid.set(member.Id, infra?.State?.Pid);
    if (pod.InfraConfig?.HostNetwork === true && !limits.hostNetwork) found.push(`pod ${pod.Name}: host network`);
    if (pod.InfraConfig?.pid_ns === 'host' && !limits.hostPID) found.push(`pod ${pod.Name}: host PID namespace`);
    const ports = Object.values(pod.InfraConfig?.PortBindings ?? {}).flatMap((bindings) => bindings ?? []);
    for (const binding of ports) {
      if (limits.hostPorts !== 'any' && !limits.hostPorts(Number(binding.HostPort)))
        found.push(`pod ${pod.Name}: host port ${binding.HostPort} outside policy.hostPorts`);
    }
  }
  for (const ctr of observed.containers) {
    found.push(...containerFindings(ctr, limits, baseline).map((finding) => `${ctr.Name}: ${finding}`));
    const spec = observed.specs.get(ctr.Id);
    if (spec)
      found.push(
        ...specFindings(spec, infraPid.get(ctr.Id), limits, baseline).map((finding) => `${ctr.Name}: ${finding}`),
      );
  }
  for (const volume of observed.volumes) {
    if (volume.Driver !== 'local') found.push(`volume ${volume.Name}: driver ${volume.Driver}`);
    const readOnly = (volume.Options?.o ?? '').split(',').includes('ro');
    for (const path of volumeHostPaths(volume)) {
      if (!hostPathAllowed(path, readOnly, limits))
        found.push(
          `volume ${volume.Name}: host path ${path} outside policy.hostPath (options ${JSON.stringify(volume.Options)})`,
        );
    }
  }
  for (const file of observed.escaped) found.push(`podman wrote ${file} on the host, outside every volume`);
  return found;
};
