import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import {
  classifyPodmanStderr,
  PodmanError,
  podmanErrorKind,
  podmanErrorText,
  type PodmanErrorKind,
} from '../../src/podman/podman-error.ts';

const fixture = (name: string): string =>
  readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'podman-stderr', name), 'utf8');

/**
 * podman's stderr as printed. "4.3.1, seen": captured from Debian 12's podman
 * here. "5.4.2, source": composed from podman 5.4.2's source (the format
 * strings named beside each case), since no podman 5 runs on this host.
 */
const CASES: { what: string; stderr: string; kind: PodmanErrorKind; cause: RegExp }[] = [
  {
    what: '4.3.1, seen: kube play with CNI and no iptables on PATH (failed to start 3 containers)',
    stderr: fixture('podman-4.3-play-cni-no-iptables.txt'),
    kind: 'network-setup',
    cause:
      /^container 8a8f0db35de2: plugin type="bridge" failed \(add\): cni plugin bridge failed: failed to locate iptables/,
  },
  {
    what: '5.4.2, source (cmd/podman/kube/play.go ContainerErrors; netavark error from issue 14): netavark without iptables',
    stderr: fixture('podman-5.4-play-netavark-no-iptables.txt'),
    kind: 'network-setup',
    cause: /^container 5d3e9b1c0a2f: netavark: No such file or directory \(os error 2\)$/,
  },
  {
    what: '5.4.2, source (libnetwork/netavark/exec.go, info log level): netavark with its exit code',
    stderr:
      'starting container 5d3e9b1c0a2f4e6d8c7b9a0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445: netavark (exit code 1): iptables: Permission denied\nError: failed to start 1 containers\n',
    kind: 'network-setup',
    cause: /netavark \(exit code 1\): iptables: Permission denied/,
  },
  {
    what: "4.3.1, seen: pod start (src/podman/play-kept.ts) with CNI and no iptables on PATH: each start error an Error: line, the pod mate's echo left out",
    stderr:
      'Error: starting container d2b8d599e469e81234c206bce06700c163c73f731746c922a099becd78c022a5: plugin type="bridge" failed (add): cni plugin bridge failed: failed to locate iptables: exec: "iptables": executable file not found in $PATH\nError: starting container 3c30bad6b5a3eb86e9542e05ddc7afb308b5ca9067f9c600697e1ef343c65761: a dependency of container 3c30bad6b5a3eb86e9542e05ddc7afb308b5ca9067f9c600697e1ef343c65761 failed to start: container state improper\n',
    kind: 'network-setup',
    cause:
      /^container d2b8d599e469: plugin type="bridge" failed \(add\): cni plugin bridge failed: failed to locate iptables: exec: "iptables": executable file not found in \$PATH$/,
  },
  {
    what: '4.3.1, seen: a configured runtime that does not exist',
    stderr: 'Error: default OCI runtime "bogus" not found: invalid argument\n',
    kind: 'runtime-missing',
    cause: /^default OCI runtime "bogus" not found/,
  },
  {
    what: '5.4.2, source (libpod/oci_conmon_common.go): no executable for the runtime',
    stderr: 'Error: no valid executable found for OCI runtime crun: invalid argument\n',
    kind: 'runtime-missing',
    cause: /crun/,
  },
  {
    what: '4.3.1, seen: imagePullPolicy Never and no image',
    stderr: 'Error: localhost/errs-absent:1: image not known\n',
    kind: 'image-missing',
    cause: /^localhost\/errs-absent:1: image not known$/,
  },
  {
    what: '4.3.1, seen: a pod name in use (boltdb)',
    stderr: 'Error: adding pod to state: name "errs-repro-dup" is in use: pod already exists\n',
    kind: 'name-in-use',
    cause: /is in use/,
  },
  {
    what: '5.4.2, source (libpod/sqlite_state.go): a pod name in use',
    stderr: 'Error: adding pod to state: name "web" is in use: pod already exists\n',
    kind: 'name-in-use',
    cause: /name "web"/,
  },
  {
    what: '4.3.1 and 5.4.2, source (containers/storage): a container name in use',
    stderr:
      'Error: creating container storage: the container name "keeper" is already in use by 0123456789ab. You have to remove that container to be able to reuse that name: that name is already in use\n',
    kind: 'name-in-use',
    cause: /keeper/,
  },
  {
    what: '4.3.1, seen: a pod that does not exist',
    stderr: 'Error: no pod with name or ID errs-nonexistent found: no such pod\n',
    kind: 'not-found',
    cause: /no such pod/,
  },
  {
    what: '5.4.2, source (libpod/sqlite_state.go): a container that does not exist',
    stderr: 'Error: no container with name or ID "web-app" found: no such container\n',
    kind: 'not-found',
    cause: /no such container/,
  },
  {
    what: '4.3.1, seen: a secret that does not exist',
    stderr: 'Error: no secret with name or id "errs-nonexistent": no such secret\n',
    kind: 'not-found',
    cause: /no such secret/,
  },
  {
    what: '4.3.1, seen: an archive that will not unpack (its items are the cause)',
    stderr:
      'Error: payload does not match any of the supported image formats:\n * oci: initializing source oci:bad.tar:: open bad.tar/index.json: not a directory\n * docker-archive: loading tar component manifest.json: archive/tar: invalid tar header\n',
    kind: 'other',
    cause: /formats: oci: .*, docker-archive: loading tar component manifest\.json: archive\/tar: invalid tar header$/,
  },
  {
    what: 'issue 14, seen in podman 5.4 under nspawn: crun without the pids controller',
    stderr:
      "starting container 5d3e9b1c0a2f4e6d8c7b9a0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445: crun: controller 'pids' is not available: OCI runtime error\nError: failed to start 1 containers\n",
    kind: 'other',
    cause: /crun: controller 'pids' is not available/,
  },
  {
    what: 'a container command that is not found is not a missing runtime',
    stderr:
      'Error: crun: executable file `nosuch` not found in $PATH: No such file or directory: OCI runtime attempted to invoke a command that was not found\n',
    kind: 'other',
    cause: /nosuch/,
  },
];

