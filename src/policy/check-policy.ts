import { DEFAULT_CONFIG_PATH } from '../shared/config-path.ts';
import { isUnderPrefix, normalizeHostPath } from './host-path.ts';
import { normalizeCapability, normalizeSysctl, portAllowed, type Policy } from './policy.ts';

/** One thing a manifest asks that the policy refuses, at a field path inside its document. */
export interface PolicyViolation {
  path: (string | number)[];
  message: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const howToPermit = (setting: string): string => `(set ${setting} in ${DEFAULT_CONFIG_PATH} to permit)`;

/** A manifest value in a message: the schema has made it a string or number by now; anything else as JSON, not `[object Object]`. */
const shown = (value: unknown): string =>
  typeof value === 'string' || typeof value === 'number' ? String(value) : JSON.stringify(value);

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;
const HOST_NAMESPACES = ['hostNetwork', 'hostPID', 'hostIPC'] as const;

/** The SELinux types the baseline level accepts: the confined container types. */
const CONTAINER_SELINUX_TYPES = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]);

/** `denied by policy.privileged (set …)`, or with what was asked: `Unconfined is denied by …`. */
const denied = (at: (string | number)[], setting: string, what?: string): PolicyViolation => ({
  path: at,
  message: `${what === undefined ? '' : `${what} is `}denied by policy.${setting} ${howToPermit(`policy.${setting}: allow`)}`,
});

/**
 * Checks one workload document (a Pod, or a Deployment's pod template)
 * against the policy: the Pod Security Standards' baseline controls, each
 * relaxed by a policy key (SECURITY.md has the table). Pure; reads the object
 * as written, so it must run after schema validation but never relies on
 * fields being well-typed.
 */
export const checkPolicy = (kind: string, object: Json, policy: Policy): PolicyViolation[] => {
  const base: (string | number)[] = kind === 'Deployment' ? ['spec', 'template', 'spec'] : ['spec'];
  const outer = object.spec;
  const spec =
    kind === 'Deployment' ? (isObject(outer) && isObject(outer.template) ? outer.template.spec : undefined) : outer;
  if (!isObject(spec)) return [];
  const violations: PolicyViolation[] = checkAnnotations(kind, object);

  for (const key of HOST_NAMESPACES) {
    if (spec[key] === true && policy[key] === 'deny') violations.push(denied([...base, key], key));
  }
  // Kubernetes puts privileged, capabilities and procMount on containers only
  // and sysctls on the pod only; podman may read them at either level, so
  // every context is checked for everything.
  violations.push(...checkSecurityContext(spec.securityContext, [...base, 'securityContext'], spec, policy));
  const containers: Json[] = [];
  for (const listKey of CONTAINER_LISTS) {
    list(spec[listKey]).forEach((container, index) => {
      if (!isObject(container)) return;
      containers.push(container);
      const at = [...base, listKey, index];
      violations.push(...checkSecurityContext(container.securityContext, [...at, 'securityContext'], spec, policy));
      violations.push(...checkHostPorts(container.ports, [...at, 'ports'], policy));
      violations.push(...checkPropagation(container, at, policy));
    });
  }
  list(spec.volumes).forEach((volume, index) => {
    if (!isObject(volume) || volume.hostPath === undefined) return;
    violations.push(...checkHostPathVolume(volume, [...base, 'volumes', index], containers, policy));
  });
  if (policy.level === 'restricted') violations.push(...checkRestricted(spec, base));
  return violations;
};

/** Volume kinds the restricted level accepts: none holds host data. */
const RESTRICTED_VOLUMES = [
  'configMap',
  'csi',
  'downwardAPI',
  'emptyDir',
  'ephemeral',
  'persistentVolumeClaim',
  'projected',
  'secret',
];

/**
 * What the restricted level adds to the baseline, for every container:
 * allowPrivilegeEscalation false, runAsNonRoot (pod or container) and no
 * runAsUser 0, a RuntimeDefault or Localhost seccomp profile (pod or
 * container), every capability dropped; and only volumes that hold no host
 * data. Adding capabilities beyond NET_BIND_SERVICE, host namespaces, ports
 * and paths are the restricted level's starting values of the other keys.
 */
