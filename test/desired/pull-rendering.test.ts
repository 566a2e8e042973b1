import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { buildUnits } from '../../src/desired/build-units.ts';
import type { PullSetting } from '../../src/desired/pull-policy.ts';
import { parseManifest } from '../../src/manifest/parse-manifest.ts';

const FILE = '/etc/runner/manifests/app.yaml';
const POD = `apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  initContainers:
    - {name: init, image: "localhost/init:1"}
  containers:
    - {name: latest, image: "localhost/app:latest"}
    - {name: untagged, image: "localhost/app"}
    - {name: pinned, image: "localhost/app:1"}
    - {name: always, image: "localhost/app:1", imagePullPolicy: Always}
    - {name: never, image: "localhost/app:latest", imagePullPolicy: Never}
`;
const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - {name: main, image: "localhost/web"}
`;

type Obj = Record<string, any>;
const render = (text: string, pull?: PullSetting): Obj => {
  const [unit] = buildUnits(parseManifest(FILE, text), { defaultStopTimeoutSeconds: 10, ...(pull ? { pull } : {}) });
  const docs = parseAllDocuments(unit!.yaml).map((doc) => doc.toJS() as Obj);
  return docs.at(-1)!;
};
const policies = (pod: Obj): Record<string, string> =>
  Object.fromEntries(
    [...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c: Obj) => [c.name, c.imagePullPolicy]),
  );

describe('buildUnits: every container gets an explicit imagePullPolicy', () => {
  const table: [PullSetting | undefined, Record<string, string>][] = [
    [
      undefined,
      {
        init: 'IfNotPresent',
        latest: 'IfNotPresent',
        untagged: 'IfNotPresent',
        pinned: 'IfNotPresent',
        always: 'IfNotPresent',
        never: 'Never',
      },
    ],
    [
      'missing',
      {
        init: 'IfNotPresent',
        latest: 'IfNotPresent',
        untagged: 'IfNotPresent',
        pinned: 'IfNotPresent',
        always: 'IfNotPresent',
        never: 'Never',
      },
    ],
    ['never', { init: 'Never', latest: 'Never', untagged: 'Never', pinned: 'Never', always: 'Never', never: 'Never' }],
    [
      'always',
      {
        init: 'IfNotPresent',
        latest: 'Always',
        untagged: 'Always',
        pinned: 'IfNotPresent',
        always: 'Always',
        never: 'Never',
      },
    ],
  ];
  for (const [pull, expected] of table) {
    it(`pull ${pull ?? '(default)'}`, () => assert.deepEqual(policies(render(POD, pull)), expected));
  }

  it('in a Deployment template too', () => {
    assert.equal(render(DEPLOYMENT, 'never').spec.template.spec.containers[0].imagePullPolicy, 'Never');
  });

  it('the hash covers the manifest as written: changing pull replaces no pod', () => {
    const hashes = (['never', 'missing', 'always'] as const).map(
      (pull) => buildUnits(parseManifest(FILE, POD), { defaultStopTimeoutSeconds: 10, pull })[0]!.hash,
    );
    assert.equal(new Set(hashes).size, 1);
  });

  it('the unit lists init and app images once, in order', () => {
    const [unit] = buildUnits(parseManifest(FILE, POD), { defaultStopTimeoutSeconds: 10 });
    assert.deepEqual(unit!.images, ['localhost/init:1', 'localhost/app:latest', 'localhost/app', 'localhost/app:1']);
  });
});
