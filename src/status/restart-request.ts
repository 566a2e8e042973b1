import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import * as v from 'valibot';
import type { Clock } from '../shared/clock.ts';
import { writeFileAtomic } from '../state/atomic-write.ts';

/**
 * `runner restart POD` asks the daemon through files in
 * `<stateDir>/requests/`, so the CLI needs no socket and the daemon no server:
 *
 *   CLI:    writes `<id>.json` = { action: "restart", pod, requestedAt } (temp + rename)
 *   daemon: lists requests (listRestartRequests), acts, writes `<id>.done.json`
 *           = { ok, message } (answerRestartRequest)
 *   CLI:    waits up to 30 s for the answer, prints it, removes both files.
 *
 * Writing there needs write access to the state directory (root), which is
 * the right bar for restarting workloads. Requests nobody answered in
 * REQUEST_MAX_AGE_MS and files that do not parse are answered as failed by
 * the daemon side; answers nobody collected are removed after the same age.
 */
export const REQUESTS_DIR = 'requests';
export const REQUEST_MAX_AGE_MS = 5 * 60 * 1000;
export const ANSWER_TIMEOUT_MS = 30_000;
const POLL_MS = 100;

const requestSchema = v.object({
  action: v.literal('restart'),
  pod: v.pipe(v.string(), v.nonEmpty()),
  requestedAt: v.number(),
});
const answerSchema = v.object({ ok: v.boolean(), message: v.string() });

export interface RestartRequest {
  id: string;
  pod: string;
  requestedAt: number;
}

export type RestartAnswer = v.InferOutput<typeof answerSchema>;

const ID = /^[0-9a-f]{16}$/;
export const requestsDir = (stateDir: string): string => path.join(stateDir, REQUESTS_DIR);
const requestFile = (stateDir: string, id: string): string => path.join(requestsDir(stateDir), `${id}.json`);
const answerFile = (stateDir: string, id: string): string => path.join(requestsDir(stateDir), `${id}.done.json`);

// ---- CLI side ----

/** Writes a restart request atomically; returns its id. */
export const writeRestartRequest = async (stateDir: string, pod: string, now: number): Promise<string> => {
  const id = randomBytes(8).toString('hex');
  await mkdir(requestsDir(stateDir), { recursive: true, mode: 0o750 });
  await writeFileAtomic(
    requestFile(stateDir, id),
    `${JSON.stringify({ action: 'restart', pod, requestedAt: now })}\n`,
    0o640,
  );
  return id;
};

/** Polls for the daemon's answer; undefined after `timeoutMs` (or when aborted). */
export const waitForRestartAnswer = async (
  stateDir: string,
  id: string,
  clock: Clock,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<RestartAnswer | undefined> => {
  const deadline = clock.now() + (options.timeoutMs ?? ANSWER_TIMEOUT_MS);
  for (;;) {
    const answer = await readAnswer(stateDir, id);
    if (answer) return answer;
    if (clock.now() >= deadline || options.signal?.aborted) return undefined;
    try {
      await clock.sleep(POLL_MS, options.signal);
    } catch {
      return undefined;
    }
  }
};

/** Removes the request and its answer; missing files are fine. */
export const removeRestartRequest = async (stateDir: string, id: string): Promise<void> => {
  await Promise.all(
    [requestFile(stateDir, id), answerFile(stateDir, id)].map((file) => unlink(file).catch(() => undefined)),
  );
};

const readAnswer = async (stateDir: string, id: string): Promise<RestartAnswer | undefined> => {
  const text = await readFile(answerFile(stateDir, id), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const parsed = v.safeParse(answerSchema, JSON.parse(text));
    return parsed.success
      ? parsed.output
      : { ok: false, message: 'the daemon answered with something this runner cannot read' };
  } catch {
    return undefined;
  }
};

// ---- daemon side ----

/**
 * Requests waiting for an answer, oldest first. Malformed requests and
 * requests older than REQUEST_MAX_AGE_MS are answered as failed here (the
 * CLI that sent them has given up, or never could have been understood);
 * answers left behind that long are removed. Never throws for a missing
 * directory.
 */
export const listRestartRequests = async (stateDir: string, now: number): Promise<RestartRequest[]> => {
  const names = await readdir(requestsDir(stateDir)).catch(() => [] as string[]);
  const answered = new Set(
    names.filter((name) => name.endsWith('.done.json')).map((name) => name.slice(0, -'.done.json'.length)),
  );
  const requests: RestartRequest[] = [];
  for (const name of names) {
    if (name.startsWith('.')) continue;
    if (name.endsWith('.done.json')) {
      const id = name.slice(0, -'.done.json'.length);
      const info = await stat(answerFile(stateDir, id)).catch(() => undefined);
      if (info && now - info.mtimeMs > REQUEST_MAX_AGE_MS) await removeRestartRequest(stateDir, id);
      continue;
    }
    if (!name.endsWith('.json')) continue;
    const id = name.slice(0, -'.json'.length);
    if (answered.has(id)) continue;
    if (!ID.test(id)) continue;
    const text = await readFile(requestFile(stateDir, id), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    let parsed: v.SafeParseResult<typeof requestSchema>;
    try {
      parsed = v.safeParse(requestSchema, JSON.parse(text));
    } catch {
      await answerRestartRequest(stateDir, id, false, 'the request is not valid JSON');
      continue;
    }
    if (!parsed.success) {
      await answerRestartRequest(stateDir, id, false, `the request cannot be read: ${parsed.issues[0].message}`);
      continue;
    }
    if (now - parsed.output.requestedAt > REQUEST_MAX_AGE_MS) {
      await answerRestartRequest(stateDir, id, false, 'the request is older than 5 minutes; not acted on');
      continue;
    }
    requests.push({ id, pod: parsed.output.pod, requestedAt: parsed.output.requestedAt });
  }
  return requests.sort((a, b) => a.requestedAt - b.requestedAt);
};

/** Answers a request (atomically); the CLI prints `message` and exits 0 when `ok`. Errors writing are the caller's to log. */
export const answerRestartRequest = async (
  stateDir: string,
  id: string,
  ok: boolean,
  message: string,
): Promise<void> => {
  await writeFileAtomic(answerFile(stateDir, id), `${JSON.stringify({ ok, message })}\n`, 0o640);
};
