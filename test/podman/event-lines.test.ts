import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { parseEventLine, readEventLines } from '../../src/podman/event-lines.ts';

/** Lines as podman 4.3.1 printed them on these machines (died omits the exit code when it is 0). */
const V4_DIED =
  '{"ContainerExitCode":3,"ID":"90cf","Image":"localhost/busybox:test","Name":"crash1-main","Status":"died","Time":"2026-11-28T04:37:02.376419416Z","Type":"container","Attributes":{"static-pod-runner/managed":"true"}}';
const V4_DIED_ZERO =
  '{"ID":"af0e","Name":"crash1-init","Status":"died","Time":"2026-11-28T04:36:59.686536523Z","Type":"container","Attributes":{"a":"b"}}';
const V4_POD =
  '{"ID":"6799","Name":"crash1","Status":"stop","Time":"2026-11-28T04:37:07.563746638Z","Type":"pod","Attributes":null}';
/** podman 5.x: unix seconds, timeNano, exit code always present. */
const V5_DIED =
  '{"ContainerExitCode":0,"ID":"aa11","Name":"web-main","Status":"died","Type":"container","time":1795839504,"timeNano":1795839504123456789,"Attributes":{}}';

describe('podman events lines', () => {
  it('normalizes podman 4.x and 5.x shapes', () => {
    assert.deepEqual(parseEventLine(V4_DIED), {
      type: 'container',
      status: 'died',
      id: '90cf',
      name: 'crash1-main',
      time: Date.parse('2026-11-28T04:37:02.376Z'),
      exitCode: 3,
      podId: undefined,
      attributes: { 'static-pod-runner/managed': 'true' },
    });
    assert.equal(parseEventLine(V4_DIED_ZERO)?.exitCode, 0, '4.x omits a zero exit code');
    assert.equal(parseEventLine(V4_POD)?.type, 'pod');
    assert.deepEqual(parseEventLine(V4_POD)?.attributes, {});
    assert.equal(parseEventLine(V5_DIED)?.time, 1795839504123);
    assert.equal(parseEventLine(V5_DIED)?.exitCode, 0);
  });

  it('drops malformed lines instead of failing', () => {
    for (const line of [
      '',
      '{{{',
      'null',
      '[]',
      '{"Status": 3}',
      '{"Type":"container"}',
      '\u0000\u0001garbage',
      `${V4_DIED}trailing`,
    ]) {
      assert.equal(parseEventLine(line), undefined, JSON.stringify(line));
    }
  });

  it('a stream that spews junk between events still yields every event, and ends when the stream ends', async () => {
    let stopped = false;
    const stream = Readable.from([
      `${V4_DIED}\n{{{ junk\n`,
      'partial line that is not',
      ` json either\n${V4_POD}\n\u00ff\u00fe\n${V5_DIED}\n`,
    ]);
    const events = [];
    for await (const event of readEventLines(stream, () => (stopped = true))) events.push(event.name);
    assert.deepEqual(events, ['crash1-main', 'crash1', 'web-main']);
    assert.equal(stopped, true);
  });
});
