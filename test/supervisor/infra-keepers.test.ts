import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { PodmanContainer } from '../../src/podman/podman.ts';
import { observePods } from '../../src/reconciler/observed-pods.ts';
import { InFlight as UnitActivity } from '../../src/shared/in-flight.ts';
import { KEEPER_LABEL } from '../../src/shared/infra-keeper.ts';
import { KEEPER_RETRY_MS, keeperAction } from '../../src/supervisor/infra-keepers.ts';
import { RestartHistory } from '../../src/supervisor/restart-history.ts';
import { Supervisor } from '../../src/supervisor/supervisor.ts';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';
import { podYaml, unitsOf } from '../helpers/units.ts';
import { FakePodman, PAUSE_IMAGE_ID } from '../podman/fake-podman.ts';

const DIR = '/etc/runner/manifests';

const container = (
  name: string,
  state: string,
  exitCode = 0,
  extra: Partial<PodmanContainer> = {},
): PodmanContainer => ({
  id: `id-${name}`,
  name,
  podId: 'pod',
  isInfra: false,
  imageId: 'app-image',
  state,
  exitCode,
  startedAt: undefined,
  exitedAt: undefined,
  labels: {},
  ...extra,
});

describe('keeperAction', () => {
  const infra = container('infra', 'running', 0, { isInfra: true, imageId: 'pause-image' });
  const keeper = (state: string) => container('web-runner_keeper', state);
  const cases: [string, Parameters<typeof keeperAction>, ReturnType<typeof keeperAction>][] = [
    ['Never: no keeper', ['Never', [container('web-main', 'running')], infra, undefined], undefined],
    [
      'Never: an old keeper is left alone',
      ['Never', [container('web-main', 'exited')], infra, keeper('running')],
      undefined,
    ],
    [
      'Always, none yet: made from the infra image',
      ['Always', [container('web-main', 'running')], infra, undefined],
      { type: 'create', image: 'pause-image' },
    ],
    [
      'OnFailure, none yet',
      ['OnFailure', [container('web-main', 'running')], infra, undefined],
      { type: 'create', image: 'pause-image' },
    ],
    [
      'an infra with no image (podman 5.5+ rootfs): none',
      ['Always', [container('web-main', 'running')], { ...infra, imageId: '' }, undefined],
      undefined,
    ],
    ['no infra seen: none', ['Always', [container('web-main', 'running')], undefined, undefined], undefined],
    ['running: nothing to do', ['Always', [container('web-main', 'exited', 1)], infra, keeper('running')], undefined],
    [
      'stopped with the pod: started',
      ['Always', [container('web-main', 'exited', 143)], infra, keeper('exited')],
      { type: 'start', id: 'id-web-runner_keeper' },
    ],
    [
      'created, never started (a power cut): started',
      ['Always', [container('web-main', 'created')], infra, keeper('created')],
      { type: 'start', id: 'id-web-runner_keeper' },
    ],
    [
      'OnFailure, every container done with 0: stopped, podman stops the pod',
      ['OnFailure', [container('web-main', 'exited', 0)], infra, keeper('running')],
      { type: 'stop', id: 'id-web-runner_keeper' },
    ],
    [
      'OnFailure, done and already stopped: nothing',
      ['OnFailure', [container('web-main', 'exited', 0)], infra, keeper('exited')],
      undefined,
    ],
    [
      'OnFailure, one done, one to restart: kept',
      ['OnFailure', [container('web-a', 'exited', 0), container('web-b', 'exited', 2)], infra, keeper('running')],
      undefined,
    ],
    [
      'Always: an exit 0 is restarted, so kept',
      ['Always', [container('web-main', 'exited', 0)], infra, keeper('running')],
      undefined,
    ],
  ];
  for (const [name, args, expected] of cases) it(name, () => assert.deepEqual(keeperAction(...args), expected));
});

describe('observePods: an owned pod is seen without its keeper', () => {
  it('drops the keeper from owned pods only', () => {
    const labels = {
      'static-pod-runner/managed': 'true',
      'static-pod-runner/source': `${DIR}/web.yaml`,
      'static-pod-runner/unit': 'Pod/web',
      'static-pod-runner/hash': 'h',
    };
    const containers = [
      { id: '1', name: 'web-main', status: 'running' },
      { id: '2', name: 'web-runner_keeper', status: 'running' },
    ];
    const [owned, other] = observePods(
      [
        { id: 'a', name: 'web', status: 'Running', labels, created: '', containers },
        { id: 'b', name: 'theirs', status: 'Running', labels: {}, created: '', containers },
      ],
      DIR,
    );
    assert.deepEqual(
      owned!.containers.map((item) => item.name),
      ['web-main'],
    );
    assert.equal(other!.containers.length, 2, 'a pod the runner does not own is reported as podman has it');
  });
});

