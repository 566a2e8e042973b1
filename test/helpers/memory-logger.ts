import { createLogger, type Logger } from '../../src/shared/logger.ts';

/** A logger that keeps JSON lines in memory, for tests that must not print (and may inspect fields). */
export const memoryLogger = (): { logger: Logger; lines: Record<string, unknown>[] } => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'trace',
    format: 'json',
    write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>),
  });
  return { logger, lines };
};
