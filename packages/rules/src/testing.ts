import type { CaseFacts, CaseGroupFacts, OpenServiceRequest, PartyFacts } from './facts.ts';

/** Builders for tests and simulations: a plain English-postcode case group, then overrides. */
export function party(partyId: string, role: PartyFacts['role'], over: Partial<PartyFacts> = {}): PartyFacts {
  return {
    partyId,
    role,
    residence: { ukPostcode: 'LS1 4AP', nonUkCountry: null },
    identifierKnown: true,
    nationallySensitive: false,
    personalInterest: null,
    knownAsRecorded: false,
    ...over,
  };
}

export function caseGroup(over: Partial<CaseGroupFacts> = {}, ppOver: Partial<PartyFacts> = {}): CaseGroupFacts {
  const pp = party('PP', 'PAYING_PARENT', ppOver);
  return {
    caseGroupId: 'CG-1',
    payingParentId: 'PP',
    parties: { PP: pp, RP: party('RP', 'RECEIVING_PARENT', { residence: { ukPostcode: 'CF10 1AA', nonUkCountry: null } }), QC: party('QC', 'QUALIFYING_CHILD') },
    cases: { 'C-1': { caseId: 'C-1', open: true, newApplication: false, promiseToPayIssued: true, parties: [{ partyId: 'PP', role: 'PAYING_PARENT' }, { partyId: 'RP', role: 'RECEIVING_PARENT' }, { partyId: 'QC', role: 'QUALIFYING_CHILD' }] } },
    incomeSource: 'EMPLOYED',
    special: null,
    openServiceRequests: {},
    ...over,
  };
}

export function sr(srId: string, process: string, area: string, subArea: string, over: Partial<OpenServiceRequest> = {}): OpenServiceRequest {
  return { srId, process, area, subArea, raisedAgainstPartyId: null, pendingApproval: false, ownerUserId: 'U-1', ownerTeamId: 'T-1', ...over };
}

/** A case of the default case group's parties (override what differs). */
export function aCase(caseId: string, over: Partial<CaseFacts> = {}): CaseFacts {
  return { caseId, open: true, newApplication: false, promiseToPayIssued: true, parties: [{ partyId: 'PP', role: 'PAYING_PARENT' }, { partyId: 'RP', role: 'RECEIVING_PARENT' }, { partyId: 'QC', role: 'QUALIFYING_CHILD' }], ...over };
}
