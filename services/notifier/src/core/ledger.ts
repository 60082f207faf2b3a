/** What the ledger remembers of one idempotency key: the email's outcome, committed with its event. */
export interface LedgerEntry {
  readonly status: 'SENT' | 'FAILED';
  readonly attempts: number;
  readonly messageId: string;
  readonly at: string;
  readonly errorCode: string | null;
}

export type EmailStep =
  /** The ledger has it: its event was published in the same transaction. Nothing to do. */
  | { readonly kind: 'done' }
  /** SMTP accepted it but the transaction that records it did not commit: record and publish it, do not send. */
  | { readonly kind: 'record'; readonly entry: LedgerEntry }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'send' };

/**
 * Decides what to do with a due email. Pure. `entry` is the committed ledger (in the notifier's state,
 * restored from its changelog); `guard` is what was written to Redis the moment SMTP answered, before
 * the transaction that records the outcome commits, so that a crash in between does not send again.
 */
export function emailStep(entry: LedgerEntry | null, guard: LedgerEntry | null, notBefore: string, now: Date): EmailStep {
  if (entry) return { kind: 'done' };
  if (guard) return { kind: 'record', entry: guard };
  const wait = Date.parse(notBefore) - now.getTime();
  return wait > 0 ? { kind: 'wait', ms: wait } : { kind: 'send' };
}

export type FailureStep = { readonly kind: 'retry'; readonly attempts: number; readonly notBefore: string } | { readonly kind: 'fail'; readonly attempts: number };

/**
 * After an SMTP attempt failed: a temporary failure is tried again after an exponential backoff until
 * the budget is spent; a permanent one (5xx) fails at once. Either way a FAILED event follows a failure.
 */
export function afterFailure(attemptsBefore: number, retryable: boolean, now: Date, maxAttempts: number, backoffMs: (attempt: number) => number): FailureStep {
  const attempts = attemptsBefore + 1;
  if (!retryable || attempts >= maxAttempts) return { kind: 'fail', attempts };
  return { kind: 'retry', attempts, notBefore: new Date(now.getTime() + backoffMs(attempts - 1)).toISOString() };
}
