import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifest } from '../../src/manifest/parse-manifest.ts';
import { normalizeProbe } from '../../src/manifest/probe-schema.ts';
import { RunnerError } from '../../src/shared/errors.ts';

const FILE = '/etc/runner/manifests/web.yaml';

/** A Pod with one container `a`; `lines` are added to the container (indented 6). */
const podWith = (lines: string): string =>
  `apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: a\n      image: busybox\n${lines}`;

const problemsOf = (lines: string): string[] =>
  parseManifest(FILE, podWith(lines)).problems.map((problem) => `${problem.field}: ${problem.message}`);

describe('probe schema in the manifest', () => {
  const valid: [string, string][] = [
    ['an exec liveness probe', '      livenessProbe:\n        exec:\n          command: ["cat", "/tmp/healthy"]\n'],
    [
      'an httpGet readiness probe with every field',
      '      readinessProbe:\n        httpGet: {path: /healthz, port: 8080, host: 127.0.0.1, scheme: HTTPS, httpHeaders: [{name: X-A, value: b}]}\n        initialDelaySeconds: 5\n        periodSeconds: 2\n        timeoutSeconds: 3\n        successThreshold: 2\n        failureThreshold: 4\n',
    ],
    [
      'a tcpSocket startup probe',
      '      startupProbe:\n        tcpSocket: {port: 5432}\n        failureThreshold: 30\n',
    ],
    [
      'a named port that the container declares',
      '      ports: [{containerPort: 8080, name: http}]\n      livenessProbe:\n        httpGet: {port: http}\n',
    ],
    [
      'successThreshold 1 written out on a liveness probe',
      '      livenessProbe: {exec: {command: [x]}, successThreshold: 1}\n',
    ],
    [
      'initialDelaySeconds 0 and terminationGracePeriodSeconds',
      '      livenessProbe: {exec: {command: [x]}, initialDelaySeconds: 0, terminationGracePeriodSeconds: 5}\n',
    ],
    ['unknown fields (kept, loose)', '      livenessProbe: {exec: {command: [x], extra: 1}, someFutureField: true}\n'],
  ];
  for (const [what, lines] of valid) {
    it(`accepts ${what}`, () => {
      assert.deepEqual(problemsOf(lines), []);
    });
  }

  const invalid: [string, string, string[]][] = [
    [
      'grpc',
      '      livenessProbe:\n        grpc: {port: 9000}\n',
      [
        'spec.containers[0].livenessProbe.grpc: grpc probes are not supported by the runner; use exec, httpGet or tcpSocket',
      ],
    ],
    [
      'no handler',
      '      readinessProbe: {periodSeconds: 5}\n',
      ['spec.containers[0].readinessProbe: must set one handler: exec, httpGet or tcpSocket'],
    ],
    [
      'two handlers',
      '      livenessProbe: {exec: {command: [x]}, tcpSocket: {port: 80}}\n',
      ['spec.containers[0].livenessProbe: must set only one handler, found exec and tcpSocket'],
    ],
    [
      'successThreshold 2 on a liveness probe',
      '      livenessProbe: {exec: {command: [x]}, successThreshold: 2}\n',
      [
        'spec.containers[0].livenessProbe.successThreshold: must be 1 for a liveness probe (Kubernetes requires it); only readiness probes may need several successes',
      ],
    ],
    [
      'successThreshold 3 on a startup probe',
      '      startupProbe: {exec: {command: [x]}, successThreshold: 3}\n',
      [
        'spec.containers[0].startupProbe.successThreshold: must be 1 for a startup probe (Kubernetes requires it); only readiness probes may need several successes',
      ],
    ],
    [
      'a named port the container does not declare',
      '      livenessProbe:\n        httpGet: {port: http}\n',
      [
        'spec.containers[0].livenessProbe.httpGet.port: names port "http", but the container has no port with that name (it names no ports)',
      ],
    ],
    [
      'a named tcp port with other names declared',
      '      ports: [{containerPort: 80, name: web}]\n      readinessProbe:\n        tcpSocket: {port: db}\n',
      [
        'spec.containers[0].readinessProbe.tcpSocket.port: names port "db", but the container has no port with that name (named ports: "web")',
      ],
    ],
    [
      'an ill-formed port name (one issue, not two)',
      '      livenessProbe: {tcpSocket: {port: Http}}\n',
      ['spec.containers[0].livenessProbe.tcpSocket.port: a port name must be lower-case letters, digits and "-"'],
    ],
    [
      'a port out of range',
      '      livenessProbe: {httpGet: {port: 70000}}\n',
      ['spec.containers[0].livenessProbe.httpGet.port: must be between 1 and 65535'],
    ],
    [
      'port 0',
      '      livenessProbe: {tcpSocket: {port: 0}}\n',
      ['spec.containers[0].livenessProbe.tcpSocket.port: must be between 1 and 65535'],
    ],
    [
      'an empty exec command',
      '      livenessProbe: {exec: {command: []}}\n',
      ['spec.containers[0].livenessProbe.exec.command: must not be empty: name the command to run'],
    ],
    [
      'a command that is a string',
      '      livenessProbe: {exec: {command: "cat /tmp/x"}}\n',
      ['spec.containers[0].livenessProbe.exec.command: must be a list of strings'],
    ],
    [
      'periodSeconds 0',
      '      livenessProbe: {exec: {command: [x]}, periodSeconds: 0}\n',
      ['spec.containers[0].livenessProbe.periodSeconds: must be at least 1'],
    ],
    [
      'timeoutSeconds 1.5',
      '      livenessProbe: {exec: {command: [x]}, timeoutSeconds: 1.5}\n',
      ['spec.containers[0].livenessProbe.timeoutSeconds: must be a whole number'],
    ],
    [
      'negative initialDelaySeconds',
      '      livenessProbe: {exec: {command: [x]}, initialDelaySeconds: -1}\n',
      ['spec.containers[0].livenessProbe.initialDelaySeconds: must not be negative'],
    ],
    [
      'failureThreshold 0',
      '      readinessProbe: {exec: {command: [x]}, failureThreshold: 0}\n',
      ['spec.containers[0].readinessProbe.failureThreshold: must be at least 1'],
    ],
    [
      'a string periodSeconds',
      '      readinessProbe: {exec: {command: [x]}, periodSeconds: "10"}\n',
      ['spec.containers[0].readinessProbe.periodSeconds: must be a number'],
    ],
    [
      'an unknown scheme',
      '      readinessProbe: {httpGet: {port: 80, scheme: FTP}}\n',
      ['spec.containers[0].readinessProbe.httpGet.scheme: must be HTTP or HTTPS'],
    ],
    [
      'a header without a name',
      '      readinessProbe: {httpGet: {port: 80, httpHeaders: [{value: b}]}}\n',
      ['spec.containers[0].readinessProbe.httpGet.httpHeaders[0].name: is required'],
    ],
    [
      'an httpGet without a port',
      '      readinessProbe: {httpGet: {path: /}}\n',
      ['spec.containers[0].readinessProbe.httpGet.port: is required'],
    ],
  ];
  for (const [what, lines, expected] of invalid) {
    it(`refuses ${what}`, () => {
      assert.deepEqual(problemsOf(lines), expected);
    });
  }

  it('locates the problem on the probe field line', () => {
    const [problem] = parseManifest(
      FILE,
      podWith('      livenessProbe:\n        exec: {command: [x]}\n        successThreshold: 2\n'),
    ).problems;
    assert.equal(problem?.line, 11);
  });
});

