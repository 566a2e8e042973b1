import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifest } from '../../src/manifest/parse-manifest.ts';
import { formatProblem } from '../../src/manifest/manifest-problem.ts';
import { checkPolicy } from '../../src/policy/check-policy.ts';
import { isUnderPrefix, normalizeHostPath } from '../../src/policy/host-path.ts';
import { DEFAULT_POLICY, PERMISSIVE_POLICY, RESTRICTED_POLICY, type Policy } from '../../src/policy/policy.ts';
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
      [
        'privileged container',
        pod({}, { securityContext: { privileged: true } }),
        ['spec.containers.0.securityContext.privileged'],
      ],
      ['privileged: false is fine', pod({}, { securityContext: { privileged: false } }), []],
      ['hostPID', pod({ hostPID: true }), ['spec.hostPID']],
      ['hostIPC', pod({ hostIPC: true }), ['spec.hostIPC']],
      ['hostNetwork is allowed', pod({ hostNetwork: true }), []],
      [
        'SYS_ADMIN',
        pod({}, { securityContext: { capabilities: { add: ['NET_ADMIN', 'SYS_ADMIN'] } } }),
        ['spec.containers.0.securityContext.capabilities.add.1'],
      ],
      [
        'ALL',
        pod({}, { securityContext: { capabilities: { add: ['ALL'] } } }),
        ['spec.containers.0.securityContext.capabilities.add.0'],
      ],
      [
        'CAP_ prefix and case are normalized',
        pod({}, { securityContext: { capabilities: { add: ['CAP_NET_ADMIN', 'net_raw'] } } }),
        [],
      ],
      ['drop anything', pod({}, { securityContext: { capabilities: { drop: ['ALL'] } } }), []],
      [
        'add not a list',
        pod({}, { securityContext: { capabilities: { add: 'SYS_ADMIN' } } }),
        ['spec.containers.0.securityContext.capabilities.add'],
      ],
      [
        'a non-string capability',
        pod({}, { securityContext: { capabilities: { add: [{ x: 1 }] } } }),
        ['spec.containers.0.securityContext.capabilities.add.0'],
      ],
      [
        'pod-level securityContext',
        pod({ securityContext: { privileged: true, capabilities: { add: ['SYS_PTRACE'] } } }),
        ['spec.securityContext.privileged', 'spec.securityContext.capabilities.add.0'],
      ],
      [
        'initContainers',
        pod({ initContainers: [{ name: 'i', image: 'x', securityContext: { privileged: true } }] }),
        ['spec.initContainers.0.securityContext.privileged'],
      ],
      ['hostPath /', pod({ volumes: [{ name: 'v', hostPath: { path: '/' } }] }), ['spec.volumes.0.hostPath.path']],
      [
        'hostPath escaping with ..',
        pod({ volumes: [{ name: 'v', hostPath: { path: '/etc/haproxy/../shadow' } }] }),
        ['spec.volumes.0.hostPath.path'],
      ],
      [
        'hostPath sibling with the same prefix',
        pod({ volumes: [{ name: 'v', hostPath: { path: '/etc/haproxy2' } }] }),
        ['spec.volumes.0.hostPath.path'],
      ],
      [
        'hostPath relative',
        pod({ volumes: [{ name: 'v', hostPath: { path: 'etc/haproxy' } }] }),
        ['spec.volumes.0.hostPath.path'],
      ],
      ['hostPath without a path', pod({ volumes: [{ name: 'v', hostPath: {} }] }), ['spec.volumes.0.hostPath.path']],
      [
        'the podman socket',
        pod({ volumes: [{ name: 'v', hostPath: { path: '/run/podman/podman.sock' } }] }),
        ['spec.volumes.0.hostPath.path'],
      ],
      [
        'hostPath inside a prefix, with .',
        pod({ volumes: [{ name: 'v', hostPath: { path: '/var/lib/etcd/./member' } }] }),
        [],
      ],
      [
        'other volume kinds are not hostPath',
        pod({
          volumes: [
            { name: 'v', emptyDir: {} },
            { name: 'w', configMap: { name: 'c' } },
          ],
        }),
        [],
      ],
    ];
    for (const [name, object, expected] of table) assert.deepEqual(paths('Pod', object), expected, name);
  });

  it('checks a Deployment template', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: {
        template: {
          spec: { hostPID: true, containers: [{ name: 'c', image: 'x', securityContext: { privileged: true } }] },
        },
      },
    };
    assert.deepEqual(paths('Deployment', deployment), [
      'spec.template.spec.hostPID',
      'spec.template.spec.containers.0.securityContext.privileged',
    ]);
  });

  it('a permissive policy refuses nothing; a strict one refuses hostNetwork and every hostPath', () => {
    const object = pod(
      { hostNetwork: true, hostPID: true, volumes: [{ name: 'v', hostPath: { path: '/' } }] },
      { securityContext: { privileged: true, capabilities: { add: ['SYS_ADMIN'] } } },
    );
    assert.deepEqual(paths('Pod', object, PERMISSIVE_POLICY), []);
    const locked: Policy = {
      ...DEFAULT_POLICY,
      hostNetwork: 'deny',
      hostPath: { allow: false, pathPrefixes: ['/'], readOnlyPathPrefixes: [] },
    };
    assert.deepEqual(
      paths('Pod', pod({ hostNetwork: true, volumes: [{ name: 'v', hostPath: { path: '/etc/haproxy' } }] }), locked),
      ['spec.hostNetwork', 'spec.volumes.0.hostPath'],
    );
  });
});

