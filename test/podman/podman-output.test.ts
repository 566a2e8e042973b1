import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePlayOutput } from '../../src/podman/cli-podman.ts';
import { PodmanError, podmanErrorText } from '../../src/podman/podman-error.ts';

const POD_ID = '3e1b0a5f0c6c2d9a7b8e4f1a2c3d4e5f60718293a4b5c6d7e8f9012345678901';
const CONTAINER_ID = 'b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c';
const SECOND_POD = 'aa'.repeat(32);

describe('parsePlayOutput', () => {
  const cases: [string, string, string[]][] = [
    ['podman 4.3 --quiet output', `Pod:\n${POD_ID}\nContainer:\n${CONTAINER_ID}\n\n`, [POD_ID]],
    ['several containers', `Pod:\n${POD_ID}\nContainers:\n${CONTAINER_ID}\n${CONTAINER_ID}\n\n`, [POD_ID]],
    [
      'two pods',
      `Pod:\n${POD_ID}\nContainer:\n${CONTAINER_ID}\n\nPod:\n${SECOND_POD}\nContainer:\n${CONTAINER_ID}\n\n`,
      [POD_ID, SECOND_POD],
    ],
    [
      'volumes and secrets sections before the pod',
      `Volumes:\nweb-data\nSecrets:\n${CONTAINER_ID}\nPod:\n${POD_ID}\nContainer:\n${CONTAINER_ID}\n`,
      [POD_ID],
    ],
    ['CRLF line ends and stray spaces', `Pod:\r\n  ${POD_ID}  \r\nContainer:\r\n${CONTAINER_ID}\r\n`, [POD_ID]],
    ['no output', '', []],
    ['garbage', 'Error: something\nnot an id\n', []],
    ['an id outside any section', `${POD_ID}\n`, []],
  ];
  for (const [what, stdout, expected] of cases) {
    it(what, () => assert.deepEqual(parsePlayOutput(stdout), expected));
  }
});

describe('podmanErrorText', () => {
  const cases: [string, string, string][] = [
    [
      'drops the syslog noise and keeps the Error: text',
      'time="2026-01-01T00:00:00Z" level=warning msg="Failed to add pause process to systemd sandbox cgroup: failed to connect to syslog"\nError: no pod with name or ID web found: no such pod\n',
      'no pod with name or ID web found: no such pod',
    ],
    ['joins several Error: lines', 'Error: first\nsome detail\nError: second\n', 'first; second'],
    [
      'keeps plain lines when there is no Error: line',
      'something odd happened\n\n  and more  \n',
      'something odd happened; and more',
    ],
    ['only noise leaves nothing', 'level=warning msg="failed to connect to syslog"\n', ''],
    ['empty', '', ''],
  ];
  for (const [what, stderr, expected] of cases) {
    it(what, () => assert.equal(podmanErrorText(stderr), expected));
  }

  it('is bounded', () => {
    assert.equal(podmanErrorText(`Error: ${'x'.repeat(10_000)}`).length, 2000);
  });
});

describe('PodmanError', () => {
  it('carries the code that says timeout or failure', () => {
    const failed = new PodmanError({
      args: ['pod', 'ps'],
      exitCode: 125,
      stderr: 'Error: x',
      timedOut: false,
      message: 'm',
    });
    assert.equal(failed.code, 'PODMAN_FAILED');
    assert.equal(failed.exitCode, 125);
    assert.equal(new PodmanError({ args: [], stderr: '', timedOut: true, message: 'm' }).code, 'PODMAN_TIMEOUT');
  });
});
