import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { PODMAN_YAML } from '../../src/desired/build-units.ts';
import { withKeeperContainer } from '../../src/reconciler/keeper-in-yaml.ts';
import { deploymentYaml, podYaml, unitOf } from '../helpers/units.ts';

const IMAGE = 'f'.repeat(64);
const KEEPER = {
  name: 'runner_keeper',
  image: IMAGE,
  imagePullPolicy: 'Never',
  securityContext: { capabilities: { drop: ['ALL'] }, readOnlyRootFilesystem: true },
};

const docsOf = (yaml: string): Record<string, unknown>[] =>
  parseAllDocuments(yaml, PODMAN_YAML).map((doc) => doc.toJS() as Record<string, unknown>);

type PodDoc = { spec: { containers: unknown[] } };

describe('withKeeperContainer: the infra keeper as the last container of the played pod', () => {
  it("adds the keeper to a Pod's containers and changes nothing else", () => {
    const unit = unitOf('/m/web.yaml', podYaml('web', { command: ['sleep', 'on'] }));
    const kept = withKeeperContainer(unit.yaml, unit, IMAGE)!;
    const [before] = docsOf(unit.yaml) as [PodDoc];
    const [after] = docsOf(kept) as [PodDoc];
    assert.deepEqual(after.spec.containers, [...before.spec.containers, KEEPER]);
    assert.deepEqual(
      { ...after, spec: { ...after.spec, containers: [] } },
      { ...before, spec: { ...before.spec, containers: [] } },
    );
    // YAML 1.1 quoting survives: podman must read `on` as the string the policy judged.
    assert.match(kept, /- "on"/);
  });

  it("adds it to a Deployment's pod template", () => {
    const unit = unitOf('/m/app.yaml', deploymentYaml('app'));
    const kept = withKeeperContainer(unit.yaml, unit, IMAGE)!;
    const [after] = docsOf(kept) as [{ spec: { template: PodDoc } }];
    assert.deepEqual(after.spec.template.spec.containers.at(-1), KEEPER);
    assert.equal(after.spec.template.spec.containers.length, 2);
  });

  it('leaves the documents before the workload byte for byte, and does not parse them', () => {
    const text = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  a: "1"\n  conf: |\n    x\n    ---\n    y\n---\n${podYaml('web')}`;
    const unit = unitOf('/m/web.yaml', text);
    const separator = unit.yaml.lastIndexOf('\n---\n');
    // A prefix that is not even YAML: were it parsed, the result would be undefined.
    const broken = `{{{ not: yaml${unit.yaml.slice(separator)}`;
    const kept = withKeeperContainer(broken, unit, IMAGE)!;
    assert.ok(kept.startsWith('{{{ not: yaml\n---\n'));
    const real = withKeeperContainer(unit.yaml, unit, IMAGE)!;
    assert.equal(real.slice(0, separator), unit.yaml.slice(0, separator));
    const docs = docsOf(real);
    assert.equal((docs[0] as { data: { conf: string } }).data.conf, 'x\n---\ny\n');
    assert.deepEqual((docs[1] as PodDoc).spec.containers.at(-1), KEEPER);
  });

  it("is undefined when the last document is not the unit's workload", () => {
    const unit = unitOf('/m/web.yaml', podYaml('web'));
    assert.equal(withKeeperContainer(unit.yaml, { ...unit, name: 'other' }, IMAGE), undefined);
    assert.equal(withKeeperContainer(unit.yaml, { ...unit, kind: 'Deployment' }, IMAGE), undefined);
    assert.equal(withKeeperContainer(`${unit.yaml}---\nkind: ConfigMap\n`, unit, IMAGE), undefined);
    assert.equal(
      withKeeperContainer('kind: Pod\nmetadata: {name: web}\nspec: {containers: 3}\n', unit, IMAGE),
      undefined,
    );
    assert.equal(withKeeperContainer('kind: Pod\n  bad: [\n', unit, IMAGE), undefined);
  });

  it('keeps the labels podman puts on the pod', () => {
    const unit = unitOf('/m/web.yaml', podYaml('web'));
    const kept = parse(withKeeperContainer(unit.yaml, unit, IMAGE)!, PODMAN_YAML) as { metadata: unknown };
    assert.deepEqual(kept.metadata, (parse(unit.yaml, PODMAN_YAML) as { metadata: unknown }).metadata);
  });
});
