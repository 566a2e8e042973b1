/**
 * status.json and events.jsonl (and events.jsonl.1) belong to root:statusGroup,
 * so that group can read them as README and SECURITY.md say. The chown calls
 * are recorded through an injected chown; one test does the real chown (as
 * root, which CI is) and checks the files' group on disk.
 */
import assert from 'node:assert/strict';
import { stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { EVENT_LOG_MAX_BYTES, EventLog } from '../../src/status/event-log.ts';
import { StatusGroup } from '../../src/status/status-group.ts';
import { StatusWriter } from '../../src/status/status-writer.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';
import { loadStatusFixture } from './status-fixtures.ts';

const isRoot = process.geteuid?.() === 0;
if (!isRoot && process.env.CI) throw new Error('test/status/status-group.test.ts needs root (chown) in CI');

const GROUPS = 'root:x:0:\nadm:x:4:syslog\nops:x:4242:alice\n';

let dir: string;
let log: ReturnType<typeof memoryLogger>;
let chowned: [string, number, number][];
const recordingGroup = (group: string | undefined, uid = 0): StatusGroup =>
  new StatusGroup(group, log.logger, {
    uid,
    readGroups: async () => GROUPS,
    chown: async (file, owner, gid) => {
      chowned.push([path.basename(file), owner, gid]);
    },
  });

beforeEach(async () => {
  dir = await makeTempDir('status-group');
  log = memoryLogger();
  chowned = [];
});
afterEach(() => removeTempDir(dir));

describe('EventLog and the status group', () => {
  it('gives events.jsonl and events.jsonl.1 to root:statusGroup on the first append, then leaves them', async () => {
    const events = new EventLog(dir, new FakeClock(), { group: recordingGroup('ops') });
    events.record({ type: 'DaemonStarted', message: 'one' });
    events.record({ type: 'DaemonStarted', message: 'two' });
    await events.flush();
    assert.deepEqual(chowned, [
      ['events.jsonl', 0, 4242],
      ['events.jsonl.1', 0, 4242],
    ]);
    assert.equal((await stat(path.join(dir, 'events.jsonl'))).mode & 0o777, 0o640);
  });

  it('again when an append starts a new file: after rotation, or after someone removed it', async () => {
    const events = new EventLog(dir, new FakeClock(), { group: recordingGroup('ops') });
    events.record({ type: 'DaemonStarted', message: 'first' });
    await events.flush();
    chowned.length = 0;
    await writeFile(path.join(dir, 'events.jsonl'), `${'x'.repeat(EVENT_LOG_MAX_BYTES)}\n`);
    events.record({ type: 'DaemonStarted', message: 'after rotation' });
    await events.flush();
    assert.deepEqual(
      chowned.map(([file]) => file),
      ['events.jsonl', 'events.jsonl.1'],
    );
    assert.ok((await stat(path.join(dir, 'events.jsonl.1'))).size > EVENT_LOG_MAX_BYTES);
    chowned.length = 0;
    await unlink(path.join(dir, 'events.jsonl'));
    events.record({ type: 'DaemonStarted', message: 'after removal' });
    events.record({ type: 'DaemonStarted', message: 'and one more' });
    await events.flush();
    assert.deepEqual(
      chowned.map(([file]) => file),
      ['events.jsonl', 'events.jsonl.1'],
    );
  });

  it('changes nothing with no group, an unknown group, or when not root; an unknown group is said once', async () => {
    for (const group of [
      recordingGroup(undefined),
      recordingGroup(''),
      recordingGroup('nosuch'),
      recordingGroup('ops', 1000),
    ]) {
      const events = new EventLog(dir, new FakeClock(), { group });
      events.record({ type: 'DaemonStarted', message: 'x' });
      events.record({ type: 'DaemonStarted', message: 'y' });
      await events.flush();
    }
    assert.deepEqual(chowned, []);
    assert.deepEqual(
      log.lines.filter((line) => line.level === 'warn').map((line) => line.msg),
      ['status group "nosuch" does not exist; status.json and events.jsonl stay readable by root only'],
    );
  });

  it('the status writer and the event log share one lookup of the group', async () => {
    const group = recordingGroup('ops');
    const events = new EventLog(dir, new FakeClock(), { group });
    const doc = loadStatusFixture('healthy');
    const writer = new StatusWriter({
      stateDir: dir,
      clock: new FakeClock(),
      logger: log.logger,
      collect: () => doc,
      heartbeatMs: 5_000,
      group,
    });
    events.record({ type: 'DaemonStarted', message: 'x' });
    await Promise.all([events.flush(), writer.write()]);
    assert.deepEqual(chowned.map(([file]) => file).sort(), ['events.jsonl', 'events.jsonl.1', 'status.json']);
  });

  it(
    'on disk, as root: status.json, events.jsonl and events.jsonl.1 end up in the group',
    { skip: isRoot ? false : 'chown needs root' },
    async () => {
      const group = new StatusGroup('ops', log.logger, { readGroups: async () => GROUPS });
      await writeFile(path.join(dir, 'events.jsonl.1'), '', { mode: 0o640 });
      const events = new EventLog(dir, new FakeClock(), { group });
      const doc = loadStatusFixture('healthy');
      const writer = new StatusWriter({
        stateDir: dir,
        clock: new FakeClock(),
        logger: log.logger,
        collect: () => doc,
        heartbeatMs: 5_000,
        group,
      });
      events.record({ type: 'DaemonStarted', message: 'x' });
      await events.flush();
      await writer.write();
      for (const file of ['status.json', 'events.jsonl', 'events.jsonl.1']) {
        const info = await stat(path.join(dir, file));
        assert.deepEqual(
          { file, uid: info.uid, gid: info.gid, mode: info.mode & 0o777 },
          { file, uid: 0, gid: 4242, mode: 0o640 },
        );
      }
    },
  );
});
