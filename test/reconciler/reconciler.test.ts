import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { ManifestSnapshot } from '../../src/manifest/read-manifest-dir.ts';
import { Reconciler, type ReconcilerOptions } from '../../src/reconciler/reconciler.ts';
import { KEEPER_CONTAINER, keeperName } from '../../src/shared/infra-keeper.ts';
import { HASH_LABEL, MANAGED_LABEL, SOURCE_LABEL, UNIT_LABEL } from '../../src/shared/ownership.ts';
import { AppliedStore } from '../../src/state/applied-store.ts';
import { OwnedSecrets } from '../../src/state/owned-secrets.ts';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.ts';
import { memoryLogger } from '../helpers/memory-logger.ts';
import { makeTempDir, removeTempDir } from '../helpers/temp-dir.ts';
import { podYaml, snapshotOf, unitOf } from '../helpers/units.ts';
import { FakePodman, playError } from '../podman/fake-podman.ts';

const DIR = '/etc/runner/manifests';
const WEB_FILE = `${DIR}/web.yaml`;
const BACKOFF = { initialMs: 1_000, maxMs: 8_000 };

let stateDir: string;
let podman: FakePodman;
let clock: FakeClock;
let store: AppliedStore;
let secrets: OwnedSecrets;
let reconciler: Reconciler;
let controller: AbortController;
let log: ReturnType<typeof memoryLogger>;

const newReconciler = (extra: Partial<ReconcilerOptions> = {}): Reconciler =>
  new Reconciler({
    podman,
    store,
    secrets,
    clock,
    logger: log.logger,
    parallelism: 4,
    defaultStopTimeoutSeconds: 10,
    resyncMs: 10_000,
    backoff: BACKOFF,
    ...extra,
  });

beforeEach(async () => {
  stateDir = await makeTempDir('reconciler');
  podman = new FakePodman();
  clock = new FakeClock();
  log = memoryLogger();
  store = new AppliedStore(stateDir);
  await store.load();
  secrets = new OwnedSecrets(stateDir);
  await secrets.load([]);
  controller = new AbortController();
  reconciler = newReconciler();
});

afterEach(async () => {
  controller.abort();
  await reconciler.settled();
  await removeTempDir(stateDir);
});

const show = (files: Record<string, string>): ManifestSnapshot => {
  const snapshot = snapshotOf(DIR, files);
  reconciler.setSnapshot(snapshot);
  return snapshot;
};

/** One pass and everything it started. */
const reconcile = async (): Promise<void> => {
  await reconciler.pass(controller.signal);
  await reconciler.settled();
};

const webPod = () => podman.podByName('web');

/** Polls (real time: the store writes real files) until `check` holds. */
const waitFor = async (what: string, check: () => boolean): Promise<void> => {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await flushMicrotasks(1);
  }
};

