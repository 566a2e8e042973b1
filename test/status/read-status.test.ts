import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { currentBootId, isPidAlive } from '../../src/shared/process-info.ts';
import { readEvents, readStatus } from '../../src/status/read-status.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';
import {
  asLive,
  eventsFixture,
  FIXTURE_NOW,
  IMPOSSIBLE_PID,
  loadStatusFixture,
  writeStatus,
} from './status-fixtures.ts';

let dir: string;
beforeEach(async () => {
  dir = await makeTempDir('read-status');
});
afterEach(async () => {
  await chmod(dir, 0o755).catch(() => undefined);
  await removeTempDir(dir);
});

describe('readStatus', () => {
  it('live: this boot, a living pid, written within 3 heartbeats', async () => {
    await writeStatus(dir, asLive(loadStatusFixture('mixed')));
    const reading = await readStatus(dir, FIXTURE_NOW);
    assert.equal(reading.kind, 'live');
    assert.equal(reading.kind === 'live' && reading.doc.pods.length, 6);
  });

  it('stale: older than 3 heartbeats', async () => {
    const doc = asLive(loadStatusFixture('mixed'));
    await writeStatus(dir, doc);
    assert.equal((await readStatus(dir, doc.daemon.updatedAt + 15_000)).kind, 'live');
    const reading = await readStatus(dir, doc.daemon.updatedAt + 5 * 60_000);
    assert.equal(reading.kind, 'stale');
    assert.match(reading.kind === 'stale' ? reading.reason : '', /is 5m old; the daemon rewrites it every 5s/);
  });

  it('stale: written before a reboot (another boot id)', async () => {
    const doc = asLive(loadStatusFixture('mixed'));
    await writeStatus(dir, { ...doc, daemon: { ...doc.daemon, bootId: 'not-this-boot' } });
    const reading = await readStatus(dir, FIXTURE_NOW);
    assert.equal(reading.kind, 'stale');
    assert.match(reading.kind === 'stale' ? reading.reason : '', /before the last reboot/);
    assert.ok(currentBootId(), 'this host has /proc/sys/kernel/random/boot_id');
  });

  it('stale: the pid is gone (an impossible pid, and a child that has exited)', async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((resolve) => child.on('exit', resolve));
    for (const pid of [IMPOSSIBLE_PID, child.pid!]) {
      const doc = asLive(loadStatusFixture('mixed'));
      await writeStatus(dir, { ...doc, daemon: { ...doc.daemon, pid } });
      const reading = await readStatus(dir, FIXTURE_NOW);
      assert.equal(reading.kind, 'stale', `pid ${pid}`);
      assert.match(reading.kind === 'stale' ? reading.reason : '', new RegExp(`pid ${pid} .*that process is gone`));
    }
    assert.equal(isPidAlive(1), true, 'EPERM (or our own init) counts as alive');
  });

  it('absent: no file, not JSON, not a status document', async () => {
    const none = await readStatus(dir, FIXTURE_NOW);
    assert.equal(none.kind, 'absent');
    assert.match(none.kind === 'absent' ? none.reason : '', /no status file at .*status\.json/);
    await writeStatus(dir, '{"apiVersion": "static-pod-runner/v1", "kind"');
    const torn = await readStatus(dir, FIXTURE_NOW);
    assert.match(torn.kind === 'absent' ? torn.reason : '', /is not valid JSON/);
    const doc = loadStatusFixture('mixed');
    await writeStatus(dir, { ...doc, pods: [{ ...doc.pods[0], status: 'Happy' }] });
    const bad = await readStatus(dir, FIXTURE_NOW);
    assert.equal(bad.kind, 'absent');
    assert.match(bad.kind === 'absent' ? bad.reason : '', /pods\[0\]\.status: /);
  });

  it('reads from a read-only state directory (takes no lock, writes nothing)', async () => {
    await writeStatus(dir, asLive(loadStatusFixture('mixed')), eventsFixture());
    await chmod(path.join(dir, 'status.json'), 0o444);
    await chmod(dir, 0o555);
    assert.equal((await readStatus(dir, FIXTURE_NOW)).kind, 'live');
    assert.equal((await readEvents(dir)).length, 7);
  });

  it('never sees a partial file while a writer replaces it 1000 times', async () => {
    const docs = [asLive(loadStatusFixture('mixed')), asLive(loadStatusFixture('healthy'))];
    await writeStatus(dir, docs[0]);
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      for (; writes < 1000; writes += 1) {
        const temp = path.join(dir, `.status.json.${writes}.tmp`);
        await writeFile(temp, JSON.stringify(docs[writes % 2]));
        await rename(temp, path.join(dir, 'status.json'));
      }
      writing = false;
    })();
    let reads = 0;
    const seen = new Set<number>();
    while (writing) {
      const reading = await readStatus(dir, FIXTURE_NOW);
      assert.equal(reading.kind, 'live', reading.kind === 'absent' ? reading.reason : '');
      if (reading.kind === 'live') seen.add(reading.doc.pods.length);
      reads += 1;
    }
    await writer;
    assert.equal(writes, 1000);
    assert.ok(reads > 10, `only ${reads} reads`);
    assert.deepEqual(
      [...seen].every((count) => count === 6 || count === 2),
      true,
    );
  });
});

describe('readEvents', () => {
  it('reads events.jsonl.1 then events.jsonl, skipping lines that do not parse', async () => {
    await writeFile(
      path.join(dir, 'events.jsonl.1'),
      `${JSON.stringify({ time: 1, type: 'DaemonStarted', message: 'old' })}\n{"time":2,"type":"Nope","message":"x"}\n`,
    );
    await writeFile(path.join(dir, 'events.jsonl'), `${eventsFixture()}{"time": 9, "type": "Applied", "mess`);
    const events = await readEvents(dir);
    assert.equal(events.length, 8);
    assert.equal(events[0]!.message, 'old');
    assert.equal(events.at(-1)!.type, 'Restarted');
  });

  it('no history is an empty list', async () => {
    assert.deepEqual(await readEvents(dir), []);
  });
});
