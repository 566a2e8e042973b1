/**
 * The supervisor's two ways to find a death (see the top of
 * src/supervisor/supervisor.ts): its `died` event, acted on with no listing
 * when the restart is due at once, and a listing, for everything else and
 * whenever the events stream is down. Whichever comes first, a death is
 * restarted once and counted once.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { DesiredUnit } from '../../src/desired/desired-unit.ts';
import type { PodmanEvent } from '../../src/podman/podman.ts';
import type { EventSink } from '../../src/shared/event-sink.ts';
import { InFlight as UnitActivity } from '../../src/shared/in-flight.ts';
import { EventWatcher } from '../../src/supervisor/event-watcher.ts';
import { RestartHistory } from '../../src/supervisor/restart-history.ts';
import { Supervisor } from '../../src/supervisor/supervisor.ts';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';
import { podYaml, unitsOf } from '../helpers/units.ts';
import { FakePodman } from '../podman/fake-podman.ts';

const DIR = '/etc/runner/manifests';
const POLICY = { initialMs: 10_000, maxMs: 40_000, resetAfterMs: 600_000 };
const RESYNC_MS = 30_000;

describe('Supervisor: deaths found by event and by listing', () => {
  let stateDir: string;
  let podman: FakePodman;
  let clock: FakeClock;
  let history: RestartHistory;
  let supervisor: Supervisor;
  let missed: number;
  let exits: string[];
  const signal = new AbortController().signal;

  beforeEach(async () => {
    stateDir = await makeTempDir('sv-events');
    podman = new FakePodman();
    clock = new FakeClock();
    podman.now = () => clock.now();
    history = new RestartHistory(stateDir);
    missed = 0;
    exits = [];
    const events: EventSink = { record: (item) => void (item.type === 'Exited' && exits.push(item.message)) };
    supervisor = new Supervisor({
      podman,
      clock,
      logger: memoryLogger().logger,
      history,
      policy: POLICY,
      resyncMs: RESYNC_MS,
      activity: new UnitActivity(),
      onEventsMissed: () => (missed += 1),
      events,
    });
  });
  afterEach(async () => {
    await supervisor.settled();
    await history.save();
    await removeTempDir(stateDir);
  });

  const main = () => podman.containerByName('web-main')!;
  const evaluate = async (): Promise<void> => {
    await supervisor.evaluate(signal);
    await supervisor.settled();
  };
  /** A pod as the runner leaves it after its first looks: running, with its infra keeper. */
  const running = async (yaml = podYaml('web')): Promise<DesiredUnit> => {
    const [unit] = unitsOf(`${DIR}/web.yaml`, yaml);
    await podman.playKube(unit!.yaml);
    podman.containerFacts.set(main().id, { exitCode: 0, startedAt: clock.now() });
    supervisor.setDesired([unit!]);
    await evaluate(); // makes the keeper
    await evaluate(); // and sees it running
    assert.ok(podman.containerByName('web-runner_keeper'), 'the pod has its keeper');
    podman.clearCalls();
    return unit!;
  };
  const event = (status: string, id: string, exitCode?: number, time = clock.now()): PodmanEvent => ({
    type: 'container',
    status,
    id,
    name: 'web-main',
    time,
    exitCode,
    podId: undefined,
    attributes: {},
  });
  /** The container dies and its `died` event arrives. */
  const dies = (exitCode: number): void => {
    const id = main().id;
    podman.exitContainer(id, exitCode);
    supervisor.onEvent(event('died', id, exitCode));
  };
  const entryOf = (unit: DesiredUnit) => history.get(unit.key, unit.hash, 'main');

  it('a first restart comes from the died event alone: no listing, no inspect, one podman start', async () => {
    const unit = await running();
    dies(3);
    await supervisor.settled();
    assert.equal(main().status, 'running');
    assert.deepEqual(
      podman.calls.map((call) => call.method),
      ['startContainer'],
    );
    const entry = entryOf(unit);
    assert.deepEqual(
      [entry.restartCount, entry.lastExitCode, entry.lastReason, entry.backoffStep],
      [1, 3, 'Exited', 1],
    );
    assert.equal(entry.recent.length, 1);
  });

  it('the second death backs off exactly: the event leaves it to the listing, which waits the full delay', async () => {
    const unit = await running();
    dies(3);
    await supervisor.settled();
    await clock.advance(1_000);
    dies(3);
    const diedAt = clock.now();
    await supervisor.settled();
    assert.equal(podman.callsOf('startContainer').length, 1, 'no start from the second event');
    await evaluate();
    assert.equal(entryOf(unit).nextRestartAt, diedAt + 10_000);
    await clock.advance(9_999);
    await evaluate();
    assert.equal(main().status, 'exited', 'not a millisecond early');
    await clock.advance(1);
    await evaluate();
    assert.equal(main().status, 'running');
    assert.deepEqual([entryOf(unit).restartCount, entryOf(unit).backoffStep], [2, 2]);
  });

  it('after resetAfter of clean running, a death is a first restart again, from its event', async () => {
    const unit = await running();
    dies(1);
    await supervisor.settled();
    await clock.advance(POLICY.resetAfterMs);
    dies(1);
    await supervisor.settled();
    assert.equal(main().status, 'running');
    assert.equal(podman.callsOf('listContainers').length, 0);
    assert.deepEqual([entryOf(unit).restartCount, entryOf(unit).backoffStep], [2, 1]);
  });

  it('exit 137: after a podman kill event it is no OOM kill and needs no inspect; without one, inspect says whether it was', async () => {
    const unit = await running();
    supervisor.onEvent(event('kill', main().id));
    dies(137);
    await supervisor.settled();
    assert.equal(podman.callsOf('inspectContainer').length, 0);
    assert.equal(entryOf(unit).lastReason, 'Exited');

    await clock.advance(POLICY.resetAfterMs);
    const id = main().id;
    podman.exitContainer(id, 137, { oomKilled: true });
    supervisor.onEvent(event('died', id, 137));
    await supervisor.settled();
    assert.equal(podman.callsOf('inspectContainer').length, 1);
    assert.equal(main().status, 'running');
    assert.deepEqual(
      entryOf(unit).recent.map((restart) => restart.reason),
      ['Exited', 'OOMKilled'],
    );
  });

  it('restartPolicy OnFailure with exit 0: the event restarts nothing, the listing records Completed', async () => {
    const unit = await running(podYaml('web', { restartPolicy: 'OnFailure' }));
    dies(0);
    await supervisor.settled();
    assert.equal(podman.callsOf('startContainer').length, 0);
    await evaluate();
    assert.equal(main().status, 'exited');
    assert.deepEqual([entryOf(unit).restartCount, entryOf(unit).lastReason], [0, 'Completed']);
  });

  it('no keeper in the pod: the event only asks for a listing (podman is stopping the pod)', async () => {
    const [unit] = unitsOf(`${DIR}/web.yaml`, podYaml('web'));
    await podman.playKube(unit!.yaml);
    supervisor.setDesired([unit!]);
    podman.failNext('runPauseContainer', new Error('no infra image'));
    await evaluate();
    await evaluate();
    podman.clearCalls();
    dies(3);
    await supervisor.settled();
    assert.equal(podman.callsOf('startContainer').length, 0);
    await evaluate();
    assert.equal(main().status, 'running', 'restarted from the listing');
    assert.equal(entryOf(unit!).restartCount, 1);
  });

  it('a pod stopped from outside is left to the listing', async () => {
    const unit = await running();
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
    dies(143);
    await supervisor.settled();
    assert.equal(podman.callsOf('startContainer').length, 0);
    await evaluate();
    assert.equal(main().status, 'running');
    assert.equal(entryOf(unit).lastReason, 'StoppedExternally');
  });

  it("a stop of the runner's own (liveness): its died event waits for the stop, the listing restarts it as LivenessFailed", async () => {
    const unit = await running();
    const id = main().id;
    const stop = podman.hangNext('stopContainer');
    const stopping = supervisor.probeFailed(id, 'LivenessFailed', 'exec: exit code 1', signal);
    await stop.started;
    podman.exitContainer(id, 143);
    supervisor.onEvent(event('died', id, 143));
    await flushMicrotasks();
    assert.equal(podman.callsOf('startContainer').length, 0, 'no start racing the stop');
    stop.release();
    await stopping;
    await evaluate();
    assert.equal(main().status, 'running');
    assert.deepEqual([entryOf(unit).restartCount, entryOf(unit).lastReason], [1, 'LivenessFailed']);
  });

  it('a death the listing restarted first: its late died event restarts and counts nothing', async () => {
    // It had run long enough for a crash to count as a first one again: only
    // knowing that this death was handled keeps the event from restarting it.
    const unit = await running();
    await clock.advance(POLICY.resetAfterMs);
    const id = main().id;
    podman.exitContainer(id, 3);
    const diedAt = clock.now() + 40; // podman logs the death when it syncs, a little after the exit
    await clock.advance(100);
    await evaluate(); // the resync timer found it first
    assert.equal(main().status, 'running');
    supervisor.onEvent(event('died', id, 3, diedAt));
    await supervisor.settled();
    assert.equal(podman.callsOf('startContainer').length, 1);
    assert.equal(entryOf(unit).restartCount, 1);
    assert.equal(exits.length, 1, 'one exit recorded');
  });

  it('a listing taken before an event restart finished: the stale list restarts, counts and records nothing', async () => {
    const unit = await running();
    const id = main().id;
    podman.exitContainer(id, 3);
    await clock.advance(40); // podman logs the death when it syncs, a little after the exit
    const listing = podman.answerLate('listContainers'); // answers with the container exited
    const stale = supervisor.evaluate(signal);
    await listing.started;
    supervisor.onEvent(event('died', id, 3));
    await supervisor.settled();
    assert.equal(main().status, 'running', 'restarted from the event');
    listing.release();
    await stale;
    await supervisor.settled();
    assert.equal(podman.callsOf('startContainer').length, 1, 'one start');
    assert.equal(entryOf(unit).restartCount, 1, 'one restart counted');
    assert.deepEqual(exits, ['exited with code 3 (Exited); will restart'], 'one exit recorded');
    assert.equal(entryOf(unit).nextRestartAt, undefined, 'no backoff set for a container that runs');
    await evaluate();
    assert.equal(podman.callsOf('startContainer').length, 1, 'and a fresh list sees it running');
  });

  it('an event while the listing path starts the container: one start', async () => {
    const unit = await running();
    const id = main().id;
    podman.exitContainer(id, 3);
    const start = podman.hangNext('startContainer');
    const look = evaluate();
    await start.started;
    supervisor.onEvent(event('died', id, 3));
    start.release();
    await look;
    assert.equal(podman.callsOf('startContainer').length, 1);
    assert.equal(entryOf(unit).restartCount, 1);
  });

  it('a start that fails is counted once and backs off, whichever way the death was found', async () => {
    const unit = await running();
    podman.failNext('startContainer', new Error('Error: OCI runtime error'));
    dies(3);
    await supervisor.settled();
    assert.equal(main().status, 'exited');
    await evaluate();
    const entry = entryOf(unit);
    assert.deepEqual([entry.restartCount, entry.backoffStep, entry.lastExitCode], [0, 1, 3]);
    assert.equal(entry.nextRestartAt, clock.now() + 10_000, 'the listing records no second exit and waits the backoff');
    await clock.advance(10_000);
    await evaluate();
    assert.equal(main().status, 'running');
    assert.equal(entryOf(unit).restartCount, 1);
  });

  it('with the events stream down, the resync listing restarts the death and asks for the stream to be reopened', async () => {
    const [unit] = unitsOf(`${DIR}/web.yaml`, podYaml('web'));
    await podman.playKube(unit!.yaml);
    const watcher = new EventWatcher({
      podman,
      clock,
      logger: memoryLogger().logger,
      onEvent: (item) => supervisor.onEvent(item),
    });
    const stop = new AbortController();
    const loops = Promise.all([supervisor.run(stop.signal, signal), watcher.run(stop.signal)]);
    supervisor.setDesired([unit!]);
    /** Lets the loops run until `sleeps` of them wait on the clock again (the supervisor waits for its resync). */
    const settle = async (sleeps: number): Promise<void> => {
      await flushMicrotasks();
      await supervisor.settled();
      for (let i = 0; i < 400 && clock.pendingSleeps < sleeps; i += 1)
        await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(clock.pendingSleeps, sleeps, 'the loops are asleep');
    };
    await settle(1);
    await clock.advance(1); // the keeper made, its end asked for a look
    await settle(1);
    assert.ok(podman.containerByName('web-runner_keeper'));

    // With the stream: the death is restarted from its event, no listing needed.
    const lists = podman.callsOf('listContainers').length;
    podman.exitContainer(main().id, 1);
    await settle(1);
    assert.equal(main().status, 'running');
    assert.equal(entryOf(unit!).restartCount, 1);
    assert.equal(podman.callsOf('listContainers').length, lists + 1, 'one look after the restart, none before it');

    // The stream goes silent (podman's events process hangs, or the log rotated under it).
    podman.endEventStreams();
    await clock.advance(RESYNC_MS);
    await settle(1);
    podman.exitContainer(main().id, 1);
    await flushMicrotasks();
    assert.equal(main().status, 'exited', 'nothing heard');
    await clock.advance(RESYNC_MS);
    await settle(1);
    assert.equal(main().status, 'running', 'the resync listing restarted it');
    assert.equal(entryOf(unit!).restartCount, 2);
    assert.equal(missed, 1, 'and, the death being 30 s old, asked for the stream to be reopened');
    stop.abort();
    await loops;
  });
});
