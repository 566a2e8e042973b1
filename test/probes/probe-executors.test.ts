import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { PodmanError } from '../../src/podman/podman-error.ts';
import { createProbeExecutors, type HttpProbeRequest } from '../../src/probes/probe-executors.ts';
import { FakePodman } from '../podman/fake-podman.ts';

const never = new AbortController().signal;

describe('http probe against a real server', () => {
  let server: http.Server;
  let port: number;
  const seen: http.IncomingMessage[] = [];
  const executors = createProbeExecutors(new FakePodman());

  before(async () => {
    server = http.createServer((req, res) => {
      seen.push(req);
      const status = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('status') ?? '200');
      if (req.url?.startsWith('/slow')) {
        setTimeout(() => res.end('late'), 3000).unref();
        return;
      }
      if (status >= 300 && status < 400) res.setHeader('Location', 'http://elsewhere.invalid/');
      res.statusCode = status;
      res.end('body');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const request = (path: string, extra: Partial<HttpProbeRequest> = {}): HttpProbeRequest => ({
    scheme: 'HTTP',
    host: '127.0.0.1',
    port,
    path,
    headers: [],
    timeoutMs: 1000,
    ...extra,
  });

  it('succeeds on 200', async () => {
    assert.deepEqual(await executors.http(request('/healthz'), never), { ok: true, message: '' });
  });

  it('succeeds on 399 and on a redirect, which it does not follow', async () => {
    assert.equal((await executors.http(request('/?status=399'), never)).ok, true);
    const before = seen.length;
    const result = await executors.http(request('/?status=302'), never);
    assert.equal(result.ok, true);
    assert.equal(seen.length, before + 1);
  });

  it('fails on 500 with the kubelet wording', async () => {
    assert.deepEqual(await executors.http(request('/?status=500'), never), {
      ok: false,
      message: 'HTTP probe failed with statuscode: 500',
    });
  });

  it('fails on 404 and on 199', async () => {
    assert.equal((await executors.http(request('/?status=404'), never)).ok, false);
    assert.equal((await executors.http(request('/?status=199'), never)).ok, false);
  });

  it('sends the path as written (with a leading "/" added), the configured headers and a kube-probe user agent', async () => {
    await executors.http(
      request('ready?x=1', {
        headers: [
          { name: 'X-Probe', value: 'yes' },
          { name: 'Host', value: 'app.example' },
        ],
      }),
      never,
    );
    const last = seen.at(-1)!;
    assert.equal(last.url, '/ready?x=1');
    assert.equal(last.headers['x-probe'], 'yes');
    assert.equal(last.headers.host, 'app.example');
    assert.match(last.headers['user-agent'] ?? '', /^kube-probe\//);
  });

  it('times out a slow answer after timeoutSeconds', async () => {
    const started = Date.now();
    const result = await executors.http(request('/slow', { timeoutMs: 300 }), never);
    assert.deepEqual(result, { ok: false, message: 'timeout after 0.3s' });
    assert.ok(Date.now() - started < 2000);
  });

  it('says "timeout after 1s" for a one-second timeout', async () => {
    assert.equal((await executors.http(request('/slow', { timeoutMs: 1000 }), never)).message, 'timeout after 1s');
  });

  it('settles at once when its signal aborts', async () => {
    const controller = new AbortController();
    const pending = executors.http(request('/slow', { timeoutMs: 10_000 }), controller.signal);
    setTimeout(() => controller.abort(), 50);
    const result = await pending;
    assert.equal(result.ok, false);
    assert.match(result.message, /aborted/);
  });

  it('reports a refused connection the way Go does', async () => {
    const closed = await closedPort();
    const result = await executors.http(request('/', { port: closed }), never);
    assert.deepEqual(result, {
      ok: false,
      message: `Get "http://127.0.0.1:${closed}/": dial tcp 127.0.0.1:${closed}: connect: connection refused`,
    });
  });

  it('fails (does not throw) on a path node refuses', async () => {
    const result = await executors.http(request('/a b'), never);
    assert.equal(result.ok, false);
    assert.match(result.message, /^Get "http:\/\/127\.0\.0\.1:\d+\/a b": /);
  });

  it('fails (does not throw) when HTTPS meets a plain HTTP server', async () => {
    const result = await executors.http(request('/', { scheme: 'HTTPS' }), never);
    assert.equal(result.ok, false);
    assert.match(result.message, /^Get "https:/);
  });
});

describe('tcp probe against real sockets', () => {
  const executors = createProbeExecutors(new FakePodman());

  it('succeeds when something listens', async () => {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      assert.deepEqual(await executors.tcp('127.0.0.1', port, 1000, never), { ok: true, message: '' });
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('fails on a closed port', async () => {
    const port = await closedPort();
    assert.deepEqual(await executors.tcp('127.0.0.1', port, 1000, never), {
      ok: false,
      message: `dial tcp 127.0.0.1:${port}: connect: connection refused`,
    });
  });

  it('settles at once on an already aborted signal', async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await executors.tcp('127.0.0.1', 1, 1000, controller.signal);
    assert.equal(result.ok, false);
    assert.match(result.message, /aborted/);
  });
});

describe('exec probe through podman', () => {
  it('succeeds on exit 0 and passes the container, command and timeout', async () => {
    const podman = new FakePodman();
    const result = await createProbeExecutors(podman).exec('c1', ['cat', '/tmp/healthy'], 2000, never);
    assert.deepEqual(result, { ok: true, message: '' });
    assert.deepEqual(
      podman.callsOf('execInContainer').map((call) => call.args),
      [['c1', ['cat', '/tmp/healthy'], 2000]],
    );
  });

  it('fails on a non-zero exit with the first 200 characters of the output', async () => {
    const podman = new FakePodman();
    podman.execResults.set('c1', { exitCode: 1, output: `${'x'.repeat(300)}\n` });
    const result = await createProbeExecutors(podman).exec('c1', ['false'], 1000, never);
    assert.deepEqual(result, { ok: false, message: `exec: exit code 1: ${'x'.repeat(200)}` });
  });

  it('stores what the container printed escaped, cut to 200 characters before escaping', async () => {
    const podman = new FakePodman();
    podman.execResults.set('c1', {
      exitCode: 1,
      output: `\u001b]0;owned\u0007\u001b[2Jnot ready\r\nok${'x'.repeat(300)}`,
    });
    const result = await createProbeExecutors(podman).exec('c1', ['check'], 1000, never);
    assert.deepEqual(result, {
      ok: false,
      message: `exec: exit code 1: \\x1b]0;owned\\x07\\x1b[2Jnot ready\\r\\nok${'x'.repeat(200 - 27)}`,
    });
  });

  it('leaves out empty output', async () => {
    const podman = new FakePodman();
    podman.execResults.set('c1', { exitCode: 2, output: '' });
    assert.deepEqual(await createProbeExecutors(podman).exec('c1', ['false'], 1000, never), {
      ok: false,
      message: 'exec: exit code 2',
    });
  });

  it('turns a podman timeout into "timeout after Ns"', async () => {
    const podman = new FakePodman();
    podman.failNext(
      'execInContainer',
      new PodmanError({
        args: ['exec'],
        stderr: '',
        timedOut: true,
        message: 'podman exec c1 did not answer within 1s',
      }),
    );
    assert.deepEqual(await createProbeExecutors(podman).exec('c1', ['sleep', '9'], 1000, never), {
      ok: false,
      message: 'timeout after 1s',
    });
  });

  it('turns any other podman error into a failure, not a throw', async () => {
    const podman = new FakePodman();
    podman.failNext('execInContainer', new Error('no container with name or ID "c1" found'));
    assert.deepEqual(await createProbeExecutors(podman).exec('c1', ['true'], 1000, never), {
      ok: false,
      message: 'exec: no container with name or ID "c1" found',
    });
  });

  it('settles when its signal aborts a hanging exec', async () => {
    const podman = new FakePodman();
    const gate = podman.hangNext('execInContainer');
    const controller = new AbortController();
    const pending = createProbeExecutors(podman).exec('c1', ['true'], 1000, controller.signal);
    await gate.started;
    controller.abort();
    assert.deepEqual(await pending, { ok: false, message: 'exec: aborted' });
  });
});

/** A port on 127.0.0.1 that nothing listens on (bound, then closed). */
const closedPort = async (): Promise<number> => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
};
