import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { Podman } from '../podman/podman.ts';
import { PodmanError } from '../podman/podman-error.ts';
import { describeError } from '../shared/errors.ts';
import { printable } from '../shared/printable.ts';

/** The outcome of one probe call. `message` explains a failure (empty on success, or a note). */
export interface ProbeResult {
  ok: boolean;
  message: string;
}

export interface HttpProbeRequest {
  scheme: 'HTTP' | 'HTTPS';
  host: string;
  port: number;
  path: string;
  headers: readonly { name: string; value: string }[];
  timeoutMs: number;
}

/**
 * The three ways to probe a container. Contract: never throws and never
 * rejects (every error is a failed result); settles promptly once `signal`
 * aborts; never takes longer than `timeoutMs` (plus process teardown for exec).
 */
export interface ProbeExecutors {
  exec(containerId: string, command: readonly string[], timeoutMs: number, signal: AbortSignal): Promise<ProbeResult>;
  http(request: HttpProbeRequest, signal: AbortSignal): Promise<ProbeResult>;
  tcp(host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult>;
}

/** Characters of an exec probe's output kept in its message (before escaping, which may make it up to 6 times longer). */
const OUTPUT_LIMIT = 200;
/** Some applications recognise the kubelet's probes by this prefix. */
const USER_AGENT = 'kube-probe/runner';

const seconds = (ms: number): string => `${Math.round(ms / 100) / 10}s`;

/** `timeout after 1s`, or `timeout after 1s (+1s for podman exec)` when an overhead allowance was added. */
export const timeoutMessage = (timeoutMs: number, overheadMs = 0): string =>
  `timeout after ${seconds(timeoutMs)}${overheadMs > 0 ? ` (+${seconds(overheadMs)} for podman exec)` : ''}`;

/**
 * The real executors. Real timers are used here (not the injected Clock) on
 * purpose: they bound real network I/O, like the timeouts in the podman driver.
 */
export const createProbeExecutors = (podman: Podman): ProbeExecutors => ({
  exec: (containerId, command, timeoutMs, signal) => execProbe(podman, containerId, command, timeoutMs, signal),
  http: httpProbe,
  tcp: tcpProbe,
});

const execProbe = async (
  podman: Podman,
  containerId: string,
  command: readonly string[],
  timeoutMs: number,
  signal: AbortSignal,
): Promise<ProbeResult> => {
  try {
    const result = await podman.execInContainer(containerId, command, timeoutMs, { signal });
    if (result.exitCode === 0) return { ok: true, message: '' };
    // Written by the container: escaped here, so the status file, the event log and the daemon's log hold one inert line.
    const output = printable(result.output.trim().slice(0, OUTPUT_LIMIT));
    return { ok: false, message: `exec: exit code ${result.exitCode}${output ? `: ${output}` : ''}` };
  } catch (error) {
    if (error instanceof PodmanError && error.timedOut) return { ok: false, message: timeoutMessage(timeoutMs) };
    if (signal.aborted) return { ok: false, message: 'exec: aborted' };
    return { ok: false, message: `exec: ${describeError(error)}` };
  }
};

/** `host:port`, with IPv6 addresses bracketed, as Go prints them. */
export const hostPort = (host: string, port: number): string =>
  net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;

/** Kubernetes joins the path to the URL as written; one without a leading "/" gets one. */
const requestPath = (path: string): string => (path.startsWith('/') ? path : `/${path}`);

/**
 * One GET, as the kubelet does it: no keep-alive, redirects not followed (a
 * 3xx counts as success, which is the kubelet's result for them too), any
 * status 200-399 is success, HTTPS certificates are not verified.
 */
const httpProbe = (request: HttpProbeRequest, signal: AbortSignal): Promise<ProbeResult> => {
  const url = `${request.scheme.toLowerCase()}://${hostPort(request.host, request.port)}${requestPath(request.path)}`;
  return settleOnce(request.timeoutMs, signal, `Get "${url}"`, (finish) => {
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, Accept: '*/*', Connection: 'close' };
    for (const header of request.headers) headers[header.name] = header.value;
    const options = {
      host: request.host,
      port: request.port,
      path: requestPath(request.path),
      method: 'GET',
      headers,
      agent: false,
    } as const;
    const req =
      request.scheme === 'HTTPS' ? https.request({ ...options, rejectUnauthorized: false }) : http.request(options);
    req.on('response', (response) => {
      const status = response.statusCode ?? 0;
      // The body is not needed; drain it so the socket can close.
      response.resume();
      if (status >= 200 && status < 400)
        finish({ ok: true, message: status >= 300 ? `HTTP probe got redirect ${status} (not followed)` : '' });
      else finish({ ok: false, message: `HTTP probe failed with statuscode: ${status}` });
    });
    req.on('error', (error) =>
      finish({ ok: false, message: `Get "${url}": ${dialError(request.host, request.port, error)}` }),
    );
    req.end();
    return () => req.destroy();
  });
};

/** Go-style wording for connection errors, which is what Kubernetes users search for. */
const dialError = (host: string, port: number, error: Error): string => {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `dial tcp ${hostPort(host, port)}`;
  if (code === 'ECONNREFUSED') return `${where}: connect: connection refused`;
  if (code === 'EHOSTUNREACH') return `${where}: connect: no route to host`;
  if (code === 'ENETUNREACH') return `${where}: connect: network is unreachable`;
  if (code === 'ECONNRESET') return `${where}: connection reset by peer`;
  return `${where}: ${error.message}`;
};

const tcpProbe = (host: string, port: number, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> =>
  settleOnce(timeoutMs, signal, `dial tcp ${hostPort(host, port)}`, (finish) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => finish({ ok: true, message: '' }));
    socket.once('error', (error) => finish({ ok: false, message: dialError(host, port, error) }));
    return () => socket.destroy();
  });

/**
 * One network attempt that settles exactly once: with the first result it
 * reports through `finish`, at `timeoutMs`, or when `signal` aborts, whichever
 * comes first; then what `start` returned closes the connection. `start` runs
 * only if the signal has not aborted; if it throws, that is the failure.
 * `what` prefixes the abort and throw messages, as Go's errors do.
 */
const settleOnce = (
  timeoutMs: number,
  signal: AbortSignal,
  what: string,
  start: (finish: (result: ProbeResult) => void) => () => void,
): Promise<ProbeResult> =>
  new Promise<ProbeResult>((resolve) => {
    let settled = false;
    let close: (() => void) | undefined;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      close?.();
      resolve(result);
    };
    const onAbort = (): void => finish({ ok: false, message: `${what}: aborted` });
    const timer = setTimeout(() => finish({ ok: false, message: timeoutMessage(timeoutMs) }), timeoutMs);
    if (signal.aborted) {
      onAbort();
      return;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      close = start(finish);
    } catch (error) {
      finish({ ok: false, message: `${what}: ${describeError(error)}` });
      return;
    }
    // `start` may have finished synchronously, before its closer was known.
    if (settled) close();
  });
