/**
 * The bare supervisor of bench/reaction.ts, in a process of its own (the
 * benchmark blocks its own event loop while it polls podman): on each `died`
 * event of the named containers, `podman start` at once, nothing else.
 *
 *   node --import tsx bench/death-watcher.ts CONTAINER...
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const containers = process.argv.slice(2);
const watcher = spawn(
  'podman',
  [
    'events',
    '--format',
    'json',
    '--filter',
    'event=died',
    ...containers.flatMap((name) => ['--filter', `container=${name}`]),
  ],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
createInterface({ input: watcher.stdout }).on('line', (line) => {
  const { Name } = JSON.parse(line) as { Name: string };
  if (containers.includes(Name)) spawn('podman', ['start', Name], { stdio: 'ignore' });
});
process.on('SIGTERM', () => {
  watcher.kill();
  process.exit(0);
});
