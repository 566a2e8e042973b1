import type { LogFormat, LogLevel } from './log-levels.ts';
import { createConsola, type ConsolaInstance, type ConsolaReporter, type LogObject } from 'consola';
import { printable } from './printable.ts';

/**
 * The logger is created once (in the composition root) and passed down; each
 * module takes `logger.withTag('module')`. Convention: a message string first,
 * then at most one object of fields (`{ pod, file }`), which the JSON format
 * emits as top-level keys so journald and log shippers can filter on them.
 * Everything goes to stderr: stdout belongs to the CLI's output.
 */
export type Logger = ConsolaInstance;

export { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log-levels.ts';

const CONSOLA_LEVEL: Record<LogLevel, number> = { silent: -999, error: 0, warn: 1, info: 3, debug: 4, trace: 5 };

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where lines go; stderr unless a test captures them. */
  write?: (line: string) => void;
}

export const createLogger = ({ level, format, write }: LoggerOptions): Logger => {
  const sink = write ?? ((line: string) => process.stderr.write(line));
  const colors = write === undefined && process.stderr.isTTY === true && !process.env.NO_COLOR;
  return createConsola({
    level: CONSOLA_LEVEL[level],
    reporters: [format === 'json' ? jsonReporter(sink) : textReporter(sink, colors)],
  });
};

const splitArgs = (args: unknown[]): { message: string; fields: Record<string, unknown> } => {
  const words: string[] = [];
  const fields: Record<string, unknown> = {};
  for (const arg of args) {
    if (arg instanceof Error) fields.error = arg.message;
    else if (arg && typeof arg === 'object') Object.assign(fields, arg);
    else words.push(String(arg));
  }
  return { message: words.join(' '), fields };
};

const levelName = (log: LogObject): string => (log.type === 'log' || log.type === 'success' ? 'info' : log.type);

const jsonReporter = (write: (line: string) => void): ConsolaReporter => ({
  log: (log) => {
    const { message, fields } = splitArgs(log.args);
    write(
      `${JSON.stringify({ time: log.date.toISOString(), level: levelName(log), ...(log.tag ? { component: log.tag } : {}), msg: message, ...fields })}\n`,
    );
  },
});

const COLORS: Record<string, string> = {
  error: '\x1b[31m',
  fatal: '\x1b[31m',
  warn: '\x1b[33m',
  debug: '\x1b[90m',
  trace: '\x1b[90m',
};

/**
 * One line per message for people: time, level, component, message. The
 * fields are already in the message text, so they are not repeated here.
 * Messages quote manifest values and podman's output, so they are printed
 * escaped (src/shared/printable.ts); the JSON format escapes by itself.
 */
const textReporter = (write: (line: string) => void, colors: boolean): ConsolaReporter => ({
  log: (log) => {
    const { message } = splitArgs(log.args);
    const level = levelName(log);
    const time = log.date.toISOString().slice(11, 19);
    const text = `${time} ${level.toUpperCase().padEnd(5)} ${log.tag ? `[${log.tag}] ` : ''}${printable(message)}`;
    const color = colors ? COLORS[level] : undefined;
    write(color ? `${color}${text}\x1b[0m\n` : `${text}\n`);
  },
});
