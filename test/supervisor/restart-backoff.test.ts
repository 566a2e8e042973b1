import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KUBELET_CRASH_LOOP, restartDelayMs, shouldRestart } from '../../src/supervisor/restart-backoff.ts';

describe('restartDelayMs (CrashLoopBackOff)', () => {
  const cases: [number, number][] = [
    [0, 0],
    [1, 10_000],
    [2, 20_000],
    [3, 40_000],
    [4, 80_000],
    [5, 160_000],
    [6, 300_000],
    [7, 300_000],
    [1000, 300_000],
  ];
  for (const [step, expected] of cases) {
    it(`step ${step}: ${expected} ms`, () => assert.equal(restartDelayMs(step, KUBELET_CRASH_LOOP), expected));
  }
  it('honours a custom policy', () => {
    assert.deepEqual([0, 1, 2, 3, 4].map((step) => restartDelayMs(step, { initialMs: 1000, maxMs: 4000, resetAfterMs: 1 })), [0, 1000, 2000, 4000, 4000]);
  });
});

describe('shouldRestart (Kubernetes restartPolicy)', () => {
  const cases: ['Always' | 'OnFailure' | 'Never', number, boolean][] = [
    ['Always', 0, true],
    ['Always', 1, true],
    ['OnFailure', 0, false],
    ['OnFailure', 137, true],
    ['Never', 0, false],
    ['Never', 1, false],
  ];
  for (const [policy, code, expected] of cases) {
    it(`${policy}, exit ${code}: ${expected ? 'restart' : 'leave'}`, () => assert.equal(shouldRestart(policy, code), expected));
  }
});
