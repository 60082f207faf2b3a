import type { ErrorCode } from '@cms-router/errors';
import type { PersonSnapshot, Residence } from '@cms-router/events';
import { lookupPostcode, type Rules } from '@cms-router/rules';
import type { PeopleInput } from './inputs.ts';
import { countKeys } from './state.ts';

/**
 * One attribute of a person with the business time it was recorded at. The newest wins whatever order
 * the facts were read in: facts about one person come from several topics (applications, party facts,
 * SR-derived flags) whose relative order nobody controls.
 */
export interface Attr<T> {
  readonly v: T;
  readonly at: string;
  /** Source rank, for facts recorded at the same millisecond: party facts, then SR flags, then applications. */
  readonly r: number;
  /** Tie-break between sources of the same rank (the application's case group). */
  readonly k: string;
}

export interface PersonalInterestAttr {
  readonly flagged: boolean;
  readonly warmHandoverRequired: boolean;
  readonly suppressCorrespondence: boolean;
}

/**
 * The router's person registry entry (people stage, keyed by party id). No names, NINOs, addresses beyond
 * the postcode, or personal-interest reasons: routing needs none of them.
 */
export interface PersonState {
  readonly partyId: string;
  readonly residence: Attr<Residence> | null;
  /** Known once any source says so (identifiers are never taken away); `at` is the first such time. */
  readonly identifierKnownAt: string | null;
  readonly nationallySensitive: Attr<boolean> | null;
  readonly knownAsRecorded: Attr<boolean> | null;
  readonly incomeSource: Attr<string> | null;
  readonly personalInterest: Attr<PersonalInterestAttr> | null;
  /** Case groups the person is in, sorted (from applications). */
  readonly caseGroups: readonly string[];
  /** Business time of the first fact about the person: a person in no case group yet is waiting for one. */
  readonly firstAt: string;
  /** Changes to the snapshot so far (absent in a state stored before it was counted: 0). */
  readonly revision?: number;
}

export interface PeopleResult {
  readonly state: PersonState | null;
  /** The person's current facts, to each case group that must hear them (sorted by case group). */
  readonly snapshots: readonly { readonly caseGroupId: string; readonly snapshot: PersonSnapshot }[];
  readonly rejection?: { readonly code: ErrorCode; readonly reason: string };
}

const RANK = { application: 0, pi: 1, party: 2 } as const;

/** SCR's manual flags (003 steps 15-21): never a threat of suicide, which only a referral sets, against the client. */
export const MANUAL_PI_REASONS = ['ASSOCIATED_CONTACT', 'CONFLICT_OF_INTEREST', 'EMPLOYEE_IS_CLIENT', 'CIFBA', 'COMMISSION_DEFINED'] as const;

function newer<T>(current: Attr<T> | null, next: Attr<T>): boolean {
  if (!current) return true;
  if (next.at !== current.at) return next.at > current.at;
  if (next.r !== current.r) return next.r > current.r;
  // Same time, same source: a corrected resend of the same fact is judged on its own content.
  return next.k >= current.k;
}

const set = <T>(current: Attr<T> | null, next: Attr<T>): Attr<T> | null => (newer(current, next) ? next : current);
const earlier = (a: string | null, b: string): string => (a === null || b < a ? b : a);

/** The later of two business times, the second of which may be missing. */
const latest = (a: string, b: string | null | undefined): string => (typeof b === 'string' && b > a ? b : a);

/** When any of the person's facts was last recorded (business time), without a list of them made per fact. */
function lastTouched(p: PersonState): string {
  let at = latest(p.firstAt, p.residence?.at);
  at = latest(at, p.identifierKnownAt);
  at = latest(at, p.nationallySensitive?.at);
  at = latest(at, p.knownAsRecorded?.at);
  at = latest(at, p.incomeSource?.at);
  return latest(at, p.personalInterest?.at);
}

export function snapshotOf(p: PersonState): PersonSnapshot {
  const pi = p.personalInterest?.v.flagged === true ? p.personalInterest : null;
  return {
    type: 'PersonSnapshot',
    partyId: p.partyId,
    residence: p.residence ? { ...p.residence.v } : null,
    identifierKnown: p.identifierKnownAt !== null,
    identifierKnownAt: p.identifierKnownAt,
    nationallySensitive: p.nationallySensitive?.v ?? false,
    knownAsRecorded: p.knownAsRecorded?.v ?? false,
    incomeSource: p.incomeSource?.v ?? null,
    personalInterest: pi ? { warmHandoverRequired: pi.v.warmHandoverRequired, suppressCorrespondence: pi.v.suppressCorrespondence, setAt: pi.at } : null,
    updatedAt: lastTouched(p),
    revision: p.revision ?? 0,
  };
}

/** Same facts (when they were last touched aside): nothing for the case groups to hear. */
function sameSnapshot(a: PersonSnapshot, b: PersonSnapshot): boolean {
  let n = 0;
  for (const k in a) {
    if (k !== 'updatedAt' && k !== 'revision' && !sameValue(a[k as keyof PersonSnapshot], b[k as keyof PersonSnapshot])) return false;
    n += 1;
  }
  return n === countKeys(b);
}

/** Plain data compared by value (a snapshot's address and flag), without the two strings JSON.stringify made per fact. */
function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let n = 0;
  for (const k in x) {
    if (!sameValue(x[k], y[k])) return false;
    n += 1;
  }
  return n === countKeys(y);
}

/**
 * Applies one fact to the person registry. Pure. A fact about a person in no case group yet is kept: it
 * waits for the person to join one, and is then part of what that case group hears (a person flagged
 * once is flagged in every case group they are in, now or later). Every case group of the person hears
 * the person's current facts when they change, and a case group the person joins hears them at once.
 */
