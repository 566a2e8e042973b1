import path from 'node:path';
import type { Clock } from '../shared/clock.ts';
import { describeError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { Loop } from '../shared/loop.ts';
import { writeFileAtomic } from '../state/atomic-write.ts';
import type { StatusGroup } from './status-group.ts';
import type { StatusDocument } from './status-schema.ts';

export interface StatusWriterOptions {
  stateDir: string;
  clock: Clock;
  logger: Logger;
  collect: () => StatusDocument;
  /** Rewritten at least this often even when nothing changed, so readers can tell a live daemon from a dead one. */
  heartbeatMs: number;
  /** Gives the file to the group that may read the status (mode 0640); root's group when absent. */
  group?: StatusGroup;
  /** Extra outputs written from the same document (the Prometheus textfile). */
  alsoWrite?: (doc: StatusDocument) => Promise<void>;
}

/** Coalesce bursts of changes into one write. */
const DEBOUNCE_MS = 200;

/**
 * Writes `<stateDir>/status.json`: replaced atomically (write temp + rename)
 * so `runner status` never reads half a file and never needs a lock; mode
 * 0640, so root and the operator group can read it and nobody else can
 * write it. Written on change (debounced) and on a heartbeat.
 *
 * Why a file rather than a socket: status must still be readable (and
 * recognisably stale) when the daemon is dead, reading it costs the daemon
 * nothing and cannot block it, and there is no server to harden.
 */
export class StatusWriter {
  private readonly loop: Loop;
  lastError: string | undefined;
  private readonly file: string;

  constructor(private readonly options: StatusWriterOptions) {
    // The first write goes out at once (after the debounce): readers see a live daemon.
    this.loop = new Loop({
      clock: options.clock,
      idleMs: () => options.heartbeatMs,
      debounce: { delayMs: DEBOUNCE_MS },
      pending: true,
    });
    this.file = path.join(options.stateDir, 'status.json');
  }

  changed(): void {
    this.loop.wake();
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.loop.run(signal, () => this.write());
  }

  /** The document as it would be written now (the metrics listener serves it too). */
  collect(): StatusDocument {
    return this.options.collect();
  }

  /** One write now. */
  async write(): Promise<void> {
    try {
      const doc = this.options.collect();
      await writeFileAtomic(this.file, `${JSON.stringify(doc)}\n`, 0o640);
      await this.options.group?.apply(this.file);
      await this.options.alsoWrite?.(doc);
      if (this.lastError) this.options.logger.info('status file written again');
      this.lastError = undefined;
    } catch (error) {
      const message = `cannot write ${this.file}: ${describeError(error)}`;
      if (message !== this.lastError)
        this.options.logger.warn(`${message}; supervision goes on, runner status will show stale data`);
      this.lastError = message;
    }
  }
}