describe('normalizeProbe', () => {
  it('fills in the Kubernetes defaults', () => {
    assert.deepEqual(normalizeProbe({ exec: { command: ['true'] } }), {
      handler: { type: 'exec', command: ['true'] },
      initialDelaySeconds: 0,
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
      terminationGracePeriodSeconds: undefined,
    });
  });

  it('defaults an httpGet to path "/", scheme HTTP and no headers', () => {
    assert.deepEqual(normalizeProbe({ httpGet: { port: 80 } }).handler, {
      type: 'httpGet',
      path: '/',
      port: 80,
      host: undefined,
      scheme: 'HTTP',
      headers: [],
    });
  });

  it('keeps what is set', () => {
    const spec = normalizeProbe({
      httpGet: {
        path: '/ready?full=1',
        port: 8443,
        host: '10.0.0.1',
        scheme: 'HTTPS',
        httpHeaders: [{ name: 'Host', value: 'example' }],
      },
      initialDelaySeconds: 7,
      periodSeconds: 3,
      timeoutSeconds: 2,
      successThreshold: 2,
      failureThreshold: 5,
      terminationGracePeriodSeconds: 9,
    });
    assert.deepEqual(spec, {
      handler: {
        type: 'httpGet',
        path: '/ready?full=1',
        port: 8443,
        host: '10.0.0.1',
        scheme: 'HTTPS',
        headers: [{ name: 'Host', value: 'example' }],
      },
      initialDelaySeconds: 7,
      periodSeconds: 3,
      timeoutSeconds: 2,
      successThreshold: 2,
      failureThreshold: 5,
      terminationGracePeriodSeconds: 9,
    });
  });

  it('treats an empty host as unset (the pod IP is used)', () => {
    assert.deepEqual(normalizeProbe({ tcpSocket: { port: 80, host: '' } }).handler, {
      type: 'tcpSocket',
      port: 80,
      host: undefined,
    });
  });

  it('resolves a named port against the container ports', () => {
    const ports = [
      { containerPort: 5432, name: 'db' },
      { containerPort: 8080, name: 'http' },
    ];
    assert.equal((normalizeProbe({ httpGet: { port: 'http' } }, ports).handler as { port: number }).port, 8080);
    assert.equal((normalizeProbe({ tcpSocket: { port: 'db' } }, ports).handler as { port: number }).port, 5432);
  });

  it('throws a MANIFEST_INVALID error for a named port it cannot resolve', () => {
    assert.throws(
      () => normalizeProbe({ tcpSocket: { port: 'db' } }, [{ containerPort: 80 }]),
      (error: unknown) =>
        error instanceof RunnerError &&
        error.code === 'MANIFEST_INVALID' &&
        /port "db" is not a named port/.test(error.message),
    );
  });

  it('throws a MANIFEST_INVALID error naming the field of an invalid spec', () => {
    assert.throws(
      () => normalizeProbe({ exec: { command: ['x'] }, periodSeconds: 0 }),
      (error: unknown) =>
        error instanceof RunnerError &&
        error.code === 'MANIFEST_INVALID' &&
        error.message === 'invalid probe: periodSeconds: must be at least 1',
    );
    assert.throws(() => normalizeProbe({ grpc: { port: 1 } }), /grpc probes are not supported by the runner/);
    assert.throws(() => normalizeProbe('nope'), /invalid probe/);
  });
});
