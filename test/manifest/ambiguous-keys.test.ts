import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { parseManifest } from '../../src/manifest/parse-manifest.ts';
import { buildUnits } from '../../src/desired/build-units.ts';

const pod = (spec: string): string => `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
${spec}`;

const refused = (text: string): string[] => {
  const parsed = parseManifest('/m/web.yaml', text);
  assert.equal(parsed.documents.length, 0, 'the manifest must be refused');
  return parsed.problems.map((problem) => `${problem.line}:${problem.column} ${problem.field}: ${problem.message}`);
};

describe('keys podman reads differently from the runner', () => {
  it('refuses YAML merge keys, in the container and in a volume, with line and column', () => {
    const merged = refused(
      pod(`  containers:
  - name: app
    image: busybox
    securityContext: {<<: {privileged: true}}
`),
    );
    assert.match(merged[0]!, /^9:27 spec\.containers\[0\]\.securityContext\.<<: YAML merge keys/);
    const volume = refused(
      pod(`  containers: [{name: app, image: busybox}]
  volumes:
  - {name: r, <<: {hostPath: {path: /}}}
`),
    );
    assert.match(volume[0]!, /spec\.volumes\[0\]\.<<: YAML merge keys/);
    assert.match(
      refused(pod(`  containers: [{name: app, image: busybox, "<<": {securityContext: {privileged: true}}}]\n`))[0]!,
      /merge keys/,
    );
  });

  it('refuses keys that differ only in case (or by Unicode folding) from a Kubernetes field, in YAML and JSON', () => {
    assert.match(
      refused(pod('  containers: [{name: app, image: busybox, securityContext: {Privileged: true}}]\n'))[0]!,
      /securityContext\.Privileged: field names are case-sensitive; did you mean `privileged`\?/,
    );
    assert.match(
      refused(
        pod('  containers: [{name: app, image: busybox, securityContext: {Capabilities: {Add: [SYS_ADMIN]}}}]\n'),
      )[0]!,
      /did you mean `capabilities`/,
    );
    assert.match(
      refused(pod('  containers: [{name: app, image: busybox}]\n  volumes: [{name: r, HostPath: {path: /etc}}]\n'))[0]!,
      /did you mean `hostPath`/,
    );
    assert.match(
      refused(pod('  containers: [{name: app, image: busybox}]\n  ho\u017ftNetwork: true\n'))[0]!,
      /did you mean `hostNetwork`/,
    );
    assert.match(
      refused(pod('  containers: [{name: app, image: busybox}]\n  hostPID: false\n  hostpid: true\n'))[0]!,
      /did you mean `hostPID`/,
    );
    const json = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web' },
      spec: { containers: [{ name: 'app', image: 'busybox', securityContext: { pRivileged: true } }] },
    });
    assert.match(refused(json)[0]!, /did you mean `privileged`/);
  });

  it('keeps free-form maps free: labels, annotations and ConfigMap data may use any key', () => {
    const text = `apiVersion: v1
kind: ConfigMap
metadata: {name: conf}
data: {Privileged: "true", HostPath: x}
---
${pod('  containers: [{name: app, image: busybox}]\n')}`.replace(
      '  name: web',
      '  name: web\n  labels: {Privileged: "yes"}\n  annotations: {HostPath: "/"}',
    );
    assert.deepEqual(parseManifest('/m/web.yaml', text).problems, []);
  });

  it('refuses a security field of the wrong type, which podman (YAML 1.1) would read as true', () => {
    for (const value of ['"true"', 'yes', 'on', 'y']) {
      assert.match(
        refused(pod(`  containers: [{name: app, image: busybox, securityContext: {privileged: ${value}}}]\n`))[0]!,
        /privileged: must be true or false/,
      );
      assert.match(
        refused(pod(`  hostPID: ${value}\n  containers: [{name: app, image: busybox}]\n`))[0]!,
        /hostPID: must be true or false/,
      );
    }
  });

  it('renders strings that YAML 1.1 reads as booleans or numbers quoted, so podman decodes the judged values', () => {
    const parsed = parseManifest(
      '/m/web.yaml',
      pod('  containers: [{name: app, image: busybox, args: [yes, on, "0755", "~"], workingDir: y}]\n'),
    );
    assert.deepEqual(parsed.problems, []);
    const [unit] = buildUnits(parsed, { defaultStopTimeoutSeconds: 10 });
    const container = (
      parse(unit!.yaml, { version: '1.1' }) as { spec: { containers: { args: unknown[]; workingDir: unknown }[] } }
    ).spec.containers[0]!;
    assert.deepEqual(container.args, ['yes', 'on', '0755', '~']);
    assert.equal(container.workingDir, 'y');
  });

  it('judges a PersistentVolumeClaim that podman makes a bind mount of a host path as a hostPath', () => {
    const claim = (annotations: string): string => `apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  annotations: {${annotations}}
---
${pod('  containers: [{name: app, image: busybox}]\n')}`;
    assert.match(
      refused(
        claim('volume.podman.io/device: /, volume.podman.io/type: none, volume.podman.io/mount-options: bind'),
      )[0]!,
      /metadata\.annotations\["volume\.podman\.io\/device"\]: \/ is outside policy\.hostPath\.pathPrefixes/,
    );
    assert.match(refused(claim('volume.podman.io/import-source: /etc/shadow'))[0]!, /"import-source" is not accepted/);
    assert.match(refused(claim('volume.podman.io/driver: image'))[0]!, /driver "image" is not accepted/);
    assert.deepEqual(
      parseManifest(
        '/m/web.yaml',
        claim(
          'volume.podman.io/device: /var/lib/etcd/data, volume.podman.io/type: none, volume.podman.io/mount-options: bind',
        ),
      ).problems,
      [],
    );
    assert.deepEqual(
      parseManifest('/m/web.yaml', claim('volume.podman.io/type: tmpfs, volume.podman.io/device: tmpfs')).problems,
      [],
    );
    assert.deepEqual(
      parseManifest(
        '/m/web.yaml',
        claim(
          'volume.podman.io/type: tmpfs, volume.podman.io/device: tmpfs, volume.podman.io/mount-options: "size=64m,mode=0755,nosuid,nodev"',
        ),
      ).problems,
      [],
    );
    // Found by the oracle tier: an overlay under an allowed prefix reaches any host path through its options.
    const overlay = refused(
      claim(
        'volume.podman.io/device: /etc/haproxy/o, volume.podman.io/type: overlay, volume.podman.io/mount-options: "lowerdir=/etc,upperdir=/etc/haproxy/u,workdir=/etc/haproxy/w"',
      ),
    );
    assert.match(overlay.join('\n'), /volume type "overlay" is not accepted/);
    assert.match(
      overlay.join('\n'),
      /mount options lowerdir=\/etc, upperdir=\/etc\/haproxy\/u, workdir=\/etc\/haproxy\/w are not accepted/,
    );
    assert.match(
      refused(
        claim(
          'volume.podman.io/type: tmpfs, volume.podman.io/device: tmpfs, volume.podman.io/mount-options: "context=system_u:object_r:shadow_t:s0"',
        ),
      )[0]!,
      /mount options context=.* are not accepted/,
    );
  });

  it('keeps ConfigMap and Secret keys and volume items inside their volume', () => {
    const configMap = (data: string, items = ''): string => `apiVersion: v1
kind: ConfigMap
metadata: {name: conf}
data: {${data}}
---
${pod(`  containers: [{name: app, image: busybox, volumeMounts: [{name: conf, mountPath: /conf}]}]
  volumes: [{name: conf, configMap: {name: conf${items}}}]
`)}`;
    assert.deepEqual(
      parseManifest(
        '/m/web.yaml',
        configMap('app.conf: x, .hidden_file-1: y', ', items: [{key: app.conf, path: sub/app.conf}]'),
      ).problems,
      [],
    );
    assert.match(refused(configMap('"../../../../etc/x": y'))[0]!, /keys must consist of letters, digits/);
    assert.match(refused(configMap('..data: y'))[0]!, /keys must not be "\." or start with "\.\."/);
    assert.match(
      refused(configMap('app.conf: x', ', items: [{key: app.conf, path: "../../../../etc/cron.d/x"}]'))[0]!,
      /spec\.volumes\[0\]\.configMap\.items\[0\]\.path: must be a relative path without "\.\." segments/,
    );
    assert.match(
      refused(configMap('app.conf: x', ', items: [{key: app.conf, path: /etc/x}]'))[0]!,
      /must be a relative path/,
    );
    const secret = 'apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {"../x": y}\n';
    assert.match(refused(secret)[0]!, /stringData.*keys must consist of/);
  });

  it('refuses a merge key even inside a free-form map, where podman would merge it', () => {
    const text = pod('  containers: [{name: app, image: busybox}]\n').replace(
      '  name: web',
      '  name: web\n  annotations: {<<: {seccomp.security.alpha.kubernetes.io/pod: unconfined}}',
    );
    assert.match(refused(text)[0]!, /metadata\.annotations\.<<: YAML merge keys/);
  });

  it('refuses annotations that podman or the OCI runtime act on, on a Pod and a Deployment template', () => {
    const annotated = (annotations: string): string =>
      pod('  containers: [{name: app, image: busybox}]\n').replace(
        '  name: web',
        `  name: web\n  annotations: {${annotations}}`,
      );
    for (const key of [
      'io.podman.annotations.privileged/app',
      'io.podman.annotations.label/app',
      'container.seccomp.security.alpha.kubernetes.io/app',
      'container.apparmor.security.beta.kubernetes.io/app',
      'io.podman.annotations.volumes-from/app',
      'run.oci.seccomp.receiver',
      'org.systemd.property.DeviceAllow',
    ]) {
      assert.match(
        refused(annotated(`${key}: unconfined`))[0]!,
        /are read by podman or the OCI runtime and are not accepted/,
        key,
      );
    }
    assert.deepEqual(
      parseManifest(
        '/m/web.yaml',
        annotated('kubeadm.kubernetes.io/etcd.advertise-client-urls: https://127.0.0.1:2379'),
      ).problems,
      [],
    );
    const deployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata: {annotations: {io.podman.annotations.userns: host}}
    spec: {containers: [{name: app, image: busybox}]}
`;
    assert.match(
      refused(deployment)[0]!,
      /spec\.template\.metadata\.annotations\["io\.podman\.annotations\.userns"\]: annotations under io\.podman\.annotations\./,
    );
  });
});
