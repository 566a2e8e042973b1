import * as v from 'valibot';

/** One line of `<stateDir>/events.jsonl`: the runner's own event history. */
export const runnerEventSchema = v.object({
  /** Unix ms. */
  time: v.number(),
  type: v.picklist([
    'Applied',
    'Replaced',
    'Removed',
    'Restarted',
    'Exited',
    'ProbeFailed',
    'InvalidManifest',
    'ManifestValid',
    'ApplyFailed',
    'ImageLoaded',
    'ImageRejected',
    'Conflict',
    'DaemonStarted',
    'DaemonStopped',
  ]),
  /** Pod name, when the event is about one. */
  pod: v.optional(v.string()),
  container: v.optional(v.string()),
  file: v.optional(v.string()),
  message: v.string(),
});

export type RunnerEvent = v.InferOutput<typeof runnerEventSchema>;

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
