/**
 * The data of the policy oracle's cases: seeds the default policy allows (the
 * static pods this tool exists for: host network, NET_ADMIN, a read-only
 * HAProxy configuration directory, a claim, a Deployment, a ConfigMap), and
 * the values mutations inject: what the policy must refuse, what it allows,
 * annotations podman or the runtime act on, PersistentVolumeClaim options.
 */
import { TEST_IMAGE } from './harness.ts';

export type Json = Record<string, unknown>;

/** Names and paths of one run: every pod and volume name starts with `prefix` (cleanup finds them by it). */
export interface CaseContext {
  prefix: string;
  /** A directory under /etc/haproxy that the test owns: allowed by the default policy. */
  hostDir: string;
  /** Empty unless podman writes outside a volume: a ConfigMap key or item path that climbs out of it lands here. */
  escapeDir: string;
}

export const SEEDS = ['host-network', 'net-admin', 'haproxy-config', 'claim', 'deployment', 'config-map'] as const;
export type SeedName = (typeof SEEDS)[number];

export const container = (name = 'main'): Json => ({
  name,
  image: TEST_IMAGE,
  imagePullPolicy: 'Never',
  command: ['sleep', '3600'],
});
const pod = (ctx: CaseContext, spec: Json): Json => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: `${ctx.prefix}web`, labels: { app: 'web' } },
  spec,
});
export const claim = (name: string, annotations?: Record<string, string>): Json => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
});

/** The seeds: each is accepted by the default policy and runs within it. */
export const seedDocs = (seed: SeedName, ctx: CaseContext): Json[] => {
  switch (seed) {
    case 'host-network':
      return [pod(ctx, { hostNetwork: true, containers: [container()] })];
    case 'net-admin':
      return [
        pod(ctx, {
          containers: [
            { ...container(), securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'], drop: ['MKNOD'] } } },
          ],
        }),
      ];
    case 'haproxy-config':
      return [
        pod(ctx, {
          hostNetwork: true,
          containers: [
            {
              ...container(),
              volumeMounts: [{ name: `${ctx.prefix}cfg`, mountPath: '/usr/local/etc/haproxy', readOnly: true }],
            },
          ],
          volumes: [{ name: `${ctx.prefix}cfg`, hostPath: { path: ctx.hostDir, type: 'Directory' } }],
        }),
      ];
    case 'claim':
      return [
        claim(`${ctx.prefix}data`),
        pod(ctx, {
          containers: [{ ...container(), volumeMounts: [{ name: `${ctx.prefix}data`, mountPath: '/var/lib/data' }] }],
          volumes: [{ name: `${ctx.prefix}data`, persistentVolumeClaim: { claimName: `${ctx.prefix}data` } }],
        }),
      ];
    case 'deployment':
      return [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: `${ctx.prefix}lb` },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'lb' } },
            template: {
              metadata: { labels: { app: 'lb' } },
              spec: {
                hostNetwork: true,
                containers: [{ ...container(), securityContext: { capabilities: { add: ['NET_BIND_SERVICE'] } } }],
              },
            },
          },
        },
      ];
    case 'config-map':
      return [
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: `${ctx.prefix}conf` },
          data: { 'app.conf': 'listen 80\n' },
        },
        pod(ctx, {
          initContainers: [{ ...container('prep'), command: ['true'] }],
          containers: [{ ...container(), volumeMounts: [{ name: `${ctx.prefix}conf`, mountPath: '/etc/app' }] }],
          volumes: [{ name: `${ctx.prefix}conf`, configMap: { name: `${ctx.prefix}conf` } }],
        }),
      ];
  }
};

export interface DangerSpec {
  /** Set in a securityContext: the container's, an init container's or the pod's, as the case says. */
  sc?: Json;
  /** Set in the pod's securityContext. */
  podSc?: Json;
  /** Set in the pod spec. */
  spec?: Json;
  /** A hostPath volume (HOSTDIR is the test's own directory), mounted read-only unless `writable`. */
  hostPath?: string;
  writable?: boolean;
  /** Extra fields of the volume mount. */
  mount?: Json;
  /** The field a refusal must name. */
  field?: string;
  /** The policy key a refusal must mention; without one, any `policy.` key, or `reason`. */
  key?: string;
  reason?: RegExp;
}

/**
 * Values the policy must refuse (or, for the allowed ones at the end, that
 * must stay within it), set where they belong. `field` is what a refusal must
 * name; `key` the policy key it must mention, where the key is settled (for
 * the Pod Security Standards baseline controls any `policy.` key will do).
 */
