/**
 * The supervisor with a fake podman and a fake clock: restart decisions,
 * backoff timing, reasons and the history file, without real containers.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { DesiredUnit } from '../../src/desired/desired-unit.ts';
import { InFlight as UnitActivity } from '../../src/shared/in-flight.ts';
import { RestartHistory } from '../../src/supervisor/restart-history.ts';
import type { ProbeTarget } from '../../src/probes/probe-manager.ts';
import { Supervisor } from '../../src/supervisor/supervisor.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';
import { podYaml, unitsOf } from '../helpers/units.ts';
import { FakePodman } from '../podman/fake-podman.ts';

const DIR = '/etc/runner/manifests';
const POLICY = { initialMs: 10_000, maxMs: 40_000, resetAfterMs: 600_000 };

describe('Supervisor', () => {
  let stateDir: string;
  let podman: FakePodman;
  let clock: FakeClock;
  let history: RestartHistory;
  let supervisor: Supervisor;
  let activity: UnitActivity;
  let targets: ProbeTarget[];
  const signal = new AbortController().signal;

  const setup = async (yaml: string): Promise<DesiredUnit> => {
    const [unit] = unitsOf(`${DIR}/web.yaml`, yaml);
    await podman.playKube(unit!.yaml);
    supervisor.setDesired([unit!]);
    return unit!;
  };
  const main = () => podman.containerByName('web-main')!;
  const evaluate = async (): Promise<void> => {
    await supervisor.evaluate(signal);
    await supervisor.settled();
  };

  beforeEach(async () => {
    stateDir = await makeTempDir('sv');
    podman = new FakePodman();
    clock = new FakeClock();
    podman.now = () => clock.now();
    history = new RestartHistory(stateDir);
    activity = new UnitActivity();
    targets = [];
    supervisor = makeSupervisor();
  });
  const makeSupervisor = (extra: { rebootCutoff?: number } = {}): Supervisor =>
    new Supervisor({
      podman,
      clock,
      logger: memoryLogger().logger,
      history,
      policy: POLICY,
      resyncMs: 10_000,
      activity,
      onProbeTargets: (list) => (targets = list),
      ...extra,
    });
  afterEach(() => removeTempDir(stateDir));

  it('restarts a crashed container at once the first time, then backs off 10 s, 20 s, 40 s, 40 s', async () => {
    await setup(podYaml('web'));
    const delays: number[] = [];
    for (let crash = 0; crash < 5; crash += 1) {
      podman.exitContainer(main().id, 3);
      const exitedAt = clock.now();
      await evaluate();
      while (main().status !== 'running') {
        await clock.advance(1_000);
        await evaluate();
      }
      delays.push(clock.now() - exitedAt);
      await clock.advance(1_000);
    }
    assert.deepEqual(delays, [0, 10_000, 20_000, 40_000, 40_000]);
    const entry = history.get(`${DIR}/web.yaml#Pod/web`, await setupHash(), 'main');
    assert.equal(entry.restartCount, 5);
    assert.equal(entry.lastExitCode, 3);
    assert.equal(entry.lastReason, 'Exited');
  });

  // The hash of podYaml('web'), for history look-ups.
  const setupHash = async (): Promise<string> => unitsOf(`${DIR}/web.yaml`, podYaml('web'))[0]!.hash;

  it('sets nextRestartAt while backing off, and clears it once running', async () => {
    const unit = await setup(podYaml('web'));
    podman.exitContainer(main().id, 1);
    await evaluate(); // immediate restart
    podman.exitContainer(main().id, 1);
    await evaluate();
    const entry = history.get(unit.key, unit.hash, 'main');
    assert.equal(entry.nextRestartAt, clock.now() + 10_000);
    await clock.advance(10_000);
    await evaluate();
    assert.equal(main().status, 'running');
    await evaluate();
    assert.equal(history.get(unit.key, unit.hash, 'main').nextRestartAt, undefined);
  });

  it('resets the backoff after resetAfter of clean running', async () => {
    const unit = await setup(podYaml('web'));
    for (let i = 0; i < 3; i += 1) {
      podman.exitContainer(main().id, 1);
      await evaluate();
      await clock.advance(60_000);
      await evaluate();
    }
    assert.ok(history.get(unit.key, unit.hash, 'main').backoffStep >= 3);
    await clock.advance(POLICY.resetAfterMs);
    await evaluate();
    assert.equal(history.get(unit.key, unit.hash, 'main').backoffStep, 0);
    podman.exitContainer(main().id, 1);
    await evaluate();
    assert.equal(main().status, 'running', 'restarted at once again');
  });

  const policyCases: [string, number, boolean][] = [
    ['Always', 0, true],
    ['OnFailure', 0, false],
    ['OnFailure', 2, true],
    ['Never', 2, false],
  ];
  for (const [policy, code, restarted] of policyCases) {
    it(`restartPolicy ${policy} with exit ${code}: ${restarted ? 'restarted' : 'left exited'}`, async () => {
      await setup(podYaml('web', { restartPolicy: policy }));
      podman.exitContainer(main().id, code);
      await evaluate();
      await clock.advance(60_000);
      await evaluate();
      assert.equal(main().status, restarted ? 'running' : 'exited');
      assert.equal(podman.callsOf('startContainer').length, restarted ? 1 : 0);
    });
  }

  it('records OOM kills and outside pod stops as reasons', async () => {
    const unit = await setup(podYaml('web'));
    podman.exitContainer(main().id, 137, { oomKilled: true });
    await evaluate();
    assert.equal(history.get(unit.key, unit.hash, 'main').lastReason, 'OOMKilled');

    await clock.advance(5_000);
    const podId = [...podman.pods.values()][0]!.id;
    supervisor.onEvent({
      type: 'pod',
      status: 'stop',
      id: podId,
      name: 'web',
      time: clock.now(),
      exitCode: undefined,
      podId: undefined,
      attributes: {},
    });
    podman.exitContainer(main().id, 143);
    await clock.advance(60_000);
    await evaluate();
    assert.equal(history.get(unit.key, unit.hash, 'main').recent.at(-1)?.reason, 'StoppedExternally');
  });

  it('a container the shutdown stopped is restarted at once after the reboot, as HostRebooted, with no step of backoff', async () => {
    const unit = await setup(podYaml('web'));
    await evaluate();
    podman.exitContainer(main().id, 0); // SIGTERM at shutdown; the runner was already stopped
    await clock.advance(40_000);
    supervisor = makeSupervisor({ rebootCutoff: clock.now() - 30_000 });
    supervisor.setDesired([unit]);
    await evaluate();
    assert.equal(main().status, 'running');
    const entry = history.get(unit.key, unit.hash, 'main');
    assert.deepEqual([entry.restartCount, entry.lastReason, entry.backoffStep], [1, 'HostRebooted', 0]);

    // So its first crash after the boot is restarted at once, as a first crash is.
    await clock.advance(1_000);
    podman.exitContainer(main().id, 3);
    await evaluate();
    assert.equal(main().status, 'running');
    assert.deepEqual(
      entry.recent.map((restart) => restart.reason),
      ['HostRebooted', 'Exited'],
    );
  });

  it('an exit after the boot is not put down to the reboot, and a start that fails after a reboot still backs off', async () => {
    const unit = await setup(podYaml('web'));
    supervisor = makeSupervisor({ rebootCutoff: clock.now() - 30_000 });
    supervisor.setDesired([unit]);
    await evaluate();
    podman.exitContainer(main().id, 0);
    await evaluate();
    const entry = history.get(unit.key, unit.hash, 'main');
    assert.equal(entry.lastReason, 'Completed');

    await clock.advance(1_000);
    podman.exitContainer(main().id, 0);
    await clock.advance(60_000);
    supervisor = makeSupervisor({ rebootCutoff: clock.now() - 30_000 });
    supervisor.setDesired([unit]);
    podman.failNext('startContainer', new Error('Error: OCI runtime error'));
    await evaluate();
    assert.deepEqual([entry.lastReason, entry.backoffStep], ['HostRebooted', 2]);
  });

  it('a pod stop that follows a death (podman exit policy) is not an outside stop', async () => {
    const unit = await setup(podYaml('web'));
    await evaluate();
    const podId = [...podman.pods.values()][0]!.id;
    podman.exitContainer(main().id, 3);
    supervisor.onEvent({
      type: 'container',
      status: 'died',
      id: main().id,
      name: 'web-main',
      time: clock.now(),
      exitCode: 3,
      podId: undefined,
      attributes: {},
    });
    supervisor.onEvent({
      type: 'pod',
      status: 'stop',
      id: podId,
      name: 'web',
      time: clock.now(),
      exitCode: undefined,
      podId: undefined,
      attributes: {},
    });
    await evaluate();
    assert.equal(history.get(unit.key, unit.hash, 'main').lastReason, 'Exited');
  });

  it('a death that the events stream never reported asks for the stream to be reopened', async () => {
    let missed = 0;
    supervisor = new Supervisor({
      podman,
      clock,
      logger: memoryLogger().logger,
      history,
      policy: POLICY,
      resyncMs: 10_000,
      activity: new UnitActivity(),
      onEventsMissed: () => (missed += 1),
    });
    await setup(podYaml('web'));
    await evaluate();
    podman.exitContainer(main().id, 1); // no onEvent: the stream missed it
    await clock.advance(5_000);
    await evaluate();
    assert.equal(missed, 1);

    await clock.advance(60_000);
    await evaluate(); // restarted by now
    podman.exitContainer(main().id, 1);
    supervisor.onEvent({
      type: 'container',
      status: 'died',
      id: main().id,
      name: 'web-main',
      time: clock.now(),
      exitCode: 1,
      podId: undefined,
      attributes: {},
    });
    await clock.advance(5_000);
    await evaluate();
    assert.equal(missed, 1, 'a reported death is not a missed one');
  });

  it('a pod the reconciler re-created counts a restart of each container, as RemovedExternally, with no backoff', async () => {
    const yaml = podYaml('web').replace('  containers:\n', '  containers:\n    - name: side\n      image: busybox\n');
    const unit = await setup(yaml);
    supervisor.recordRecovery(unit, 'removed');
    supervisor.recordRecovery(unit, 'removed');
    for (const name of ['main', 'side']) {
      const entry = history.get(unit.key, unit.hash, name);
      assert.equal(entry.restartCount, 2, name);
      assert.equal(entry.lastReason, 'RemovedExternally');
      assert.deepEqual(
        entry.recent.map((event) => event.reason),
        ['RemovedExternally', 'RemovedExternally'],
      );
      assert.equal(entry.backoffStep, 0, 'no crash, no backoff');
    }
    await history.save(); // waits for the write recordRecovery started
    const saved = JSON.parse(await readFile(path.join(stateDir, 'restarts.json'), 'utf8')) as {
      units: Record<string, { containers: Record<string, { restartCount: number }> }>;
    };
    assert.equal(saved.units[unit.key]?.containers.main?.restartCount, 2, 'kept in the state directory');
  });

  it('a half-created pod brought back counts as HostRebooted after a reboot, and not at all otherwise', async () => {
    const unit = await setup(podYaml('web'));
    supervisor.recordRecovery(unit, 'lost');
    assert.equal(
      history.get(unit.key, unit.hash, 'main').restartCount,
      0,
      'no reboot: a runner killed mid-play leaves the same, and nothing ran',
    );
    supervisor = makeSupervisor({ rebootCutoff: clock.now() - 30_000 });
    supervisor.setDesired([unit]);
    supervisor.recordRecovery(unit, 'lost');
    const entry = history.get(unit.key, unit.hash, 'main');
    assert.equal(entry.restartCount, 1);
    assert.equal(entry.lastReason, 'HostRebooted');
    await history.save(); // let the write finish before the directory goes
  });

  it('leaves a unit alone while the reconciler works on it', async () => {
    const unit = await setup(podYaml('web'));
    activity.begin(unit.key);
    podman.exitContainer(main().id, 1);
    await evaluate();
    assert.equal(podman.callsOf('startContainer').length, 0);
    activity.end(unit.key);
    await evaluate();
    assert.equal(podman.callsOf('startContainer').length, 1);
  });

  it('does not act on a container list taken before the reconciler finished work on the unit', async () => {
    const unit = await setup(podYaml('web'));
    activity.begin(unit.key); // a replace, say, which stops the old pod
    podman.exitContainer(main().id, 1);
    const listing = podman.answerLate('listContainers');
    const stale = supervisor.evaluate(signal);
    await listing.started;
    activity.end(unit.key); // done while podman was still listing
    listing.release();
    await stale;
    await supervisor.settled();
    assert.equal(podman.callsOf('startContainer').length, 0, 'nothing started from the stale list');
    assert.equal(history.get(unit.key, unit.hash, 'main').restartCount, 0, 'no restart counted');
    await evaluate();
    assert.equal(podman.callsOf('startContainer').length, 1, 'a fresh list is acted on');
  });

  it('a failed liveness probe stops the container and the restart is recorded as LivenessFailed', async () => {
    const unit = await setup(podYaml('web'));
    await evaluate();
    await supervisor.probeFailed(main().id, 'LivenessFailed', 'exec: exit code 1', signal);
    assert.equal(podman.callsOf('stopContainer').length, 1);
    await evaluate();
    const entry = history.get(unit.key, unit.hash, 'main');
    assert.equal(entry.lastReason, 'LivenessFailed');
    assert.equal(entry.restartCount, 1);
    assert.equal(main().status, 'running');
  });

  it('hands running containers with probes to the probe manager', async () => {
    await setup(`${podYaml('web')}      livenessProbe:\n        exec:\n          command: ["true"]\n`);
    await evaluate();
    assert.equal(targets.length, 1);
    assert.equal(targets[0]!.containerName, 'main');
    assert.equal(targets[0]!.containerId, main().id);
    assert.deepEqual(targets[0]!.livenessProbe, { exec: { command: ['true'] } });
  });

  it('persists the history, so a new supervisor (runner restart) keeps the counts', async () => {
    const unit = await setup(podYaml('web'));
    podman.exitContainer(main().id, 3);
    await evaluate();
    await history.save(); // waits for the write recordRecovery started
    const saved = JSON.parse(await readFile(path.join(stateDir, 'restarts.json'), 'utf8')) as {
      units: Record<string, { containers: Record<string, { restartCount: number }> }>;
    };
    assert.equal(saved.units[unit.key]?.containers.main?.restartCount, 1);
    const reloaded = new RestartHistory(stateDir);
    await reloaded.load();
    assert.equal(reloaded.get(unit.key, unit.hash, 'main').restartCount, 1);
    assert.equal(reloaded.get(unit.key, 'another-hash', 'main').restartCount, 0, 'a new spec counts from zero');
  });

  it('does not record the same exit twice after a runner restart', async () => {
    const unit = await setup(podYaml('web', { restartPolicy: 'Never' }));
    podman.exitContainer(main().id, 5);
    await evaluate();
    const second = new Supervisor({
      podman,
      clock,
      logger: memoryLogger().logger,
      history,
      policy: POLICY,
      resyncMs: 10_000,
      activity: new UnitActivity(),
    });
    second.setDesired([unit]);
    await second.evaluate(signal);
    assert.equal(history.get(unit.key, unit.hash, 'main').restartCount, 0);
    assert.equal(history.get(unit.key, unit.hash, 'main').lastExitCode, 5);
  });
});
