import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DesiredUnit } from '../../src/desired/desired-unit.ts';
import type { ObservedPod } from '../../src/reconciler/observed-pods.ts';
import { planActions, type Action } from '../../src/reconciler/plan-actions.ts';
import { podYaml, unitOf } from '../helpers/units.ts';

const DIR = '/etc/runner/manifests';
const WEB = unitOf(`${DIR}/web.yaml`, podYaml('web'));
const WEB_NEVER = unitOf(`${DIR}/web.yaml`, podYaml('web', { restartPolicy: 'Never' }));
const WEB_ONFAILURE = unitOf(`${DIR}/web.yaml`, podYaml('web', { restartPolicy: 'OnFailure' }));
const API = unitOf(`${DIR}/api.yaml`, podYaml('api'));

let ids = 0;
/** The pod podman would report for `unit` (its labels already decoded, as observePods does). */
const podOf = (unit: DesiredUnit, over: Partial<ObservedPod> = {}): ObservedPod => {
  ids += 1;
  return {
    id: `pod${ids}`,
    name: unit.podName ?? `${unit.name}-pod-0`,
    status: 'Running',
    labels: {},
    created: `2026-01-01T00:00:${String(ids % 60).padStart(2, '0')}Z`,
    containers: unit.containers.map((container, index) => ({
      id: `c${ids}-${index}`,
      name: `${unit.podName ?? `${unit.name}-pod-0`}-${container.name}`,
      status: 'running',
    })),
    key: unit.key,
    hash: unit.hash,
    ...over,
  };
};
const unmanaged = (name: string, over: Partial<ObservedPod> = {}): ObservedPod => {
  ids += 1;
  return {
    id: `other${ids}`,
    name,
    status: 'Running',
    labels: { app: name },
    created: '2026-01-01T00:00:00Z',
    containers: [],
    ...over,
  };
};

const plan = (desired: DesiredUnit[], observed: ObservedPod[], heldFiles: string[] = []): Action[] =>
  planActions({ desired, observed, heldFiles: new Set(heldFiles), stopTimeoutFor: () => 7 });

/** Actions reduced to what matters for the tables: type, key and pod ids. */
const summary = (actions: Action[]): [string, string, string[]][] =>
  actions.map((action) => [
    action.type,
    action.key,
    action.type === 'replace' || action.type === 'remove' ? action.podIds : [],
  ]);

