import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildDesiredState } from '../../src/desired/desired-state.ts';
import type { ManifestSnapshot } from '../../src/manifest/read-manifest-dir.ts';
import { podYaml, snapshotOf, unitOf } from '../helpers/units.ts';

const DIR = '/etc/runner/manifests';
const A = `${DIR}/a.yaml`;
const B = `${DIR}/b.yaml`;
const C = `${DIR}/c.yaml`;

const build = (
  snapshot: ManifestSnapshot,
  currentOwners: [string, string][] = [],
  lastApplied = [] as ReturnType<typeof unitOf>[],
) => buildDesiredState({ snapshot, currentOwners: new Map(currentOwners), lastApplied, defaultStopTimeoutSeconds: 10 });

describe('buildDesiredState', () => {
  it('collects the units of every valid file', () => {
    const state = build(snapshotOf(DIR, { 'a.yaml': podYaml('a'), 'b.yaml': podYaml('b') }));
    assert.deepEqual(
      state.units.map((unit) => unit.key),
      [`${A}#Pod/a`, `${B}#Pod/b`],
    );
    assert.equal(state.heldFiles.size, 0);
  });

  it('a name clash: without a current owner, the first file in sort order wins', () => {
    const state = build(snapshotOf(DIR, { 'b.yaml': podYaml('web'), 'a.yaml': podYaml('web') }));
    assert.deepEqual(
      state.units.map((unit) => unit.file),
      [A],
    );
    assert.deepEqual([...state.heldFiles.keys()], [B]);
    const [problem] = state.heldFiles.get(B)!;
    assert.equal(problem?.file, B);
    assert.equal(problem?.field, 'metadata.name');
    assert.ok(problem?.message.includes(A), 'the message names the winner');
    assert.ok(problem?.message.includes('Pod/web'));
  });

  it('a name clash: the file that runs the pod now keeps it', () => {
    const state = build(snapshotOf(DIR, { 'a.yaml': podYaml('web'), 'b.yaml': podYaml('web') }), [['Pod/web', B]]);
    assert.deepEqual(
      state.units.map((unit) => unit.file),
      [B],
    );
    assert.deepEqual([...state.heldFiles.keys()], [A]);
    assert.ok(state.heldFiles.get(A)![0]?.message.includes(B));
  });

  it('a name clash: an owner that is not among the claimants does not decide', () => {
    const state = build(snapshotOf(DIR, { 'b.yaml': podYaml('web'), 'c.yaml': podYaml('web') }), [['Pod/web', A]]);
    assert.deepEqual(
      state.units.map((unit) => unit.file),
      [B],
    );
    assert.deepEqual([...state.heldFiles.keys()], [C]);
  });

  it('a name clash among three files holds both losers', () => {
    const state = build(
      snapshotOf(DIR, { 'a.yaml': podYaml('web'), 'b.yaml': podYaml('web'), 'c.yaml': podYaml('web') }),
      [['Pod/web', C]],
    );
    assert.deepEqual(
      state.units.map((unit) => unit.file),
      [C],
    );
    assert.deepEqual([...state.heldFiles.keys()].sort(), [A, B]);
  });

  it('a Pod and a Deployment of the same name do not clash (different units)', () => {
    const deployment =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n        - name: main\n          image: busybox\n';
    const state = build(snapshotOf(DIR, { 'a.yaml': podYaml('web'), 'b.yaml': deployment }));
    assert.deepEqual(
      state.units.map((unit) => unit.unit),
      ['Pod/web', 'Deployment/web'],
    );
    assert.equal(state.heldFiles.size, 0);
  });

  it('a losing file loses all its units, even those without a clash', () => {
    const state = build(
      snapshotOf(DIR, { 'a.yaml': podYaml('web'), 'b.yaml': `${podYaml('web')}---\n${podYaml('other')}` }),
    );
    assert.deepEqual(
      state.units.map((unit) => unit.key),
      [`${A}#Pod/web`],
    );
    assert.deepEqual([...state.heldFiles.keys()], [B]);
  });

  it('an invalid file is held with its problems, and its last applied units stay desired', () => {
    const applied = unitOf(A, podYaml('a', { image: 'busybox:1.35' }));
    const unrelated = unitOf(C, podYaml('c'));
    const state = build(snapshotOf(DIR, { 'a.yaml': 'kind: [\n', 'b.yaml': podYaml('b') }), [], [applied, unrelated]);
    assert.deepEqual(
      state.units.map((unit) => unit.key),
      [`${B}#Pod/b`, `${A}#Pod/a`],
    );
    assert.equal(state.units[1], applied, 'the last applied unit itself, same hash');
    assert.ok((state.heldFiles.get(A)?.length ?? 0) > 0);
    assert.ok(!state.units.some((unit) => unit.file === C), 'a removed file is not kept alive by its old record');
  });

  it('a held loser of a name clash keeps its last applied units too', () => {
    const applied = unitOf(B, podYaml('old-b'));
    const state = build(snapshotOf(DIR, { 'a.yaml': podYaml('web'), 'b.yaml': podYaml('web') }), [], [applied]);
    assert.deepEqual(
      state.units.map((unit) => unit.key),
      [`${A}#Pod/web`, `${B}#Pod/old-b`],
    );
  });

  it('an empty snapshot wants nothing', () => {
    const state = build({ dir: DIR, files: [] }, [], [unitOf(A, podYaml('a'))]);
    assert.deepEqual(state.units, []);
    assert.equal(state.heldFiles.size, 0);
  });
});