describe('Supervisor: the infra keeper', () => {
  let stateDir: string;
  let podman: FakePodman;
  let clock: FakeClock;
  let history: RestartHistory;
  let supervisor: Supervisor;
  const signal = new AbortController().signal;
  const RESYNC_MS = 30_000;

  beforeEach(async () => {
    stateDir = await makeTempDir('sv-keeper');
    podman = new FakePodman();
    clock = new FakeClock();
    podman.now = () => clock.now();
    history = new RestartHistory(stateDir);
    supervisor = new Supervisor({
      podman,
      clock,
      logger: memoryLogger().logger,
      history,
      policy: { initialMs: 10_000, maxMs: 40_000, resetAfterMs: 600_000 },
      resyncMs: RESYNC_MS,
      activity: new UnitActivity(),
    });
  });
  afterEach(async () => {
    await supervisor.settled();
    await history.save();
    await removeTempDir(stateDir);
  });

  const evaluate = async (): Promise<void> => {
    await supervisor.evaluate(signal);
    await supervisor.settled();
  };
  const play = async (yaml: string) => {
    const [unit] = unitsOf(`${DIR}/web.yaml`, yaml);
    await podman.playKube(unit!.yaml);
    supervisor.setDesired([unit!]);
    return unit!;
  };
  const keeper = () => podman.containerByName('web-runner_keeper');

  it('gives a pod it restarts containers of a keeper, from the infra image, in that pod, labelled; none to a Never pod', async () => {
    await play(podYaml('web'));
    await evaluate();
    const podId = [...podman.pods.values()][0]!.id;
    assert.deepEqual(
      podman.callsOf('runPauseContainer').map((call) => call.args),
      [[podId, 'web-runner_keeper', PAUSE_IMAGE_ID, { [KEEPER_LABEL]: 'true' }]],
    );
    assert.equal(keeper()?.status, 'running');
    await evaluate();
    assert.equal(podman.callsOf('runPauseContainer').length, 1, 'one keeper');

    podman.pods.clear();
    await play(podYaml('web', { restartPolicy: 'Never' }));
    podman.clearCalls();
    await evaluate();
    assert.equal(podman.callsOf('runPauseContainer').length, 0);
  });

  it("starts a keeper that stopped (a pod stop), after the pod's own containers, and counts no restart for it", async () => {
    const unit = await play(podYaml('web'));
    await evaluate();
    const podId = [...podman.pods.values()][0]!.id;
    podman.setStatus(podId, 'Exited'); // podman pod stop: every container, the keeper too
    podman.clearCalls();
    await evaluate();
    assert.deepEqual(
      podman.callsOf('startContainer').map((call) => call.args[0]),
      [podman.containerByName('web-main')!.id],
      'one start in a pod at a time',
    );
    await evaluate(); // the look the container's start asks for
    assert.deepEqual(
      podman.callsOf('startContainer').map((call) => call.args[0]),
      [podman.containerByName('web-main')!.id, keeper()!.id],
    );
    assert.equal(keeper()!.status, 'running');
    assert.deepEqual(Object.keys(history.peek(unit.key)?.containers ?? {}), ['main'], 'no history for the keeper');
    assert.deepEqual(
      supervisor.view(unit.key).map((view) => view.name),
      ['main'],
      'not shown in status',
    );
  });

  it('a keeper that cannot be made is tried again a minute later (KEEPER_RETRY_MS, not the resync interval), not on every look', async () => {
    await play(podYaml('web'));
    podman.failNext('runPauseContainer', new Error('Error: no such pod'));
    await evaluate();
    await evaluate();
    await evaluate();
    assert.equal(podman.callsOf('runPauseContainer').length, 1);
    await clock.advance(KEEPER_RETRY_MS - 1);
    await evaluate();
    assert.equal(podman.callsOf('runPauseContainer').length, 1);
    await clock.advance(1);
    await evaluate();
    assert.equal(podman.callsOf('runPauseContainer').length, 2);
    assert.equal(keeper()?.status, 'running');
  });

  it('never starts the keeper while a container of its pod starts (podman 5.4 hung both for 90 s)', async () => {
    await play(podYaml('web'));
    const main = podman.containerByName('web-main')!;
    podman.exitContainer(main.id, 1); // crashed before its keeper was made
    const gate = podman.hangNext('startContainer');
    await supervisor.evaluate(signal);
    assert.deepEqual(podman.callsOf('runPauseContainer'), [], 'no keeper while web-main starts');
    gate.release();
    await supervisor.settled();
    await evaluate();
    assert.equal(podman.callsOf('runPauseContainer').length, 1, 'the keeper once the start is done');
  });

  it('makes keepers two at a time (a runner started on a host of many pods)', async () => {
    const units = ['a', 'b', 'c'].map((name) => unitsOf(`${DIR}/${name}.yaml`, podYaml(name))[0]!);
    for (const unit of units) await podman.playKube(unit.yaml);
    supervisor.setDesired(units);
    const first = podman.hangNext('runPauseContainer');
    const second = podman.hangNext('runPauseContainer');
    await supervisor.evaluate(signal);
    await first.started;
    await second.started;
    await flushMicrotasks();
    assert.equal(podman.callsOf('runPauseContainer').length, 2, 'the third waits');
    first.release();
    second.release();
    await supervisor.settled();
    assert.deepEqual(
      podman
        .callsOf('runPauseContainer')
        .map((call) => call.args[1])
        .sort(),
      ['a-runner_keeper', 'b-runner_keeper', 'c-runner_keeper'],
    );
  });

  it('once every container has finished for good (OnFailure, exit 0), the keeper is stopped', async () => {
    await play(podYaml('web', { restartPolicy: 'OnFailure' }));
    await evaluate();
    podman.exitContainer(podman.containerByName('web-main')!.id, 0);
    await evaluate();
    assert.deepEqual(
      podman.callsOf('stopContainer').map((call) => call.args[0]),
      [keeper()!.id],
    );
    assert.equal(keeper()!.status, 'exited');
    assert.equal([...podman.pods.values()][0]!.status, 'Exited', 'so the pod ends as podman ends it');
    await evaluate();
    assert.equal(podman.callsOf('startContainer').length, 0, 'and it stays stopped');
  });

  // podman 5.4: a start racing podman's own stop of the pod hung 90 s and left the pod unstartable.
  it('a pod podman is stopping (keeper and infra down, the app still in its grace) is left alone until the stop is over', async () => {
    const unit = await play(podYaml('web'));
    await evaluate();
    const pod = [...podman.pods.values()][0]!;
    const main = podman.containerByName('web-main')!;
    keeper()!.status = 'exited';
    pod.status = 'Exited'; // the infra: down; web-main still runs
    podman.clearCalls();
    await evaluate();
    await clock.advance(unit.stopTimeoutSeconds * 1000);
    await evaluate();
    assert.deepEqual(podman.mutations(), [], 'no keeper start, no InfraDied stop of web-main');
    podman.exitContainer(main.id, 0);
    await evaluate();
    await evaluate(); // the keeper after the container: one start in a pod at a time
    assert.deepEqual(
      podman
        .callsOf('startContainer')
        .map((call) => call.args[0])
        .sort(),
      [main.id, keeper()!.id].sort(),
      'the stop is over: both run again',
    );
  });

  it('a pod whose infra still runs with nothing else running is left alone while podman stops it, for its grace period at most', async () => {
    const unit = await play(podYaml('web'));
    await evaluate();
    const pod = [...podman.pods.values()][0]!;
    const main = podman.containerByName('web-main')!;
    podman.exitContainer(keeper()!.id, 0);
    podman.exitContainer(main.id, 1);
    pod.status = 'Degraded'; // the infra still runs
    podman.clearCalls();
    await evaluate();
    assert.deepEqual(podman.mutations(), [], 'nothing started while the infra is being stopped');
    await clock.advance(unit.stopTimeoutSeconds * 1000 + 10_001);
    await evaluate();
    await evaluate(); // the keeper after the container
    assert.deepEqual(
      podman
        .callsOf('startContainer')
        .map((call) => call.args[0])
        .sort(),
      [main.id, keeper()!.id].sort(),
      'an infra that stays up is no stop: restarted after the wait',
    );
  });
});
