// NAIRI_LOG: the core's tracing events, sent to a pluggable logger (console by default).
import * as native from '../native.js';

/** A level of the core's events, from the most to the least verbose. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'off';

/** One event of the core: level, message and fields (the key and Authorization redacted). */
export interface LogRecord {
  /** `trace`, `debug`, `info`, `warn` or `error`. */
  level: Exclude<LogLevel, 'off'>;
  /** The Rust module that logged it (`nairi::transport`). */
  target: string;
  /** What happened (`response`, `retrying`). */
  message: string;
  /** The event's fields and those of its spans (method, path, attempt, status...). */
  fields: { [name: string]: unknown };
}

/** Where the events go: a function per level, as `console` has. */
export interface Logger {
  /** Receives trace and debug events. */
  debug(message: string, record: LogRecord): void;
  /** Receives info events. */
  info(message: string, record: LogRecord): void;
  /** Receives warnings. */
  warn(message: string, record: LogRecord): void;
  /** Receives errors. */
  error(message: string, record: LogRecord): void;
}

/** The default logger: one line per event on stderr (`console.error`). */
export const consoleLogger: Logger = {
  debug: (message, record) => console.error(format(message, record)),
  info: (message, record) => console.error(format(message, record)),
  warn: (message, record) => console.error(format(message, record)),
  error: (message, record) => console.error(format(message, record)),
};

function format(message: string, record: LogRecord): string {
  const fields = Object.entries(record.fields)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
  return `nairi ${record.level.toUpperCase()} ${record.target}: ${message}${fields ? ' ' + fields : ''}`;
}

/**
 * Sends the core's events at `level` and above to `logger` (default: `console`, on stderr);
 * `'off'` stops them. `NAIRI_LOG=debug|info|warn|error` does the same when the package loads.
 * An unknown level throws.
 */
export function setLogLevel(level: LogLevel, logger: Logger = consoleLogger): void {
  native.setLogger(level, (line: string) => {
    const record = JSON.parse(line) as LogRecord;
    const sink = record.level === 'trace' ? 'debug' : record.level;
    logger[sink](record.message, record);
  });
}

/** Applies `NAIRI_LOG` (called once when the package loads). */
export function configureFromEnv(): void {
  const level = process.env.NAIRI_LOG?.trim().toLowerCase();
  if (level) setLogLevel(level as LogLevel);
}
