import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { DEFAULT_CONFIG } from '../../src/config/defaults.ts';
import { formatProblem } from '../../src/manifest/manifest-problem.ts';
import { parseManifest } from '../../src/manifest/parse-manifest.ts';

/**
 * Issue 11, "Real manifests still pass": the static pods this tool exists for,
 * as kubeadm and the HA guides write them (test/fixtures/static-pods/README.md
 * names the source of each), must validate under the default configuration,
 * the policy a host gets without a config file. Each also has a dangerous
 * variation that must be refused, so the exemptions the real pods need stay
 * narrow.
 */

const FIXTURES = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'keepalived',
  'haproxy',
  'kube-vip',
] as const;
type Fixture = (typeof FIXTURES)[number];

const fixturePath = (name: Fixture): string =>
  fileURLToPath(new URL(`../fixtures/static-pods/${name}.yaml`, import.meta.url));
const readFixture = (name: Fixture): string => readFileSync(fixturePath(name), 'utf8');

/** Validates as the daemon does on a host without /etc/runner/config.yaml. */
const validate = (name: string, text: string) =>
  parseManifest(`/etc/runner/manifests/${name}.yaml`, text, { policy: DEFAULT_CONFIG.policy });

// The shape of the fixtures, as far as the variations below reach into them.
interface Mount {
  name: string;
  mountPath: string;
  readOnly?: boolean;
}
interface Container {
  name: string;
  volumeMounts?: Mount[];
  securityContext?: { capabilities?: { add?: string[] } };
}
interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
}
interface Pod {
  spec: { containers: Container[]; volumes?: Volume[]; hostPID?: boolean };
}

/** Fails loudly when a fixture no longer has what a variation changes, so the variation cannot silently stop testing anything. */
const found = <T>(value: T | undefined, what: string): T => {
  assert.ok(value !== undefined, `fixture has no ${what}`);
  return value;
};
const volume = (pod: Pod, name: string): Volume =>
  found(
    pod.spec.volumes?.find((item) => item.name === name),
    `volume "${name}"`,
  );
const mount = (pod: Pod, name: string): Mount =>
  found(
    pod.spec.containers[0]?.volumeMounts?.find((item) => item.name === name),
    `volumeMount "${name}"`,
  );
const hostPath = (pod: Pod, name: string): { path: string } =>
  found(volume(pod, name).hostPath, `hostPath on volume "${name}"`);
const addCapability = (pod: Pod, capability: string): void => {
  const context = found(
    pod.spec.containers[0]?.securityContext?.capabilities?.add,
    'capabilities.add on the first container',
  );
  context.push(capability);
};

/** The fixture with one change, written back as YAML. */
const variation = (name: Fixture, change: (pod: Pod) => void): string => {
  const pod = parse(readFixture(name)) as Pod;
  change(pod);
  return stringify(pod);
};

interface Dangerous {
  fixture: Fixture;
  what: string;
  change: (pod: Pod) => void;
  /** The field the refusal must name (formatFieldPath's spelling). */
  field: string;
}

const DANGEROUS: Dangerous[] = [
  {
    fixture: 'etcd',
    what: 'its data directory moved to the host root, /',
    change: (pod) => {
      hostPath(pod, 'etcd-data').path = '/';
    },
    field: 'spec.volumes[1].hostPath.path',
  },
  {
    fixture: 'kube-apiserver',
    what: 'the /etc/ssl/certs mount made writable (readOnly removed)',
    change: (pod) => {
      delete mount(pod, 'ca-certs').readOnly;
    },
    field: 'spec.volumes[0].hostPath.path',
  },
  {
    fixture: 'kube-controller-manager',
    what: 'the read-only trust-store volume /etc/ca-certificates widened to its parent, /etc',
    change: (pod) => {
      hostPath(pod, 'etc-ca-certificates').path = '/etc';
    },
    field: 'spec.volumes[1].hostPath.path',
  },
  {
    fixture: 'kube-apiserver',
    what: "kubeadm v1.30's whole /etc/pki (private keys on RHEL-family hosts), read-only",
    change: (pod) => {
      hostPath(pod, 'etc-pki-ca-trust').path = '/etc/pki';
    },
    field: 'spec.volumes[2].hostPath.path',
  },
  {
    fixture: 'kube-scheduler',
    what: 'its kubeconfig volume pointed, read-only, at /etc/ssl/certs/../private (host TLS private keys)',
    change: (pod) => {
      hostPath(pod, 'kubeconfig').path = '/etc/ssl/certs/../private';
    },
    field: 'spec.volumes[0].hostPath.path',
  },
  {
    fixture: 'keepalived',
    what: 'hostPID: true added',
    change: (pod) => {
      pod.spec.hostPID = true;
    },
    field: 'spec.hostPID',
  },
  {
    fixture: 'haproxy',
    what: 'its config volume pointed, read-only, at the podman socket',
    change: (pod) => {
      hostPath(pod, 'haproxyconf').path = '/run/podman/podman.sock';
    },
    field: 'spec.volumes[0].hostPath.path',
  },
  {
    fixture: 'kube-vip',
    what: 'SYS_ADMIN added to its capabilities',
    change: (pod) => addCapability(pod, 'SYS_ADMIN'),
    field: 'spec.containers[0].securityContext.capabilities.add[2]',
  },
];

describe('real static-pod manifests under the default policy', () => {
  for (const name of FIXTURES) {
    it(`accept ${name}.yaml as its tool writes it`, () => {
      const result = validate(name, readFixture(name));
      assert.deepEqual(result.problems.map(formatProblem), []);
      assert.deepEqual(
        result.documents.map((doc) => [doc.kind, doc.name]),
        [['Pod', name]],
      );
    });
  }
});

describe('dangerous variations of the real manifests', () => {
  it('cover every fixture', () => {
    assert.deepEqual([...new Set(DANGEROUS.map((item) => item.fixture))].sort(), [...FIXTURES].sort());
  });

  for (const { fixture, what, change, field } of DANGEROUS) {
    it(`refuse ${fixture}.yaml with ${what}`, () => {
      const result = validate(fixture, variation(fixture, change));
      assert.deepEqual(result.documents, []);
      assert.ok(
        result.problems.some((problem) => problem.field === field),
        `expected a problem at ${field}, got:\n${result.problems.map(formatProblem).join('\n') || '(none)'}`,
      );
    });
  }
});