describe('checkPolicy: the Pod Security Standards baseline', () => {
  const sc = (securityContext: Record<string, unknown>) => pod({}, { securityContext });
  const podSc = (securityContext: Record<string, unknown>, spec: Record<string, unknown> = {}) =>
    pod({ securityContext, ...spec });
  /** Each control: a manifest the defaults refuse, where, and the policy that permits it. */
  const controls: [string, Record<string, unknown>, string[], Partial<Policy>][] = [
    [
      'seccomp Unconfined (container)',
      sc({ seccompProfile: { type: 'Unconfined' } }),
      ['spec.containers.0.securityContext.seccompProfile.type'],
      { seccompUnconfined: 'allow' },
    ],
    [
      'seccomp Unconfined (pod)',
      podSc({ seccompProfile: { type: 'Unconfined' } }),
      ['spec.securityContext.seccompProfile.type'],
      { seccompUnconfined: 'allow' },
    ],
    [
      'AppArmor Unconfined',
      sc({ appArmorProfile: { type: 'Unconfined' } }),
      ['spec.containers.0.securityContext.appArmorProfile.type'],
      { appArmorUnconfined: 'allow' },
    ],
    [
      'SELinux type spc_t',
      sc({ seLinuxOptions: { type: 'spc_t' } }),
      ['spec.containers.0.securityContext.seLinuxOptions.type'],
      { seLinuxOptions: 'allow' },
    ],
    [
      'SELinux user and role',
      podSc({ seLinuxOptions: { user: 'system_u', role: 'system_r' } }),
      ['spec.securityContext.seLinuxOptions.user', 'spec.securityContext.seLinuxOptions.role'],
      { seLinuxOptions: 'allow' },
    ],
    [
      'procMount Unmasked',
      sc({ procMount: 'Unmasked' }),
      ['spec.containers.0.securityContext.procMount'],
      { procMountUnmasked: 'allow' },
    ],
    [
      'an unsafe sysctl',
      podSc({ sysctls: [{ name: 'kernel.core_pattern', value: '|/tmp/x' }] }),
      ['spec.securityContext.sysctls.0.name'],
      { sysctls: { allowed: 'any' } },
    ],
    [
      'a sysctl written with slashes',
      podSc({ sysctls: [{ name: 'kernel/msgmax', value: '1' }] }),
      ['spec.securityContext.sysctls.0.name'],
      { sysctls: { allowed: ['kernel.msgmax'] } },
    ],
    [
      'a capability outside the baseline set',
      sc({ capabilities: { add: ['SYS_PTRACE'] } }),
      ['spec.containers.0.securityContext.capabilities.add.0'],
      { capabilities: { allowed: ['SYS_PTRACE'] } },
    ],
    [
      'a host port outside the list',
      pod({}, { ports: [{ containerPort: 80, hostPort: 80 }] }),
      ['spec.containers.0.ports.0.hostPort'],
      { hostPorts: { allowed: [80] } },
    ],
    [
      'hostPath outside the prefixes',
      pod({ volumes: [{ name: 'v', hostPath: { path: '/srv' } }] }),
      ['spec.volumes.0.hostPath.path'],
      { hostPath: { ...DEFAULT_POLICY.hostPath, pathPrefixes: ['/srv'] } },
    ],
  ];
  const restrictedPorts: Partial<Policy> = { hostPorts: { allowed: [443, '8000-8099'] } };

  it('refuses each baseline control by default, and its key permits it', () => {
    for (const [name, object, expected, relaxed] of controls) {
      const policy = { ...DEFAULT_POLICY, ...(name.startsWith('a host port') ? restrictedPorts : {}) };
      assert.deepEqual(paths('Pod', object, policy), expected, name);
      assert.deepEqual(paths('Pod', object, { ...policy, ...relaxed }), [], `${name}, relaxed`);
    }
  });

  it('accepts what the baseline accepts', () => {
    const table: [string, Record<string, unknown>][] = [
      [
        'RuntimeDefault and Localhost seccomp',
        pod(
          { securityContext: { seccompProfile: { type: 'RuntimeDefault' } } },
          { securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } } },
        ),
      ],
      [
        'the container SELinux types and a level',
        sc({ seLinuxOptions: { type: 'container_init_t', level: 's0:c123,c456' } }),
      ],
      ['procMount Default', sc({ procMount: 'Default' })],
      [
        'safe sysctls',
        podSc({
          sysctls: [
            { name: 'net.ipv4.ip_unprivileged_port_start', value: '0' },
            { name: 'kernel/shm_rmid_forced', value: '1' },
          ],
        }),
      ],
      [
        'the baseline capabilities and the network ones',
        sc({ capabilities: { add: ['CHOWN', 'KILL', 'SYS_CHROOT', 'NET_ADMIN', 'NET_RAW'] } }),
      ],
      ['hostProcess false', sc({ windowsOptions: { hostProcess: false } })],
    ];
    for (const [name, object] of table) assert.deepEqual(paths('Pod', object), [], name);
    const ports = (hostPort: number) => pod({}, { ports: [{ containerPort: 80, hostPort }] });
    assert.deepEqual(paths('Pod', ports(8080), { ...DEFAULT_POLICY, ...restrictedPorts }), []);
    assert.deepEqual(paths('Pod', ports(8100), { ...DEFAULT_POLICY, ...restrictedPorts }), [
      'spec.containers.0.ports.0.hostPort',
    ]);
    assert.deepEqual(paths('Pod', ports(22)), [], 'any host port by default');
  });

  it('never accepts a Windows host process, nor a sysctl that would reach the host through a shared namespace', () => {
    assert.deepEqual(paths('Pod', sc({ windowsOptions: { hostProcess: true } }), PERMISSIVE_POLICY), [
      'spec.containers.0.securityContext.windowsOptions.hostProcess',
    ]);
    const hostNet = podSc(
      { sysctls: [{ name: 'net.ipv4.ip_local_port_range', value: '1024 65000' }] },
      { hostNetwork: true },
    );
    assert.deepEqual(paths('Pod', hostNet, PERMISSIVE_POLICY), ['spec.securityContext.sysctls.0.name']);
    const hostIpc = podSc({ sysctls: [{ name: 'kernel.shm_rmid_forced', value: '1' }] }, { hostIPC: true });
    assert.deepEqual(paths('Pod', hostIpc, PERMISSIVE_POLICY), ['spec.securityContext.sysctls.0.name']);
  });

  it('allows Bidirectional mount propagation only in a privileged container', () => {
    const shared = (securityContext: Record<string, unknown>) =>
      pod(
        { volumes: [{ name: 'v', hostPath: { path: '/var/lib/etcd' } }] },
        { securityContext, volumeMounts: [{ name: 'v', mountPath: '/d', mountPropagation: 'Bidirectional' }] },
      );
    assert.deepEqual(paths('Pod', shared({})), ['spec.containers.0.volumeMounts.0.mountPropagation']);
    assert.deepEqual(paths('Pod', shared({ privileged: true }), { ...DEFAULT_POLICY, privileged: 'allow' }), []);
    assert.deepEqual(paths('Pod', shared({}), { ...DEFAULT_POLICY, privileged: 'allow' }), [
      'spec.containers.0.volumeMounts.0.mountPropagation',
    ]);
  });

  it('mounts the system trust store only read-only, in every container', () => {
    const certs = (mounts: Record<string, unknown>[][]) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: {
        containers: mounts.map((volumeMounts, index) => ({ name: `c${index}`, image: 'x', volumeMounts })),
        volumes: [{ name: 'ca', hostPath: { path: '/etc/ssl/certs', type: 'DirectoryOrCreate' } }],
      },
    });
    const ro = { name: 'ca', mountPath: '/etc/ssl/certs', readOnly: true };
    assert.deepEqual(paths('Pod', certs([[ro], [ro]])), []);
    assert.deepEqual(paths('Pod', certs([[ro], [{ ...ro, readOnly: false }]])), ['spec.volumes.0.hostPath.path']);
    assert.deepEqual(paths('Pod', certs([[{ name: 'ca', mountPath: '/x' }]])), ['spec.volumes.0.hostPath.path']);
    const elsewhere = certs([[ro]]);
    (elsewhere.spec.volumes[0] as { hostPath: { path: string } }).hostPath.path = '/etc/ssl/certs/../private';
    assert.deepEqual(paths('Pod', elsewhere), ['spec.volumes.0.hostPath.path'], 'normalized before comparing');
    const [problem] = checkPolicy('Pod', certs([[{ name: 'ca', mountPath: '/x' }]]), DEFAULT_POLICY);
    assert.match(
      problem?.message ?? '',
      /under policy\.hostPath\.readOnlyPathPrefixes, so every volumeMount of "ca" must set readOnly: true/,
    );
  });
});

