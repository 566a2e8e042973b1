/**
 * The pod status while the runner plays a unit: a retry of a failed play
 * says what failed last, so an operator sees why it is still creating.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Failure } from '../../src/reconciler/reconciler.ts';
import { statusOfUnit } from '../helpers/status-inputs.ts';
import { podYaml, unitsOf } from '../helpers/units.ts';

const [unit] = unitsOf('/etc/runner/manifests/web.yaml', podYaml('web'));

const statusWhile = (action: 'create' | 'replace', failure?: Partial<Failure>): { status: string; message?: string } =>
  statusOfUnit(unit!, {
    failures: new Map(
      failure
        ? [[unit!.key, { count: 2, nextAt: 0, hash: unit!.hash, message: 'x', imageMissing: false, ...failure }]]
        : [],
    ),
    inFlight: new Map([[unit!.key, action]]),
  });

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
