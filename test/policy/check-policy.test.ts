import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifest } from '../../src/manifest/parse-manifest.ts';
import { formatProblem } from '../../src/manifest/manifest-problem.ts';
import { checkPolicy } from '../../src/policy/check-policy.ts';
import { isUnderPrefix, normalizeHostPath } from '../../src/policy/host-path.ts';
import { DEFAULT_POLICY, PERMISSIVE_POLICY, type Policy } from '../../src/policy/policy.ts';
import { readManifestFixture } from '../helpers/fixtures.ts';

const pod = (spec: Record<string, unknown>, container: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec: { containers: [{ name: 'c', image: 'busybox', ...container }], ...spec },
});

const paths = (kind: string, object: Record<string, unknown>, policy: Policy = DEFAULT_POLICY): string[] =>
  checkPolicy(kind, object, policy).map((violation) => violation.path.join('.'));

/** A kubeadm-style load balancer pod: what the defaults must keep working. */
const HAPROXY_KEEPALIVED = `apiVersion: v1
kind: Pod
metadata:
  name: lb
spec:
  hostNetwork: true
  containers:
    - name: haproxy
      image: haproxy:2.8
      volumeMounts: [{ name: cfg, mountPath: /usr/local/etc/haproxy/haproxy.cfg, readOnly: true }]
    - name: keepalived
      image: osixia/keepalived:2.0.20
      securityContext:
        capabilities:
          add: [NET_ADMIN, NET_BROADCAST, NET_RAW, cap_net_bind_service]
      volumeMounts: [{ name: kcfg, mountPath: /container/service/keepalived/assets/keepalived.conf }]
  volumes:
    - name: cfg
      hostPath: { path: /etc/haproxy/haproxy.cfg, type: FileOrCreate }
    - name: kcfg
      hostPath: { path: /etc/keepalived/keepalived.conf/, type: FileOrCreate }
    - name: kube
      hostPath: { path: /etc/kubernetes/admin.conf }
`;

describe('checkPolicy: the defaults', () => {
  it('keep the static-pod use cases working: HAProxy + keepalived, kubeadm etcd, the repo fixtures', () => {
    for (const [name, text] of [
      ['lb.yaml', HAPROXY_KEEPALIVED],
      ['etcd.yaml', readManifestFixture('kubeadm-etcd.yaml')],
      ['pod.yaml', readManifestFixture('pod.yaml')],
      ['deployment.yaml', readManifestFixture('deployment.yaml')],
      ['configmap-and-pod.yaml', readManifestFixture('configmap-and-pod.yaml')],
    ] as const) {
      assert.deepEqual(parseManifest(name, text).problems, [], name);
    }
  });

  it('deny privileged, hostPID, hostIPC, SYS_ADMIN and hostPath outside the prefixes', () => {
    const table: [string, Record<string, unknown>, string[]][] = [
      ['privileged container', pod({}, { securityContext: { privileged: true } }), ['spec.containers.0.securityContext.privileged']],
      ['privileged: false is fine', pod({}, { securityContext: { privileged: false } }), []],
      ['hostPID', pod({ hostPID: true }), ['spec.hostPID']],
      ['hostIPC', pod({ hostIPC: true }), ['spec.hostIPC']],
      ['hostNetwork is allowed', pod({ hostNetwork: true }), []],
      ['SYS_ADMIN', pod({}, { securityContext: { capabilities: { add: ['NET_ADMIN', 'SYS_ADMIN'] } } }), ['spec.containers.0.securityContext.capabilities.add.1']],
      ['ALL', pod({}, { securityContext: { capabilities: { add: ['ALL'] } } }), ['spec.containers.0.securityContext.capabilities.add.0']],
      ['CAP_ prefix and case are normalized', pod({}, { securityContext: { capabilities: { add: ['CAP_NET_ADMIN', 'net_raw'] } } }), []],
      ['drop anything', pod({}, { securityContext: { capabilities: { drop: ['ALL'] } } }), []],
      ['add not a list', pod({}, { securityContext: { capabilities: { add: 'SYS_ADMIN' } } }), ['spec.containers.0.securityContext.capabilities.add']],
      ['a non-string capability', pod({}, { securityContext: { capabilities: { add: [{ x: 1 }] } } }), ['spec.containers.0.securityContext.capabilities.add.0']],
      ['pod-level securityContext', pod({ securityContext: { privileged: true, capabilities: { add: ['SYS_PTRACE'] } } }), ['spec.securityContext.privileged', 'spec.securityContext.capabilities.add.0']],
      ['initContainers', pod({ initContainers: [{ name: 'i', image: 'x', securityContext: { privileged: true } }] }), ['spec.initContainers.0.securityContext.privileged']],
      ['hostPath /', pod({ volumes: [{ name: 'v', hostPath: { path: '/' } }] }), ['spec.volumes.0.hostPath.path']],
      ['hostPath escaping with ..', pod({ volumes: [{ name: 'v', hostPath: { path: '/etc/haproxy/../shadow' } }] }), ['spec.volumes.0.hostPath.path']],
      ['hostPath sibling with the same prefix', pod({ volumes: [{ name: 'v', hostPath: { path: '/etc/haproxy2' } }] }), ['spec.volumes.0.hostPath.path']],
      ['hostPath relative', pod({ volumes: [{ name: 'v', hostPath: { path: 'etc/haproxy' } }] }), ['spec.volumes.0.hostPath.path']],
      ['hostPath without a path', pod({ volumes: [{ name: 'v', hostPath: {} }] }), ['spec.volumes.0.hostPath.path']],
      ['the podman socket', pod({ volumes: [{ name: 'v', hostPath: { path: '/run/podman/podman.sock' } }] }), ['spec.volumes.0.hostPath.path']],
      ['hostPath inside a prefix, with .', pod({ volumes: [{ name: 'v', hostPath: { path: '/var/lib/etcd/./member' } }] }), []],
      ['other volume kinds are not hostPath', pod({ volumes: [{ name: 'v', emptyDir: {} }, { name: 'w', configMap: { name: 'c' } }] }), []],
    ];
    for (const [name, object, expected] of table) assert.deepEqual(paths('Pod', object), expected, name);
  });

  it('checks a Deployment template', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { template: { spec: { hostPID: true, containers: [{ name: 'c', image: 'x', securityContext: { privileged: true } }] } } },
    };
    assert.deepEqual(paths('Deployment', deployment), ['spec.template.spec.hostPID', 'spec.template.spec.containers.0.securityContext.privileged']);
  });

  it('a permissive policy refuses nothing; a strict one refuses hostNetwork and every hostPath', () => {
    const object = pod({ hostNetwork: true, hostPID: true, volumes: [{ name: 'v', hostPath: { path: '/' } }] }, { securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } } });
    assert.deepEqual(paths('Pod', object, PERMISSIVE_POLICY), []);
    const locked: Policy = { ...DEFAULT_POLICY, hostNetwork: 'deny', hostPath: { allow: false, pathPrefixes: ['/'] } };
    assert.deepEqual(paths('Pod', pod({ hostNetwork: true, volumes: [{ name: 'v', hostPath: { path: '/etc/haproxy' } }] }), locked), ['spec.hostNetwork', 'spec.volumes.0.hostPath']);
  });
});

