import { pino, type Logger, type DestinationStream } from 'pino';
import { LOG_FIELDS, REDACT_PATHS } from './log-fields.ts';

export type { Logger } from 'pino';

/** JSON logs with personal fields redacted. `destination` lets tests capture output. */
export function createLogger(opts: { service: string; level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      base: { [LOG_FIELDS.service]: opts.service },
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
