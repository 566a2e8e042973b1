import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { buildUnits } from '../../src/desired/build-units.ts';
import { parseManifest } from '../../src/manifest/parse-manifest.ts';
import { HASH_LABEL, MANAGED_LABEL, SOURCE_LABEL, UNIT_LABEL } from '../../src/shared/ownership.ts';
import { readManifestFixture } from '../helpers/fixtures.ts';
import { deploymentYaml, podYaml, unitOf, unitsOf } from '../helpers/units.ts';

const FILE = '/etc/runner/manifests/web.yaml';
type Obj = Record<string, any>;
const docs = (yaml: string): Obj[] => parseAllDocuments(yaml).map((doc) => doc.toJS() as Obj);

describe('buildUnits: the hash', () => {
  const base = unitOf(FILE, podYaml('web', { command: ['sleep', '60'] }));

  const same: [string, string][] = [
    [
      'keys reordered',
      'kind: Pod\nspec:\n  containers:\n    - image: busybox\n      command: ["sleep", "60"]\n      name: main\nmetadata:\n  name: web\napiVersion: v1\n',
    ],
    [
      'flow style, quotes and comments',
      '# the web pod\n{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, # trailing\n "spec": {"containers": [{"name": \'main\', "image": "busybox", "command": [sleep, "60"]}]}}\n',
    ],
    [
      'block lists and extra blank lines',
      'apiVersion: v1\n\nkind: Pod\nmetadata:\n  name: web\n\nspec:\n  containers:\n  - name: main\n    image: busybox\n    command:\n    - sleep\n    - "60"\n',
    ],
  ];
  for (const [what, text] of same) {
    it(`is stable under ${what}`, () => {
      assert.equal(unitOf(FILE, text).hash, base.hash);
    });
  }

  const different: [string, string][] = [
    ['the command changes', podYaml('web', { command: ['sleep', '61'] })],
    ['the image changes', podYaml('web', { image: 'busybox:1.36', command: ['sleep', '60'] })],
    [
      'a label is added',
      podYaml('web', { command: ['sleep', '60'] }).replace('  name: web\n', '  name: web\n  labels:\n    a: b\n'),
    ],
    ['restartPolicy is set', podYaml('web', { command: ['sleep', '60'], restartPolicy: 'Never' })],
  ];
  for (const [what, text] of different) {
    it(`changes when ${what}`, () => {
      assert.notEqual(unitOf(FILE, text).hash, base.hash);
    });
  }

  it('changes when a supporting ConfigMap changes', () => {
    const text = readManifestFixture('configmap-and-pod.yaml');
    assert.notEqual(unitOf(FILE, text).hash, unitOf(FILE, text.replace('greeting: hello', 'greeting: bye')).hash);
  });

  it('is a sha256 hex digest that does not depend on the file path', () => {
    assert.match(base.hash, /^[0-9a-f]{64}$/);
    assert.equal(unitOf('/elsewhere/other.yaml', podYaml('web', { command: ['sleep', '60'] })).hash, base.hash);
  });
});