describe('parseManifest with a policy: the problem names rule, field, line and column', () => {
  it('privileged', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: c\n      image: busybox\n      securityContext:\n        privileged: true\n';
    const parsed = parseManifest('/m/web.yaml', text);
    assert.deepEqual(parsed.documents, []);
    assert.deepEqual(parsed.problems.map(formatProblem), [
      '/m/web.yaml:10:21: spec.containers[0].securityContext.privileged: denied by policy.privileged (set policy.privileged: allow in /etc/runner/config.yaml to permit)',
    ]);
    assert.deepEqual(parseManifest('/m/web.yaml', text, { policy: PERMISSIVE_POLICY }).problems, []);
  });

  it('a hostPath that escapes its prefix shows the normalized path', () => {
    const text = 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers: [{ name: c, image: busybox }]\n  volumes:\n    - name: v\n      hostPath:\n        path: /etc/haproxy/../shadow\n';
    const [problem] = parseManifest('/m/web.yaml', text).problems;
    assert.equal(problem?.line, 10);
    assert.equal(problem?.column, 15);
    assert.equal(problem?.field, 'spec.volumes[0].hostPath.path');
    assert.match(problem?.message ?? '', /^\/etc\/shadow \(written \/etc\/haproxy\/\.\.\/shadow\) is outside policy\.hostPath\.pathPrefixes/);
  });
});

describe('hostPath prefixes', () => {
  it('normalizes and compares on segment boundaries', () => {
    const table: [string, string[], boolean][] = [
      ['/etc/haproxy', ['/etc/haproxy'], true],
      ['/etc/haproxy/', ['/etc/haproxy'], true],
      ['/etc/haproxy/haproxy.cfg', ['/etc/haproxy/'], true],
      ['/etc//haproxy///x', ['/etc/haproxy'], true],
      ['/etc/haproxy2', ['/etc/haproxy'], false],
      ['/etc/haproxy/../shadow', ['/etc/haproxy'], false],
      ['/etc/haproxy/../../../../etc/haproxy/x', ['/etc/haproxy'], true],
      ['/etc', ['/etc/haproxy'], false],
      ['/anything', ['/'], true],
      ['/etc/haproxy', ['etc/haproxy'], false],
      ['/etc/haproxy', [], false],
    ];
    for (const [target, prefixes, expected] of table) assert.equal(isUnderPrefix(target, prefixes), expected, `${target} under ${prefixes.join(',')}`);
    assert.equal(normalizeHostPath('/a/b/../c/./'), '/a/c');
    assert.equal(normalizeHostPath('/'), '/');
  });
});