describe('checkPolicy: the restricted level', () => {
  const hardened = {
    allowPrivilegeEscalation: false,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
  it('accepts a hardened pod and refuses each thing it adds to the baseline', () => {
    assert.deepEqual(
      paths('Pod', pod({ volumes: [{ name: 'v', emptyDir: {} }] }, { securityContext: hardened }), RESTRICTED_POLICY),
      [],
    );
    const seccompOnPod = pod(
      { securityContext: { runAsNonRoot: true, seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } } },
      { securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['all'] } } },
    );
    assert.deepEqual(paths('Pod', seccompOnPod, RESTRICTED_POLICY), [], 'pod-level runAsNonRoot and seccomp count');
    const at = 'spec.containers.0.securityContext';
    const table: [string, Record<string, unknown>, string[]][] = [
      ['escalation allowed', { ...hardened, allowPrivilegeEscalation: undefined }, [`${at}.allowPrivilegeEscalation`]],
      ['root allowed', { ...hardened, runAsNonRoot: false }, [`${at}.runAsNonRoot`]],
      ['uid 0', { ...hardened, runAsUser: 0 }, [`${at}.runAsUser`]],
      ['no seccomp profile', { ...hardened, seccompProfile: undefined }, [`${at}.seccompProfile`]],
      ['capabilities kept', { ...hardened, capabilities: { drop: ['NET_RAW'] } }, [`${at}.capabilities.drop`]],
      [
        'NET_ADMIN added',
        { ...hardened, capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] } },
        [`${at}.capabilities.add.0`],
      ],
    ];
    for (const [name, context, expected] of table)
      assert.deepEqual(paths('Pod', pod({}, { securityContext: context }), RESTRICTED_POLICY), expected, name);
    assert.deepEqual(paths('Pod', pod({ hostNetwork: true }, { securityContext: hardened }), RESTRICTED_POLICY), [
      'spec.hostNetwork',
    ]);
    assert.deepEqual(
      paths(
        'Pod',
        pod(
          {
            volumes: [
              { name: 'v', hostPath: { path: '/etc/haproxy' } },
              { name: 'w', image: { reference: 'x' } },
            ],
          },
          { securityContext: hardened },
        ),
        RESTRICTED_POLICY,
      ),
      ['spec.volumes.0.hostPath', 'spec.volumes.0', 'spec.volumes.1'],
    );
    const [problem] = checkPolicy(
      'Pod',
      pod({}, { securityContext: { ...hardened, runAsUser: 0 } }),
      RESTRICTED_POLICY,
    );
    assert.equal(
      problem?.message,
      'the restricted level requires a user other than root (0) (set policy.level: baseline in /etc/runner/config.yaml to permit)',
    );
  });
});

