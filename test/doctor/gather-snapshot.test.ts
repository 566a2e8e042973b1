import assert from 'node:assert/strict';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gatherSnapshot, type DoctorPodman } from '../../src/doctor/gather-snapshot.ts';
import { DEFAULT_TRUST } from '../../src/manifest/trust.ts';
import { PodmanError } from '../../src/podman/podman-error.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';

const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const clock = { now: () => NOW } as unknown as Parameters<typeof gatherSnapshot>[0]['clock'];

describe('gatherSnapshot on a real temp directory', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir('doctor');
    await mkdir(path.join(dir, 'manifests'), { mode: 0o755 });
    await chmod(path.join(dir, 'manifests'), 0o755);
    await mkdir(path.join(dir, 'state'));
    await writeFile(path.join(dir, 'state', 'status.json'), JSON.stringify({ daemon: { updatedAt: NOW + 120_000 } }));
    await writeFile(
      path.join(dir, 'state', 'events.jsonl'),
      `${JSON.stringify({ time: NOW - 5 })}\n${JSON.stringify({ time: NOW + 600_000 })}\n{"time": 1`,
    );
    await writeFile(path.join(dir, 'containers.conf'), '[containers]\npids_limit = 0\n');
  });
  after(() => removeTempDir(dir));

  const deps = (podman: DoctorPodman) => ({
    podman,
    manifestDir: path.join(dir, 'manifests'),
    stateDir: path.join(dir, 'state'),
    trust: { ...DEFAULT_TRUST, strict: false },
    clock,
    env: { PATH: '/usr/bin:/bin', CONTAINERS_CONF: path.join(dir, 'containers.conf') },
  });

  it("records podman's answers, the containers.conf settings, the latest record and the storage", async () => {
    const podman: DoctorPodman = {
      version: async () => '5.4.2',
      hostInfo: async () => ({
        version: '5.4.2',
        cgroupVersion: 'v2',
        cgroupManager: 'systemd',
        cgroupControllers: [],
        ociRuntime: { name: 'crun', path: '/usr/bin/crun' },
        networkBackend: 'netavark',
        graphRoot: path.join(dir, 'storage', 'not-yet'),
        rootless: false,
      }),
    };
    const snapshot = await gatherSnapshot(deps(podman));
    assert.deepEqual(snapshot.podman, { ok: true, version: '5.4.2' });
    assert.equal(snapshot.containersConf.pidsLimit, 0);
    // A torn last line is skipped; the event before it is later than status.json's heartbeat.
    assert.deepEqual(snapshot.clock.lastRecorded, { at: NOW + 600_000, file: path.join(dir, 'state', 'events.jsonl') });
    assert.deepEqual(
      snapshot.storage,
      { path: path.join(dir, 'storage', 'not-yet'), writable: true },
      'a storage root not created yet is judged by its nearest existing parent',
    );
    assert.deepEqual(snapshot.manifestDir, { path: path.join(dir, 'manifests'), exists: true });
  });

  it('a missing podman: info is not asked', async () => {
    let asked = false;
    const podman: DoctorPodman = {
      version: async () => {
        throw new PodmanError({
          args: ['version'],
          stderr: '',
          timedOut: false,
          kind: 'podman-missing',
          message: 'podman not found at "podman"',
        });
      },
      hostInfo: async () => {
        asked = true;
        throw new Error('not reached');
      },
    };
    const snapshot = await gatherSnapshot(deps(podman));
    assert.deepEqual(snapshot.podman, { ok: false, kind: 'podman-missing', message: 'podman not found at "podman"' });
    assert.equal(snapshot.info, undefined);
    assert.equal(asked, false);
    assert.equal(snapshot.storage, undefined);
  });
});
