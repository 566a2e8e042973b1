import { DEFAULT_CONFIG_PATH } from '../config/defaults.ts';
import { isUnderPrefix, normalizeHostPath } from './host-path.ts';
import { normalizeCapability, type Policy } from './policy.ts';

/** One thing a manifest asks that the policy refuses, at a field path inside its document. */
export interface PolicyViolation {
  path: (string | number)[];
  message: string;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const howToPermit = (setting: string): string => `(set ${setting} in ${DEFAULT_CONFIG_PATH} to permit)`;

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;
const HOST_NAMESPACES = ['hostNetwork', 'hostPID', 'hostIPC'] as const;

/**
 * Checks one workload document (a Pod, or a Deployment's pod template)
 * against the policy. Pure; reads the object as written, so it must run
 * after schema validation but never relies on fields being well-typed.
 */
export const checkPolicy = (kind: string, object: Json, policy: Policy): PolicyViolation[] => {
  const base: (string | number)[] = kind === 'Deployment' ? ['spec', 'template', 'spec'] : ['spec'];
  const outer = object.spec;
  const spec = kind === 'Deployment' ? (isObject(outer) && isObject(outer.template) ? outer.template.spec : undefined) : outer;
  if (!isObject(spec)) return [];
  const violations: PolicyViolation[] = checkAnnotations(kind, object);

  for (const key of HOST_NAMESPACES) {
    if (spec[key] === true && policy[key] === 'deny') {
      violations.push({ path: [...base, key], message: `denied by policy.${key} ${howToPermit(`policy.${key}: allow`)}` });
    }
  }
  // Pod-level securityContext has no privileged or capabilities in Kubernetes;
  // podman may still read them, so they are checked wherever they appear.
  violations.push(...checkSecurityContext(spec.securityContext, [...base, 'securityContext'], policy));
  for (const listKey of CONTAINER_LISTS) {
    list(spec[listKey]).forEach((container, index) => {
      if (isObject(container)) violations.push(...checkSecurityContext(container.securityContext, [...base, listKey, index, 'securityContext'], policy));
    });
  }
  list(spec.volumes).forEach((volume, index) => {
    if (isObject(volume) && volume.hostPath !== undefined) violations.push(...checkHostPath(volume.hostPath, [...base, 'volumes', index, 'hostPath'], policy));
  });
  return violations;
};

const checkSecurityContext = (context: unknown, at: (string | number)[], policy: Policy): PolicyViolation[] => {
  if (!isObject(context)) return [];
  const violations: PolicyViolation[] = [];
  if (context.privileged === true && policy.privileged === 'deny') {
    violations.push({ path: [...at, 'privileged'], message: `denied by policy.privileged ${howToPermit('policy.privileged: allow')}` });
  }
  const capabilities = context.capabilities;
  if (isObject(capabilities) && capabilities.add !== undefined && policy.capabilities.allowed !== 'any') {
    const allowed = new Set(policy.capabilities.allowed.map(normalizeCapability));
    if (!Array.isArray(capabilities.add)) {
      violations.push({ path: [...at, 'capabilities', 'add'], message: 'must be a list of capability names' });
    } else {
      capabilities.add.forEach((capability, index) => {
        const name = typeof capability === 'string' ? normalizeCapability(capability) : undefined;
        if (name !== undefined && allowed.has(name)) return;
        const shown = typeof capability === 'string' ? capability : JSON.stringify(capability);
        violations.push({
          path: [...at, 'capabilities', 'add', index],
          message: `capability ${shown} is denied by policy.capabilities (allowed: ${[...allowed].join(', ') || 'none'}) ${howToPermit('policy.capabilities.allowed to include it')}`,
        });
      });
    }
  }
  return violations;
};

const checkHostPath = (hostPath: unknown, at: (string | number)[], policy: Policy): PolicyViolation[] => {
  if (!policy.hostPath.allow) {
    return [{ path: at, message: `hostPath volumes are denied by policy.hostPath ${howToPermit('policy.hostPath.allow: true and pathPrefixes')}` }];
  }
  const value = isObject(hostPath) ? hostPath.path : undefined;
  if (typeof value !== 'string' || value === '') return [{ path: [...at, 'path'], message: 'must be an absolute path' }];
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
/** PVC annotations podman reads that do not reach outside the volume itself. */
const HARMLESS_VOLUME_OPTIONS = new Set(['type', 'mount-options', 'uid', 'gid', 'size', 'inode']);

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
      if (value !== 'local') violations.push({ path: at, message: `volume driver ${JSON.stringify(value)} is not accepted: only the local driver` });
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
];

/** Refuses annotations podman or the runtime would act on, on a Pod, a Deployment and its template. */
export const checkAnnotations = (kind: string, object: Json): PolicyViolation[] => {
  const places: (string | number)[][] = kind === 'Deployment' ? [['metadata'], ['spec', 'template', 'metadata']] : [['metadata']];
  const violations: PolicyViolation[] = [];
  for (const place of places) {
    let meta: unknown = object;
    for (const key of place) meta = isObject(meta) ? meta[key] : undefined;
    const annotations = isObject(meta) ? meta.annotations : undefined;
    if (!isObject(annotations)) continue;
    for (const key of Object.keys(annotations)) {
      const prefix = INTERPRETED_ANNOTATIONS.find((candidate) => key.toLowerCase().startsWith(candidate));
      if (prefix === undefined) continue;
      violations.push({ path: [...place, 'annotations', key], message: `annotations under ${prefix} are read by podman or the OCI runtime and are not accepted: use the pod's fields (securityContext, volumes), which the policy checks` });
    }
  }
  return violations;
};
