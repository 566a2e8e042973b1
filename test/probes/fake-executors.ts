import type { HttpProbeRequest, ProbeExecutors, ProbeResult } from '../../src/probes/probe-executors.ts';

export interface ExecutorCall {
  kind: 'exec' | 'http' | 'tcp';
  /** `command[0]` for exec, `host:port` otherwise. */
  name: string;
  args: unknown[];
  at: number;
}

/**
 * Probe executors for worker tests. Exec answers are chosen by the command's
 * first word (tests name their commands `startup`, `live`, `ready`), so one
 * container's three probes can be scripted apart. A held command hangs and
 * ignores its abort signal until released, like a wedged `podman exec`: that
 * is what shows a probe never overlaps itself.
 */
export class FakeExecutors implements ProbeExecutors {
  readonly calls: ExecutorCall[] = [];
  /** Answers by command word (exec) or `host:port` (http, tcp); default success. */
  readonly answers = new Map<string, ProbeResult>();
  private readonly held = new Map<string, Promise<void>>();
  private readonly inFlight = new Map<string, number>();
  readonly maxInFlight = new Map<string, number>();

  constructor(private readonly now: () => number) {}

  fail(name: string, message = `${name} failed`): void {
    this.answers.set(name, { ok: false, message });
  }

  succeed(name: string): void {
    this.answers.delete(name);
  }

  /** Calls of `name` hang (ignoring abort) until the returned function is called. */
  hold(name: string): () => void {
    let release!: () => void;
    this.held.set(name, new Promise<void>((resolve) => (release = resolve)));
    return () => {
      this.held.delete(name);
      release();
    };
  }

  callsOf(name: string): ExecutorCall[] {
    return this.calls.filter((call) => call.name === name);
  }

  exec(containerId: string, command: readonly string[], timeoutMs: number): Promise<ProbeResult> {
    return this.answer('exec', command[0] ?? '', [containerId, [...command], timeoutMs]);
  }

  http(request: HttpProbeRequest): Promise<ProbeResult> {
    return this.answer('http', `${request.host}:${request.port}`, [request]);
  }

  tcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
    return this.answer('tcp', `${host}:${port}`, [host, port, timeoutMs]);
  }

  private async answer(kind: ExecutorCall['kind'], name: string, args: unknown[]): Promise<ProbeResult> {
    this.calls.push({ kind, name, args, at: this.now() });
    const running = (this.inFlight.get(name) ?? 0) + 1;
    this.inFlight.set(name, running);
    this.maxInFlight.set(name, Math.max(running, this.maxInFlight.get(name) ?? 0));
    try {
      const held = this.held.get(name);
      if (held) await held;
      return this.answers.get(name) ?? { ok: true, message: '' };
    } finally {
      this.inFlight.set(name, (this.inFlight.get(name) ?? 1) - 1);
    }
  }
}
