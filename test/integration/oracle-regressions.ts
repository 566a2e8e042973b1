/**
 * Fixed manifests for the policy oracle: issue 11's three exploits, the
 * holes the oracle found after they were closed, and a calibration
 * manifest fed to podman directly to show the oracle sees what podman does.
 * Each is written out as text, the way someone would write it by hand.
 */
import { TEST_IMAGE } from './harness.ts';
import type { CaseContext } from './oracle-seeds.ts';

export interface Expectation {
  field: RegExp;
  message: RegExp;
}

export interface FixedCase {
  name: string;
  text: (ctx: CaseContext) => string;
  /** For a case that must be refused: what the refusal names. */
  refusal?: Expectation;
}

const pod = (
  ctx: CaseContext,
  options: { meta?: string; container?: string; spec?: string } = {},
): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${ctx.prefix}web
${options.meta ?? ''}spec:
  containers:
    - name: main
      image: ${TEST_IMAGE}
      imagePullPolicy: Never
      command: [sleep, "3600"]
${options.container ?? ''}${options.spec ?? ''}`;

const claim = (name: string, annotations: Record<string, string>): string => `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: ${name}
  annotations:
${Object.entries(annotations)
  .map(([key, value]) => `    ${key}: ${value}\n`)
  .join('')}spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
`;

const mountClaim = (name: string) => ({
  container: `      volumeMounts: [{name: ${name}, mountPath: /data}]\n`,
  spec: `  volumes: [{name: ${name}, persistentVolumeClaim: {claimName: ${name}}}]\n`,
});

/** Issue 11: each of these gave a container the host on the runner before the fix. All must be refused. */
export const ISSUE_11: FixedCase[] = [
  {
    name: '(a) securityContext: {<<: {privileged: true}}',
    text: (ctx) => pod(ctx, { container: '      securityContext: {<<: {privileged: true}}\n' }),
    refusal: { field: /securityContext\.<</, message: /merge key/ },
  },
  {
    name: '(a) a volume {name: r, <<: {hostPath: {path: /}}}',
    text: (ctx) =>
      pod(ctx, {
        container: '      volumeMounts: [{name: r, mountPath: /host}]\n',
        spec: '  volumes:\n    - {name: r, <<: {hostPath: {path: /}}}\n',
      }),
    refusal: { field: /volumes\[0\]\.<</, message: /merge key/ },
  },
  {
    name: '(b) securityContext: {Capabilities: {Add: [SYS_ADMIN]}}',
    text: (ctx) => pod(ctx, { container: '      securityContext: {Capabilities: {Add: [SYS_ADMIN]}}\n' }),
    refusal: { field: /Capabilities/, message: /case-sensitive/ },
  },
  {
    name: '(b) securityContext: {Privileged: true}',
    text: (ctx) => pod(ctx, { container: '      securityContext: {Privileged: true}\n' }),
    refusal: { field: /Privileged/, message: /case-sensitive/ },
  },
  {
    name: '(b) a volume {name: r, HostPath: {path: /etc}}',
    text: (ctx) =>
      pod(ctx, {
        container: '      volumeMounts: [{name: r, mountPath: /host}]\n',
        spec: '  volumes:\n    - {name: r, HostPath: {path: /etc}}\n',
      }),
    refusal: { field: /HostPath/, message: /case-sensitive/ },
  },
  {
    name: "(c) a PersistentVolumeClaim binding the host's / (device /, type none, mount-options bind) used by a pod",
    text: (ctx) =>
      claim(`${ctx.prefix}root`, {
        'volume.podman.io/device': '/',
        'volume.podman.io/type': 'none',
        'volume.podman.io/mount-options': 'bind',
      }) + pod(ctx, mountClaim(`${ctx.prefix}root`)),
    refusal: { field: /volume\.podman\.io\/device/, message: /policy\.hostPath/ },
  },
];

/** A path that climbs from podman's volume directory (/var/lib/containers/storage/volumes/NAME/_data) to the case's escape directory. */
const climb = (ctx: CaseContext): string => `${'../'.repeat(12)}${ctx.escapeDir.slice(1)}/written`;

const configMap = (ctx: CaseContext, data: string): string => `apiVersion: v1
kind: ConfigMap
metadata: {name: ${ctx.prefix}conf}
data: ${data}
---
`;

const mountConfigMap = (ctx: CaseContext, source: string) => ({
  container: `      volumeMounts: [{name: ${ctx.prefix}conf, mountPath: /conf}]\n`,
  spec: `  volumes: [{name: ${ctx.prefix}conf, configMap: {${source}}}]\n`,
});

/**
 * Found by the oracle on 2026-12-02 (main at 69237d5 plus the baseline work
 * in progress). The runner may refuse these or make them harmless; podman
 * must not go beyond the policy either way.
 */
export const HOLES: FixedCase[] = [
  {
    // podman 4.3 writes each item to filepath.Join(volume, item.path), as root, when it plays.
    name: 'a ConfigMap volume item path climbs out of the volume: podman writes a host file',
    text: (ctx) =>
      configMap(ctx, '{app.conf: x}') +
      pod(ctx, mountConfigMap(ctx, `name: ${ctx.prefix}conf, items: [{key: app.conf, path: "${climb(ctx)}"}]`)),
  },
  {
    name: 'a ConfigMap data key climbs out of the volume: podman writes a host file',
    text: (ctx) => configMap(ctx, `{"${climb(ctx)}": x}`) + pod(ctx, mountConfigMap(ctx, `name: ${ctx.prefix}conf`)),
  },
  {
    // annotations are a free-form map, so `<<` in them is not refused; the YAML podman gets keeps it, and go-yaml merges it.
    name: 'a merge key inside annotations carries seccomp.security.alpha.kubernetes.io/pod: unconfined',
    text: (ctx) =>
      pod(ctx, { meta: '  annotations:\n    <<: {seccomp.security.alpha.kubernetes.io/pod: unconfined}\n' }),
  },
  {
    name: 'an overlay PersistentVolumeClaim: device under /etc/haproxy, lowerdir=/etc in mount-options',
    text: (ctx) =>
      claim(`${ctx.prefix}ovl`, {
        'volume.podman.io/device': ctx.hostDir,
        'volume.podman.io/type': 'overlay',
        'volume.podman.io/mount-options': `lowerdir=/etc,upperdir=${ctx.hostDir}/u,workdir=${ctx.hostDir}/w`,
      }) + pod(ctx, mountClaim(`${ctx.prefix}ovl`)),
  },
  {
    // runc applies org.systemd.property.* to the container's scope under the systemd cgroup manager (Debian's default).
    name: 'an org.systemd.property.DeviceAllow annotation reaches the OCI runtime',
    text: (ctx) => pod(ctx, { meta: `  annotations: {org.systemd.property.DeviceAllow: "'/dev/sda rwm'"}\n` }),
  },
];

/**
 * Fed to podman directly, not through the runner: a privileged container, a
 * SYS_ADMIN one, a hostPath of /etc and a claim binding /, each visible
 * before `podman init`; and a pod with seccomp off and a runtime annotation,
 * visible only in the OCI spec after it.
 */
export const calibration = (ctx: CaseContext): { created: string; initialised: string } => ({
  created: `${claim(`${ctx.prefix}root`, { 'volume.podman.io/device': '/', 'volume.podman.io/type': 'none', 'volume.podman.io/mount-options': 'bind' })}apiVersion: v1