export const DANGERS = {
  privileged: { sc: { privileged: true }, field: 'privileged', key: 'privileged' },
  'cap-sys-admin': { sc: { capabilities: { add: ['SYS_ADMIN'] } }, field: 'capabilities', key: 'capabilities' },
  'cap-all': { sc: { capabilities: { add: ['ALL'] } }, field: 'capabilities', key: 'capabilities' },
  'cap-prefixed': { sc: { capabilities: { add: ['cap_sys_admin'] } }, field: 'capabilities', key: 'capabilities' },
  'host-pid': { spec: { hostPID: true }, field: 'hostPID', key: 'hostPID' },
  'host-ipc': { spec: { hostIPC: true }, field: 'hostIPC', key: 'hostIPC' },
  'host-root': { hostPath: '/', field: 'hostPath', key: 'hostPath' },
  'host-etc': { hostPath: '/etc', field: 'hostPath', key: 'hostPath' },
  'host-dotdot': { hostPath: '/etc/haproxy/../shadow', field: 'hostPath', key: 'hostPath' },
  'host-sibling': { hostPath: '/etc/haproxy2', field: 'hostPath', key: 'hostPath' },
  'seccomp-unconfined': { sc: { seccompProfile: { type: 'Unconfined' } }, field: 'seccompProfile' },
  'apparmor-unconfined': { sc: { appArmorProfile: { type: 'Unconfined' } }, field: 'appArmorProfile' },
  'proc-unmasked': { sc: { procMount: 'Unmasked' }, field: 'procMount' },
  'selinux-spc': { sc: { seLinuxOptions: { type: 'spc_t' } }, field: 'seLinuxOptions' },
  'selinux-user': { sc: { seLinuxOptions: { user: 'system_u', role: 'system_r' } }, field: 'seLinuxOptions' },
  // With the host's network or IPC, a namespaced sysctl is the host's own: refused whatever the policy says.
  'sysctl-kernel': {
    podSc: { sysctls: [{ name: 'kernel.msgmax', value: '65536' }] },
    field: 'sysctls',
    reason: /policy\.sysctls|host's own/,
  },
  'sysctl-net': {
    podSc: { sysctls: [{ name: 'net.ipv4.ip_forward', value: '1' }] },
    field: 'sysctls',
    reason: /policy\.sysctls|host's own/,
  },
  'certs-writable': { hostPath: '/etc/ssl/certs', writable: true, field: 'hostPath', key: 'hostPath' },
  'propagation-bidirectional': {
    hostPath: 'HOSTDIR',
    writable: true,
    mount: { mountPropagation: 'Bidirectional' },
    field: 'mountPropagation',
    key: 'privileged',
  },
  'mount-path-options': {
    hostPath: 'HOSTDIR',
    writable: true,
    mount: { mountPath: '/shared:rshared' },
    field: 'mountPath',
    reason: /mount options|":"/,
  },
  // Allowed by the default policy: accepted, and podman must keep them within it.
  'cap-net-admin': { sc: { capabilities: { add: ['NET_ADMIN'] } } },
  'cap-lower-case': { sc: { capabilities: { add: ['cap_net_raw'] } } },
  'drop-all': { sc: { capabilities: { drop: ['ALL'] } } },
  'host-network': { spec: { hostNetwork: true } },
  'host-allowed': { hostPath: 'HOSTDIR' },
  'selinux-level': { sc: { seLinuxOptions: { level: 's0:c123,c456' } } },
  'seccomp-default': { sc: { seccompProfile: { type: 'RuntimeDefault' } } },
  'sysctl-safe': { podSc: { sysctls: [{ name: 'kernel.shm_rmid_forced', value: '1' }] } },
  'certs-read-only': { hostPath: '/etc/ssl/certs' },
} as const satisfies Record<string, DangerSpec>;
export type Danger = keyof typeof DANGERS;

/** Annotations podman, conmon or the runtime act on (and one they do not). */
export const ANNOTATIONS: Record<string, string> = {
  'io.podman.annotations.privileged': 'TRUE',
  'io.podman.annotations.seccomp': 'unconfined',
  'io.podman.annotations.label': 'disable',
  'io.podman.annotations.apparmor': 'unconfined',
  'io.podman.annotations.volumes-from': 'other',
  'seccomp.security.alpha.kubernetes.io/pod': 'unconfined',
  'container.seccomp.security.alpha.kubernetes.io/main': 'unconfined',
  'container.apparmor.security.beta.kubernetes.io/main': 'unconfined',
  'run.oci.keep_original_groups': '1',
  'org.systemd.property.DeviceAllow': "'/dev/sda rwm'",
  'example.com/owner': 'ops',
};

/** PersistentVolumeClaim annotations: podman turns them into the options of the claim's volume. */
export const CLAIMS: Record<string, Record<string, string> | undefined> = {
  plain: undefined,
  'bind-allowed': {
    'volume.podman.io/device': 'HOSTDIR',
    'volume.podman.io/type': 'none',
    'volume.podman.io/mount-options': 'bind',
  },
  'bind-root': {
    'volume.podman.io/device': '/',
    'volume.podman.io/type': 'none',
    'volume.podman.io/mount-options': 'bind',
  },
  'bind-etc': {
    'volume.podman.io/device': '/etc',
    'volume.podman.io/type': 'none',
    'volume.podman.io/mount-options': 'rbind,ro',
  },
  'overlay-lower': {
    'volume.podman.io/device': 'HOSTDIR',
    'volume.podman.io/type': 'overlay',
    'volume.podman.io/mount-options': 'lowerdir=/etc,upperdir=HOSTDIR/u,workdir=HOSTDIR/w',
  },
  tmpfs: {
    'volume.podman.io/device': 'tmpfs',
    'volume.podman.io/type': 'tmpfs',
    'volume.podman.io/mount-options': 'size=1m',
  },
};
