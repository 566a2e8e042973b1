import type { RunnerEvent } from '../status/status-schema.ts';

/**
 * Where the runner's own events go (applied, replaced, restarted, probe
 * failed, invalid manifest, …): `runner events` reads them back. Recording
 * never throws and never waits: a full or read-only state directory must not
 * stop supervision.
 */
export interface EventSink {
  record(event: Omit<RunnerEvent, 'time'>): void;
}

export const discardEvents: EventSink = { record: () => undefined };
