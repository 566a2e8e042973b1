import path from 'node:path';
import { printable } from '../shared/printable.ts';
import type { RunnerEvent } from '../shared/event-sink.ts';
import { formatTimestamp } from './render-duration.ts';

/** The widest event type (`InvalidManifest`), so messages line up. */
const TYPE_WIDTH = 15;

/**
 * `2026-11-28 04:56:45  Restarted        pod/web  container main exited with code 3; restarted`.
 * One line, whatever the event holds: its strings are printed escaped (src/shared/printable.ts).
 */
export const formatEvent = (event: RunnerEvent, timeZone: 'local' | 'UTC' = 'local'): string => {
  const subject = event.pod ? `pod/${event.pod}` : event.file ? `file/${path.basename(event.file)}` : 'runner';
  return printable(
    `${formatTimestamp(event.time, timeZone)}  ${event.type.padEnd(TYPE_WIDTH)}  ${subject}  ${event.message}`,
  );
};

/** Whether an event concerns a pod: named by it, or about the file it comes from. */
export const isAboutPod = (event: RunnerEvent, name: string, source: string | undefined): boolean =>
  event.pod === name || (event.pod === undefined && source !== undefined && event.file === source);