describe('parseManifest: the fields the baseline judges are typed', () => {
  const manifest = (containerExtra: string, specExtra = '') =>
    `apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: busybox\n${containerExtra}${specExtra}`;
  it('refuses profile types, procMount and sysctls of the wrong shape, and a subPath that leaves its volume', () => {
    const table: [string, RegExp][] = [
      [
        manifest('      securityContext:\n        seccompProfile: { type: unconfined }\n'),
        /seccompProfile\.type: seccompProfile\.type: must be RuntimeDefault, Localhost or Unconfined/,
      ],
      [manifest('      securityContext:\n        procMount: unmasked\n'), /procMount: must be Default or Unmasked/],
      [manifest('      securityContext:\n        runAsUser: "0"\n'), /runAsUser: must be a number/],
      [
        manifest('', '  securityContext:\n    sysctls: { kernel.msgmax: 1 }\n'),
        /sysctls: must be a list of \{name, value\}/,
      ],
      [
        manifest('      securityContext:\n        windowsOptions: { hostProcess: yes }\n'),
        /hostProcess: must be true or false/,
      ],
      [
        manifest(
          '      volumeMounts: [{ name: v, mountPath: /x, subPath: ../../shadow }]\n',
          '  volumes: [{ name: v, hostPath: { path: /etc/haproxy } }]\n',
        ),
        /subPath: must be a relative path without "\.\." segments/,
      ],
      [
        manifest(
          '      volumeMounts: [{ name: v, mountPath: /x, readOnly: "true" }]\n',
          '  volumes: [{ name: v, emptyDir: {} }]\n',
        ),
        /readOnly: must be true or false/,
      ],
      [
        manifest('', '  volumes: [{ name: v, emptyDir: {} }, { name: v, hostPath: { path: /etc/haproxy } }]\n'),
        /volume names must be unique within a pod/,
      ],
      [
        manifest(
          '      volumeMounts: [{ name: v, mountPath: "/x:rshared,U" }]\n',
          '  volumes: [{ name: v, emptyDir: {} }]\n',
        ),
        /mountPath: must not contain ":": podman would read what follows as mount options/,
      ],
      [
        manifest(
          '      volumeMounts: [{ name: v, mountPath: /x, mountPropagation: bidirectional }]\n',
          '  volumes: [{ name: v, emptyDir: {} }]\n',
        ),
        /mountPropagation: must be None, HostToContainer or Bidirectional/,
      ],
    ];
    for (const [text, expected] of table) {
      const problems = parseManifest('/m/p.yaml', text).problems.map(formatProblem);
      assert.ok(
        problems.some((problem) => expected.test(problem)),
        `${text}\n${problems.join('\n')}`,
      );
    }
  });
});

