import type { CaseFact, PartyFact, SrFact, WorkforceEvent } from '@cms-router/events';
import type { UpstreamInput } from './inputs.ts';

/** Builders for tests, simulations and the traffic generator's checks. */
export const addr = (ukPostcode: string | null, nonUkCountry: string | null = null) => ({ ukPostcode, nonUkCountry });

export function application(caseGroupId: string, caseId: string, pp: string, rp: string, ppPostcode: string, o: { existing?: boolean; at?: string; qc?: string; qcKnown?: boolean; rpPostcode?: string; income?: 'EMPLOYED' | 'BENEFITS' | 'SELF_EMPLOYED' | 'NIL_INCOME' } = {}): CaseFact {
  return {
    caseGroupId,
    caseId,
    occurredAt: o.at ?? '2026-02-01T09:00:00.000Z',
    payload: {
      type: 'ApplicationReceived',
      payingParent: { partyId: pp, address: addr(ppPostcode), identifierKnown: true },
      receivingParent: { partyId: rp, address: addr(o.rpPostcode ?? 'CF10 1AA'), identifierKnown: true },
      qualifyingChildren: [{ partyId: o.qc ?? `${caseId}-QC`, address: addr('CF10 1AA'), identifierKnown: o.qcKnown ?? true }],
      incomeSource: o.income ?? 'EMPLOYED',
      partiesHaveExistingCase: o.existing ?? false,
    },
  };
}

export const p2p = (caseGroupId: string, caseId: string, at = '2026-02-02T09:00:00.000Z'): CaseFact => ({ caseGroupId, caseId, occurredAt: at, payload: { type: 'PromiseToPayScheduleIssued', scheduleId: 'S' } });
export const partyFact = (partyId: string, payload: PartyFact['payload'], at = '2026-02-03T09:00:00.000Z'): PartyFact => ({ partyId, occurredAt: at, payload });
export const srFact = (caseGroupId: string, srId: string, payload: SrFact['payload'], at = '2026-02-04T09:00:00.000Z', caseId = 'C-1'): SrFact => ({ caseGroupId, caseId, srId, occurredAt: at, payload });
export const srChange = (change: 'OPENED' | 'PENDING_APPROVAL' | 'COMPLETED' | 'CANCELLED', process: string, area: string, subArea: string, raisedAgainstPartyId: string | null = null, ownerTeamId = 'T-1'): SrFact['payload'] => ({
  type: 'ServiceRequestChanged',
  process,
  area,
  subArea,
  raisedAgainstPartyId,
  change,
  ownerUserId: 'U-1',
  ownerTeamId,
});
export const piFlag = (partyId: string, flagged: boolean, over: Partial<Extract<SrFact['payload'], { type: 'PersonalInterestFlagChanged' }>> = {}): SrFact['payload'] => ({
  type: 'PersonalInterestFlagChanged',
  partyId,
  flagged,
  reason: flagged ? 'COMMISSION_DEFINED' : null,
  reviewDueAt: null,
  warmHandoverRequired: false,
  suppressCorrespondence: false,
  blockPortalForPartyIds: [],
  ...over,
});
export const workforce = (userId: string, payload: WorkforceEvent['payload'], at = '2026-02-05T09:00:00.000Z'): WorkforceEvent => ({ userId, occurredAt: at, payload });
export const allocate = (userId: string, caseGroupId: string, teamId = 'T-1', segment = 'MAINTENANCE', at = '2026-02-05T09:00:00.000Z'): WorkforceEvent => workforce(userId, { type: 'CaseGroupAllocated', caseGroupId, teamId, segment }, at);

export const caseInput = (value: CaseFact): UpstreamInput => ({ topic: 'cms.case-facts.v1', value });
export const partyInput = (value: PartyFact): UpstreamInput => ({ topic: 'cms.party-facts.v1', value });
export const srInput = (value: SrFact): UpstreamInput => ({ topic: 'cms.sr-facts.v1', value });
export const workforceInput = (value: WorkforceEvent): UpstreamInput => ({ topic: 'cms.workforce.v1', value });
