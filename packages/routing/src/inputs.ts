import type { CaseFact, OrphanFlag, PartyFact, SrFact, WorkforceEvent } from '@cms-router/events';

type Payload<T extends { payload: unknown }> = T['payload'];

/** Workforce facts that concern a case group: its allocation, and its owner's availability (fanned out). */
export type CaseGroupWorkforceFact = Extract<Payload<WorkforceEvent>, { type: 'CaseGroupAllocated' | 'UserAvailabilityChanged' }>;

/** A fact as the route stage sees it: already keyed by case group, whichever topic it came from. */
export type RouterInput =
  | { readonly source: 'case'; readonly caseGroupId: string; readonly caseId: string; readonly occurredAt: string; readonly fact: Payload<CaseFact> }
  | { readonly source: 'party'; readonly caseGroupId: string; readonly partyId: string; readonly occurredAt: string; readonly fact: Payload<PartyFact> }
  | { readonly source: 'sr'; readonly caseGroupId: string; readonly caseId: string; readonly srId: string; readonly occurredAt: string; readonly fact: Payload<SrFact> }
  | { readonly source: 'workforce'; readonly caseGroupId: string; readonly userId: string; readonly occurredAt: string; readonly fact: CaseGroupWorkforceFact }
  | { readonly source: 'orphan'; readonly caseGroupId: string; readonly occurredAt: string; readonly fact: OrphanFlag };

export function fromCaseFact(v: CaseFact): RouterInput {
  return { source: 'case', caseGroupId: v.caseGroupId, caseId: v.caseId, occurredAt: v.occurredAt, fact: v.payload };
}

export function fromPartyFact(v: PartyFact, caseGroupId: string): RouterInput {
  return { source: 'party', caseGroupId, partyId: v.partyId, occurredAt: v.occurredAt, fact: v.payload };
}

export function fromSrFact(v: SrFact): RouterInput {
  return { source: 'sr', caseGroupId: v.caseGroupId, caseId: v.caseId, srId: v.srId, occurredAt: v.occurredAt, fact: v.payload };
}

/**
 * An allocation names its case group; an availability change is fanned out to each case group the user
 * holds (`caseGroupId`). Other workforce facts are reference data (team leaders) or the notifier's
 * business (team moves, access removal: orphans), not routing inputs.
 */
export function fromWorkforce(v: WorkforceEvent, caseGroupId?: string): RouterInput | undefined {
  const p = v.payload;
  if (p.type === 'CaseGroupAllocated') return { source: 'workforce', caseGroupId: p.caseGroupId, userId: v.userId, occurredAt: v.occurredAt, fact: p };
  if (p.type === 'UserAvailabilityChanged' && caseGroupId !== undefined) return { source: 'workforce', caseGroupId, userId: v.userId, occurredAt: v.occurredAt, fact: p };
  return undefined;
}

export function fromOrphanFlag(v: OrphanFlag): RouterInput {
  return { source: 'orphan', caseGroupId: v.caseGroupId, occurredAt: v.occurredAt, fact: v };
}
