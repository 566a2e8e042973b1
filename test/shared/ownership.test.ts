import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  HASH_LABEL,
  MANAGED_LABEL,
  ownerIn,
  ownerOf,
  SOURCE_LABEL,
  sourceOf,
  UNIT_LABEL,
  unitKey,
  unitLabels,
} from '../../src/shared/ownership.ts';

describe('ownership', () => {
  it('takes a unit key apart into the file it was built from, a # in the path included', () => {
    for (const file of ['/etc/runner/manifests/web.yaml', '/srv/m#1/a#b.yaml']) {
      assert.equal(sourceOf(unitKey(file, 'Pod/web')), file);
    }
  });

  it('reads back the owner from the labels it wrote', () => {
    const labels = unitLabels('/m/web.yaml', 'Deployment/web', 'abc');
    assert.deepEqual(ownerOf(labels), {
      key: unitKey('/m/web.yaml', 'Deployment/web'),
      source: '/m/web.yaml',
      unit: 'Deployment/web',
      hash: 'abc',
    });
  });

  it('owns nothing without the managed label, a source and a unit', () => {
    const labels = unitLabels('/m/web.yaml', 'Pod/web', 'abc');
    assert.equal(ownerOf({ ...labels, [MANAGED_LABEL]: 'false' }), undefined);
    assert.equal(ownerOf({ ...labels, [SOURCE_LABEL]: '' }), undefined);
    const { [UNIT_LABEL]: _unit, ...noUnit } = labels;
    assert.equal(ownerOf(noUnit), undefined);
    const { [HASH_LABEL]: _hash, ...noHash } = labels;
    assert.equal(ownerOf(noHash)?.hash, undefined, 'a missing hash is no reason to disown the pod');
  });

  it('owns, as the runner of a directory, only pods of files directly in it', () => {
    assert.ok(ownerIn(unitLabels('/m/web.yaml', 'Pod/web', 'h'), '/m'));
    assert.equal(ownerIn(unitLabels('/other/web.yaml', 'Pod/web', 'h'), '/m'), undefined);
    assert.equal(ownerIn(unitLabels('/m/sub/web.yaml', 'Pod/web', 'h'), '/m'), undefined);
  });
});
