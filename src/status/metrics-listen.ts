import { RunnerError } from '../shared/errors.ts';

// Apart from the server (metrics-server.ts) because the config schema checks
// the address: every command reads the config, and node:http and node:net
// cost `runner status` about 3 ms of start-up to evaluate.

/** Splits `host:port` and insists the host is loopback. */
export const parseLoopbackListen = (listen: string): { host: string; port: number } => {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(listen.trim());
  if (!match)
    throw new RunnerError(
      'USAGE',
      `metrics listen address must be HOST:PORT on a loopback address, e.g. 127.0.0.1:9464 (got "${listen}")`,
    );
  const host = match[1] ?? match[2]!;
  const port = Number(match[3]);
  if (port > 65535) throw new RunnerError('USAGE', `metrics listen port must be at most 65535 (got ${port})`);
  if (!isLoopback(host)) {
    throw new RunnerError(
      'USAGE',
      `metrics may only listen on a loopback address (127.0.0.1, ::1 or localhost), not "${host}": edge boxes open no port to the network; use the textfile for node_exporter instead`,
    );
  }
  // Bind the address itself, not whatever /etc/hosts says localhost is.
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
};

/** node:net's isIPv4 pattern (dotted quad, no leading zeros), held to 127.0.0.0/8. */
const LOOPBACK_V4 = /^127(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)){3}$/;

const isLoopback = (host: string): boolean =>
  host === 'localhost' || LOOPBACK_V4.test(host) || host === '::1' || host === '0:0:0:0:0:0:0:1';