const checkRestricted = (spec: Json, base: (string | number)[]): PolicyViolation[] => {
  const violations: PolicyViolation[] = [];
  const requires = (at: (string | number)[], what: string): void => {
    violations.push({
      path: at,
      message: `the restricted level requires ${what} ${howToPermit('policy.level: baseline')}`,
    });
  };
  const pod = isObject(spec.securityContext) ? spec.securityContext : {};
  const confined = (profile: unknown): boolean =>
    isObject(profile) && (profile.type === 'RuntimeDefault' || profile.type === 'Localhost');
  if (pod.runAsUser === 0) requires([...base, 'securityContext', 'runAsUser'], 'a user other than root (0)');
  for (const listKey of CONTAINER_LISTS) {
    list(spec[listKey]).forEach((container, index) => {
      if (!isObject(container)) return;
      const at = [...base, listKey, index, 'securityContext'];
      const context = isObject(container.securityContext) ? container.securityContext : {};
      if (context.allowPrivilegeEscalation !== false)
        requires([...at, 'allowPrivilegeEscalation'], 'allowPrivilegeEscalation: false');
      if ((context.runAsNonRoot ?? pod.runAsNonRoot) !== true)
        requires([...at, 'runAsNonRoot'], 'runAsNonRoot: true (here or in the pod securityContext)');
      if (context.runAsUser === 0) requires([...at, 'runAsUser'], 'a user other than root (0)');
      if (!confined(context.seccompProfile ?? pod.seccompProfile))
        requires(
          [...at, 'seccompProfile'],
          'seccompProfile.type RuntimeDefault or Localhost (here or in the pod securityContext)',
        );
      const drop = isObject(context.capabilities) ? list(context.capabilities.drop) : [];
      if (!drop.some((name) => typeof name === 'string' && normalizeCapability(name) === 'ALL'))
        requires([...at, 'capabilities', 'drop'], 'capabilities.drop: [ALL]');
    });
  }
  list(spec.volumes).forEach((volume, index) => {
    if (!isObject(volume)) return;
    const kinds = Object.keys(volume).filter((key) => key !== 'name');
    if (kinds.length > 0 && kinds.every((kind) => RESTRICTED_VOLUMES.includes(kind))) return;
    requires([...base, 'volumes', index], `volumes of kind ${RESTRICTED_VOLUMES.join(', ')}`);
  });
  return violations;
};

