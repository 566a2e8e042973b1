import { RunnerError } from '../shared/errors.ts';

/** A podman call that failed, with everything needed to explain it. */
export class PodmanError extends RunnerError {
  readonly args: readonly string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;
  readonly timedOut: boolean;

  constructor(details: { args: readonly string[]; exitCode?: number; stderr: string; timedOut: boolean; message: string; cause?: unknown }) {
    super(details.timedOut ? 'PODMAN_TIMEOUT' : 'PODMAN_FAILED', details.message, { cause: details.cause });
    this.name = 'PodmanError';
    this.args = details.args;
    this.exitCode = details.exitCode;
    this.stderr = details.stderr;
    this.timedOut = details.timedOut;
  }
}

/**
 * The meaningful part of podman's stderr: its `Error:` lines, without the
 * noise it prints on hosts without syslog ("failed to connect to syslog").
 */
export const podmanErrorText = (stderr: string): string => {
  const lines = stderr.split('\n').map((line) => line.trim()).filter((line) => line && !line.includes('failed to connect to syslog'));
  const errors = lines.filter((line) => line.startsWith('Error:')).map((line) => line.slice('Error:'.length).trim());
  return (errors.length > 0 ? errors : lines).join('; ').slice(0, 2000);
};
