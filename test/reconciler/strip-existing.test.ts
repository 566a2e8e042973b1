import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { PODMAN_YAML } from '../../src/desired/build-units.ts';
import { withoutClaims } from '../../src/reconciler/strip-existing.ts';

describe('withoutClaims', () => {
  const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data' } };
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', annotations: { flag: 'yes', mode: '0755', when: 'on', octal: '0o17' } },
    spec: { containers: [{ name: 'c', image: 'x' }] },
  };
  const rendered = [claim, pod].map((doc) => stringify(doc, PODMAN_YAML)).join('---\n');

  it('leaves the YAML alone when no claim volume exists', () => {
    assert.equal(withoutClaims(rendered, new Set()), rendered);
  });

  it('drops an existing claim and keeps YAML 1.1 quoting, so podman reads the same strings', () => {
    const out = withoutClaims(rendered, new Set(['data']));
    const docs = parseAllDocuments(out, PODMAN_YAML).map((doc) => doc.toJS());
    assert.deepEqual(docs, [pod]);
    assert.match(out, /flag: "yes"|flag: 'yes'/);
    assert.match(out, /when: "on"|when: 'on'/);
  });
});