kind: Pod
metadata:
  name: ${ctx.prefix}raw
spec:
  containers:
    - {name: priv, image: ${TEST_IMAGE}, imagePullPolicy: Never, command: [sleep, "1"], securityContext: {privileged: true}}
    - {name: admin, image: ${TEST_IMAGE}, imagePullPolicy: Never, command: [sleep, "1"], securityContext: {capabilities: {add: [SYS_ADMIN]}}}
    - name: etc
      image: ${TEST_IMAGE}
      imagePullPolicy: Never
      command: [sleep, "1"]
      volumeMounts: [{name: ${ctx.prefix}etc, mountPath: /host}, {name: ${ctx.prefix}root, mountPath: /root}]
  volumes:
    - {name: ${ctx.prefix}etc, hostPath: {path: /etc}}
    - {name: ${ctx.prefix}root, persistentVolumeClaim: {claimName: ${ctx.prefix}root}}
`,
  initialised: `apiVersion: v1
kind: Pod
metadata:
  name: ${ctx.prefix}seccomp
  annotations: {seccomp.security.alpha.kubernetes.io/pod: unconfined, run.oci.keep_original_groups: "1"}
spec:
  containers: [{name: main, image: ${TEST_IMAGE}, imagePullPolicy: Never, command: [sleep, "1"]}]
`,
});