describe('planActions', () => {
  it('creates a unit that has no pod', () => {
    assert.deepEqual(summary(plan([WEB], [])), [['create', WEB.key, []]]);
  });

  it('does nothing when the hash matches and the pod runs', () => {
    assert.deepEqual(plan([WEB], [podOf(WEB)]), []);
  });

  it('does nothing when nothing is desired or observed', () => {
    assert.deepEqual(plan([], []), []);
  });

  it('replaces a pod whose hash differs', () => {
    const old = podOf(WEB, { hash: 'old' });
    const actions = plan([WEB], [old]);
    assert.deepEqual(summary(actions), [['replace', WEB.key, [old.id]]]);
    assert.equal(actions[0]?.type === 'replace' && actions[0].reason, 'spec changed');
  });

  it('replaces a pod without a hash label', () => {
    const old = podOf(WEB, { hash: undefined });
    assert.deepEqual(summary(plan([WEB], [old])), [['replace', WEB.key, [old.id]]]);
  });

  // [status, restartPolicy unit, expected action type or none]. Stopped and
  // exited pods are the supervisor's (it restarts containers with backoff).
  const states: [string, DesiredUnit, string | undefined][] = [
    ['Running', WEB, undefined],
    ['Degraded', WEB, undefined],
    ['Created', WEB, 'replace'],
    ['Error', WEB, 'replace'],
    ['Created', WEB_NEVER, 'replace'],
    ['Stopped', WEB, undefined],
    ['Exited', WEB, undefined],
    ['Stopped', WEB_NEVER, undefined],
    ['Exited', WEB_NEVER, undefined],
    ['Exited', WEB_ONFAILURE, undefined],
    ['Paused', WEB, undefined],
  ];
  for (const [status, unit, expected] of states) {
    it(`a ${status} pod with restartPolicy ${unit.restartPolicy}: ${expected ?? 'nothing'}`, () => {
      const pod = podOf(unit, { status });
      const actions = plan([unit], [pod]);
      assert.deepEqual(summary(actions), expected ? [[expected, unit.key, [pod.id]]] : []);
    });
  }

  // After a power cut: podman 4.3 shows what it lost Created (re-created,
  // as lost), podman 5 Exited with every container exited (whole: the
  // supervisor starts the containers in place, as HostRebooted).
  const powerCut: [string, string, string, string | undefined][] = [
    ['4.3', 'Created', 'created', 'replace'],
    ['5.x', 'Exited', 'exited', undefined],
  ];
  for (const [version, status, containerStatus, expected] of powerCut) {
    it(`after a power cut on podman ${version} (pod ${status}, containers ${containerStatus}): ${expected ?? 'nothing'} for every restartPolicy`, () => {
      for (const unit of [WEB, WEB_ONFAILURE, WEB_NEVER]) {
        const pod = podOf(unit, { status });
        pod.containers = pod.containers.map((container) => ({ ...container, status: containerStatus }));
        const actions = planActions({
          desired: [unit],
          observed: [pod],
          heldFiles: new Set(),
          stopTimeoutFor: () => 7,
          seenHash: () => unit.hash,
        });
        assert.deepEqual(summary(actions), expected ? [[expected, unit.key, [pod.id]]] : [], unit.restartPolicy);
        if (expected) assert.equal(actions[0] && 'recovers' in actions[0] ? actions[0].recovers : undefined, 'lost');
      }
    });
  }

  it('removes the pods of a unit no longer desired, with the stop timeout it was applied with', () => {
    const orphan = podOf(API);
    const actions = plan([WEB], [podOf(WEB), orphan]);
    assert.deepEqual(summary(actions), [['remove', API.key, [orphan.id]]]);
    const [remove] = actions;
    assert.ok(remove?.type === 'remove');
    assert.equal(remove.stopTimeoutSeconds, 7);
    assert.deepEqual(remove.podNames, ['api']);
    assert.equal(remove.reason, 'manifest removed');
  });

  it('keeps the pods of a held file', () => {
    assert.deepEqual(plan([], [podOf(API)], [API.file]), []);
  });

  it('never acts on unmanaged pods', () => {
    const pods = [unmanaged('db'), unmanaged('cache', { status: 'Exited' }), unmanaged('half', { status: 'Created' })];
    assert.deepEqual(plan([WEB], [podOf(WEB), ...pods]), []);
    assert.deepEqual(plan([], pods), []);
  });

  it('is blocked when an unmanaged pod has the name, and leaves that pod alone', () => {
    const squatter = unmanaged('web');
    const actions = plan([WEB], [squatter]);
    assert.deepEqual(summary(actions), [['blocked', WEB.key, []]]);
    assert.match(actions[0]?.type === 'blocked' ? actions[0].reason : '', /does not manage/);
  });

  it('is blocked when another desired unit owns a pod of that name', () => {
    const other = unitOf(`${DIR}/other.yaml`, podYaml('web'));
    const actions = plan([WEB, other], [podOf(other)]);
    assert.deepEqual(summary(actions), [['blocked', WEB.key, []]]);
    assert.match(
      actions[0]?.type === 'blocked' ? actions[0].reason : '',
      /belongs to \/etc\/runner\/manifests\/other\.yaml/,
    );
  });

  it('a pod that moved to another file is replaced with the old pod ids, not removed separately', () => {
    const before = unitOf(`${DIR}/old.yaml`, podYaml('web'));
    const oldPod = podOf(before);
    const actions = plan([WEB], [oldPod]);
    assert.deepEqual(summary(actions), [['replace', WEB.key, [oldPod.id]]]);
    assert.match(
      actions[0]?.type === 'replace' ? actions[0].reason : '',
      /moved from \/etc\/runner\/manifests\/old\.yaml/,
    );
  });

  it('a pod whose old file is held has not moved: blocked, not replaced', () => {
    const before = unitOf(`${DIR}/old.yaml`, podYaml('web'));
    assert.deepEqual(summary(plan([WEB], [podOf(before)], [before.file])), [['blocked', WEB.key, []]]);
  });

  it('duplicates: removes the extras and keeps the running one', () => {
    const exited = podOf(WEB, { status: 'Exited', created: '2026-01-01T00:00:01Z' });
    const running = podOf(WEB, { status: 'Running', created: '2026-01-01T00:00:05Z' });
    const created = podOf(WEB, { status: 'Created', created: '2026-01-01T00:00:09Z' });
    const actions = plan([WEB], [exited, running, created]);
    assert.deepEqual(summary(actions), [['remove', WEB.key, [exited.id, created.id]]]);
    assert.equal(actions[0]?.type === 'remove' && actions[0].reason, 'duplicate pod');
  });

  it('duplicates, all running: keeps the oldest', () => {
    const newer = podOf(WEB, { created: '2026-01-01T00:00:09Z' });
    const older = podOf(WEB, { created: '2026-01-01T00:00:01Z' });
    assert.deepEqual(summary(plan([WEB], [newer, older])), [['remove', WEB.key, [newer.id]]]);
  });

  it('duplicates with a stale hash: one replace for all of them', () => {
    const a = podOf(WEB);
    const b = podOf(WEB, { hash: 'old' });
    assert.deepEqual(summary(plan([WEB], [a, b])), [['replace', WEB.key, [a.id, b.id]]]);
  });

  it('plans at most one action per unit key', () => {
    const pods = [podOf(WEB, { hash: 'old' }), podOf(API, { status: 'Exited' }), unmanaged('x')];
    const actions = plan([WEB, API], pods);
    assert.equal(new Set(actions.map((action) => action.key)).size, actions.length);
    assert.deepEqual(actions.map((action) => action.type).sort(), ['replace']);
  });

  it('re-creates a pod one of whose containers was removed by hand', () => {
    const pod = podOf(WEB, { containers: [] });
    assert.deepEqual(summary(plan([WEB], [pod])), [['replace', WEB.key, [pod.id]]]);
  });

  describe('which actions bring back a pod that ran this spec (counted as restarts)', () => {
    const recovery = (actions: Action[]): (string | undefined)[] =>
      actions.map((action) => ('recovers' in action ? action.recovers : undefined));
    const seen = (hash: string | undefined) => (key: string) => (key === WEB.key ? hash : undefined);
    const cases: {
      what: string;
      observed: () => ObservedPod[];
      seenHash: string | undefined;
      expected: string | undefined;
    }[] = [
      {
        what: 'the pod was removed after the runner saw it run this spec',
        observed: () => [],
        seenHash: WEB.hash,
        expected: 'removed',
      },
      {
        what: 'the runner never saw the pod (first start, or removed while it was down)',
        observed: () => [],
        seenHash: undefined,
        expected: undefined,
      },
      {
        what: 'the runner last saw another spec (an edit while it was gone)',
        observed: () => [],
        seenHash: 'older',
        expected: undefined,
      },
      {
        what: 'a container was removed by hand',
        observed: () => [podOf(WEB, { containers: [] })],
        seenHash: WEB.hash,
        expected: 'removed',
      },
      {
        what: 'podman kept only a Created pod (a power cut)',
        observed: () => [podOf(WEB, { status: 'Created' })],
        seenHash: WEB.hash,
        expected: 'lost',
      },
      { what: 'the spec changed', observed: () => [podOf(WEB, { hash: 'old' })], seenHash: 'old', expected: undefined },
    ];
    for (const { what, observed, seenHash, expected } of cases) {
      it(`${what}: ${expected ?? 'not a recovery'}`, () => {
        const actions = planActions({
          desired: [WEB],
          observed: observed(),
          heldFiles: new Set(),
          stopTimeoutFor: () => 7,
          seenHash: seen(seenHash),
        });
        assert.equal(actions.length, 1);
        assert.deepEqual(recovery(actions), [expected]);
      });
    }
  });
});