const checkSecurityContext = (
  context: unknown,
  at: (string | number)[],
  spec: Json,
  policy: Policy,
): PolicyViolation[] => {
  if (!isObject(context)) return [];
  const violations: PolicyViolation[] = [];
  if (context.privileged === true && policy.privileged === 'deny')
    violations.push(denied([...at, 'privileged'], 'privileged'));
  violations.push(...checkCapabilities(context.capabilities, [...at, 'capabilities'], policy));
  for (const [field, setting] of [
    ['seccompProfile', 'seccompUnconfined'],
    ['appArmorProfile', 'appArmorUnconfined'],
  ] as const) {
    const profile = context[field];
    if (isObject(profile) && profile.type === 'Unconfined' && policy[setting] === 'deny') {
      violations.push(denied([...at, field, 'type'], setting, 'Unconfined'));
    }
  }
  const selinux = context.seLinuxOptions;
  if (isObject(selinux) && policy.seLinuxOptions === 'deny') {
    for (const field of ['user', 'role'] as const) {
      if (selinux[field] !== undefined && selinux[field] !== '')
        violations.push(denied([...at, 'seLinuxOptions', field], 'seLinuxOptions', `an SELinux ${field}`));
    }
    const type = selinux.type;
    if (type !== undefined && !(typeof type === 'string' && CONTAINER_SELINUX_TYPES.has(type))) {
      violations.push(
        denied(
          [...at, 'seLinuxOptions', 'type'],
          'seLinuxOptions',
          `SELinux type ${shown(type)} (only ${[...CONTAINER_SELINUX_TYPES].filter(Boolean).join(', ')} keep a container confined)`,
        ),
      );
    }
  }
  if (context.procMount !== undefined && context.procMount !== 'Default' && policy.procMountUnmasked === 'deny') {
    violations.push(denied([...at, 'procMount'], 'procMountUnmasked', shown(context.procMount)));
  }
  const windows = context.windowsOptions;
  if (isObject(windows) && windows.hostProcess === true) {
    violations.push({
      path: [...at, 'windowsOptions', 'hostProcess'],
      message: 'host process containers are Windows-only and never accepted',
    });
  }
  list(context.sysctls).forEach((sysctl, index) => {
    const name = isObject(sysctl) && typeof sysctl.name === 'string' ? normalizeSysctl(sysctl.name) : undefined;
    if (name === undefined) return;
    const sysctlAt = [...at, 'sysctls', index, 'name'];
    const hostWide =
      (spec.hostNetwork === true && name.startsWith('net.')) ||
      (spec.hostIPC === true &&
        (name.startsWith('kernel.shm') ||
          name.startsWith('kernel.msg') ||
          name.startsWith('kernel.sem') ||
          name.startsWith('fs.mqueue.')));
    if (hostWide) {
      violations.push({
        path: sysctlAt,
        message: `sysctl ${name} would change the host's own setting: the pod shares the host's ${name.startsWith('net.') ? 'network' : 'IPC'} namespace`,
      });
    } else if (policy.sysctls.allowed !== 'any' && !policy.sysctls.allowed.map(normalizeSysctl).includes(name)) {
      violations.push({
        path: sysctlAt,
        message: `sysctl ${name} is denied by policy.sysctls (allowed: ${policy.sysctls.allowed.join(', ') || 'none'}) ${howToPermit('policy.sysctls.allowed to include it')}`,
      });
    }
  });
  return violations;
};

const checkCapabilities = (capabilities: unknown, at: (string | number)[], policy: Policy): PolicyViolation[] => {
  if (!isObject(capabilities) || capabilities.add === undefined || policy.capabilities.allowed === 'any') return [];
  const allowed = new Set(policy.capabilities.allowed.map(normalizeCapability));
  if (!Array.isArray(capabilities.add))
    return [{ path: [...at, 'add'], message: 'must be a list of capability names' }];
  const violations: PolicyViolation[] = [];
  capabilities.add.forEach((capability, index) => {
    const name = typeof capability === 'string' ? normalizeCapability(capability) : undefined;
    if (name !== undefined && allowed.has(name)) return;
    const shown = typeof capability === 'string' ? capability : JSON.stringify(capability);
    violations.push({
      path: [...at, 'add', index],
      message: `capability ${shown} is denied by policy.capabilities (allowed: ${[...allowed].join(', ') || 'none'}) ${howToPermit('policy.capabilities.allowed to include it')}`,
    });
  });
  return violations;
};

/**
 * Bidirectional propagation makes mounts made in the container appear on the
 * host; Kubernetes allows it only in privileged containers, and so does the runner.
 */
const checkPropagation = (container: Json, at: (string | number)[], policy: Policy): PolicyViolation[] => {
  const privileged =
    isObject(container.securityContext) &&
    container.securityContext.privileged === true &&
    policy.privileged === 'allow';
  const violations: PolicyViolation[] = [];
  list(container.volumeMounts).forEach((mount, index) => {
    if (!isObject(mount) || mount.mountPropagation !== 'Bidirectional' || privileged) return;
    violations.push({
      path: [...at, 'volumeMounts', index, 'mountPropagation'],
      message: `Bidirectional propagation needs a privileged container, which is denied by policy.privileged ${howToPermit('policy.privileged: allow and privileged: true on the container')}`,
    });
  });
  return violations;
};

const checkHostPorts = (ports: unknown, at: (string | number)[], policy: Policy): PolicyViolation[] => {
  const allowed = policy.hostPorts.allowed;
  if (allowed === 'any') return [];
  const violations: PolicyViolation[] = [];
  list(ports).forEach((port, index) => {
    const hostPort = isObject(port) ? port.hostPort : undefined;
    if (hostPort === undefined || hostPort === 0 || (typeof hostPort === 'number' && portAllowed(hostPort, allowed)))
      return;
    violations.push({
      path: [...at, index, 'hostPort'],
      message: `host port ${shown(hostPort)} is denied by policy.hostPorts (allowed: ${allowed.join(', ') || 'none'}) ${howToPermit('policy.hostPorts.allowed to include it')}`,
    });
  });
  return violations;
};

