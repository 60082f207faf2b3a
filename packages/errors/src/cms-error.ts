import { ERROR_CODES, type ErrorCode } from './codes.ts';

/** Safe context: identifiers and counts only. Never names, NINOs, addresses or personal-interest reasons. */
export type SafeContext = Readonly<Record<string, string | number | boolean | null | undefined>>;

export interface CmsErrorOptions {
  readonly cause?: unknown;
  readonly context?: SafeContext;
}

/** Base error: a stable code, whether retrying can help, and safe context for logs and dead-letter headers. */
export class CmsError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly context: SafeContext;

  constructor(code: ErrorCode, message: string, options: CmsErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CmsError';
    this.code = code;
    this.retryable = ERROR_CODES[code].retryable;
    this.context = Object.freeze({ ...options.context });
  }

  toJSON(): { code: ErrorCode; message: string; retryable: boolean; context: SafeContext } {
    return { code: this.code, message: this.message, retryable: this.retryable, context: this.context };
  }
}

/** Check by code, not `instanceof`: errors may cross package copies or realms. */
export function isCmsError(err: unknown, code?: ErrorCode): err is CmsError {
  if (typeof err !== 'object' || err === null) return false;
  const candidate = err as { code?: unknown; retryable?: unknown };
  if (typeof candidate.code !== 'string' || !(candidate.code in ERROR_CODES)) return false;
  if (typeof candidate.retryable !== 'boolean') return false;
  return code === undefined || candidate.code === code;
}

/** Message of any thrown value, for logs. */
export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : JSON.stringify(err);
}
