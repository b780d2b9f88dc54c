/**
 * Structured logs (pino) on stderr, so stdout stays free for `--json` events.
 * Pretty and colourful in a terminal, one JSON object per line otherwise (tests
 * and log collectors read those).
 */
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type PinoPretty from 'pino-pretty';

/** pino-pretty is loaded only for a terminal: it costs ~70 ms of every start-up otherwise. */
const prettyStream = (options: PinoPretty.PrettyOptions): PinoPretty.PrettyStream =>
  (createRequire(import.meta.url)('pino-pretty') as typeof PinoPretty)(options);

export type { Logger };
export type LogFormat = 'pretty' | 'json';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level?: LogLevel;
  format?: LogFormat;
  name?: string;
  /** Where lines go; stderr by default. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stderr;
  const format = options.format ?? ((destination as { isTTY?: boolean }).isTTY ? 'pretty' : 'json');
  const base = { level: options.level ?? 'info', name: options.name, base: undefined as undefined };
  if (format === 'pretty') {
    return pino(base, prettyStream({ destination: destination as NodeJS.WritableStream & { fd?: number }, sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
  }
  if (destination === process.stderr || destination === process.stdout) {
    return pino(base, pino.destination({ fd: destination === process.stdout ? 1 : 2, sync: true }));
  }
  return pino(base, destination);
}

/** A logger that drops everything (unit tests of server modules). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
