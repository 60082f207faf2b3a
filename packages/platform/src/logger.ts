import { hostname } from 'node:os';
import { pino, type Logger, type DestinationStream } from 'pino';
import { LOG_FIELDS, REDACT_PATHS } from './log-fields.ts';

export type { Logger } from 'pino';

/** The version every log line carries (the repository's package version). */
export const VERSION = '0.1.0';

/**
 * JSON logs with personal fields redacted, each line with the service, process id, host and version
 * (and, from the runner, the record's event and correlation ids). `destination` lets tests capture output.
 */
export function createLogger(opts: { service: string; level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      base: { [LOG_FIELDS.service]: opts.service, [LOG_FIELDS.pid]: process.pid, [LOG_FIELDS.hostname]: hostname(), [LOG_FIELDS.version]: VERSION },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // Error objects: code and message only; stacks are for developers at debug level.
      serializers: {
        err: (err: unknown) => {
          if (!(err instanceof Error)) return { message: String(err) };
          const e = err as Error & { code?: unknown; retryable?: unknown };
          return { type: e.name, message: e.message, code: e.code, retryable: e.retryable, ...(opts.level === 'debug' || opts.level === 'trace' ? { stack: e.stack } : {}) };
        },
      },
    },
    opts.destination,
  );
}
