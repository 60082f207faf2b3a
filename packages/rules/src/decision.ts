import type { ErrorCode } from '@cms-router/errors';

export interface Reason {
  readonly ruleId: string;
  /** A sentence a caseworker understands. Never personal data (no names, addresses, PI reasons). */
  readonly text: string;
  readonly procedure: string;
}

export interface Decision {
  readonly segment: string;
  readonly region: string | null;
  readonly team: string | null;
  readonly ownerUserId: string | null;
  readonly access: 'OWNER' | 'READ_ONLY';
  readonly requirements: readonly string[];
  readonly handling: readonly string[];
  readonly rulesVersion: string;
  /** The deciding rule first, then what else shaped the decision. */
  readonly reasons: readonly Reason[];
}

export interface RoutingError {
  readonly code: ErrorCode;
  /** What is wrong and where, in words a person can act on. No personal data. */
  readonly reason: string;
  readonly ruleId: string;
}

export type DecisionResult = { readonly ok: true; readonly decision: Decision } | { readonly ok: false; readonly error: RoutingError };

export const ok = (decision: Decision): DecisionResult => ({ ok: true, decision });
export const fail = (code: ErrorCode, ruleId: string, reason: string): DecisionResult => ({ ok: false, error: { code, ruleId, reason } });

/** True when two decisions would put the work in the same place with the same conditions. */
export function samePlacement(a: Decision | null | undefined, b: Decision | null | undefined): boolean {
  if (!a || !b) return a === b;
  return (
    a.segment === b.segment &&
    a.region === b.region &&
    a.team === b.team &&
    a.ownerUserId === b.ownerUserId &&
    a.access === b.access &&
    sameList(a.requirements, b.requirements) &&
    sameList(a.handling, b.handling)
  );
}

/** Same strings in the same order. */
export function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
