import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  containerStatus,
  initialProbeState,
  recordProbeResult,
  type ProbeState,
} from '../../src/probes/probe-state.ts';

const OK = { ok: true, message: '' };
const FAIL = { ok: false, message: 'boom' };

/** Feeds `outcomes` ('+' success, '-' failure) and returns the result after each, plus threshold crossings. */
const run = (
  outcomes: string,
  successThreshold: number,
  failureThreshold: number,
): { results: string[]; reached: number[]; streaks: number[] } => {
  let state: ProbeState = initialProbeState();
  const results: string[] = [];
  const reached: number[] = [];
  const streaks: number[] = [];
  [...outcomes].forEach((char, index) => {
    const recorded = recordProbeResult(state, char === '+' ? OK : FAIL, index, { successThreshold, failureThreshold });
    state = recorded.state;
    results.push(state.result[0]!);
    if (recorded.thresholdReached) reached.push(index);
    if (recorded.streakStarted) streaks.push(index);
  });
  return { results, reached, streaks };
};

describe('recordProbeResult', () => {
  const table: [string, string, number, number, string, number[]][] = [
    // what, outcomes, successThreshold, failureThreshold, results (u/s/f), indexes where failureThreshold is reached
    ['one success is enough with threshold 1', '+', 1, 3, 's', []],
    ['failures below the threshold keep unknown', '--', 1, 3, 'uu', []],
    ['the threshold-th failure flips, once per streak', '-----', 1, 3, 'uufff', [2]],
    ['a success ends the streak and a new streak fires again', '---+---', 1, 3, 'uufsssf', [2, 6]],
    ['readiness needs successThreshold successes in a row', '+-++', 2, 3, 'uuus', []],
    ['a failure below failureThreshold keeps success', '++-+', 1, 2, 'ssss', []],
    ['failureThreshold 1 flips on every first failure', '-+-', 1, 1, 'fsf', [0, 2]],
  ];
  for (const [what, outcomes, success, failure, expected, reached] of table) {
    it(what, () => {
      const result = run(outcomes, success, failure);
      assert.equal(result.results.join(''), expected);
      assert.deepEqual(result.reached, reached);
    });
  }

  it('marks the first failure of each streak', () => {
    assert.deepEqual(run('--+-+--', 1, 3).streaks, [0, 3, 5]);
  });

  it('keeps counters, the message and the time', () => {
    const first = recordProbeResult(initialProbeState(), FAIL, 1000, {
      successThreshold: 1,
      failureThreshold: 3,
    }).state;
    assert.deepEqual(first, {
      result: 'unknown',
      consecutiveFailures: 1,
      consecutiveSuccesses: 0,
      lastMessage: 'boom',
      lastProbeAt: 1000,
    });
    const second = recordProbeResult(first, OK, 2000, { successThreshold: 1, failureThreshold: 3 }).state;
    assert.deepEqual(second, {
      result: 'success',
      consecutiveFailures: 0,
      consecutiveSuccesses: 1,
      lastMessage: '',
      lastProbeAt: 2000,
    });
  });
});

describe('containerStatus', () => {
  const success: ProbeState = { ...initialProbeState(), result: 'success' };
  const failure: ProbeState = { ...initialProbeState(), result: 'failure' };

  it('is ready once started when there is no readiness probe', () => {
    assert.deepEqual(containerStatus({}, true), { started: true, ready: true });
  });

  it('is not ready before startup has succeeded, whatever readiness says', () => {
    assert.equal(containerStatus({ readiness: success, startup: initialProbeState() }, false).ready, false);
    assert.equal(containerStatus({ startup: initialProbeState() }, false).ready, false);
  });

  it('follows the readiness result once started', () => {
    assert.equal(containerStatus({ readiness: initialProbeState() }, true).ready, false);
    assert.equal(containerStatus({ readiness: success }, true).ready, true);
    assert.equal(containerStatus({ readiness: failure }, true).ready, false);
  });

  it('is not affected by liveness', () => {
    assert.equal(containerStatus({ liveness: failure }, true).ready, true);
  });
});
