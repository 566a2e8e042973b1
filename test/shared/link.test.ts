import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Link } from '../../src/shared/link.ts';

describe('Link', () => {
  it('passes each send to the target connected after the sender was built', () => {
    const link = new Link<[string, number]>('desired units');
    const send = link.send; // what a component is built with
    const got: [string, number][] = [];
    link.connect((name, count) => got.push([name, count]));
    send('web', 2);
    assert.deepEqual(got, [['web', 2]]);
  });

  it('a send before connect, or a second connect, is a wiring mistake and throws', () => {
    const link = new Link('status changed');
    assert.throws(() => link.send(), /status changed: sent before the daemon's wiring connected it/);
    link.connect(() => undefined);
    assert.throws(() => link.connect(() => undefined), /connected twice/);
  });
});
