/** What the ledger remembers of one idempotency key. Written the moment SMTP accepts or finally fails. */
export interface LedgerEntry {
  readonly status: 'SENT' | 'FAILED';
  readonly attempts: number;
  readonly messageId: string;
  readonly at: string;
  /** Coordinates of the work record whose handling wrote the entry; null when rebuilt from cms.notifications.v1. */
  readonly by: string | null;
  readonly errorCode: string | null;
}

export type EmailStep =
  /** Another work record already sent (or failed) this email and published its event: nothing to do. */
  | { readonly kind: 'done' }
  /** This very record sent it, but its transaction did not commit: publish the event again, do not send. */
  | { readonly kind: 'republish'; readonly entry: LedgerEntry }
  | { readonly kind: 'wait'; readonly ms: number }
  | { readonly kind: 'send' };

/**
 * Decides what to do with a due email, from the ledger and whether its event is known to be committed
 * (`published`, written after the commit). Pure. A record handled again after its transaction committed
 * (a consumer group rewound or replaced) finds it published and does nothing.
 */
export function emailStep(entry: LedgerEntry | null, published: boolean, coordinates: string, notBefore: string, now: Date): EmailStep {
  if (entry) return entry.by === coordinates && !published ? { kind: 'republish', entry } : { kind: 'done' };
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
