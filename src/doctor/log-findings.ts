import type { Logger } from '../shared/logger.ts';
import { describeError } from '../shared/errors.ts';
import type { Finding } from './host-snapshot.ts';

/**
 * The doctor's findings at the daemon's start: each one that is not ok is
 * logged once as a warning, with its fix. Never throws and never blocks the
 * start: the host may be fixed while the runner runs, and the reconciler
 * reports each pod's own failure anyway.
 */
export const logHostFindings = async (
  check: () => Promise<Finding[]>,
  logger: Logger,
  signal?: AbortSignal,
): Promise<void> => {
  try {
    const findings = (await check()).filter((finding) => finding.severity !== 'ok');
    // A shutdown during the checks aborts their podman calls: what they found then says nothing about the host.
    if (signal?.aborted) return;
    for (const finding of findings)
      logger.warn(
        `host check ${finding.check}: ${finding.message}${finding.fix ? `; fix: ${finding.fix}` : ''} (runner doctor)`,
      );
  } catch (error) {
    if (!signal?.aborted) logger.warn(`host checks not run: ${describeError(error)}`);
  }
};
