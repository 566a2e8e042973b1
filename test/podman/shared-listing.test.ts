import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PodmanContainer } from '../../src/podman/podman.ts';
import { podsFromContainers, podStatus, SharedListing } from '../../src/podman/shared-listing.ts';
import { keeperName, KEEPER_LABEL } from '../../src/shared/infra-keeper.ts';
import { FakeClock, flushMicrotasks } from '../helpers/fake-clock.ts';
import { PodmanError } from '../../src/podman/podman-error.ts';
import { FakePodman } from './fake-podman.ts';

const LABELS = {
  'static-pod-runner/managed': 'true',
  'static-pod-runner/source': '/etc/runner/manifests/web.yaml',
  'static-pod-runner/unit': 'Pod/web',
  'static-pod-runner/hash': 'abc',
};

const webYaml = (name: string): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: ${name}\n  labels:\n${Object.entries({
    ...LABELS,
    'static-pod-runner/unit': `Pod/${name}`,
  })
    .map(([key, value]) => `    ${key}: "${value}"`)
    .join('\n')}\nspec:\n  containers:\n  - name: app\n    image: busybox\n  - name: side\n    image: busybox\n`;

const setup = async (): Promise<{ fake: FakePodman; clock: FakeClock; shared: SharedListing }> => {
  const fake = new FakePodman();
  const clock = new FakeClock();
  fake.now = () => clock.now();
  await fake.playKube(webYaml('web'));
  await fake.playKube(webYaml('db'));
  fake.clearCalls();
  return { fake, clock, shared: new SharedListing(fake, clock) };
};

const container = (fields: Partial<PodmanContainer> & { id: string }): PodmanContainer => ({
  name: fields.id,
  podId: 'p1',
  podName: 'web',
  isInfra: false,
  imageId: 'i',
  state: 'running',
  exitCode: 0,
  startedAt: undefined,
  exitedAt: undefined,
  labels: {},
  ...fields,
});

describe('SharedListing', () => {
  it('derives the pods `pod ps` reports from one `ps --all --pod`', async () => {
    const { fake, shared } = await setup();
    const expected = await fake.listPods();
    fake.clearCalls();
    const pods = await shared.listPods();
    assert.deepEqual(
      fake.calls.map((call) => call.method),
      ['listContainers'],
      'one listing, no `pod ps`',
    );
    const shape = (pod: {
      id: string;
      name: string;
      status: string;
      labels: Record<string, string>;
      containers: { name: string; status: string }[];
    }) => ({
      id: pod.id,
      name: pod.name,
      status: pod.status,
      labels: pod.labels,
      containers: pod.containers
        .map((item) => `${item.name}:${item.status}`)
        .filter((item) => !item.includes('-infra')),
    });
    assert.deepEqual(pods.map(shape), expected.map(shape));
  });

  it("answers the supervisor's look after a pass from the pass's listing, while nothing has changed", async () => {
    const { fake, shared } = await setup();
    await shared.listPods(); // the reconciler's pass
    const containers = await shared.listContainers(); // the supervisor, told the desired units
    assert.equal(fake.callsOf('listContainers').length, 1);
    assert.equal(containers.filter((item) => !item.isInfra).length, 4);
  });

  it('joins a listing in flight', async () => {
    const { fake, shared } = await setup();
    const gate = fake.answerLate('listContainers');
    const first = shared.listPods();
    const second = shared.listContainers();
    await flushMicrotasks();
    gate.release();
    await Promise.all([first, second]);
    assert.equal(fake.callsOf('listContainers').length, 1);
  });

  it('lists again once a mutating call has ended, an event has arrived, or the listing is old', async () => {
    const { fake, clock, shared } = await setup();
    const [target] = (await shared.listContainers()).filter((item) => !item.isInfra);
    await shared.stopContainer(target!.id, 1);
    const after = await shared.listContainers();
    assert.equal(fake.callsOf('listContainers').length, 2, 'a stop ended after the first listing began');
    assert.equal(after.find((item) => item.id === target!.id)?.state, 'exited');

    const stream = new AbortController();
    const iterator = shared.streamEvents({ signal: stream.signal })[Symbol.asyncIterator]();
    const next = iterator.next();
    await flushMicrotasks();
    fake.emitEvent({
      type: 'pod',
      status: 'stop',
      id: fake.podByName('web')!.id,
      name: 'web',
      time: clock.now(),
      exitCode: undefined,
      podId: undefined,
      attributes: {},
    });
    await next;
    await shared.listContainers();
    assert.equal(fake.callsOf('listContainers').length, 3, 'an event arrived after the second listing began');
    stream.abort();

    await shared.listContainers();
    assert.equal(fake.callsOf('listContainers').length, 3, 'nothing happened: reused');
    await clock.advance(2_001);
    await shared.listContainers();
    assert.equal(fake.callsOf('listContainers').length, 4, 'a timed look always lists');
  });

  it('gives each caller its own copy (the supervisor marks containers exited on a died event)', async () => {
    const { shared } = await setup();
    const first = await shared.listContainers();
    first[0]!.state = 'exited';
    const second = await shared.listContainers();
    assert.notEqual(second[0]!.state, 'exited');
  });

  it('does not hand a failed listing to the next caller', async () => {
    const { fake, shared } = await setup();
    fake.failNext('listContainers', new Error('podman is busy'));
    await assert.rejects(shared.listPods(), /podman is busy/);
    assert.equal((await shared.listPods()).length, 2);
    assert.equal(fake.callsOf('listContainers').length, 2);
  });

  it('asks for the labels of a pod whose containers carry none, once while it exists', async () => {
    const { fake, shared } = await setup();
    const web = fake.podByName('web')!;
    // Both app containers removed by hand (`podman rm -f`): only the infra and a keeper are left.
    const keeperId = await fake.runPauseContainer(web.id, keeperName('web'), 'pause', { [KEEPER_LABEL]: 'true' });
    web.containers = web.containers.filter((item) => item.id === keeperId);
    fake.addPod({
      name: 'someone-else',
      labels: {},
      containers: [{ id: 'c'.repeat(64), name: 'someone-else-main', status: 'running' }],
    });
    fake.clearCalls();
    const pods = await shared.listPods();
    assert.deepEqual(
      pods.find((pod) => pod.name === 'web')?.labels,
      { ...LABELS, 'static-pod-runner/unit': 'Pod/web' },
      'still the runner’s pod: its container was removed',
    );
    assert.deepEqual(pods.find((pod) => pod.name === 'someone-else')?.labels, {});
    assert.deepEqual(
      fake
        .callsOf('podLabels')
        .map((call) => call.args[0])
        .sort(),
      [web.id, fake.podByName('someone-else')!.id].sort(),
    );
    shared.noteChange();
    await shared.listPods();
    assert.equal(fake.callsOf('podLabels').length, 2, 'pod labels never change: asked once');
  });
  it('a pod gone by the time its labels are asked is no pod; another failure fails the list', async () => {
    const { fake, shared } = await setup();
    const web = fake.podByName('web')!;
    web.containers = []; // being removed: the infra is left
    fake.failNext(
      'podLabels',
      new PodmanError({
        args: ['pod', 'inspect'],
        exitCode: 125,
        stderr: `Error: no pod with name or ID ${web.id} found: no such pod`,
        timedOut: false,
        message: 'podman pod inspect exited with 125',
      }),
    );
    const pods = await shared.listPods();
    assert.equal(
      pods.find((pod) => pod.name === 'web'),
      undefined,
      'not listed as a pod of no one',
    );
    shared.noteChange();
    fake.failNext('podLabels', new Error('podman is busy'));
    await assert.rejects(shared.listPods(), /podman is busy/);
  });
});

describe("SharedListing.concerns: which events are about the runner's own pods", () => {
  it("its pods' containers, infra containers, keepers and pods; not another runner's, nor anyone else's", async () => {
    const fake = new FakePodman();
    const clock = new FakeClock();
    await fake.playKube(webYaml('web'));
    const other = fake.addPod({
      id: 'ab'.repeat(32),
      name: 'other',
      labels: {
        ...LABELS,
        'static-pod-runner/source': '/srv/another-runner/web.yaml',
        'static-pod-runner/unit': 'Pod/other',
      },
      containers: [{ id: 'd'.repeat(64), name: 'other-main', status: 'running' }],
    });
    const owns = (labels: Readonly<Record<string, string>>): boolean =>
      labels['static-pod-runner/source']?.startsWith('/etc/runner/manifests/') ?? false;
    const shared = new SharedListing(fake, clock, owns);
    const web = fake.podByName('web')!;
    const event = (fields: {
      type: string;
      status: string;
      id: string;
      name: string;
      attributes?: Record<string, string>;
      podId?: string;
    }) => ({ time: clock.now(), exitCode: undefined, podId: undefined, attributes: {}, ...fields });
    const webDied = event({
      type: 'container',
      status: 'died',
      id: web.containers[0]!.id,
      name: web.containers[0]!.name,
      attributes: { ...web.labels },
    });
    const infraDied = event({
      type: 'container',
      status: 'died',
      id: 'e'.repeat(64),
      name: `${web.id.slice(0, 12)}-infra`,
    });
    const keeperDied = event({
      type: 'container',
      status: 'died',
      id: 'f'.repeat(64),
      name: keeperName('web'),
      attributes: { [KEEPER_LABEL]: 'true' },
    });
    const podStopped = event({ type: 'pod', status: 'stop', id: web.id, name: 'web' });
    assert.equal(shared.concerns(webDied), true, 'its labels say so, before any listing');
    assert.equal(shared.concerns(podStopped), false, 'an unknown pod before the first listing');
    await shared.listContainers();
    for (const known of [webDied, infraDied, keeperDied, podStopped])
      assert.equal(shared.concerns(known), true, `${known.type} ${known.name}`);
    const foreign = [
      event({
        type: 'container',
        status: 'died',
        id: other.containers[0]!.id,
        name: 'other-main',
        attributes: { ...other.labels },
      }),
      event({ type: 'container', status: 'died', id: 'a'.repeat(64), name: `${other.id.slice(0, 12)}-infra` }),
      event({ type: 'container', status: 'died', id: 'b'.repeat(64), name: keeperName('other') }),
      event({ type: 'pod', status: 'stop', id: other.id, name: 'other' }),
      event({ type: 'container', status: 'died', id: 'c'.repeat(64), name: 'adhoc', attributes: {} }),
    ];
    for (const item of foreign) assert.equal(shared.concerns(item), false, `${item.type} ${item.name}`);
    assert.equal(
      shared.concerns(event({ type: 'image', status: 'load', id: 'i', name: 'busybox' })),
      true,
      'image events are passed on',
    );
  });
});

describe('podsFromContainers', () => {
  it('takes labels from an app container, never from the infra or a keeper', () => {
    const [pod] = podsFromContainers([
      container({ id: 'infra', isInfra: true, labels: { 'io.buildah.version': '1.28.2' } }),
      container({ id: 'keeper', name: keeperName('web'), labels: { [KEEPER_LABEL]: 'true' } }),
      container({ id: 'app', name: 'web-app', labels: LABELS, createdAt: Date.UTC(2026, 0, 1, 0, 0, 5) }),
    ]);
    assert.deepEqual(pod!.labels, LABELS);
    assert.equal(pod!.created, '2026-01-01T00:00:05.000Z');
    assert.equal(pod!.name, 'web');
  });

  it('leaves the labels unknown when only the infra and a keeper are left', () => {
    const [pod] = podsFromContainers([
      container({ id: 'infra', isInfra: true, labels: { 'io.buildah.version': '1' } }),
      container({ id: 'keeper', name: keeperName('web'), labels: { [KEEPER_LABEL]: 'true' } }),
    ]);
    assert.equal(pod!.labels, undefined);
  });

  it('skips containers outside any pod', () => {
    assert.deepEqual(podsFromContainers([container({ id: 'alone', podId: '' })]), []);
  });
});

describe('podStatus (libpod createPodStatusResults)', () => {
  const cases: [string[], string][] = [
    [[], 'Created'],
    [['running', 'running'], 'Running'],
    [['running', 'exited'], 'Degraded'],
    [['paused', 'paused'], 'Paused'],
    [['exited', 'stopped'], 'Exited'],
    [['exited', 'created'], 'Stopped'],
    [['created', 'configured'], 'Created'],
    [['created', 'removing'], 'Error'],
    [['paused', 'created'], 'Created'],
  ];
  for (const [states, status] of cases) {
    it(`${JSON.stringify(states)} → ${status}`, () => assert.equal(podStatus(states), status));
  }
});
