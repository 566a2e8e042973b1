import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { statusSummary } from '../../src/status/collect-status.ts';
import { loadStatusFixture } from './status-fixtures.ts';

describe('statusSummary (systemd STATUS=)', () => {
  it('counts ready pods (Completed included), then invalid manifests and podman trouble', () => {
    const doc = loadStatusFixture('mixed');
    const ready = doc.pods.filter(
      (pod) => pod.status === 'Completed' || (pod.status === 'Running' && pod.readyContainers === pod.totalContainers),
    ).length;
    assert.ok(ready > 0 && ready < doc.pods.length);
    assert.equal(
      statusSummary(doc),
      `${ready}/${doc.pods.length} pods ready, ${doc.invalidManifests.length} invalid manifest(s)`,
    );
    doc.daemon.podmanError = 'timed out';
    doc.invalidManifests = [];
    assert.equal(statusSummary(doc), `${ready}/${doc.pods.length} pods ready, podman not answering`);
    assert.equal(
      statusSummary({ ...doc, pods: [], daemon: { ...doc.daemon, podmanError: undefined } }),
      '0/0 pods ready',
    );
  });
});
