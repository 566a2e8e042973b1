/**
 * The pod status of containers a reboot or power cut stopped: never
 * `Completed` (which `runner status` counts as all well), whatever the code.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObservedPod } from '../../src/reconciler/observed-pods.ts';
import type { ContainerHistory } from '../../src/supervisor/restart-history.ts';
import { statusOfUnit } from '../helpers/status-inputs.ts';
import { podYaml, unitsOf } from '../helpers/units.ts';

const statusOf = (restartPolicy: string, history: Partial<ContainerHistory>): { status: string; message?: string } => {
  const [unit] = unitsOf('/etc/runner/manifests/job.yaml', podYaml('job', { restartPolicy }));
  const pod: ObservedPod = {
    id: 'p1',
    name: 'job',
    status: 'Exited',
    labels: {},
    created: '2026-01-01T00:00:00Z',
    containers: [],
    key: unit!.key,
    hash: unit!.hash,
  };
  return statusOfUnit(
    unit!,
    { observed: [pod] },
    {
      containers: () => [
        {
          name: 'main',
          id: 'c1',
          image: 'busybox',
          state: 'exited',
          exitCode: 0,
          startedAt: undefined,
          history: { restartCount: 0, backoffStep: 0, recent: [], ...history },
        },
      ],
    },
  );
};

describe('collectStatus after a reboot', () => {
  it('a job that ended 0 by itself is Completed', () => {
    assert.deepEqual(statusOf('Never', { lastReason: 'Completed', lastExitCode: 0 }), { status: 'Completed' });
    assert.deepEqual(statusOf('OnFailure', { lastReason: 'Completed', lastExitCode: 0 }), { status: 'Completed' });
  });

  it('Never: a container the shutdown stopped with code 0 is Failed, and says why', () => {
    assert.deepEqual(statusOf('Never', { lastReason: 'HostRebooted', lastExitCode: 0 }), {
      status: 'Failed',
      message: 'container main exited when the host went down (HostRebooted)',
    });
  });

  it('OnFailure: a container the shutdown stopped with code 0 is not done (the supervisor starts it again)', () => {
    assert.equal(statusOf('OnFailure', { lastReason: 'HostRebooted', lastExitCode: 0 }).status, 'Error');
  });
});
