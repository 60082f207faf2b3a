import type { CaseFact, PartyFact, SrFact, WorkforceEvent } from '@cms-router/events';

type Payload<T extends { payload: unknown }> = T['payload'];

/** A fact as the route stage sees it: already keyed by case group, whichever topic it came from. */
export type RouterInput =
  | { readonly source: 'case'; readonly caseGroupId: string; readonly caseId: string; readonly occurredAt: string; readonly fact: Payload<CaseFact> }
  | { readonly source: 'party'; readonly caseGroupId: string; readonly partyId: string; readonly occurredAt: string; readonly fact: Payload<PartyFact> }
  | { readonly source: 'sr'; readonly caseGroupId: string; readonly caseId: string; readonly srId: string; readonly occurredAt: string; readonly fact: Payload<SrFact> }
  | { readonly source: 'workforce'; readonly caseGroupId: string; readonly userId: string; readonly occurredAt: string; readonly fact: Extract<Payload<WorkforceEvent>, { type: 'CaseGroupAllocated' }> };

export function fromCaseFact(v: CaseFact): RouterInput {
  return { source: 'case', caseGroupId: v.caseGroupId, caseId: v.caseId, occurredAt: v.occurredAt, fact: v.payload };
}
export function fromPartyFact(v: PartyFact, caseGroupId: string): RouterInput {
  return { source: 'party', caseGroupId, partyId: v.partyId, occurredAt: v.occurredAt, fact: v.payload };
}
export function fromSrFact(v: SrFact): RouterInput {
  return { source: 'sr', caseGroupId: v.caseGroupId, caseId: v.caseId, srId: v.srId, occurredAt: v.occurredAt, fact: v.payload };
}
export function fromWorkforce(v: WorkforceEvent): RouterInput | undefined {
  return v.payload.type === 'CaseGroupAllocated' ? { source: 'workforce', caseGroupId: v.payload.caseGroupId, userId: v.userId, occurredAt: v.occurredAt, fact: v.payload } : undefined;
}
