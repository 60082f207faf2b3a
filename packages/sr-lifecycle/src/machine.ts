import type { ErrorCode } from '@cms-router/errors';
import type { SrFact, SrLifecycleEvent } from '@cms-router/events';

/** Values as the case system displays them (procedures 000 and 003). Compared ignoring case and spacing. */
export const SUB_STATUS = { pendingApprovalTl: 'Pending approval - TL', approved: 'Approved', rejected: 'Rejected', complete: 'Complete' } as const;
export const RESOLUTION = { complexCaseApproved: 'Complex Case Approved', piApproved: 'Personal Interest Approved', piNotValid: 'Personal Interest Not Valid' } as const;

/** Non-standard referral reasons and the exceptional case type each means (001 ECH overview). */
export const NON_STANDARD_REASONS: Readonly<Record<string, 'TYPE_ONE' | 'TYPE_TWO'>> = {
  NO_NINO_OR_CRN: 'TYPE_ONE',
  CANNOT_REACH_ACCURATE_OUTCOME: 'TYPE_TWO',
};

/** Personal-interest referral reasons (003 step 1) and how each is flagged (003 step 7 and SCR notes). */
export const PI_REASONS: Readonly<Record<string, { flag: string; associatedContacts: boolean; reviewMonths: number | null; warmHandover: boolean; knownAs: boolean }>> = {
  THREAT_OF_SUICIDE: { flag: 'THREAT_OF_SUICIDE', associatedContacts: false, reviewMonths: 3, warmHandover: false, knownAs: false },
  CONFLICT_OF_INTEREST: { flag: 'CONFLICT_OF_INTEREST', associatedContacts: false, reviewMonths: null, warmHandover: false, knownAs: false },
  EMPLOYEE_IS_CLIENT: { flag: 'EMPLOYEE_IS_CLIENT', associatedContacts: false, reviewMonths: null, warmHandover: false, knownAs: false },
  NAME_OR_IDENTITY_NOT_DISCLOSED: { flag: 'COMMISSION_DEFINED', associatedContacts: true, reviewMonths: null, warmHandover: false, knownAs: true },
  TRANSGENDER: { flag: 'COMMISSION_DEFINED', associatedContacts: true, reviewMonths: null, warmHandover: false, knownAs: false },
  QUALIFYING_CHILD_DIED: { flag: 'COMMISSION_DEFINED', associatedContacts: true, reviewMonths: null, warmHandover: false, knownAs: false },
  CIFBA: { flag: 'CIFBA', associatedContacts: false, reviewMonths: null, warmHandover: true, knownAs: false },
};

export type SrKind = 'NON_STANDARD_REFERRAL' | 'PI_REFERRAL' | 'PI_CESSATION' | 'NON_STANDARD_LOAD_BACK' | 'OTHER';

/** Drop-down values compare ignoring case and spacing. */
export const norm = (s: string | null | undefined): string => (s ?? '').trim().replace(/\s+/g, ' ').toLowerCase();
export const same = (a: string | null | undefined, b: string): boolean => norm(a) === norm(b);

export function kindOf(process: string, area: string, subArea: string): SrKind {
  if (!same(process, 'Special case management')) return 'OTHER';
  if (same(area, 'Non Standard')) return same(subArea, 'Referral') ? 'NON_STANDARD_REFERRAL' : same(subArea, 'Load Back') ? 'NON_STANDARD_LOAD_BACK' : 'OTHER';
  if (same(area, 'Personal Interest')) return same(subArea, 'Referral') ? 'PI_REFERRAL' : same(subArea, 'Cessation') ? 'PI_CESSATION' : 'OTHER';
  return 'OTHER';
}

export interface SrRecord {
  readonly srId: string;
  readonly caseId: string;
  readonly kind: SrKind;
  readonly process: string;
  readonly area: string;
  readonly subArea: string;
  readonly reason: string | null;
  readonly raisedAgainstPartyId: string | null;
  readonly createdBy: { readonly userId: string; readonly role: string; readonly teamId: string | null };
  readonly status: 'OPEN' | 'IN_PROGRESS' | 'PENDING_APPROVAL' | 'CLOSED' | 'CANCELLED';
  readonly subStatus: string | null;
  readonly resolutionCode: string | null;
  /** Activity id -> completed. Null until the plan is generated. */
  readonly activities: Readonly<Record<string, boolean>> | null;
  readonly approval: 'NONE' | 'PENDING' | 'APPROVED' | 'REJECTED';
  readonly approvedBy: string | null;
}

/** Where an input record was read, for the rejection of a fact that waited. */
export interface SrSource {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly eventId: string;
}

/** An SR event that arrived before what it refers to: its case's application, or its SR's creation. */
export interface WaitingSrEvent {
  readonly eventId: string;
  readonly arrivedAt: string;
  readonly waitsFor: `case:${string}` | `sr:${string}`;
  readonly event: SrLifecycleEvent;
  readonly source: SrSource;
}

/** What sr-events keeps per case group. */
export interface CaseGroupSrState {
  readonly caseGroupId: string;
  /** Each case's parties, from its application (003: "the other parties in the case"). */
  readonly cases: Readonly<Record<string, readonly Party[]>>;
  /** SR events waiting for their case's application or their SR's creation, in arrival order. */
  readonly waiting: readonly WaitingSrEvent[];
  readonly srs: Readonly<Record<string, SrRecord>>;
  /** Personal-interest flags this service set: party -> the SR that set it and whether it was an associated contact. */
  readonly piFlags: Readonly<Record<string, { readonly srId: string; readonly associated: boolean }>>;
  /** Recent event ids, to ignore exact duplicates. */
  readonly seen: readonly string[];
}

export interface Party {
  readonly partyId: string;
  readonly role: 'PAYING_PARENT' | 'RECEIVING_PARENT' | 'QUALIFYING_CHILD';
}

export interface SrContext {
  readonly eventId: string;
}

export type SrOutcome =
  | { readonly kind: 'applied'; readonly state: CaseGroupSrState; readonly facts: readonly SrFact[]; readonly note: string | null }
  | { readonly kind: 'duplicate'; readonly state: CaseGroupSrState }
  | { readonly kind: 'rejected'; readonly state: CaseGroupSrState; readonly code: ErrorCode; readonly reason: string };

/** Event ids remembered per case group to ignore exact duplicates. */
export const SEEN_LIMIT = 500;

export function emptyState(caseGroupId: string): CaseGroupSrState {
  return { caseGroupId, cases: {}, waiting: [], srs: {}, piFlags: {}, seen: [] };
}

/** Three calendar months later, clamped to the month's last day (31 Jan -> 30 Apr). */
export function addMonths(iso: string, months: number): string {
  const d = new Date(iso);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1, d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(d.getUTCDate(), lastDay));
  return target.toISOString();
}
