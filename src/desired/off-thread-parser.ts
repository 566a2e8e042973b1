import type { Worker } from 'node:worker_threads';
import { rememberFingerprint } from '../manifest/manifest-cache.ts';
import {
  parseManifest,
  type ManifestDocument,
  type ParsedManifest,
  type ParseOptions,
} from '../manifest/parse-manifest.ts';
import { decodeManifest } from '../manifest/read-manifest-file.ts';
import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { rememberUnits, type BuildOptions } from './build-units.ts';
import type { ParseRequest, ParseResponse, WorkerMessage } from './parse-and-render.ts';
import { startParseWorker } from './start-parse-worker.ts';

export interface OffThreadParserOptions {
  /** The reconciler's render options: a valid file's units come back rendered with them. */
  build: BuildOptions;
  clock: Clock;
  logger: Logger;
  /** The worker stops after this long without work, giving its memory back; the next parse starts another. */
  idleMs?: number;
  /** startParseWorker when not given (tests pass their own). */
  startWorker?: () => Worker;
  /** Files of at most this many bytes are parsed on the main thread (INLINE_MAX_BYTES unless a test says otherwise). */
  inlineMaxBytes?: number;
}

interface Pending {
  request: ParseRequest;
  resolve: (parsed: ParsedManifest) => void;
  reject: (error: unknown) => void;
  /** Posted to the worker: its bytes have moved there. */
  posted: boolean;
}

const DEFAULT_IDLE_MS = 10_000;

/**
 * A file this small is parsed where it is read: starting the worker costs
 * more than the parse. In the single executable a worker took 100 to 180 ms
 * to load its bundle (bench/apply.ts --trace, podman 4.3.1 machine: a new
 * manifest renamed in on an idle runner, rename to snapshot), while parsing,
 * checking and rendering a file of at most 2 KiB on the main thread takes 3
 * to 5 ms for a 5-container Pod and 10 to 13 ms for one packed with 199
 * keys, the most 2 KiB holds (median of 21, under tsx; the cost goes by the
 * key). Only a process's first parse takes longer, 50 to 60 ms for the packed
 * file, while V8 compiles the parser. So the usual pod manifest needs no
 * worker at all, and the event loop still never waits long for one.
 */
export const INLINE_MAX_BYTES = 2048;

/**
 * Parses, validates and renders manifests on a worker thread, so that the
 * daemon's event loop (probes, the supervisor, status) never waits for YAML:
 * a 1 MiB ConfigMap took 1 to 5 s to parse here and another 0.5 to 2.5 s to
 * hash and render, a 200,000-key file 1 s just to be refused by the scalar
 * cap (issue 12). All on the main thread, that stalled exec probes of other
 * pods past their timeouts.
 *
 * The file's bytes move to the worker (they are decoded there), and what
 * comes back is a ParsedManifest like parseManifest's, except that each
 * document's `object` is decoded from JSON when first read (nothing in the
 * daemon reads it: buildUnits is handed the units rendered on the worker),
 * so a value JSON cannot carry (a YAML `.inf`) reads as null there.
 *
 * If no worker can be started, files are parsed on the main thread, as
 * before, with one warning. A worker that dies while parsing (out of memory)
 * fails that file only: it becomes a problem of the file, which is held, and
 * the next parse starts a new worker.
 *
 * Contract: `parse` may be called concurrently (requests queue on the
 * worker); `close` ends the worker and fails what is pending.
 */
export class OffThreadParser {
  private worker: Worker | undefined;
  /** The current worker has loaded its code (said it is ready). */
  private ready = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private unavailable = false;
  private idle: AbortController | undefined;
  private closed = false;

  constructor(private readonly options: OffThreadParserOptions) {}

  /** A ParseManifestFn, bound: hand it to the manifest source. */
  readonly parse = (file: string, bytes: Uint8Array, parse: ParseOptions): Promise<ParsedManifest> => {
    if (this.closed) return Promise.reject(new Error('the manifest parser is closed'));
    if (this.unavailable || bytes.byteLength <= (this.options.inlineMaxBytes ?? INLINE_MAX_BYTES))
      return Promise.resolve(parseManifest(file, decodeManifest(bytes), parse));
    const request: ParseRequest = { id: this.nextId++, file, bytes, parse, build: this.options.build };
    return new Promise<ParsedManifest>((resolve, reject) => {
      const pending: Pending = { request, resolve, reject, posted: false };
      this.pending.set(request.id, pending);
      this.idle?.abort();
      const worker = this.ensureWorker();
      worker.ref();
      // Until the worker has loaded, requests wait here, bytes and all: one that cannot load leaves them to be parsed on this thread.
      if (this.ready) this.post(worker, pending);
    });
  };