export function applyPeopleInput(state: PersonState | null, input: PeopleInput, rules: Rules): PeopleResult {
  const base: PersonState = state ?? { partyId: input.partyId, residence: null, identifierKnownAt: null, nationallySensitive: null, knownAsRecorded: null, incomeSource: null, personalInterest: null, caseGroups: [], firstAt: input.occurredAt };
  const at = input.occurredAt;
  const firstAt = at < base.firstAt ? at : base.firstAt;
  // Each kind of fact makes the new entry in one copy.
  let next: PersonState;
  let joined: string | null = null;
  switch (input.kind) {
    case 'application': {
      const a = input.application;
      const party = [a.payingParent, a.receivingParent, ...a.qualifyingChildren].find((x) => x.partyId === input.partyId);
      if (!party) return { state, snapshots: [], rejection: { code: 'CMS_EVENT_INVALID', reason: `application for case ${input.caseId} does not name party ${input.partyId}` } };
      const attr = <T>(v: T): Attr<T> => ({ v, at, r: RANK.application, k: input.caseGroupId });
      if (!base.caseGroups.includes(input.caseGroupId)) joined = input.caseGroupId;
      next = {
        ...base,
        firstAt,
        residence: set(base.residence, attr({ ...party.address })),
        identifierKnownAt: party.identifierKnown ? earlier(base.identifierKnownAt, at) : base.identifierKnownAt,
        // The application's income source is the paying parent's (004: "paying parent postcode, income source").
        incomeSource: a.payingParent.partyId === input.partyId ? set(base.incomeSource, attr(a.incomeSource as string)) : base.incomeSource,
        caseGroups: joined ? [...base.caseGroups, joined].sort() : base.caseGroups,
      };
      break;
    }
    case 'party': {
      const f = input.fact;
      const attr = <T>(v: T): Attr<T> => ({ v, at, r: RANK.party, k: '' });
      switch (f.type) {
        case 'PartyAddressChanged': {
          // A new address work cannot be routed by is refused here and changes nothing, so the outcome does not
          // depend on whether it reached the registry before or after the person's first placement.
          const found = f.address.ukPostcode ? lookupPostcode(f.address.ukPostcode, rules) : null;
          if (found && !found.ok) {
            const why = found.problem === 'MALFORMED' ? 'is not a well-formed UK postcode' : `is in district ${found.district ?? '?'}, which is not in the postcode table (rules file)`;
            return { state, snapshots: [], rejection: { code: found.problem === 'MALFORMED' ? 'CMS_POSTCODE_MALFORMED' : 'CMS_POSTCODE_UNKNOWN', reason: `party ${input.partyId}: the new address's postcode ${why}; the address is not used for routing and the person's case groups keep their placement` } };
          }
          next = { ...base, firstAt, residence: set(base.residence, attr({ ...f.address })) };
          break;
        }
        case 'PartyIncomeSourceChanged':
          next = { ...base, firstAt, incomeSource: set(base.incomeSource, attr(f.incomeSource as string)) };
          break;
        case 'PartyIdentifierAllocated':
          next = { ...base, firstAt, identifierKnownAt: earlier(base.identifierKnownAt, at) };
          break;
        case 'PartyKnownAsChanged':
          next = { ...base, firstAt, knownAsRecorded: set(base.knownAsRecorded, attr(f.knownAsRecorded)) };
          break;
        case 'NationallySensitiveChanged':
          next = { ...base, firstAt, nationallySensitive: set(base.nationallySensitive, attr(f.nationallySensitive)) };
          break;
        case 'PersonalInterestRecorded': {
          // 003 steps 15-21 (associated contacts set by SCR without an SR) and step 26 (removal).
          if (f.flagged) {
            if (f.reason === 'THREAT_OF_SUICIDE') {
              return { state, snapshots: [], rejection: { code: 'CMS_EVENT_INVALID', reason: `party ${input.partyId}: a personal-interest flag with this reason is set only by a referral approved by a team leader, against the client, never as a manual flag (003 steps 15-21; the reason is not repeated here: flags' reasons are personal data)` } };
            }
            if (!f.reason || !(MANUAL_PI_REASONS as readonly string[]).includes(f.reason)) {
              return { state, snapshots: [], rejection: { code: 'CMS_EVENT_INVALID', reason: `party ${input.partyId}: a personal-interest flag set by hand needs a reason, one of ${MANUAL_PI_REASONS.join(', ')}` } };
            }
          }
          next = { ...base, firstAt, personalInterest: set(base.personalInterest, attr({ flagged: f.flagged, warmHandoverRequired: false, suppressCorrespondence: false })) };
          break;
        }
      }
      break;
    }
    case 'pi': {
      const f = input.fact;
      next = { ...base, firstAt, personalInterest: set(base.personalInterest, { v: { flagged: f.flagged, warmHandoverRequired: f.flagged && f.warmHandoverRequired, suppressCorrespondence: f.flagged && f.suppressCorrespondence }, at, r: RANK.pi, k: input.caseGroupId }) };
      break;
    }
  }
  const before = state ? snapshotOf(state) : null;
  let after = snapshotOf(next);
  const changed = before === null || !sameSnapshot(before, after);
  // Counted in the order the registry applies facts, which a rebuild repeats: the same facts, the same revisions.
  if (changed) {
    next = { ...next, revision: (base.revision ?? 0) + 1 };
    after = { ...after, revision: next.revision ?? 0 };
  }
  const audience = changed ? next.caseGroups : joined ? [joined] : [];
  return { state: next, snapshots: audience.map((caseGroupId) => ({ caseGroupId, snapshot: after })) };
}