describe('buildUnits: the unit', () => {
  it('describes a Pod', () => {
    const unit = unitOf(FILE, podYaml('web'));
    assert.equal(unit.key, `${FILE}#Pod/web`);
    assert.equal(unit.file, FILE);
    assert.equal(unit.unit, 'Pod/web');
    assert.equal(unit.kind, 'Pod');
    assert.equal(unit.name, 'web');
    assert.equal(unit.podName, 'web');
    assert.equal(unit.restartPolicy, 'Always');
    assert.deepEqual(unit.volumes, []);
    assert.deepEqual(unit.secrets, []);
  });

  it('injects the ownership labels into the Pod metadata, keeping its own', () => {
    const unit = unitOf(FILE, readManifestFixture('pod.yaml'));
    const [pod] = docs(unit.yaml);
    assert.deepEqual(pod?.metadata.labels, {
      app: 'web',
      [MANAGED_LABEL]: 'true',
      [SOURCE_LABEL]: FILE,
      [UNIT_LABEL]: 'Pod/web',
      [HASH_LABEL]: unit.hash,
    });
    assert.equal(pod?.metadata.name, 'web');
  });

  it('for a Deployment, injects the labels into the Deployment and its pod template', () => {
    const unit = unitOf(FILE, deploymentYaml('api'));
    assert.equal(unit.kind, 'Deployment');
    assert.equal(unit.unit, 'Deployment/api');
    assert.equal(unit.podName, undefined, 'podman names the pod, not the manifest');
    const [deployment] = docs(unit.yaml);
    const expected = {
      [MANAGED_LABEL]: 'true',
      [SOURCE_LABEL]: FILE,
      [UNIT_LABEL]: 'Deployment/api',
      [HASH_LABEL]: unit.hash,
    };
    assert.deepEqual(deployment?.spec.template.metadata.labels, { app: 'api', ...expected });
    assert.deepEqual(deployment?.metadata.labels, expected);
  });

  it('a Deployment template without metadata gets labels too', () => {
    const text =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: main\n          image: busybox\n';
    const unit = unitOf(FILE, text);
    assert.equal(docs(unit.yaml)[0]?.spec.template.metadata.labels[UNIT_LABEL], 'Deployment/api');
  });

  it('the labels do not feed back into the hash', () => {
    const unit = unitOf(FILE, podYaml('web'));
    const replayed = docs(unit.yaml)[0]!;
    assert.equal(replayed.metadata.labels[HASH_LABEL], unit.hash);
  });

  it('includes the supporting ConfigMap in the YAML, before the pod', () => {
    const unit = unitOf(FILE, readManifestFixture('configmap-and-pod.yaml'));
    const played = docs(unit.yaml);
    assert.deepEqual(
      played.map((doc) => [doc.kind, doc.metadata.name]),
      [
        ['ConfigMap', 'web-config'],
        ['Pod', 'web'],
      ],
    );
    assert.deepEqual(played[0]?.data, { greeting: 'hello' });
    assert.equal(played[0]?.metadata.labels, undefined, 'supporting documents are not labelled as pods');
  });

  it('gives every workload of a file its own unit, each with all supporting documents', () => {
    const text = `apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n---\n${podYaml('a')}---\n${podYaml('b')}---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n`;
    const units = unitsOf(FILE, text);
    assert.deepEqual(
      units.map((unit) => unit.unit),
      ['Pod/a', 'Pod/b'],
    );
    for (const unit of units) {
      assert.deepEqual(unit.secrets, ['creds']);
      assert.deepEqual(unit.volumes, ['data']);
      const kinds = docs(unit.yaml).map((doc) => doc.kind);
      assert.deepEqual(kinds, ['Secret', 'PersistentVolumeClaim', 'Pod']);
    }
    assert.equal(docs(units[0]!.yaml)[2]?.metadata.name, 'a');
    assert.equal(docs(units[1]!.yaml)[2]?.metadata.name, 'b');
  });

  it('stopTimeoutSeconds comes from terminationGracePeriodSeconds', () => {
    assert.equal(unitsOf(FILE, podYaml('web', { grace: 3 }), 10)[0]?.stopTimeoutSeconds, 3);
    assert.equal(unitsOf(FILE, podYaml('web', { grace: 0 }), 10)[0]?.stopTimeoutSeconds, 0);
  });

  it('stopTimeoutSeconds falls back to the default', () => {
    assert.equal(unitsOf(FILE, podYaml('web'), 17)[0]?.stopTimeoutSeconds, 17);
  });

  it('restartPolicy is kept on the unit', () => {
    assert.equal(unitOf(FILE, podYaml('web', { restartPolicy: 'OnFailure' })).restartPolicy, 'OnFailure');
    assert.equal(unitOf(FILE, podYaml('web', { restartPolicy: 'Never' })).restartPolicy, 'Never');
  });

  it('unknown fields reach podman untouched', () => {
    const unit = unitOf(FILE, readManifestFixture('kubeadm-etcd.yaml').replace('/etc/runner', ''));
    const [pod] = docs(unit.yaml);
    assert.equal(pod?.spec.hostNetwork, true);
    assert.equal(
      pod?.metadata.annotations['kubeadm.kubernetes.io/etcd.advertise-client-urls'],
      'https://10.0.0.10:2379',
    );
    assert.deepEqual(pod?.spec.volumes[0].hostPath, { path: '/var/lib/etcd', type: 'DirectoryOrCreate' });
  });
});

describe('buildUnits: rendered once per parse', () => {
  // Issue 12: every reconcile pass rendered and hashed every manifest again.
  const manifest = parseManifest(FILE, podYaml('web'));

  it('the same parse and options give the very same units', () => {
    assert.equal(
      buildUnits(manifest, { defaultStopTimeoutSeconds: 10 }),
      buildUnits(manifest, { defaultStopTimeoutSeconds: 10 }),
    );
  });

  it('other options render again', () => {
    const first = buildUnits(manifest, { defaultStopTimeoutSeconds: 10 });
    assert.notEqual(buildUnits(manifest, { defaultStopTimeoutSeconds: 10, pull: 'never' }), first);
    assert.equal(buildUnits(manifest, { defaultStopTimeoutSeconds: 30 })[0]!.stopTimeoutSeconds, 30);
  });

  it('an equal parse of the same text is rendered on its own', () => {
    const again = parseManifest(FILE, podYaml('web'));
    assert.notEqual(
      buildUnits(again, { defaultStopTimeoutSeconds: 10 }),
      buildUnits(manifest, { defaultStopTimeoutSeconds: 10 }),
    );
  });
});
