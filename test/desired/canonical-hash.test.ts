import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, sha256 } from '../../src/desired/canonical-hash.ts';

describe('canonicalJson', () => {
  const cases: [string, unknown, string][] = [
    [
      'sorts keys at every level',
      { b: 1, a: { d: [{ z: 1, y: 2 }], c: null } },
      '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}',
    ],
    ['keeps array order', [3, 1, 2], '[3,1,2]'],
    ['drops undefined fields', { a: undefined, b: 1 }, '{"b":1}'],
    ['keeps null', { a: null }, '{"a":null}'],
    ['escapes keys and strings', { 'a"b': 'c\nd' }, '{"a\\"b":"c\\nd"}'],
    ['a bare undefined is null', undefined, 'null'],
    ['empty containers', { a: {}, b: [] }, '{"a":{},"b":[]}'],
  ];
  for (const [what, value, expected] of cases) {
    it(what, () => assert.equal(canonicalJson(value), expected));
  }

  it('distinguishes a number from a string', () => {
    assert.notEqual(canonicalJson({ a: 1 }), canonicalJson({ a: '1' }));
  });
});

describe('sha256', () => {
  it('is the hex digest', () => {
    assert.equal(sha256(''), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
