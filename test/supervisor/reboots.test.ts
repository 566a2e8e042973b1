/**
 * Reboots and power cuts, with the fake podman in the shapes podman 4.3 and
 * 5.x leave behind (libpod/container_internal.go at v4.3.1 and v5.4.2,
 * resetState / resetContainerState): a container running at a clean
 * shutdown has exited with the shutdown's code and time; one lost with the
 * machine has no exit time (ps: -62135596800, inspect: 0001-01-01) and is
 * `created` on 4.3, `exited` with its old exit code on 5.x.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { DesiredUnit } from '../../src/desired/desired-unit.ts';
import { InFlight as UnitActivity } from '../../src/shared/in-flight.ts';
import type { EventSink } from '../../src/shared/event-sink.ts';
import {
  endedByReboot,
  firstStartAfterReboot,
  isRecordedExit,
  lostWithMachine,
  SHUTDOWN_WINDOW_MS,
  type ListedExit,
  type RebootFacts,
} from '../../src/supervisor/reboot-exits.ts';
import { RestartHistory, type ContainerHistory } from '../../src/supervisor/restart-history.ts';
import { Supervisor } from '../../src/supervisor/supervisor.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';
import { podYaml, unitsOf } from '../helpers/units.ts';
import { FakePodman } from '../podman/fake-podman.ts';

const DIR = '/etc/runner/manifests';
const POLICY = { initialMs: 10_000, maxMs: 40_000, resetAfterMs: 600_000 };
const T = Date.UTC(2026, 0, 1);
const entryOf = (fields: Partial<ContainerHistory> = {}): ContainerHistory => ({
  restartCount: 0,
  backoffStep: 0,
  recent: [],
  ...fields,
});

describe('reboot-exits (pure)', () => {
  it('a run is lost with the machine when podman has its start but no end at or after it', () => {
    const cases: [string, { state: string; startedAt: number | undefined; exitedAt: number | undefined }, boolean][] = [
      ['5.x: exited, zero exit time', { state: 'exited', startedAt: T, exitedAt: undefined }, true],
      ['5.x: exited, the exit time of an older run', { state: 'exited', startedAt: T, exitedAt: T - 60_000 }, true],
      ['4.3: created again, with a start time', { state: 'created', startedAt: T, exitedAt: undefined }, true],
      ['an exit podman saw', { state: 'exited', startedAt: T, exitedAt: T + 5_000 }, false],
      [
        'an exit in the second it started (ps rounds to seconds)',
        { state: 'exited', startedAt: T, exitedAt: T },
        false,
      ],
      ['never started (a failed play)', { state: 'created', startedAt: undefined, exitedAt: undefined }, false],
      ['running', { state: 'running', startedAt: T, exitedAt: T - 60_000 }, false],
      [
        'started since this runner began (the machine has been up since)',
        { state: 'exited', startedAt: T + 120_000, exitedAt: undefined },
        false,
      ],
    ];
    const runnerStartedAt = T + 60_000;
    for (const [name, container, lost] of cases) assert.equal(lostWithMachine(container, runnerStartedAt), lost, name);
  });

  it("after a reboot an exit before the runner started is the shutdown's, unless the last runner recorded it well before it stopped", () => {
    const reboot: RebootFacts = { cutoff: T + 100_000, previousRunnerSeenAt: T + 50_000 };
    const exited = (at: number): ListedExit => ({ state: 'exited', startedAt: T - 600_000, exitedAt: at });
    const cases: [string, ListedExit, ContainerHistory, RebootFacts | undefined, boolean][] = [
      ['no reboot', exited(T + 49_000), entryOf(), undefined, false],
      ['exited after this runner started', exited(T + 101_000), entryOf(), reboot, false],
      ['never recorded: the runner was stopped first', exited(T + 60_000), entryOf(), reboot, true],
      [
        'recorded just before the last runner ended (the shutdown stopped both)',
        exited(T + 49_000),
        entryOf({ lastExitAt: T + 49_300, lastReason: 'Completed' }),
        reboot,
        true,
      ],
      [
        'recorded well before the last runner ended (a finished job)',
        exited(T),
        entryOf({ lastExitAt: T + 200, lastReason: 'Completed' }),
        reboot,
        false,
      ],
      [
        "recorded, the last runner's end unknown",
        exited(T + 49_000),
        entryOf({ lastExitAt: T + 49_000, lastReason: 'Completed' }),
        { cutoff: reboot.cutoff },
        false,
      ],
      [
        "recorded as the reboot's already (a runner restart since)",
        exited(T),
        entryOf({ lastExitAt: T, lastReason: 'HostRebooted' }),
        reboot,
        true,
      ],
      [
        'recorded exit is an older one',
        exited(T),
        entryOf({ lastExitAt: T - 300_000, lastReason: 'Completed' }),
        reboot,
        true,
      ],
      [
        'lost with the machine, even with no reboot known',
        { state: 'exited', startedAt: T, exitedAt: undefined },
        entryOf(),
        undefined,
        true,
      ],
    ];
    for (const [name, container, entry, facts, expected] of cases)
      assert.equal(endedByReboot(container, lostWithMachine(container, reboot.cutoff), entry, facts), expected, name);
    assert.ok(SHUTDOWN_WINDOW_MS >= 10_000, "the window covers the runner's heartbeat and its stop");
  });

  it('one exit recorded twice is the same exit; a start between two exits makes them two', () => {
    assert.equal(isRecordedExit(entryOf({ lastExitAt: T + 400 }), T), true, 'ps rounds down to the second');
    assert.equal(
      isRecordedExit(entryOf({ lastExitAt: T + 400, lastRestartAt: T + 500 }), T + 800),
      false,
      'restarted at once and died again',
    );
    assert.equal(
      isRecordedExit(entryOf({ lastExitAt: T, lastRestartAt: T + 10_000 }), T),
      true,
      'the same exit after a failed start',
    );
    assert.equal(isRecordedExit(entryOf({ lastExitAt: T }), T + 5_000), false);
    assert.equal(isRecordedExit(entryOf(), T), false);
  });

  it('the first start after a reboot is due at once; one tried after the exit and failed is not', () => {
    const lost = { state: 'exited', startedAt: T, exitedAt: undefined };
    assert.equal(
      firstStartAfterReboot(lost, true, entryOf({ lastRestartAt: T - 200 })),
      true,
      'the start that began this run',
    );
    assert.equal(
      firstStartAfterReboot(lost, true, entryOf({ lastRestartAt: T + 120_000 })),
      false,
      'a failed start after the boot',
    );
    assert.equal(firstStartAfterReboot({ state: 'exited', startedAt: T - 5_000, exitedAt: T }, false, entryOf()), true);
    assert.equal(
      firstStartAfterReboot(
        { state: 'exited', startedAt: T - 5_000, exitedAt: T },
        false,
        entryOf({ lastRestartAt: T + 30_000 }),
      ),
      false,
    );
  });
});

describe('Supervisor across reboots and power cuts', () => {
  let stateDir: string;
  let podman: FakePodman;
  let clock: FakeClock;
  let history: RestartHistory;
  let supervisor: Supervisor;
  let events: { type: string; message: string }[];
  const signal = new AbortController().signal;
  const sink: EventSink = { record: (event) => events.push({ type: event.type, message: event.message ?? '' }) };

  const makeSupervisor = (extra: { rebootCutoff?: number; previousRunnerSeenAt?: number } = {}): Supervisor =>
    new Supervisor({
      podman,
      clock,
      logger: memoryLogger().logger,
      history,
      policy: POLICY,
      resyncMs: 10_000,
      activity: new UnitActivity(),
      events: sink,
      ...extra,
    });
  const setup = async (restartPolicy: string): Promise<DesiredUnit> => {
    const [unit] = unitsOf(`${DIR}/web.yaml`, podYaml('web', { restartPolicy }));
    await podman.playKube(unit!.yaml);
    // The fake's play reports no start time; podman's ps does, and a power cut keeps it.
    podman.containerFacts.set(main().id, { exitCode: 0, startedAt: clock.now() });
    supervisor.setDesired([unit!]);
    return unit!;
  };
  const main = () => podman.containerByName('web-main')!;
  const evaluate = async (): Promise<void> => {
    await supervisor.evaluate(signal);
    await supervisor.settled();
  };
  /** The host comes back: a new runner that knows of the reboot. */
  const boot = async (unit: DesiredUnit, previousRunnerSeenAt?: number): Promise<void> => {
    await clock.advance(20_000);
    history = new RestartHistory(stateDir);
    await history.load();
    supervisor = makeSupervisor({
      rebootCutoff: clock.now(),
      ...(previousRunnerSeenAt !== undefined ? { previousRunnerSeenAt } : {}),
    });
    supervisor.setDesired([unit]);
    events = [];
  };
  /** What podman reports after the boot for what ran when the machine lost power. */
  const powerCut = (version: '4.3' | '5.x'): void => {
    for (const pod of podman.pods.values()) {
      pod.status = version === '4.3' ? 'Created' : 'Exited';
      for (const container of pod.containers)
        if (container.status === 'running') container.status = version === '4.3' ? 'created' : 'exited';
    }
  };

  beforeEach(async () => {
    stateDir = await makeTempDir('reboot');
    podman = new FakePodman();
    clock = new FakeClock();
    podman.now = () => clock.now();
    history = new RestartHistory(stateDir);
    events = [];
    supervisor = makeSupervisor();
  });
  afterEach(() => removeTempDir(stateDir));

  it('OnFailure: a container the shutdown stopped with exit 0 runs again at once, as HostRebooted, with no step of backoff', async () => {
    const unit = await setup('OnFailure');
    await evaluate();
    const seen = clock.now();
    await history.save();
    await clock.advance(2_000);
    podman.exitContainer(main().id, 0); // SIGTERM at shutdown; the runner had stopped first
    await boot(unit, seen);
    await evaluate();
    assert.equal(main().status, 'running');
    const entry = history.get(unit.key, unit.hash, 'main');
    assert.deepEqual([entry.restartCount, entry.lastReason, entry.backoffStep], [1, 'HostRebooted', 0]);
    assert.deepEqual(
      events.map((event) => `${event.type}: ${event.message}`),
      [
        'Exited: exited with code 0 (HostRebooted); will restart',
        'Restarted: restart 1: HostRebooted, last exit code 0',
      ],
    );
  });

  it("OnFailure: an exit the last runner saw as the shutdown began is the reboot's too, and is recorded again as such", async () => {
    const unit = await setup('OnFailure');
    await evaluate();
    podman.exitContainer(main().id, 0);
    await evaluate(); // the runner records it as Completed, left exited
    const entry = () => history.get(unit.key, unit.hash, 'main');
    assert.equal(entry().lastReason, 'Completed');
    await clock.advance(1_000);
    const seen = clock.now(); // then it stopped: its last status write
    await boot(unit, seen);
    await evaluate();
    assert.equal(main().status, 'running');
    assert.deepEqual([entry().restartCount, entry().lastReason, entry().backoffStep], [1, 'HostRebooted', 0]);
    assert.deepEqual(
      events.map((event) => event.type),
      ['Exited', 'Restarted'],
    );
  });

  it('OnFailure and Never: a job that completed well before the reboot is not run again', async () => {
    for (const restartPolicy of ['OnFailure', 'Never']) {
      podman = new FakePodman();
      podman.now = () => clock.now();
      supervisor = makeSupervisor();
      const unit = await setup(restartPolicy);
      await evaluate();
      podman.exitContainer(main().id, 0);
      await evaluate();
      await clock.advance(3_600_000);
      await history.save();
      await boot(unit, clock.now());
      await evaluate();
      await evaluate();
      assert.equal(main().status, 'exited', restartPolicy);
      const entry = history.get(unit.key, unit.hash, 'main');
      assert.deepEqual([entry.restartCount, entry.lastReason], [0, 'Completed'], restartPolicy);
      assert.deepEqual(events, [], `${restartPolicy}: nothing recorded twice`);
    }
  });

  it('Never: a container the shutdown stopped is left exited, as HostRebooted, not Completed', async () => {
    const unit = await setup('Never');
    await evaluate();
    const seen = clock.now();
    await history.save();
    podman.exitContainer(main().id, 0);
    await boot(unit, seen);
    await evaluate();
    assert.equal(main().status, 'exited');
    const entry = history.get(unit.key, unit.hash, 'main');
    assert.deepEqual([entry.restartCount, entry.lastReason, entry.lastExitCode], [0, 'HostRebooted', 0]);
    assert.deepEqual(
      events.map((event) => event.message),
      ['exited with code 0 (HostRebooted); restartPolicy Never: left exited'],
    );
  });

  for (const version of ['4.3', '5.x'] as const) {
    it(`power cut, podman ${version} shapes: Always and OnFailure run again at once as HostRebooted, whatever the backoff step`, async () => {
      for (const restartPolicy of ['Always', 'OnFailure']) {
        podman = new FakePodman();
        podman.now = () => clock.now();
        supervisor = makeSupervisor();
        const unit = await setup(restartPolicy);
        await evaluate();
        // Three crashes before the cut: the step is 3 (40 s), and podman 5 keeps the last crash's code and time.
        for (let crash = 0; crash < 3; crash += 1) {
          podman.exitContainer(main().id, 3);
          await evaluate();
          while (main().status !== 'running') {
            await clock.advance(1_000);
            await evaluate();
          }
          await clock.advance(1_000);
        }
        const before = history.get(unit.key, unit.hash, 'main');
        assert.equal(before.backoffStep, 3);
        const restarts = before.restartCount;
        await clock.advance(5_000);
        await history.save();
        powerCut(version);
        await boot(unit, clock.now() - 20_000);
        await evaluate();
        assert.equal(main().status, 'running', `${restartPolicy}: no wait for backoff`);
        const entry = history.get(unit.key, unit.hash, 'main');
        assert.deepEqual(
          [entry.restartCount, entry.lastReason, entry.backoffStep],
          [restarts + 1, 'HostRebooted', 3],
          restartPolicy,
        );
        assert.equal(entry.lastExitCode, undefined, "no exit code of its own: podman's is the older crash's");
        assert.deepEqual(
          events.map((event) => `${event.type}: ${event.message}`),
          [
            'Exited: was lost when the host went down, with no exit recorded (HostRebooted); will restart',
            `Restarted: restart ${restarts + 1}: HostRebooted, last exit code ?`,
          ],
          restartPolicy,
        );
        await clock.advance(10_000);
        await evaluate();
        assert.equal(events.length, 2, `${restartPolicy}: no phantom exit after the restart`);
      }
    });
  }

  it('power cut on podman 5 with a first run (exit code 0, zero exit time): recognised with no reboot known, recorded once across runner restarts', async () => {
    const unit = await setup('Never');
    await evaluate();
    powerCut('5.x');
    await clock.advance(20_000);
    // No status file from the last runner, so no reboot known: podman's own times still tell.
    supervisor = makeSupervisor();
    supervisor.setDesired([unit]);
    await evaluate();
    const entry = history.get(unit.key, unit.hash, 'main');
    assert.equal(entry.lastReason, 'HostRebooted');
    assert.equal(main().status, 'exited', 'Never is not run again');
    await history.save();
    await clock.advance(30_000);
    history = new RestartHistory(stateDir);
    await history.load();
    supervisor = makeSupervisor();
    supervisor.setDesired([unit]);
    await evaluate();
    await evaluate();
    assert.deepEqual(
      events.map((event) => event.message),
      ['was lost when the host went down, with no exit recorded (HostRebooted); restartPolicy Never: left exited'],
      'recorded once',
    );
  });

  it('a death listed with no exit time yet, of a run this runner started, is no power cut: it backs off', async () => {
    const unit = await setup('Always');
    await evaluate();
    podman.exitContainer(main().id, 3);
    await evaluate(); // restarted at once: step 1 now
    await clock.advance(2_000);
    podman.exitContainer(main().id, 3);
    podman.containerFacts.set(main().id, { ...podman.containerFacts.get(main().id)!, exitedAt: undefined });
    await evaluate();
    assert.equal(main().status, 'exited', 'backing off, not started at once');
    const entry = history.get(unit.key, unit.hash, 'main');
    assert.equal(entry.lastReason, 'Exited');
  });

  it('a start that fails after a power cut backs off, and the next one is not immediate', async () => {
    const unit = await setup('Always');
    await evaluate();
    await history.save();
    powerCut('5.x');
    await boot(unit);
    podman.failNext('startContainer', new Error('Error: OCI runtime error'));
    await evaluate();
    assert.equal(main().status, 'exited');
    const entry = history.get(unit.key, unit.hash, 'main');
    assert.deepEqual([entry.lastReason, entry.backoffStep], ['HostRebooted', 1]);
    await clock.advance(1_000);
    await evaluate();
    assert.equal(main().status, 'exited', 'backing off');
    await clock.advance(10_000);
    await evaluate();
    assert.equal(main().status, 'running');
  });
});