describe('parseManifest with a policy: the problem names rule, field, line and column', () => {
  it('privileged', () => {
    const text =
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: c\n      image: busybox\n      securityContext:\n        privileged: true\n';
    const parsed = parseManifest('/m/web.yaml', text);
    assert.deepEqual(parsed.documents, []);
    assert.deepEqual(parsed.problems.map(formatProblem), [
      '/m/web.yaml:10:21: spec.containers[0].securityContext.privileged: denied by policy.privileged (set policy.privileged: allow in /etc/runner/config.yaml to permit)',
    ]);
    assert.deepEqual(parseManifest('/m/web.yaml', text, { policy: PERMISSIVE_POLICY }).problems, []);
  });

  it('a hostPath that escapes its prefix shows the normalized path', () => {
    const text =
      'apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers: [{ name: c, image: busybox }]\n  volumes:\n    - name: v\n      hostPath:\n        path: /etc/haproxy/../shadow\n';
    const [problem] = parseManifest('/m/web.yaml', text).problems;
    assert.equal(problem?.line, 10);
    assert.equal(problem?.column, 15);
    assert.equal(problem?.field, 'spec.volumes[0].hostPath.path');
    assert.match(
      problem?.message ?? '',
      /^\/etc\/shadow \(written \/etc\/haproxy\/\.\.\/shadow\) is outside policy\.hostPath\.pathPrefixes/,
    );
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
    for (const [target, prefixes, expected] of table)
      assert.equal(isUnderPrefix(target, prefixes), expected, `${target} under ${prefixes.join(',')}`);
    assert.equal(normalizeHostPath('/a/b/../c/./'), '/a/c');
    assert.equal(normalizeHostPath('/'), '/');
  });
});