/**
 * A hostPath volume is accepted under policy.hostPath.pathPrefixes, or under
 * readOnlyPathPrefixes when every container mounts it `readOnly: true`.
 */
const checkHostPathVolume = (
  volume: Json,
  at: (string | number)[],
  containers: Json[],
  policy: Policy,
): PolicyViolation[] => {
  const hostPathAt = [...at, 'hostPath'];
  const path = isObject(volume.hostPath) ? volume.hostPath.path : undefined;
  if (
    policy.hostPath.allow &&
    typeof path === 'string' &&
    path.startsWith('/') &&
    !isUnderPrefix(path, policy.hostPath.pathPrefixes) &&
    isUnderPrefix(path, policy.hostPath.readOnlyPathPrefixes)
  ) {
    const writable = containers
      .flatMap((container) => list(container.volumeMounts))
      .filter((mount) => isObject(mount) && mount.name === volume.name && mount.readOnly !== true);
    if (writable.length === 0) return [];
    return [
      {
        path: [...hostPathAt, 'path'],
        message: `${normalizeHostPath(path)} is under policy.hostPath.readOnlyPathPrefixes, so every volumeMount of "${String(volume.name)}" must set readOnly: true ${howToPermit('policy.hostPath.pathPrefixes to include it read-write')}`,
      },
    ];
  }
  return checkHostPath(volume.hostPath, hostPathAt, policy);
};

const checkHostPath = (hostPath: unknown, at: (string | number)[], policy: Policy): PolicyViolation[] => {
  if (!policy.hostPath.allow) {
    return [
      {
        path: at,
        message: `hostPath volumes are denied by policy.hostPath ${howToPermit('policy.hostPath.allow: true and pathPrefixes')}`,
      },
    ];
  }
  const value = isObject(hostPath) ? hostPath.path : undefined;
  if (typeof value !== 'string' || value === '')
    return [{ path: [...at, 'path'], message: 'must be an absolute path' }];
  if (!value.startsWith('/')) return [{ path: [...at, 'path'], message: `must be an absolute path, not "${value}"` }];
  if (isUnderPrefix(value, policy.hostPath.pathPrefixes)) return [];
  const normalized = normalizeHostPath(value);
  const shown = normalized === value ? value : `${normalized} (written ${value})`;
  return [
    {
      path: [...at, 'path'],
      message: `${shown} is outside policy.hostPath.pathPrefixes (${policy.hostPath.pathPrefixes.join(', ') || 'none'}) ${howToPermit('policy.hostPath.pathPrefixes to include it')}`,
    },
  ];
};

const PODMAN_VOLUME = 'volume.podman.io/';
/** PVC annotations podman reads that do not reach outside the volume itself (type and mount-options are checked apart). */
const HARMLESS_VOLUME_OPTIONS = new Set(['uid', 'gid', 'size', 'inode']);
/** Filesystem types a claim may ask for: a tmpfs, or `none` for a bind of its device (judged as a hostPath). */
const VOLUME_TYPES = new Set(['tmpfs', 'none']);
/**
 * Mount options that name no host path: overlay's lowerdir/upperdir, a
 * context= label and the like would each reach outside the volume.
 */
const MOUNT_FLAGS = new Set([
  'ro',
  'rw',
  'bind',
  'rbind',
  'nosuid',
  'nodev',
  'noexec',
  'noatime',
  'relatime',
  'nodiratime',
  'strictatime',
  'private',
  'rprivate',
  'slave',
  'rslave',
]);
const MOUNT_SETTING = /^(size|mode|uid|gid|nr_inodes|nr_blocks)=[0-9a-zA-Z%]+$/;

/**
 * A PersistentVolumeClaim becomes a podman volume, shaped by its
 * `volume.podman.io/*` annotations. A `device` is a host path (with `type:
 * none` and `mount-options: bind`, a bind mount of it), so it obeys
 * policy.hostPath; a driver other than `local` and `import-source` (a host
 * file read into the volume) are refused, and so is any key of podman's
 * that the runner does not know.
 */