describe('Reconciler', () => {
  it('does nothing before the first snapshot', async () => {
    await reconcile();
    assert.deepEqual(podman.calls, []);
  });

  it('creates a pod with the ownership labels and records what it played', async () => {
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    const unit = unitOf(WEB_FILE, podYaml('web'));
    const pod = webPod();
    assert.ok(pod, 'pod web exists');
    assert.equal(pod.status, 'Running');
    assert.deepEqual(
      {
        managed: pod.labels[MANAGED_LABEL],
        source: pod.labels[SOURCE_LABEL],
        unit: pod.labels[UNIT_LABEL],
        hash: pod.labels[HASH_LABEL],
      },
      { managed: 'true', source: WEB_FILE, unit: 'Pod/web', hash: unit.hash },
    );
    assert.equal(podman.callsOf('playKube').length, 1);
    assert.equal(store.get(unit.key)?.hash, unit.hash);
    assert.equal(store.get(unit.key)?.appliedAt, new Date(clock.now()).toISOString());
    // written to disk, not only kept in memory
    const reloaded = new AppliedStore(stateDir);
    await reloaded.load();
    assert.equal(reloaded.get(unit.key)?.hash, unit.hash);
  });

  it('an unchanged snapshot causes no podman mutations', async () => {
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    const id = webPod()?.id;
    podman.clearCalls();
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    await reconcile();
    assert.deepEqual(podman.mutations(), []);
    assert.deepEqual(
      podman.calls.map((call) => call.method),
      ['listPods', 'listPods'],
    );
    assert.equal(webPod()?.id, id);
  });

  it('an edit replaces the pod: the old one removed (with its grace period), a new one played', async () => {
    show({ 'web.yaml': podYaml('web', { grace: 4 }) });
    await reconcile();
    const oldId = webPod()!.id;
    podman.clearCalls();
    show({ 'web.yaml': podYaml('web', { grace: 4, image: 'busybox:1.36' }) });
    await reconcile();
    const pod = webPod()!;
    const played = String(podman.callsOf('playKube')[0]?.args[0]);
    assert.deepEqual(
      podman.mutations().map((call) => [call.method, call.args[0]]),
      [
        ['removePod', oldId],
        // The keeper image was learned by the first play: the keeper is one of the pod's own containers (keeper-in-yaml.ts).
        ['playKube', played],
      ],
    );
    assert.match(played, /- name: runner_keeper\n {6}image: f{64}\n/);
    assert.equal(podman.callsOf('removePod')[0]?.args[1], 4);
    assert.notEqual(pod.id, oldId);
    const unit = unitOf(WEB_FILE, podYaml('web', { grace: 4, image: 'busybox:1.36' }));
    assert.equal(pod.labels[HASH_LABEL], unit.hash);
    assert.equal(store.get(unit.key)?.hash, unit.hash);
  });

  it('a pod the supervisor restarts has its infra keeper before its containers start; a Never pod is played as it is', async () => {
    show({ 'web.yaml': podYaml('web'), 'once.yaml': podYaml('once', { restartPolicy: 'Never' }) });
    await reconcile();
    const web = webPod()!;
    const once = podman.podByName('once')!;
    const byPod = (id: string) =>
      podman
        .mutations()
        .filter((call) =>
          call.method === 'playKube'
            ? podman.podByName(String(call.args[0]).includes('name: web') ? 'web' : 'once')?.id === id
            : call.args[0] === id,
        );
    // podman 5.4: an app container that exits while its pod has no keeper stops the pod and holds it 90 s (src/podman/play-kept.ts).
    assert.deepEqual(
      byPod(web.id).map((call) => [call.method, call.args[1]]),
      [
        ['playKube', { start: false }],
        ['runPauseContainer', 'web-runner_keeper'],
        ['startPod', undefined],
      ],
    );
    assert.deepEqual(
      byPod(once.id).map((call) => [call.method, call.args[1]]),
      [['playKube', undefined]],
    );
    assert.equal(web.status, 'Running');
    assert.equal(once.status, 'Running');
  });

  // Issue 13: on podman 4.3, which has no exit-policy hang, the keeper-first play only costs time.
  it('a podman that does not need the keeper first (4.3) gets a plain kube play: the supervisor makes the keeper after', async () => {
    reconciler = newReconciler({ keeperFirst: false });
    show({ 'web.yaml': podYaml('web'), 'db.yaml': podYaml('db') });
    await reconcile();
    assert.deepEqual(
      podman.mutations().map((call) => [call.method, call.args[1]]),
      [
        ['playKube', undefined],
        ['playKube', undefined],
      ],
    );
    for (const call of podman.callsOf('playKube')) assert.doesNotMatch(String(call.args[0]), /runner_keeper/);
    assert.equal(webPod()?.status, 'Running');
  });

  // Issue 13: the keeper-first play cost two inspects per pod; the image is the same for every pod.
  it('the keeper image is learned by the first play; later plays of a named Pod do not inspect for it', async () => {
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    assert.equal(podman.callsOf('podInfra').length, 1);
    show({ 'web.yaml': podYaml('web'), 'db.yaml': podYaml('db'), 'cache.yaml': podYaml('cache') });
    await reconcile();
    assert.equal(podman.callsOf('podInfra').length, 1, 'no inspect after the first');
    assert.equal(podman.callsOf('runPauseContainer').length, 1, "only the first pod's keeper is run on its own");
    // Later pods: one `kube play` each, started at once, the keeper among the pod's containers.
    const later = podman.callsOf('playKube').slice(1);
    assert.deepEqual(
      later.map((call) => call.args[1]),
      [undefined, undefined],
    );
    assert.ok(later.every((call) => String(call.args[0]).includes(`name: ${KEEPER_CONTAINER}`)));
    assert.deepEqual(
      ['web', 'db', 'cache'].map((name) => podman.containerByName(keeperName(name))?.status),
      ['running', 'running', 'running'],
    );
  });

  // Issue 13: a snapshot that landed mid-listing waited for a second listing, seconds on a loaded host.
  it('a snapshot that lands while podman lists is planned with that list, with no second listing before the play', async () => {
    show({});
    const listing = podman.answerLate('listPods');
    const runSignal = new AbortController();
    const running = reconciler.run(runSignal.signal, controller.signal); // the first snapshot asked for a pass
    await listing.started;
    show({ 'web.yaml': podYaml('web') });
    listing.release();
    await waitFor('the play', () => podman.callsOf('playKube').length === 1);
    assert.deepEqual(
      podman.calls.map((call) => call.method).slice(0, 2),
      ['listPods', 'playKube'],
      'played from the listing that was under way',
    );
    await reconciler.settled();
    await flushMicrotasks(20);
    runSignal.abort();
    await running;
    assert.ok(webPod(), 'the pod runs');
    // The finished play asks for one more pass (it lists); the snapshot asked for none of its own.
    assert.equal(podman.callsOf('listPods').length, 2);
  });

  it('an image event asks for a pass only when a unit waits for an image', async () => {
    reconciler = newReconciler({ explainMissingImages: async () => "image busybox is not in podman's storage" });
    show({ 'web.yaml': podYaml('web') });
    podman.failNext('playKube');
    await reconcile();
    assert.equal(webPod(), undefined);
    const runSignal = new AbortController();
    const running = reconciler.run(runSignal.signal, controller.signal);
    await flushMicrotasks(20);
    podman.clearCalls();
    reconciler.imagesArrived();
    await waitFor('the waiting unit to be tried', () => podman.callsOf('playKube').length === 1);
    await reconciler.settled();
    await flushMicrotasks(20);
    podman.clearCalls();
    reconciler.imagesArrived(); // nobody waits now
    await flushMicrotasks(20);
    runSignal.abort();
    await running;
    assert.deepEqual(podman.calls, [], 'no pass, no listing');
  });

  it('an invalid file keeps its pod (same id) and plays nothing', async () => {
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    const id = webPod()!.id;
    const hash = store.get(`${WEB_FILE}#Pod/web`)?.hash;
    podman.clearCalls();
    show({ 'web.yaml': podYaml('web').replace('image: busybox', 'image: ""') });
    await reconcile();
    await reconcile();
    assert.deepEqual(podman.mutations(), []);
    assert.equal(webPod()?.id, id);
    assert.equal(store.get(`${WEB_FILE}#Pod/web`)?.hash, hash, 'the last good record is kept');
  });

  it('while its file is invalid, a pod removed by hand comes back from the last applied spec', async () => {
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    const first = webPod()!;
    show({ 'web.yaml': 'kind: [\n' });
    await reconcile();
    podman.deleteBehindBack(first.id);
    await reconcile();
    const again = webPod();
    assert.ok(again, 'recreated');
    assert.notEqual(again.id, first.id);
    assert.equal(again.labels[HASH_LABEL], first.labels[HASH_LABEL]);
  });

  it('a removed file removes its pod and forgets its record', async () => {
    show({ 'web.yaml': podYaml('web', { grace: 2 }), 'api.yaml': podYaml('api') });
    await reconcile();
    const id = webPod()!.id;
    podman.clearCalls();
    show({ 'api.yaml': podYaml('api') });
    await reconcile();
    assert.deepEqual(
      podman.mutations().map((call) => [call.method, ...call.args]),
      [['removePod', id, 2]],
    );
    assert.equal(webPod(), undefined);
    assert.ok(podman.podByName('api'));
    assert.equal(store.get(`${WEB_FILE}#Pod/web`), undefined);
    assert.deepEqual(
      store.all().map((record) => record.name),
      ['api'],
    );
  });

  it('a pod removed behind its back is recreated', async () => {
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    const first = webPod()!;
    podman.deleteBehindBack(first.id);
    await reconcile();
    const again = webPod();
    assert.ok(again);
    assert.notEqual(again.id, first.id);
  });

  // A slow `podman pod ps` (a busy host) can answer after a replace of the
  // same pod finished: its answer shows the old pod, gutted, or no pod.
  for (const { step, sees } of [
    { step: 'removePod', sees: 'the old pod with its container gone' },
    { step: 'playKube', sees: 'no pod at all' },
  ] as const) {
    it(`a pod list that went stale during a replace (${sees}) does not undo the replace`, async () => {
      show({ 'web.yaml': podYaml('web') });
      await reconcile();
      webPod()!.containers.length = 0; // podman rm -f web-main
      const replacing = podman.hangNext(step);
      await reconciler.pass(controller.signal);
      await replacing.started;
      const listing = podman.answerLate('listPods');
      const stale = reconciler.pass(controller.signal);
      await listing.started;
      replacing.release();
      await waitFor('the replace to finish', () => reconciler.inFlightCount === 0);
      const replaced = webPod()!;
      listing.release();
      await stale;
      await reconciler.settled();
      assert.equal(webPod()?.id, replaced.id, 'the new pod still runs');
      assert.equal(podman.callsOf('playKube').length, 2, 'one create and one replace, no more');
      assert.deepEqual(
        log.lines.filter((line) => line.level === 'error'),
        [],
        'no failed play',
      );
      await reconcile();
      assert.equal(webPod()?.id, replaced.id, 'a fresh pass leaves it alone too');
    });
  }

  // Seen in bench/apply.ts: every replace logged "a pod named ... exists that the runner does not manage".
  it('a pod seen without its labels while its own replace removes it is no conflict', async () => {
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    show({ 'web.yaml': podYaml('web', { image: 'busybox:1.36' }) });
    const removing = podman.hangNext('removePod');
    await reconciler.pass(controller.signal);
    await removing.started;
    webPod()!.labels = {}; // half removed: its app container gone, its labels no longer to be read
    await reconciler.pass(controller.signal);
    removing.release();
    await reconciler.settled();
    assert.deepEqual(
      log.lines.filter((line) => line.level === 'error').map((line) => line.msg),
      [],
    );
    assert.equal(webPod()?.labels[HASH_LABEL], unitOf(WEB_FILE, podYaml('web', { image: 'busybox:1.36' })).hash);
  });

  it('tells who counts restarts when it brings back a pod removed by hand, and only then', async () => {
    const recovered: [string, string][] = [];
    reconciler = newReconciler({ onRecovered: (unit, recovery) => recovered.push([unit.name, recovery]) });
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    assert.deepEqual(recovered, [], 'the first start is no restart');
    podman.deleteBehindBack(webPod()!.id);
    await reconcile();
    webPod()!.containers.length = 0;
    await reconcile();
    assert.deepEqual(recovered, [
      ['web', 'removed'],
      ['web', 'removed'],
    ]);
    podman.deleteBehindBack(webPod()!.id);
    podman.failNext('playKube');
    await reconcile();
    assert.equal(recovered.length, 2, 'a failed play brought nothing back');
  });

  it('a pod gone while the runner was down (stopPodsOnExit removes them) is started, not counted as a restart', async () => {
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    podman.deleteBehindBack(webPod()!.id);
    const recovered: string[] = [];
    reconciler = newReconciler({ onRecovered: (unit) => recovered.push(unit.name) });
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    assert.ok(webPod(), 'started');
    assert.deepEqual(recovered, []);
  });

  it('a stopped pod is left to the supervisor: the reconciler neither starts nor replaces it', async () => {
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    const pod = webPod()!;
    podman.setStatus(pod.id, 'Exited');
    podman.clearCalls();
    await reconcile();
    assert.deepEqual(podman.mutations(), []);
    assert.equal(webPod()?.id, pod.id);
  });

  it('never touches an unmanaged pod with the same name', async () => {
    const theirs = podman.addPod({ name: 'web', labels: { app: 'theirs' } });
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    await reconcile();
    podman.setStatus(theirs.id, 'Exited');
    await reconcile();
    assert.deepEqual(podman.mutations(), []);
    assert.deepEqual([...podman.pods.values()], [theirs]);
    assert.equal(store.all().length, 0);
    assert.equal(log.lines.filter((line) => line.level === 'error').length, 1, 'reported once, not on every pass');
  });

  it('never touches unmanaged pods when its manifests go away', async () => {
    const theirs = podman.addPod({ name: 'db', status: 'Created' });
    show({});
    await reconcile();
    assert.deepEqual(podman.mutations(), []);
    assert.deepEqual([...podman.pods.values()], [theirs]);
  });

  it('a play refused because the pod name is taken removes no pod: the one with the name is no leftover', async () => {
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    const pod = webPod()!;
    podman.returnNext('listPods', []); // a look that missed it
    await reconcile();
    assert.deepEqual(
      podman.callsOf('removePod'),
      [],
      'the running pod is not taken for the leftover of the failed play',
    );
    assert.equal(webPod()?.id, pod.id);
  });

  it('a failed play: the leftover pod is removed, nothing recorded, and retries back off', async () => {
    podman.failNext('playKube', playError('image not known'), { leftover: true });
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    assert.equal(webPod(), undefined, 'the half-created pod is gone');
    const removed = podman.callsOf('removePod');
    assert.equal(removed.length, 1);
    assert.equal(removed[0]?.args[1], 0);
    assert.equal(store.all().length, 0);

    const plays = (): number => podman.callsOf('playKube').length;
    await reconcile();
    assert.equal(plays(), 1, 'not retried before the backoff delay');

    podman.failNext('playKube', playError('image not known'));
    await clock.advance(999);
    await reconcile();
    assert.equal(plays(), 1);
    await clock.advance(1);
    await reconcile();
    assert.equal(plays(), 2, 'retried after 1 s');

    // Second failure: the delay doubles.
    await clock.advance(1_000);
    await reconcile();
    assert.equal(plays(), 2, 'not retried after 1 s once it failed twice');
    await clock.advance(1_000);
    await reconcile();
    assert.equal(plays(), 3, 'retried after 2 s');
    assert.ok(webPod(), 'the third play succeeds');
  });

  it('a failed play of one spec does not delay a new spec', async () => {
    podman.failNext('playKube');
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    show({ 'web.yaml': podYaml('web', { image: 'busybox:1.36' }) });
    await reconcile();
    assert.equal(podman.callsOf('playKube').length, 2);
    assert.ok(webPod());
  });

  it('a hanging play of unit A does not block unit B, and A is not started twice', async () => {
    const gate = podman.hangNext('playKube', (args) => String(args[0]).includes('name: a\n'));
    show({ 'a.yaml': podYaml('a'), 'b.yaml': podYaml('b') });
    await reconciler.pass(controller.signal);
    await gate.started;
    await waitFor('B to finish while A hangs', () => reconciler.inFlightCount === 1);
    assert.ok(podman.podByName('b'), 'B was played while A hangs');
    assert.ok(store.get(`${DIR}/b.yaml#Pod/b`));
    assert.equal(podman.podByName('a'), undefined);
    assert.equal(store.get(`${DIR}/a.yaml#Pod/a`), undefined, 'recorded only after the play');

    await reconciler.pass(controller.signal);
    await reconciler.pass(controller.signal);
    const playsOfA = podman.callsOf('playKube').filter((call) => String(call.args[0]).includes('name: a\n'));
    assert.equal(playsOfA.length, 1, 'A is in flight: no second play');

    gate.release();
    await reconciler.settled();
    assert.ok(podman.podByName('a'));
    assert.ok(store.get(`${DIR}/a.yaml#Pod/a`));
  });

  it('an aborted signal cancels a hanging play, and the unit is tried again later', async () => {
    const gate = podman.hangNext('playKube');
    show({ 'web.yaml': podYaml('web') });
    const actions = new AbortController();
    await reconciler.pass(actions.signal);
    await gate.started;
    actions.abort(new Error('shutting down'));
    await reconciler.settled();
    assert.equal(webPod(), undefined);
    assert.equal(store.all().length, 0);
    await clock.advance(BACKOFF.initialMs);
    await reconcile();
    assert.ok(webPod(), 'played on a later pass');
  });

  it('recovers the record when a pod with the right hash runs but was never recorded (killed between play and write)', async () => {
    const unit = unitOf(WEB_FILE, podYaml('web'));
    await podman.playKube(unit.yaml); // the previous runner played it, then died
    const id = webPod()!.id;
    podman.clearCalls();
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    assert.deepEqual(podman.mutations(), [], 'the running pod is adopted, not replayed');
    assert.equal(webPod()?.id, id);
    assert.equal(store.get(unit.key)?.hash, unit.hash);
  });

  it('a restarted runner (new Reconciler, same store) leaves running pods alone', async () => {
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    const id = webPod()!.id;
    podman.clearCalls();
    const reloaded = new AppliedStore(stateDir);
    await reloaded.load();
    store = reloaded;
    reconciler = newReconciler();
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    assert.deepEqual(podman.mutations(), []);
    assert.equal(webPod()?.id, id);
  });

  it('a Deployment runs as <name>-pod-0 and is replaced on change', async () => {
    const deployment = (image: string): string =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\nspec:\n  template:\n    spec:\n      containers:\n        - name: main\n          image: ${image}\n`;
    show({ 'api.yaml': deployment('busybox') });
    await reconcile();
    const first = podman.podByName('api-pod-0');
    assert.ok(first);
    assert.equal(first.labels[UNIT_LABEL], 'Deployment/api');
    show({ 'api.yaml': deployment('busybox:1.36') });
    await reconcile();
    const second = podman.podByName('api-pod-0');
    assert.ok(second);
    assert.notEqual(second.id, first.id);
    assert.equal(podman.pods.size, 1);
  });

  it('cannot list pods: no action, and it tries again on the next pass', async () => {
    podman.failNext('listPods', new Error('cannot connect to podman'));
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    assert.deepEqual(podman.mutations(), []);
    await reconcile();
    assert.ok(webPod());
  });

  it('garbage from podman (pods without labels) is treated as unmanaged, not crashed on', async () => {
    podman.returnNext('listPods', [{ id: 'x', name: 'x', status: '???', labels: {}, created: '', containers: [] }]);
    show({ 'web.yaml': podYaml('web') });
    await reconcile();
    assert.ok(webPod());
  });

  describe('secrets', () => {
    const withSecret = (name: string, image = 'busybox'): string =>
      `apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  password: hunter2\n---\n${podYaml(name, { image })}`;
    const API_FILE = `${DIR}/api.yaml`;

    it('a Secret named like a podman secret the runner did not create: refused with the file named, that secret untouched, other units played', async () => {
      const theirs = podman.addSecret('creds');
      show({ 'web.yaml': withSecret('web'), 'api.yaml': podYaml('api') });
      await reconcile();
      assert.equal(podman.secrets.get('creds'), theirs);
      assert.deepEqual(podman.callsOf('removeSecret'), []);
      assert.deepEqual(
        podman.callsOf('playKube').map((call) => String(call.args[0]).includes('name: api')),
        [true],
      );
      assert.ok(podman.podByName('api'));
      assert.equal(webPod(), undefined);
      const failure = reconciler.view().failures.get(`${WEB_FILE}#Pod/web`);
      assert.match(
        failure?.message ?? '',
        new RegExp(
          `^podman already has secret "creds", not created by the runner: playing ${WEB_FILE} would replace it, so the runner refuses`,
        ),
      );
      assert.equal(store.get(`${API_FILE}#Pod/api`)?.name, 'api');
    });

    it('its own secret is replaced on every play and pinned by its new ID', async () => {
      show({ 'web.yaml': withSecret('web') });
      await reconcile();
      const first = podman.secrets.get('creds')!;
      assert.ok(first);
      assert.ok(secrets.owns('creds', first));
      show({ 'web.yaml': withSecret('web', 'busybox:1.36') });
      await reconcile();
      const second = podman.secrets.get('creds')!;
      assert.notEqual(second, first);
      assert.equal(podman.callsOf('removeSecret').length, 2);
      assert.ok(secrets.owns('creds', second));
      assert.ok(!secrets.owns('creds', first));
      const reloaded = new OwnedSecrets(stateDir);
      assert.deepEqual(await reloaded.load([]), { adopted: [] });
      assert.ok(reloaded.owns('creds', second));
    });

    it('a replace refused because someone recreated the secret leaves the running pod alone', async () => {
      show({ 'web.yaml': withSecret('web') });
      await reconcile();
      const running = webPod()!.id;
      await podman.removeSecret('creds');
      const theirs = podman.addSecret('creds');
      podman.clearCalls();
      show({ 'web.yaml': withSecret('web', 'busybox:1.36') });
      await reconcile();
      assert.deepEqual(podman.mutations(), []);
      assert.equal(webPod()?.id, running);
      assert.equal(podman.secrets.get('creds'), theirs);
      assert.match(reconciler.view().failures.get(`${WEB_FILE}#Pod/web`)?.message ?? '', /not created by the runner/);
    });
  });
});