  /** Stops the worker; pending parses fail. */
  async close(): Promise<void> {
    this.closed = true;
    this.idle?.abort();
    const worker = this.worker;
    this.worker = undefined;
    this.failPending(new Error('the manifest parser is closed'));
    await worker?.terminate();
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = (this.options.startWorker ?? startParseWorker)();
    this.worker = worker;
    this.ready = false;
    worker.on('message', (message: WorkerMessage) => {
      if ('ready' in message) {
        this.ready = true;
        for (const pending of this.pending.values()) if (!pending.posted) this.post(worker, pending);
      } else {
        this.answer(message);
      }
    });
    worker.on('error', (error: unknown) => this.workerFailed(worker, error));
    worker.on('exit', (code) => this.workerFailed(worker, new Error(`the parse worker exited with code ${code}`)));
    return worker;
  }

  private post(worker: Worker, pending: Pending): void {
    pending.posted = true;
    const { bytes } = pending.request;
    // Moved, not copied. The bytes always own their buffer: readManifestFile allocates one per read.
    worker.postMessage(pending.request, bytes.byteLength > 0 ? [bytes.buffer as ArrayBuffer] : []);
  }

  private answer(response: ParseResponse): void {
    const pending = this.pending.get(response.id);
    if (!pending) return;
    this.pending.delete(response.id);
    pending.resolve(fromResponse(pending.request.file, response, this.options.build));
    if (this.pending.size === 0) this.stopWhenIdle();
  }

  /** The worker has gone (error, or exit): what it held fails, or is parsed here if it never loaded. */
  private workerFailed(worker: Worker, error: unknown): void {
    if (worker !== this.worker) return;
    this.worker = undefined;
    void worker.terminate();
    if (!this.ready) {
      this.unavailable = true;
      this.options.logger.warn(
        `cannot start the manifest parse worker (${describeError(error)}): parsing on the main thread, where large files stall the runner`,
      );
      for (const [id, { request, resolve }] of this.pending) {
        this.pending.delete(id);
        resolve(parseManifest(request.file, decodeManifest(request.bytes), request.parse));
      }
      return;
    }
    this.options.logger.error(`the manifest parse worker failed: ${describeError(error)}`);
    for (const [id, { request, resolve }] of this.pending) {
      this.pending.delete(id);
      const message = `could not be parsed: the parser failed on it (${describeError(error)}); make the file smaller or simpler; it is read again when it changes`;
      resolve({ file: request.file, documents: [], problems: [{ file: request.file, message }] });
    }
  }

  private failPending(error: Error): void {
    for (const [id, { reject }] of this.pending) {
      this.pending.delete(id);
      reject(error);
    }
  }

  /** Lets the process exit past an idle worker, and ends the worker after idleMs unless work comes first. */
  private stopWhenIdle(): void {
    const worker = this.worker;
    worker?.unref();
    const idle = new AbortController();
    this.idle = idle;
    this.options.clock.sleep(this.options.idleMs ?? DEFAULT_IDLE_MS, idle.signal).then(
      () => {
        if (this.worker !== worker || this.pending.size > 0) return;
        this.worker = undefined;
        void worker?.terminate();
      },
      () => undefined,
    );
  }
}

const fromResponse = (file: string, response: ParseResponse, build: BuildOptions): ParsedManifest => {
  const parsed: ParsedManifest = { file, problems: response.problems, documents: response.documents.map(lazyDocument) };
  rememberFingerprint(parsed, response.fingerprint);
  if (response.units) rememberUnits(parsed, build, response.units);
  return parsed;
};

/** A document whose object is decoded from `json` on first use, and kept. */
const lazyDocument = ({ json, ...doc }: ParseResponse['documents'][number]): ManifestDocument => {
  let object: Record<string, unknown> | undefined;
  return {
    ...doc,
    get object(): Record<string, unknown> {
      object ??= JSON.parse(new TextDecoder().decode(json)) as Record<string, unknown>;
      return object;
    },
  };
};
