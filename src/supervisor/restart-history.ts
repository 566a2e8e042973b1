import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as v from 'valibot';
import { writeFileAtomic } from '../state/atomic-write.ts';

/** Why a container was restarted (or stopped running), as status reports it. */
export const RESTART_REASONS = [
  'Exited',
  'Completed',
  'OOMKilled',
  'LivenessFailed',
  'StartupFailed',
  'InfraDied',
  'StoppedExternally',
  'RemovedExternally',
  'HostRebooted',
  'Manual',
] as const;
export type RestartReason = (typeof RESTART_REASONS)[number];

const eventSchema = v.object({
  at: v.number(),
  reason: v.picklist(RESTART_REASONS),
  exitCode: v.optional(v.number()),
});

const containerSchema = v.object({
  restartCount: v.number(),
  backoffStep: v.number(),
  lastExitCode: v.optional(v.number()),
  lastExitAt: v.optional(v.number()),
  lastReason: v.optional(v.picklist(RESTART_REASONS)),
  lastRestartAt: v.optional(v.number()),
  nextRestartAt: v.optional(v.number()),
  /** The newest restarts, oldest first, at most HISTORY_LENGTH. */
  recent: v.array(eventSchema),
});

const unitSchema = v.object({
  /** Spec hash the counts belong to: a new spec starts counting from zero, as a new pod does in Kubernetes. */
  hash: v.string(),
  containers: v.record(v.string(), containerSchema),
});

const fileSchema = v.object({
  version: v.literal(1),
  units: v.record(v.string(), unitSchema),
});

export type ContainerHistory = v.InferOutput<typeof containerSchema>;
export type RestartEvent = v.InferOutput<typeof eventSchema>;
const HISTORY_LENGTH = 20;

/**
 * Restart counts and reasons per unit and container, kept in
 * `<stateDir>/restarts.json` so a runner restart or a reboot does not reset
 * them (the kubelet loses them). Written atomically, coalesced: `save()` is
 * cheap to call after every change. If the state directory cannot be
 * written, the history lives on in memory and `lastSaveError` says why.
 */
export class RestartHistory {
  private units: Record<string, v.InferOutput<typeof unitSchema>> = {};
  private saving: Promise<void> | undefined;
  private dirty = false;
  lastSaveError: string | undefined;
  private readonly file: string;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, 'restarts.json');
  }

  async load(): Promise<void> {
    try {
      this.units = v.parse(fileSchema, JSON.parse(await readFile(this.file, 'utf8'))).units;
    } catch {
      this.units = {};
    }
  }

  /** The history of one container, created empty (or reset when the spec hash changed). */
  get(unitKey: string, hash: string, container: string): ContainerHistory {
    let unit = this.units[unitKey];
    if (!unit || unit.hash !== hash) {
      unit = { hash, containers: {} };
      this.units[unitKey] = unit;
      this.dirty = true;
    }
    let entry = unit.containers[container];
    if (!entry) {
      entry = { restartCount: 0, backoffStep: 0, recent: [] };
      unit.containers[container] = entry;
      this.dirty = true;
    }
    return entry;
  }

  peek(unitKey: string): v.InferOutput<typeof unitSchema> | undefined {
    return this.units[unitKey];
  }

  recordRestart(entry: ContainerHistory, event: RestartEvent): void {
    entry.restartCount += 1;
    entry.lastRestartAt = event.at;
    entry.nextRestartAt = undefined;
    entry.recent = [...entry.recent, event].slice(-HISTORY_LENGTH);
    this.dirty = true;
  }

  touch(): void {
    this.dirty = true;
  }

  /** Drops units no longer desired. */
  retain(keys: ReadonlySet<string>): void {
    for (const key of Object.keys(this.units)) {
      if (!keys.has(key)) {
        delete this.units[key];
        this.dirty = true;
      }
    }
  }

  /** Writes if anything changed. One write at a time; a change made during a write is written after it. */
  async save(): Promise<void> {
    while (this.saving) await this.saving;
    if (!this.dirty) return;
    this.dirty = false;
    this.saving = writeFileAtomic(this.file, `${JSON.stringify({ version: 1, units: this.units })}\n`, 0o640)
      .then(() => {
        this.lastSaveError = undefined;
      })
      .catch((error: unknown) => {
        this.dirty = true;
        this.lastSaveError = (error as Error).message;
      })
      .finally(() => {
        this.saving = undefined;
      });
    return this.saving;
  }
}
