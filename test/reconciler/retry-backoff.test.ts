import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_APPLY_BACKOFF, retryDelayMs } from '../../src/reconciler/retry-backoff.ts';

describe('retryDelayMs', () => {
  const policy = { initialMs: 1_000, maxMs: 10_000 };
  const cases: [number, number][] = [
    [-1, 0],
    [0, 0],
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [4, 8_000],
    [5, 10_000],
    [100, 10_000],
    [Number.MAX_SAFE_INTEGER, 10_000],
  ];
  for (const [failures, expected] of cases) {
    it(`${failures} failure(s) → ${expected} ms`, () => assert.equal(retryDelayMs(failures, policy), expected));
  }

  it('the default policy starts at 2 s and is capped at 5 min', () => {
    assert.equal(retryDelayMs(1, DEFAULT_APPLY_BACKOFF), 2_000);
    assert.equal(retryDelayMs(50, DEFAULT_APPLY_BACKOFF), 300_000);
  });
});
