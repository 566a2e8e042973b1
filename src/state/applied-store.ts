import { mkdir, readdir, readFile, unlink } from 'node:fs/promises';
import path from 'node:path';
import * as v from 'valibot';
import { sha256 } from '../desired/canonical-hash.ts';
import type { DesiredUnit } from '../desired/desired-unit.ts';
import { RunnerError } from '../shared/errors.ts';
import { writeFileAtomic } from './atomic-write.ts';

const appliedSchema = v.object({
  key: v.string(),
  file: v.string(),
  unit: v.string(),
  kind: v.picklist(['Pod', 'Deployment']),
  name: v.string(),
  podName: v.optional(v.string()),
  hash: v.string(),
  yaml: v.string(),
  stopTimeoutSeconds: v.number(),
  restartPolicy: v.picklist(['Always', 'OnFailure', 'Never']),
  hostNetwork: v.optional(v.boolean(), false),
  volumes: v.array(v.string()),
  secrets: v.array(v.string()),
  containers: v.array(
    v.object({
      name: v.string(),
      image: v.string(),
      livenessProbe: v.optional(v.record(v.string(), v.unknown())),
      readinessProbe: v.optional(v.record(v.string(), v.unknown())),
      startupProbe: v.optional(v.record(v.string(), v.unknown())),
      ports: v.optional(v.array(v.object({ name: v.optional(v.string()), containerPort: v.number() }))),
    }),
  ),
  /** Absent in records written before units carried their images. */
  images: v.optional(v.array(v.string())),
  appliedAt: v.string(),
});

export type AppliedRecord = v.InferOutput<typeof appliedSchema>;

/**
 * The last applied YAML of every unit, in `<stateDir>/applied/`, one file per
 * unit, each replaced atomically. It survives restarts and reboots, so the
 * runner can keep running (and re-create) the last good spec of a file that
 * has turned invalid, and can always say exactly what it played.
 *
 * Only the reconciler writes it; reads may come from any process.
 */
/** Where the records live, under the state directory. */
export const APPLIED_DIR = 'applied';

export class AppliedStore {
  private readonly dir: string;
  private records = new Map<string, AppliedRecord>();

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, APPLIED_DIR);
  }

  /** Loads every record; unreadable or malformed ones are skipped and reported. */
  async load(): Promise<{ skipped: string[] }> {
    await mkdir(this.dir, { recursive: true, mode: 0o750 }).catch((error: unknown) => {
      throw new RunnerError('STATE_IO', `cannot create state directory ${this.dir}: ${(error as Error).message}`, {
        cause: error,
      });
    });
    const skipped: string[] = [];
    for (const name of (await readdir(this.dir)).filter((entry) => entry.endsWith('.json') && !entry.startsWith('.'))) {
      const file = path.join(this.dir, name);
      try {
        const record = v.parse(appliedSchema, JSON.parse(await readFile(file, 'utf8')));
        this.records.set(record.key, record);
      } catch {
        skipped.push(file);
      }
    }
    return { skipped };
  }

  all(): AppliedRecord[] {
    return [...this.records.values()];
  }

  get(key: string): AppliedRecord | undefined {
    return this.records.get(key);
  }

  async put(unit: DesiredUnit, appliedAt: Date): Promise<void> {
    const record: AppliedRecord = { ...unit, appliedAt: appliedAt.toISOString() };
    await writeFileAtomic(this.pathOf(unit.key), `${JSON.stringify(record, null, 2)}\n`);
    this.records.set(unit.key, record);
  }

  async delete(key: string): Promise<void> {
    await unlink(this.pathOf(key)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    this.records.delete(key);
  }

  private pathOf(key: string): string {
    return path.join(this.dir, `${sha256(key).slice(0, 32)}.json`);
  }
}

/**
 * The unit as it was applied, without the bookkeeping fields. A record from
 * before units carried `images` gets its app containers' images: its init
 * containers' images are then not checked after a failed play, until the
 * unit is next rendered from its file.
 */
export const unitOf = ({ appliedAt: _appliedAt, images, ...unit }: AppliedRecord): DesiredUnit => ({
  ...unit,
  images: images ?? [...new Set(unit.containers.map((container) => container.image))],
});
