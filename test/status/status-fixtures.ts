import { readFileSync } from 'node:fs';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { currentBootId } from '../../src/shared/process-info.ts';
import type { StatusDocument } from '../../src/status/status-schema.ts';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/status');

/** The fixed clock of every status fixture: 2026-11-28 05:00:00 UTC. */
export const FIXTURE_NOW = Date.UTC(2026, 10, 28, 5, 0, 0);

export const loadStatusFixture = (name: 'mixed' | 'healthy'): StatusDocument =>
  JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as StatusDocument;

export const eventsFixture = (): string => readFileSync(path.join(FIXTURES, 'events.jsonl'), 'utf8');

/** The fixture as a live daemon (this process, this boot) would have written it. */
export const asLive = (doc: StatusDocument): StatusDocument => ({
  ...doc,
  daemon: { ...doc.daemon, pid: process.pid, bootId: currentBootId() ?? doc.daemon.bootId },
});

export const writeStatus = async (stateDir: string, doc: unknown, events?: string): Promise<void> => {
  await mkdir(stateDir, { recursive: true });
  // Written beside and renamed, as the daemon does: a reader never sees half a file.
  const file = path.join(stateDir, 'status.json');
  await writeFile(`${file}.tmp`, typeof doc === 'string' ? doc : JSON.stringify(doc));
  await rename(`${file}.tmp`, file);
  if (events !== undefined) await writeFile(path.join(stateDir, 'events.jsonl'), events);
};

/** A pid no process can have: above Linux's PID_MAX_LIMIT (2^22). */
export const IMPOSSIBLE_PID = 2 ** 22 + 1;