export const checkClaim = (object: Json, policy: Policy): PolicyViolation[] => {
  const annotations = isObject(object.metadata) ? object.metadata.annotations : undefined;
  if (!isObject(annotations)) return [];
  const violations: PolicyViolation[] = [];
  for (const [key, value] of Object.entries(annotations)) {
    if (!key.startsWith(PODMAN_VOLUME)) continue;
    const option = key.slice(PODMAN_VOLUME.length);
    const at = ['metadata', 'annotations', key];
    if (option === 'device') {
      if (annotations[`${PODMAN_VOLUME}type`] === 'tmpfs' && value === 'tmpfs') continue;
      violations.push(...checkHostPath({ path: value }, at, policy).map((violation) => ({ ...violation, path: at })));
    } else if (option === 'driver') {
      if (value !== 'local')
        violations.push({
          path: at,
          message: `volume driver ${JSON.stringify(value)} is not accepted: only the local driver`,
        });
    } else if (option === 'type') {
      if (!VOLUME_TYPES.has(String(value)))
        violations.push({
          path: at,
          message: `volume type ${JSON.stringify(value)} is not accepted: only tmpfs, or none with a device (a bind mount, judged as a hostPath)`,
        });
    } else if (option === 'mount-options') {
      const refused = String(value)
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '' && !MOUNT_FLAGS.has(item) && !MOUNT_SETTING.test(item));
      if (refused.length > 0)
        violations.push({
          path: at,
          message: `mount options ${refused.join(', ')} are not accepted: only flags such as ro, nosuid, nodev, noexec and size=, mode=, uid=, gid= (no option may name a host path)`,
        });
    } else if (!HARMLESS_VOLUME_OPTIONS.has(option)) {
      violations.push({ path: at, message: `podman volume option "${option}" is not accepted by the runner` });
    }
  }
  return violations;
};

/**
 * Annotation namespaces that podman, conmon or the OCI runtime interpret
 * (podman copies a pod's annotations to its containers): privileged mode,
 * SELinux labels, seccomp and AppArmor profiles, user namespaces,
 * volumes-from, publish-all, crun's run.oci.* handlers. None is accepted
 * on a workload: each can take a container past the policy, and the fields
 * the policy judges say the same things. Other annotations pass.
 */
const INTERPRETED_ANNOTATIONS = [
  'io.podman.annotations.',
  'io.containers.',
  'io.kubernetes.cri-o.',
  'run.oci.',
  'seccomp.security.alpha.kubernetes.io/',
  'container.seccomp.security.alpha.kubernetes.io/',
  'container.apparmor.security.beta.kubernetes.io/',
  'bind-mount-options',
  // runc applies these as systemd unit properties (DeviceAllow, …) of the container's scope.
  'org.systemd.property.',
  'io.kubernetes.cri.',
  'io.katacontainers.',
  'cdi.k8s.io/',
];

/** Refuses annotations podman or the runtime would act on, on a Pod, a Deployment and its template. */
export const checkAnnotations = (kind: string, object: Json): PolicyViolation[] => {
  const places: (string | number)[][] =
    kind === 'Deployment' ? [['metadata'], ['spec', 'template', 'metadata']] : [['metadata']];
  const violations: PolicyViolation[] = [];
  for (const place of places) {
    let meta: unknown = object;
    for (const key of place) meta = isObject(meta) ? meta[key] : undefined;
    const annotations = isObject(meta) ? meta.annotations : undefined;
    if (!isObject(annotations)) continue;
    for (const key of Object.keys(annotations)) {
      const prefix = INTERPRETED_ANNOTATIONS.find((candidate) => key.toLowerCase().startsWith(candidate));
      if (prefix === undefined) continue;
      violations.push({
        path: [...place, 'annotations', key],
        message: `annotations under ${prefix} are read by podman or the OCI runtime and are not accepted: use the pod's fields (securityContext, volumes), which the policy checks`,
      });
    }
  }
  return violations;
};
