import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KUBELET_CRASH_LOOP, restartDelayMs, restartDue, shouldRestart } from '../../src/supervisor/restart-backoff.ts';

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
    assert.deepEqual(
      [0, 1, 2, 3, 4].map((step) => restartDelayMs(step, { initialMs: 1000, maxMs: 4000, resetAfterMs: 1 })),
      [0, 1000, 2000, 4000, 4000],
    );
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
    it(`${policy}, exit ${code}: ${expected ? 'restart' : 'leave'}`, () =>
      assert.equal(shouldRestart(policy, code), expected));
  }
});

describe('restartDue (one rule for deaths found by event and by listing)', () => {
  const policy = { initialMs: 10_000, maxMs: 40_000, resetAfterMs: 600_000 };
  const cases: [string, Parameters<typeof restartDue>[0], { step: number; due: number }][] = [
    [
      'a first crash: at once',
      { step: 0, exitedAt: 1_000, startedAt: 500, lastRestartAt: undefined },
      { step: 0, due: 1_000 },
    ],
    [
      'a second crash: initial delay from the exit',
      { step: 1, exitedAt: 5_000, startedAt: 2_000, lastRestartAt: 1_000 },
      { step: 1, due: 15_000 },
    ],
    [
      'from the last start attempt when that is later (a failed start)',
      { step: 2, exitedAt: 5_000, startedAt: 2_000, lastRestartAt: 8_000 },
      { step: 2, due: 28_000 },
    ],
    [
      'ran resetAfter before this exit: a first crash again',
      { step: 3, exitedAt: 700_000, startedAt: 100_000, lastRestartAt: 100_000 },
      { step: 0, due: 700_000 },
    ],
    [
      'ran just short of resetAfter: still backing off',
      { step: 3, exitedAt: 699_999, startedAt: 100_000, lastRestartAt: 100_000 },
      { step: 3, due: 739_999 },
    ],
    [
      'no start time known: no reset',
      { step: 3, exitedAt: 700_000, startedAt: undefined, lastRestartAt: 100_000 },
      { step: 3, due: 740_000 },
    ],
  ];
  for (const [name, exit, expected] of cases) it(name, () => assert.deepEqual(restartDue(exit, policy), expected));
});
