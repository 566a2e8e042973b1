import type { DesiredUnit } from '../../src/desired/desired-unit.ts';
import type { ReconcilerView } from '../../src/reconciler/reconciler.ts';
import { collectStatus, type StatusInputs } from '../../src/status/collect-status.ts';

/**
 * The status of one unit as `collectStatus` decides it, from a daemon that
 * knows nothing but what `reconciler` and `rest` say: the tests of one
 * decision at a time.
 */
export const statusOfUnit = (
  unit: DesiredUnit,
  reconciler: Partial<ReconcilerView>,
  rest: Partial<StatusInputs> = {},
): { status: string; message?: string } => {
  const doc = collectStatus({
    now: Date.UTC(2026, 0, 1),
    manifestDir: '/etc/runner/manifests',
    daemon: { pid: 1, bootId: 'b', version: '0', startedAt: 0, updatedAt: 0, heartbeatSeconds: 5 },
    reconciler: {
      desired: { units: [unit], heldFiles: new Map() },
      observed: [],
      observedAt: 0,
      failures: new Map(),
      blocked: new Map(),
      inFlight: new Map(),
      podmanError: undefined,
      ...reconciler,
    },
    containers: () => [],
    probes: () => undefined,
    probeFailures: {},
    ...rest,
  });
  const [status] = doc.pods;
  return { status: status!.status, ...(status!.message ? { message: status!.message } : {}) };
};
