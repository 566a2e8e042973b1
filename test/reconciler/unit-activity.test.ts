import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InFlight as UnitActivity } from '../../src/shared/in-flight.ts';

describe('UnitActivity', () => {
  it('a unit is busy while its action runs, and for lists taken before the action ended', () => {
    const activity = new UnitActivity();
    const before = activity.mark();
    assert.equal(activity.isBusy('a', before), false);
    activity.begin('a');
    const during = activity.mark();
    assert.equal(activity.isBusy('a', during), true, 'in flight');
    activity.end('a');
    assert.equal(activity.isBusy('a', before), true, 'a list from before the action is stale');
    assert.equal(activity.isBusy('a', during), true, 'so is one taken while it ran');
    assert.equal(activity.isBusy('a', activity.mark()), false, 'a list taken after it ended is fresh');
    assert.equal(activity.isBusy('b', before), false, 'other units are not affected');
  });

  it('forgets finished units it is told to drop, but not ones a live mark may still see as stale', () => {
    const activity = new UnitActivity();
    const old = activity.mark();
    activity.begin('gone');
    activity.end('gone');
    const afterGone = activity.mark();
    activity.begin('late');
    activity.end('late');
    activity.forget(new Set(), afterGone);
    assert.equal(activity.isBusy('gone', old), false, 'forgotten');
    assert.equal(activity.isBusy('late', old), true, 'ended after the mark: kept');
    activity.begin('kept');
    activity.end('kept');
    activity.forget(new Set(['kept']), activity.mark());
    assert.equal(activity.isBusy('kept', old), true, 'still wanted: kept');
  });
});
