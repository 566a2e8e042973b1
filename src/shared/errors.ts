/**
 * Typed errors. Every error the runner raises on purpose carries a `code` that
 * decides how the CLI renders it (usage vs. message vs. stack) and a message a
 * user can act on. `cause` keeps the underlying error for logs.
 */
export type RunnerErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
  | 'MANIFEST_INVALID'
  | 'MANIFEST_DIR'
  | 'PODMAN_FAILED'
  | 'PODMAN_TIMEOUT'
  | 'PODMAN_MISSING'
  | 'STATE_IO'
  | 'SECRET_NOT_OWNED'
  | 'ALREADY_RUNNING';

export class RunnerError extends Error {
  readonly code: RunnerErrorCode;

  constructor(code: RunnerErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunnerError';
    this.code = code;
  }
}

export const isRunnerError = (error: unknown): error is RunnerError => error instanceof RunnerError;

/** A short, single-line description of any thrown value, for logs. */
export const describeError = (error: unknown): string => (error instanceof Error ? error.message : String(error));
