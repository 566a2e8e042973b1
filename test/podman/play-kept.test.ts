import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeeperImage, needsKeeperFirst, playKept } from '../../src/podman/play-kept.ts';
import { isKeeper, KEEPER_LABEL } from '../../src/shared/infra-keeper.ts';
import { podYaml } from '../helpers/units.ts';
import { FakePodman, PAUSE_IMAGE_ID, playError } from './fake-podman.ts';

describe('playKept: a pod gets its infra keeper before its containers start', () => {
  it('plays stopped, makes the keeper from the infra image, then starts the pod', async () => {
    const podman = new FakePodman();
    const appStates: string[] = [];
    const run = podman.runPauseContainer.bind(podman);
    podman.runPauseContainer = async (podId, name, image, labels, options) => {
      // What runs in the pod while its keeper is made: nothing of the app.
      appStates.push(
        ...(await podman.listContainers())
          .filter((container) => container.podId === podId && !container.isInfra)
          .map((container) => container.state),
      );
      return run(podId, name, image, labels, options);
    };
    const { podIds } = await playKept(podman, podYaml('web'), {});
    const podId = podIds[0]!;
    assert.deepEqual(
      podman.mutations().map((call) => call.method),
      ['playKube', 'runPauseContainer', 'startPod'],
    );
    assert.deepEqual(podman.callsOf('playKube')[0]?.args[1], { start: false });
    assert.deepEqual(podman.callsOf('runPauseContainer')[0]?.args, [
      podId,
      'web-runner_keeper',
      PAUSE_IMAGE_ID,
      { [KEEPER_LABEL]: 'true' },
    ]);
    assert.deepEqual(appStates, ['created']);
    // An app that dies at once leaves the pod up: podman's exit policy has the keeper to count.
    const app = (await podman.listContainers()).find((container) => container.name === 'web-main')!;
    podman.exitContainer(app.id, 1);
    const after = (await podman.listContainers()).filter((container) => container.podId === podId);
    assert.equal(after.find((container) => isKeeper(container.name))?.state, 'running');
    assert.equal(podman.podByName('web')?.status, 'Degraded');
  });

  it('a keeper that cannot be made does not fail the play: the pod is started anyway', async () => {
    const podman = new FakePodman();
    podman.failNext('runPauseContainer', new Error('no pause image'));
    const { podIds } = await playKept(podman, podYaml('web'), {});
    assert.deepEqual(
      podman.mutations().map((call) => call.method),
      ['playKube', 'runPauseContainer', 'startPod'],
    );
    assert.equal(podman.podByName('web')?.id, podIds[0]);
    assert.equal(podman.podByName('web')?.status, 'Running');
  });

  it('an infra with no image (podman 5.5+ runs it from a rootfs) gets no keeper', async () => {
    const podman = new FakePodman();
    podman.returnNext('podInfra', { podName: 'web', image: '' });
    await playKept(podman, podYaml('web'), {});
    assert.deepEqual(
      podman.mutations().map((call) => call.method),
      ['playKube', 'startPod'],
    );
  });

  it("a failed start is the play's failure", async () => {
    const podman = new FakePodman();
    podman.failNext('startPod', new Error('starting container: netavark'));
    await assert.rejects(playKept(podman, podYaml('web'), {}), /netavark/);
  });
  it('with the pod name known and the image learned, a play is three podman calls: no inspect', async () => {
    const podman = new FakePodman();
    const keeperImage = new KeeperImage();
    await playKept(podman, podYaml('web'), {}, { podName: 'web', keeperImage });
    assert.equal(podman.callsOf('podInfra').length, 1, 'the first play learns the image');
    assert.equal(keeperImage.get(), PAUSE_IMAGE_ID);
    podman.clearCalls();
    await playKept(podman, podYaml('db'), {}, { podName: 'db', keeperImage });
    assert.deepEqual(
      podman.calls.map((call) => call.method),
      ['playKube', 'runPauseContainer', 'startPod'],
    );
    assert.deepEqual(podman.callsOf('runPauseContainer')[0]?.args.slice(1, 3), ['db-runner_keeper', PAUSE_IMAGE_ID]);
    assert.equal(podman.podByName('db')?.status, 'Running');
  });

  it('a pod whose name the manifest does not fix (a Deployment) is inspected for it', async () => {
    const podman = new FakePodman();
    const keeperImage = new KeeperImage();
    keeperImage.learn(PAUSE_IMAGE_ID);
    await playKept(podman, podYaml('web'), {}, { keeperImage });
    assert.equal(podman.callsOf('podInfra').length, 1);
    assert.equal(podman.callsOf('runPauseContainer')[0]?.args[1], 'web-runner_keeper');
  });

  it('a learned image podman no longer has is forgotten and learned again from the pod', async () => {
    const podman = new FakePodman();
    const keeperImage = new KeeperImage();
    keeperImage.learn('0'.repeat(64));
    podman.failNext('runPauseContainer', new Error('0000: image not known'), {
      when: (args) => args[2] === '0'.repeat(64),
    });
    await playKept(podman, podYaml('web'), {}, { podName: 'web', keeperImage });
    assert.deepEqual(
      podman.calls.map((call) => call.method),
      ['playKube', 'runPauseContainer', 'podInfra', 'runPauseContainer', 'startPod'],
    );
    assert.equal(keeperImage.get(), PAUSE_IMAGE_ID);
    assert.equal(podman.podByName('web')?.status, 'Running');
  });

  describe('with the image learned and the keeper in the YAML (src/reconciler/keeper-in-yaml.ts)', () => {
    const keptYaml = (image: string): string => `${podYaml('web')}# keeper ${image}\n`;

    it('one kube play, started at once: no play stopped, no run, no start', async () => {
      const podman = new FakePodman();
      const keeperImage = new KeeperImage();
      keeperImage.learn(PAUSE_IMAGE_ID);
      const { podIds } = await playKept(
        podman,
        podYaml('web'),
        {},
        { podName: 'web', keeperImage, withKeeper: keptYaml },
      );
      assert.deepEqual(
        podman.calls.map((call) => [call.method, call.args]),
        [['playKube', [keptYaml(PAUSE_IMAGE_ID)]]],
      );
      assert.equal(podman.podByName('web')?.id, podIds[0]);
      assert.equal(podman.podByName('web')?.status, 'Running');
    });

    it('a YAML the keeper cannot be put in is played the keeper-first way', async () => {
      const podman = new FakePodman();
      const keeperImage = new KeeperImage();
      keeperImage.learn(PAUSE_IMAGE_ID);
      await playKept(podman, podYaml('web'), {}, { podName: 'web', keeperImage, withKeeper: () => undefined });
      assert.deepEqual(
        podman.calls.map((call) => call.method),
        ['playKube', 'runPauseContainer', 'startPod'],
      );
    });

    it('a failed play whose keeper image is gone: forgotten, the leftovers removed, played the keeper-first way', async () => {
      const podman = new FakePodman();
      const keeperImage = new KeeperImage();
      const gone = '0'.repeat(64);
      keeperImage.learn(gone);
      podman.failNext('playKube', playError(`${gone}: image not known`));
      podman.returnNext('imageExists', false);
      let removed = 0;
      const removeLeftovers = (): Promise<void> => {
        removed += 1;
        return Promise.resolve();
      };
      await playKept(
        podman,
        podYaml('web'),
        {},
        { podName: 'web', keeperImage, withKeeper: keptYaml, removeLeftovers },
      );
      assert.deepEqual(
        podman.calls.map((call) => call.method),
        ['playKube', 'imageExists', 'playKube', 'podInfra', 'runPauseContainer', 'startPod'],
      );
      assert.deepEqual(podman.callsOf('imageExists')[0]?.args, [gone]);
      assert.equal(removed, 1);
      assert.equal(keeperImage.get(), PAUSE_IMAGE_ID, 'learned again from the pod');
      assert.equal(podman.podByName('web')?.status, 'Running');
    });

    it("any other failed play is the play's failure, not tried again", async () => {
      const podman = new FakePodman();
      const keeperImage = new KeeperImage();
      keeperImage.learn(PAUSE_IMAGE_ID);
      podman.failNext('playKube', playError('failed to start 1 containers'));
      await assert.rejects(
        playKept(podman, podYaml('web'), {}, { podName: 'web', keeperImage, withKeeper: keptYaml }),
        /failed to start/,
      );
      assert.deepEqual(
        podman.calls.map((call) => call.method),
        ['playKube', 'imageExists'],
      );
      assert.equal(keeperImage.get(), PAUSE_IMAGE_ID);
    });
  });
});

describe('needsKeeperFirst: which podman gets the keeper before its pods start', () => {
  it('4.3 and older do not (no exit-policy hang there); every later or unknown version does', () => {
    const versions = ['3.4.4', '4.3.1', '4.3.0-dev', '4.4.0', '4.9.3', '5.4.2', '6.0.0', 'unknown', ''];
    assert.deepEqual(
      versions.map((version) => [version, needsKeeperFirst(version)]),
      [
        ['3.4.4', false],
        ['4.3.1', false],
        ['4.3.0-dev', false],
        ['4.4.0', true],
        ['4.9.3', true],
        ['5.4.2', true],
        ['6.0.0', true],
        ['unknown', true],
        ['', true],
      ],
    );
  });
});
