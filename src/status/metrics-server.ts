import { createServer, type Server } from 'node:http';
import { isIP } from 'node:net';
import { RunnerError } from '../shared/errors.ts';

export interface MetricsServerOptions {
  /** `host:port` on a loopback address: `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`. */
  listen: string;
  /** The exposition text, rendered per request (renderPrometheus of the current status). */
  render: () => string;
  /** Aborting closes the listener. */
  signal: AbortSignal;
}

export interface MetricsServer {
  /** The bound address (port resolved when 0 was asked for). */
  address: { host: string; port: number };
  closed: Promise<void>;
}

/**
 * Serves GET /metrics on a loopback address only. Edge boxes must open no
 * port to the network, so anything but 127.0.0.0/8, ::1 or `localhost` is
 * refused before binding (a reverse proxy or node_exporter's textfile
 * collector is the way to publish further).
 */
export const startMetricsServer = async (options: MetricsServerOptions): Promise<MetricsServer> => {
  const { host, port } = parseLoopbackListen(options.listen);
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (request.url !== '/metrics' && request.url !== '/') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found; metrics are at /metrics\n');
      return;
    }
    let body: string;
    try {
      body = options.render();
    } catch (error) {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(`cannot render metrics: ${(error as Error).message}\n`);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(request.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new RunnerError('USAGE', `cannot listen for metrics on ${options.listen}: ${error.message}`, { cause: error })));
    server.listen({ host, port }, resolve);
  });
  const closed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  const close = (): void => {
    server.close();
    server.closeAllConnections();
  };
  if (options.signal.aborted) close();
  else options.signal.addEventListener('abort', close, { once: true });
  const bound = server.address();
  return { address: { host, port: typeof bound === 'object' && bound ? bound.port : port }, closed };
};

/** Splits `host:port` and insists the host is loopback. */
export const parseLoopbackListen = (listen: string): { host: string; port: number } => {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen.trim());
  if (!match) throw new RunnerError('USAGE', `metrics listen address must be HOST:PORT on a loopback address, e.g. 127.0.0.1:9464 (got "${listen}")`);
  const host = match[1] ?? match[2]!;
  const port = Number(match[3]);
  if (port > 65535) throw new RunnerError('USAGE', `metrics listen port must be at most 65535 (got ${port})`);
  if (!isLoopback(host)) {
    throw new RunnerError('USAGE', `metrics may only listen on a loopback address (127.0.0.1, ::1 or localhost), not "${host}": edge boxes open no port to the network; use the textfile for node_exporter instead`);
  }
  // Bind the address itself, not whatever /etc/hosts says localhost is.
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
};

const isLoopback = (host: string): boolean => {
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
};
