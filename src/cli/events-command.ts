import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { systemClock, type Clock } from '../shared/clock.ts';
import { printable, printableJson } from '../shared/printable.ts';
import { EVENTS_FILE, parseEventLine } from '../status/read-status.ts';
import type { ParsedArgs, Write } from './command-spec.ts';
import { EVENTS, EVENTS_FLAGS } from './commands.ts';
import { invokeCommand } from './invoke-command.ts';
import { loadCliConfig } from './load-cli-config.ts';
import { formatEvent } from './render-events.ts';

export interface EventsDeps {
  clock?: Clock;
  signal?: AbortSignal;
  timeZone?: 'local' | 'UTC';
}

/** `-f` polls the file this often: cheap, and works on any filesystem (no inotify limits). */
export const FOLLOW_POLL_MS = 500;

/** `runner events [-f] [--json] [POD]`: the runner's own history, oldest first. */
export const eventsCommand = (argv: string[], write: Write, deps: EventsDeps = {}): Promise<number> =>
  invokeCommand(EVENTS, argv, write, deps);

/** The handler of EVENTS (src/cli/commands.ts). */
export const showEvents = async (
  { values, positionals }: ParsedArgs<typeof EVENTS_FLAGS>,
  write: Write,
  deps: EventsDeps = {},
): Promise<number> => {
  const { stateDir } = await loadCliConfig(values);
  const pod = positionals[0];
  const print = (line: string): void => {
    const event = parseEventLine(line);
    if (!event || (pod !== undefined && event.pod !== pod)) return;
    write(`${values.json ? printableJson(line.trim()) : formatEvent(event, deps.timeZone)}\n`);
  };
  const events = path.join(stateDir, EVENTS_FILE);
  const [older, current] = await Promise.all([
    readFile(`${events}.1`, 'utf8').catch(() => ''),
    readFile(events, 'utf8').catch(() => undefined),
  ]);
  if (current === undefined && !older && !values.follow) {
    process.stderr.write(`runner: no event history at ${printable(events)}\n`);
    return 1;
  }
  for (const line of `${older}${current ?? ''}`.split('\n')) print(line);
  if (!values.follow) return 0;

  const controller = new AbortController();
  const stop = (): void => controller.abort();
  deps.signal?.addEventListener('abort', stop, { once: true });
  process.on('SIGINT', stop);
  try {
    await followEvents(
      events,
      Buffer.byteLength(current ?? ''),
      (await stat(events).catch(() => undefined))?.ino,
      print,
      deps.clock ?? systemClock,
      controller.signal,
    );
  } finally {
    process.off('SIGINT', stop);
  }
  return 0;
};

/**
 * Prints lines appended after `offset`. Rotation renames the file to `.1`
 * and starts a new one: when the inode changes, the rest of the old file
 * (now `.1`) is read first, then the new one from its start. A partial last
 * line waits for its newline.
 */
export const followEvents = async (
  file: string,
  offset: number,
  inode: number | undefined,
  print: (line: string) => void,
  clock: Clock,
  signal: AbortSignal,
): Promise<void> => {
  let position = offset;
  let ino = inode;
  let partial = '';
  const readFrom = async (name: string, from: number): Promise<number> => {
    const handle = await open(name, 'r').catch(() => undefined);
    if (!handle) return from;
    try {
      const { size } = await handle.stat();
      if (size <= from) return size < from ? 0 : from;
      const buffer = Buffer.alloc(size - from);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
      const text = partial + buffer.subarray(0, bytesRead).toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) print(line);
      return from + bytesRead;
    } finally {
      await handle.close();
    }
  };
  while (!signal.aborted) {
    const info = await stat(file).catch(() => undefined);
    if (info && ino !== undefined && info.ino !== ino) {
      const rotated = await stat(`${file}.1`).catch(() => undefined);
      if (rotated?.ino === ino) await readFrom(`${file}.1`, position);
      partial = '';
      position = 0;
    }
    if (info) {
      ino = info.ino;
      if (info.size < position) position = 0; // truncated in place
      position = await readFrom(file, position);
    }
    await clock.sleep(FOLLOW_POLL_MS, signal).catch(() => undefined);
  }
};
