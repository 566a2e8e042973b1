import { currentBootId, isPidAlive } from '../shared/process-info.ts';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as v from 'valibot';
import { formatFieldPath } from '../manifest/manifest-problem.ts';
import { runnerEventSchema, type RunnerEvent } from '../shared/event-sink.ts';
import { statusSchema, type StatusDocument } from './status-schema.ts';

export const STATUS_FILE = 'status.json';
export const EVENTS_FILE = 'events.jsonl';

/** A status file older than this many heartbeats means the daemon stopped writing it. */
export const STALE_HEARTBEATS = 3;

export type StatusReading =
  | { kind: 'live'; doc: StatusDocument }
  | { kind: 'stale'; doc: StatusDocument; reason: string }
  | { kind: 'absent'; reason: string };

export interface ReadStatusOptions {
  /** The running kernel's boot id; read from /proc when not given (tests pass one). */
  bootId?: string;
  /** Whether a pid is alive; `process.kill(pid, 0)` when not given. */
  isAlive?: (pid: number) => boolean;
}

/**
 * Reads `<stateDir>/status.json` and decides whether a live daemon wrote it.
 *
 * Contract: takes no lock and never writes, so it can run as an unprivileged
 * operator (the file is 0640, the directory may be read-only) and can never
 * slow the daemon down. The daemon replaces the file by rename, so one read
 * sees a whole document, old or new.
 */
export const readStatus = async (
  stateDir: string,
  now: number,
  options: ReadStatusOptions = {},
): Promise<StatusReading> => {
  const file = path.join(stateDir, STATUS_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { kind: 'absent', reason: `no status file at ${file}` };
    if (code === 'EACCES')
      return {
        kind: 'absent',
        reason: `cannot read ${file}: permission denied (run as root or as a member of the status group)`,
      };
    return { kind: 'absent', reason: `cannot read ${file}: ${(error as Error).message}` };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return { kind: 'absent', reason: `${file} is not valid JSON: ${(error as Error).message}` };
  }
  const parsed = v.safeParse(statusSchema, raw);
  if (!parsed.success) {
    const issue = parsed.issues[0];
    const where = formatFieldPath((issue.path ?? []).map((item) => item.key as string | number)) || '(top level)';
    return {
      kind: 'absent',
      reason: `${file} is not a status document this runner can read: ${where}: ${issue.message}`,
    };
  }
  const doc = parsed.output;
  const reason = staleReason(doc, now, options);
  return reason ? { kind: 'stale', doc, reason } : { kind: 'live', doc };
};

/** Why a well-formed document no longer describes a running daemon, or undefined when it does. */
export const staleReason = (doc: StatusDocument, now: number, options: ReadStatusOptions = {}): string | undefined => {
  const { daemon } = doc;
  const age = formatAge(now - daemon.updatedAt);
  const bootId = options.bootId ?? currentBootId();
  if (bootId !== undefined && daemon.bootId !== bootId)
    return `status file from pid ${daemon.pid} is ${age} old and was written before the last reboot`;
  const alive = options.isAlive ?? isPidAlive;
  if (!alive(daemon.pid)) return `status file from pid ${daemon.pid} is ${age} old and that process is gone`;
  if (now - daemon.updatedAt > STALE_HEARTBEATS * daemon.heartbeatSeconds * 1000) {
    return `status file from pid ${daemon.pid} is ${age} old; the daemon rewrites it every ${daemon.heartbeatSeconds}s, so it may be hung`;
  }
  return undefined;
};

/** Coarse age for the one-line daemon message: "45s", "5m", "3h", "2d". */
const formatAge = (ms: number): string => {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`;
  return `${Math.round(seconds / 86400)}d`;
};

/**
 * The runner's event history, oldest first: `events.jsonl.1` (the rotated
 * half) then `events.jsonl`. Lines that do not parse (a torn last line, a
 * newer field layout) are skipped. Missing files are an empty history.
 */
export const readEvents = async (stateDir: string): Promise<RunnerEvent[]> => {
  const file = path.join(stateDir, EVENTS_FILE);
  const texts = await Promise.all([`${file}.1`, file].map((name) => readFile(name, 'utf8').catch(() => '')));
  return texts.flatMap(parseEventLines);
};

export const parseEventLines = (text: string): RunnerEvent[] => {
  const events: RunnerEvent[] = [];
  for (const line of text.split('\n')) {
    const event = parseEventLine(line);
    if (event) events.push(event);
  }
  return events;
};

export const parseEventLine = (line: string): RunnerEvent | undefined => {
  if (line.trim() === '') return undefined;
  try {
    const parsed = v.safeParse(runnerEventSchema, JSON.parse(line));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
};
