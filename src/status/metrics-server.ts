import { createServer, type Server } from 'node:http';
import { RunnerError } from '../shared/errors.ts';
import { parseLoopbackListen } from './metrics-listen.ts';

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
      response
        .writeHead(500, { 'content-type': 'text/plain' })
        .end(`cannot render metrics: ${(error as Error).message}\n`);
      return;
    }
    response
      .writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
      .end(request.method === 'HEAD' ? undefined : body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) =>
      reject(
        new RunnerError('USAGE', `cannot listen for metrics on ${options.listen}: ${error.message}`, { cause: error }),
      ),
    );
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
