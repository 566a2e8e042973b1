/**
 * The prober of bench/lb-downtime.ts, in a process of its own (the benchmark
 * blocks its own event loop on podman calls): connects to each TCP port on
 * 127.0.0.1 every 20 ms, as a load balancer's client would, and prints one
 * JSON line per change: `{"port":P,"down":T}` at the first attempt that
 * failed (refused, or no answer within 1 s) after one that connected, and
 * `{"port":P,"up":T,"downAt":T0}` at the first that connected again (Unix ms).
 *
 *   node --import tsx bench/port-prober.ts PORT...
 */
import { connect } from 'node:net';

const INTERVAL_MS = 20;
const ports = process.argv.slice(2).map(Number);
const downSince = new Map<number, number | undefined>();
/** The start of the latest probe whose answer was taken, per port: an older probe answering late (a timeout) says nothing new. */
const latest = new Map<number, number>();

const probe = (port: number): void => {
  const at = Date.now();
  const socket = connect({ host: '127.0.0.1', port, timeout: 1_000 });
  const done = (ok: boolean): void => {
    socket.destroy();
    if (at < (latest.get(port) ?? 0)) return;
    latest.set(port, at);
    const down = downSince.get(port);
    if (ok && down !== undefined) {
      downSince.set(port, undefined);
      console.log(JSON.stringify({ port, up: at, downAt: down }));
    } else if (!ok && down === undefined) {
      downSince.set(port, at);
      console.log(JSON.stringify({ port, down: at }));
    }
  };
  socket.once('connect', () => done(true));
  socket.once('error', () => done(false));
  socket.once('timeout', () => done(false));
};

for (const port of ports) downSince.set(port, Date.now()); // down until first seen up
setInterval(() => {
  for (const port of ports) probe(port);
}, INTERVAL_MS);
process.on('SIGTERM', () => process.exit(0));