describe('classifyPodmanStderr', () => {
  for (const { what, stderr, kind, cause } of CASES) {
    it(what, () => {
      const classified = classifyPodmanStderr(stderr);
      assert.equal(classified.kind, kind);
      assert.match(classified.causeLine, cause);
    });
  }

  it('nothing printed: other, with no cause line', () => {
    assert.deepEqual(classifyPodmanStderr(''), { kind: 'other', causeLine: '' });
  });
});

describe('podmanErrorText for kube play', () => {
  it('keeps the start error of the container that failed, not those of its pod mates (4.3.1, seen)', () => {
    const text = podmanErrorText(fixture('podman-4.3-play-cni-no-iptables.txt'));
    assert.match(text, /^failed to start 3 containers; container 8a8f0db35de2: plugin type="bridge" failed \(add\)/);
    assert.doesNotMatch(text, /a dependency of container/);
    assert.doesNotMatch(text, /level=warning/);
  });

  it("names netavark's cause beside the count (5.4.2, source)", () => {
    assert.equal(
      podmanErrorText(fixture('podman-5.4-play-netavark-no-iptables.txt')),
      'failed to start 3 containers; container 5d3e9b1c0a2f: netavark: No such file or directory (os error 2)',
    );
  });
});

describe('PodmanError kind', () => {
  it('comes from the stderr, timeout wins, and an explicit kind is kept', () => {
    const play = new PodmanError({
      args: ['kube', 'play'],
      exitCode: 125,
      stderr: fixture('podman-4.3-play-cni-no-iptables.txt'),
      timedOut: false,
      message: 'm',
    });
    assert.equal(play.kind, 'network-setup');
    assert.match(play.causeLine, /failed to locate iptables/);
    assert.equal(
      new PodmanError({ args: [], stderr: 'Error: x: image not known', timedOut: true, message: 'm' }).kind,
      'timeout',
    );
    assert.equal(
      new PodmanError({ args: [], stderr: '', timedOut: false, kind: 'podman-missing', message: 'm' }).kind,
      'podman-missing',
    );
  });

  it("podmanErrorKind: undefined for errors that are not podman's", () => {
    assert.equal(podmanErrorKind(new Error('image not known')), undefined);
    assert.equal(
      podmanErrorKind(
        new PodmanError({
          args: [],
          stderr: 'Error: no pod with name or ID web found: no such pod',
          timedOut: false,
          message: 'm',
        }),
      ),
      'not-found',
    );
  });
});
