import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import * as v from 'valibot';
import type { PodmanEvent } from './podman.ts';
import { eventSchema } from './podman-schemas.ts';

/**
 * Turns `podman events --format json` output into events, one per line.
 * Lines that are not valid JSON or not an event are dropped: events are hints
 * (the supervisor re-lists on a timer), so a malformed line must never stop
 * the stream. Ends when the stream ends; `stop` is called if the consumer
 * leaves early.
 */
export async function* readEventLines(stream: Readable | null, stop: () => void): AsyncGenerator<PodmanEvent> {
  if (!stream) return;
  const lines = createInterface({ input: stream, crlfDelay: Infinity });
  try {
    for await (const line of lines) {
      const event = parseEventLine(line);
      if (event) yield event;
    }
  } finally {
    lines.close();
    stop();
  }
}

export const parseEventLine = (line: string): PodmanEvent | undefined => {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  const result = v.safeParse(eventSchema, raw);
  if (!result.success) return undefined;
  const event = result.output;
  return {
    type: event.Type,
    status: event.Status,
    id: event.ID ?? '',
    name: event.Name ?? '',
    time: eventTime(event),
    exitCode:
      event.ContainerExitCode ??
      (event.Type === 'container' && event.Status === 'died' && event.time === undefined ? 0 : undefined),
    podId: event.PodID || undefined,
    attributes: event.Attributes ?? {},
  };
};

const eventTime = (event: v.InferOutput<typeof eventSchema>): number => {
  if (event.timeNano !== undefined) return Math.floor(event.timeNano / 1e6);
  if (typeof event.time === 'number') return event.time * 1000;
  if (typeof event.Time === 'number') return event.Time * 1000;
  if (typeof event.Time === 'string') {
    const parsed = Date.parse(event.Time);
    if (Number.isFinite(parsed)) return parsed;
  }
  return Date.now();
};
