import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { printable, printableData, printableJson, printableLines } from '../../src/shared/printable.ts';

describe('printable', () => {
  const cases: [string, string, string][] = [
    ['plain text and other Unicode unchanged', 'web: naïve 日本 ✓ \\n stays', 'web: naïve 日本 ✓ \\n stays'],
    ['newline, return and tab by name', 'a\nb\rc\td', 'a\\nb\\rc\\td'],
    ['ESC sequences (clear screen, window title)', '\u001b[2J\u001b]0;title\u0007', '\\x1b[2J\\x1b]0;title\\x07'],
    ['NUL, DEL and the rest of C0', '\u0000\u0008\u007f', '\\x00\\x08\\x7f'],
    ['C1, U+009B (a one-character CSI) included', '\u0085\u009b2J', '\\x85\\x9b2J'],
    ['bidi overrides and isolates', '\u202aa\u202eb\u2066c\u2069', '\\u202aa\\u202eb\\u2066c\\u2069'],
    ['line and paragraph separators', 'a\u2028b\u2029', 'a\\u2028b\\u2029'],
  ];
  for (const [what, input, expected] of cases) {
    it(what, () => {
      assert.equal(printable(input), expected);
    });
  }

  it('printableLines keeps the line breaks and escapes the rest', () => {
    assert.equal(printableLines('invalid config file:\n  a: \u001b[2J'), 'invalid config file:\n  a: \\x1b[2J');
  });

  it('printableJson escapes what JSON.stringify leaves raw, and the JSON still reads back the same', () => {
    const value = { message: 'a\u001b[2J\u009b31m\u202eb\u2028\u007f', other: 'ü' };
    const json = printableJson(JSON.stringify(value));
    assert.equal(json, '{"message":"a\\u001b[2J\\u009b31m\\u202eb\\u2028\\u007f","other":"ü"}');
    assert.deepEqual(JSON.parse(json), value);
  });

  it('printableData escapes every string in nested plain data and leaves the rest', () => {
    const input = {
      name: 'a\nb',
      count: 3,
      ok: true,
      none: undefined,
      nested: [{ message: '\u001b[31m' }, 'x\ty', null],
    };
    assert.deepEqual(printableData(input), {
      name: 'a\\nb',
      count: 3,
      ok: true,
      none: undefined,
      nested: [{ message: '\\x1b[31m' }, 'x\\ty', null],
    });
    assert.equal(input.name, 'a\nb', 'the input is not changed');
    assert.deepEqual(input.nested[0], { message: '\u001b[31m' }, 'nested input is not changed');
  });

  it('printableData copies only what holds a string it escaped', () => {
    const clean = { pods: [{ name: 'api', containers: [{ name: 'app' }] }], count: 2 };
    assert.equal(printableData(clean), clean);
    const dirty = { pods: [{ name: 'api' }, { name: 'b\u202e' }], other: { name: 'x' } };
    const out = printableData(dirty);
    assert.notEqual(out.pods, dirty.pods);
    assert.equal(out.pods[0], dirty.pods[0]);
    assert.equal(out.other, dirty.other);
    assert.equal(dirty.pods[1]?.name, 'b\u202e');
    assert.deepEqual(
      printableData({ path: 'C:\\new', csi: ['\u009b2J'] }),
      { path: 'C:\\new', csi: ['\\x9b2J'] },
      'a literal backslash stays, a raw C1 is escaped',
    );
  });
});
