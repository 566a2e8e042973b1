/**
 * The pod status while the runner plays a unit: a retry of a failed play
 * says what failed last, so an operator sees why it is still creating.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Failure } from '../../src/reconciler/reconciler.ts';
import { collectStatus } from '../../src/status/collect-status.ts';
import { podYaml, unitsOf } from '../helpers/units.ts';

const [unit] = unitsOf('/etc/runner/manifests/web.yaml', podYaml('web'));

const statusWhile = (
  action: 'create' | 'replace',
  failure?: Partial<Failure>,
): { status: string; message?: string } => {
  const doc = collectStatus({
    now: Date.UTC(2026, 0, 1),
    manifestDir: '/etc/runner/manifests',
    daemon: { pid: 1, bootId: 'b', version: '0', startedAt: 0, updatedAt: 0, heartbeatSeconds: 5 },
    reconciler: {
      desired: { units: [unit!], heldFiles: new Map() },
      observed: [],
      observedAt: 0,
      failures: new Map(
        failure
          ? [[unit!.key, { count: 2, nextAt: 0, hash: unit!.hash, message: 'x', imageMissing: false, ...failure }]]
          : [],
      ),
      blocked: new Map(),
      inFlight: new Map([[unit!.key, action]]),
      podmanError: undefined,
    },
    containers: () => [],
    probes: () => undefined,
    probeFailures: {},
  });
  const [status] = doc.pods;
  return { status: status!.status, ...(status!.message ? { message: status!.message } : {}) };
};

describe('collectStatus while a unit is played', () => {
  it('a first play is ContainerCreating; a replace says so', () => {
    assert.deepEqual(statusWhile('create'), { status: 'ContainerCreating' });
    assert.deepEqual(statusWhile('replace'), {
      status: 'ContainerCreating',
      message: 'replacing the pod with the new spec',
    });
  });

  it('a retry of a failed play names the attempt and the last failure', () => {
    const failed = { count: 2, message: 'podman kube play exited with 125: address already in use' };
    assert.deepEqual(statusWhile('create', failed), {
      status: 'ContainerCreating',
      message: `creating the pod, attempt 3; the last failed: ${failed.message}`,
    });
    assert.deepEqual(statusWhile('replace', failed), {
      status: 'ContainerCreating',
      message: `replacing the pod with the new spec, attempt 3; the last failed: ${failed.message}`,
    });
  });

  it('a failure of another spec is not this play’s', () => {
    assert.deepEqual(statusWhile('create', { hash: 'an older spec' }), { status: 'ContainerCreating' });
  });
});
