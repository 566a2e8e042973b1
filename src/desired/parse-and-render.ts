import { fingerprintOf } from '../manifest/manifest-cache.ts';
import type { ManifestProblem } from '../manifest/manifest-problem.ts';
import { parseManifest, type ManifestDocument, type ParseOptions } from '../manifest/parse-manifest.ts';
import { decodeManifest } from '../manifest/read-manifest-file.ts';
import { buildUnits, type BuildOptions } from './build-units.ts';
import type { DesiredUnit } from './desired-unit.ts';

/** What the parse worker is asked: one manifest file, as bytes readManifestFile found to be UTF-8. */
export interface ParseRequest {
  id: number;
  file: string;
  bytes: Uint8Array;
  parse: ParseOptions;
  build: BuildOptions;
}

/**
 * What it answers: the parse, with each document's object as UTF-8 JSON
 * (moved, not copied, between threads: a 50,000-key object took 50 to 300
 * ms to deserialize on the main thread, a 10 MB string 40 to 140 ms), its
 * fingerprint, and the units of a valid file, rendered.
 */
export interface ParseResponse {
  id: number;
  problems: ManifestProblem[];
  documents: (Omit<ManifestDocument, 'object'> & { json: Uint8Array })[];
  fingerprint: string;
  units: DesiredUnit[] | undefined;
}

/** What the worker posts: that it has loaded (before any answer), then answers. */
export type WorkerMessage = { ready: true } | ParseResponse;

/** What a response can move instead of copying. */
export const transferablesOf = (response: ParseResponse): ArrayBuffer[] =>
  response.documents.map((doc) => doc.json.buffer as ArrayBuffer);

/** Everything the main thread would otherwise do with a new version of a file, done where it may take its time. */
export const parseAndRender = ({ id, file, bytes, parse, build }: ParseRequest): ParseResponse => {
  const parsed = parseManifest(file, decodeManifest(bytes), parse);
  const encoder = new TextEncoder();
  return {
    id,
    problems: parsed.problems,
    // TextEncoder's arrays own their buffers (a small Buffer shares Node's pool, which must not be moved).
    documents: parsed.documents.map(({ object, ...doc }) => ({ ...doc, json: encoder.encode(JSON.stringify(object)) })),
    fingerprint: fingerprintOf(parsed),
    units: parsed.problems.length === 0 ? buildUnits(parsed, build) : undefined,
  };
};
