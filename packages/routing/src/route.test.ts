import { describe, expect, it } from 'vitest';
import type { CaseFact, OrphanFlag, PartyFact, SrFact, WorkforceEvent } from '@cms-router/events';
import { defaultRules } from '@cms-router/rules';
import { createMemoryRouter, type MemoryOutput } from './memory.ts';

const rules = defaultRules();
const at = '2026-02-01T09:00:00.000Z';
const addr = (ukPostcode: string | null, nonUkCountry: string | null = null) => ({ ukPostcode, nonUkCountry });

function application(caseGroupId: string, caseId: string, pp: string, rp: string, ppPostcode: string, existing = false): CaseFact {
  return {
    caseGroupId,
    caseId,
    occurredAt: at,
    payload: {
      type: 'ApplicationReceived',
      payingParent: { partyId: pp, address: addr(ppPostcode), identifierKnown: true },
      receivingParent: { partyId: rp, address: addr('CF10 1AA'), identifierKnown: true },
      qualifyingChildren: [{ partyId: `${caseId}-QC`, address: addr('CF10 1AA'), identifierKnown: true }],
      incomeSource: 'EMPLOYED',
      partiesHaveExistingCase: existing,
    },
  };
}
const p2p = (caseGroupId: string, caseId: string): CaseFact => ({ caseGroupId, caseId, occurredAt: at, payload: { type: 'PromiseToPayScheduleIssued', scheduleId: 'S' } });
const party = (partyId: string, payload: PartyFact['payload']): PartyFact => ({ partyId, occurredAt: at, payload });
const srFact = (caseGroupId: string, srId: string, payload: SrFact['payload']): SrFact => ({ caseGroupId, caseId: 'C-1', srId, occurredAt: at, payload });
const srChange = (change: 'OPENED' | 'PENDING_APPROVAL' | 'COMPLETED', process: string, area: string, subArea: string, raisedAgainstPartyId: string | null = null): SrFact['payload'] => ({
  type: 'ServiceRequestChanged',
  process,
  area,
  subArea,
  raisedAgainstPartyId,
  change,
  ownerUserId: 'U-1',
  ownerTeamId: 'T-1',
});

function harness() {
  const router = createMemoryRouter(rules);
  let n = 0;
  const send = (input: Parameters<typeof router.process>[0]): MemoryOutput[] => {
    n += 1;
    return router.process(input, `e${n}`, { topic: input.topic, partition: 0, offset: String(n) });
  };
  const segments = (out: MemoryOutput[]) => out.map((o) => (o.topic === 'cms.assignments.v1' ? `${o.value.subject}${o.value.srId ? `:${o.value.srId}` : ''}->${o.value.segment}` : `REJECTED:${o.value.code}`));
  return { router, send, segments };
}

describe('routing a case group through its life (004 Work Allocation)', () => {
  it('new case, then maintenance after the P2P schedule, then moves with the paying parent, publishing only changes', () => {
    const { send, segments } = harness();
    const first = send({ topic: 'cms.case-facts.v1', value: application('CG-1', 'C-1', 'PP-1', 'RP-1', 'LS1 4AP') });
    expect(segments(first)).toEqual(['CASE_GROUP->NEW_CASE']);
    const a = first[0]?.topic === 'cms.assignments.v1' ? first[0].value : undefined;
    expect(a).toMatchObject({ previousSegment: null, region: 'YORKSHIRE_AND_THE_HUMBER', rulesVersion: rules.version, reasons: [{ ruleId: 'lifecycle-new-case' }] });

    expect(segments(send({ topic: 'cms.case-facts.v1', value: p2p('CG-1', 'C-1') }))).toEqual(['CASE_GROUP->MAINTENANCE']);
    // Unchanged outcome: nothing published.
    expect(send({ topic: 'cms.party-facts.v1', value: party('RP-1', { type: 'PartyAddressChanged', address: addr('SA1 1AA') }) })).toEqual([]);
    const moved = send({ topic: 'cms.party-facts.v1', value: party('PP-1', { type: 'PartyAddressChanged', address: addr('CF10 1AA') }) });
    expect(moved).toHaveLength(1);
    expect(moved[0]?.value).toMatchObject({ segment: 'MAINTENANCE', previousSegment: 'MAINTENANCE', region: 'WALES' });
    expect(segments(send({ topic: 'cms.party-facts.v1', value: party('PP-1', { type: 'PartyIncomeSourceChanged', incomeSource: 'BENEFITS' }) }))).toEqual(['CASE_GROUP->MAINTENANCE']);
  });

  it('fans a party fact out to every case group holding the party (a receiving parent with two paying parents)', () => {
    const { send, segments } = harness();
    send({ topic: 'cms.case-facts.v1', value: application('CG-A', 'C-A', 'PP-A', 'RP-X', 'LS1 4AP') });
    send({ topic: 'cms.case-facts.v1', value: application('CG-B', 'C-B', 'PP-B', 'RP-X', 'EH1 1YZ') });
    const out = send({ topic: 'cms.party-facts.v1', value: party('RP-X', { type: 'NationallySensitiveChanged', nationallySensitive: true }) });
    expect(segments(out)).toEqual(['CASE_GROUP->SPECIAL_CLIENT_RECORDS', 'CASE_GROUP->SPECIAL_CLIENT_RECORDS']);
    expect(out.map((o) => o.value.caseGroupId)).toEqual(['CG-A', 'CG-B']);
  });

  it('a paying parent who is also a receiving parent appears in two case groups', () => {
    const { send, router } = harness();
    send({ topic: 'cms.case-facts.v1', value: application('CG-1', 'C-1', 'P-1', 'P-2', 'LS1 4AP') });
    send({ topic: 'cms.case-facts.v1', value: application('CG-2', 'C-2', 'P-3', 'P-1', 'EH1 1YZ') });
    send({ topic: 'cms.party-facts.v1', value: party('P-1', { type: 'PartyAddressChanged', address: addr('BT1 5GS') }) });
    expect(router.state('CG-1')?.placement?.decision.region).toBe('NORTHERN_IRELAND');
    expect(router.state('CG-2')?.placement?.decision.region).toBe('SCOTLAND'); // P-1 is not CG-2's paying parent
  });

  it('rejects facts about unknown case groups and parties, and keeps flowing', () => {
    const { send, segments } = harness();
    expect(segments(send({ topic: 'cms.case-facts.v1', value: p2p('CG-404', 'C-1') }))).toEqual(['REJECTED:CMS_UNKNOWN_CASE_GROUP']);
    expect(segments(send({ topic: 'cms.party-facts.v1', value: party('nobody', { type: 'NationallySensitiveChanged', nationallySensitive: true }) }))).toEqual(['REJECTED:CMS_UNKNOWN_PARTY']);
    expect(segments(send({ topic: 'cms.case-facts.v1', value: application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP') }))).toEqual(['CASE_GROUP->NEW_CASE']);
  });

  it('an unroutable postcode is a rejection and the case group keeps its placement', () => {
    const { send, segments, router } = harness();
    send({ topic: 'cms.case-facts.v1', value: application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP') });
    const out = send({ topic: 'cms.party-facts.v1', value: party('PP', { type: 'PartyAddressChanged', address: addr('QQ9 9QQ') }) });
    expect(segments(out)).toEqual(['REJECTED:CMS_POSTCODE_UNKNOWN']);
    expect(out[0]?.value).toMatchObject({ reason: expect.stringContaining('district QQ9') as unknown });
    expect(router.state('CG-1')?.placement?.decision.segment).toBe('NEW_CASE');
  });
});

describe('service requests and the work that moves with the case group', () => {
  it('an escalation moves the whole case group and its case-owning work, and it moves back when completed (002)', () => {
    const { send, segments } = harness();
    send({ topic: 'cms.case-facts.v1', value: application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP', true) });
    expect(segments(send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-COC', srChange('OPENED', 'Change of Circumstances', 'Address', 'Verify')) }))).toEqual(['SERVICE_REQUEST:SR-COC->MAINTENANCE']);
    expect(segments(send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-C', srChange('OPENED', 'Escalated enquires', 'Complaints', 'Review')) }))).toEqual([
      'CASE_GROUP->COMPLAINTS',
      'SERVICE_REQUEST:SR-C->COMPLAINTS',
      'SERVICE_REQUEST:SR-COC->COMPLAINTS',
    ]);
    expect(segments(send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-C', srChange('COMPLETED', 'Escalated enquires', 'Complaints', 'Review')) }))).toEqual([
      'CASE_GROUP->MAINTENANCE',
      'SERVICE_REQUEST:SR-COC->MAINTENANCE',
    ]);
  });

  it('a functionally unique SR goes to its specialist team by the postcode of the party it is raised against, read-only (004)', () => {
    const { send } = harness();
    send({ topic: 'cms.case-facts.v1', value: application('CG-1', 'C-1', 'PP', 'RP', 'BT1 5GS', true) });
    const [out] = send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-1', srChange('OPENED', 'Payments', 'Discrepancy Log', 'Investigate', 'RP')) });
    expect(out?.value).toMatchObject({ subject: 'SERVICE_REQUEST', segment: 'SPECIALIST', region: 'WALES', access: 'READ_ONLY', team: 'PAYMENT_DISCREPANCIES' });
  });

  it('an SR pending approval becomes a task for the team leader of the referrer\'s team (003 step 9)', () => {
    const { send } = harness();
    const tl: WorkforceEvent = { userId: 'TL-1', occurredAt: at, payload: { type: 'TeamLeadershipAssigned', teamId: 'T-1', segment: 'MAINTENANCE' } };
    expect(send({ topic: 'cms.workforce.v1', value: tl })).toEqual([]);
    send({ topic: 'cms.case-facts.v1', value: application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP', true) });
    send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-PI', srChange('OPENED', 'Special case management', 'Personal Interest', 'Referral')) });
    const [task] = send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-PI', srChange('PENDING_APPROVAL', 'Special case management', 'Personal Interest', 'Referral')) });
    expect(task?.value).toMatchObject({ subject: 'APPROVAL_TASK', srId: 'SR-PI', ownerUserId: 'TL-1', team: 'TEAM_LEADER:T-1' });
  });

  it('approval of a personal-interest referral moves the case group and its open work to SCR (003 step 13)', () => {
    const { send, segments } = harness();
    send({ topic: 'cms.case-facts.v1', value: application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP', true) });
    send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-COC', srChange('OPENED', 'Change of Circumstances', 'Address', 'Verify')) });
    const flag: SrFact['payload'] = { type: 'PersonalInterestFlagChanged', partyId: 'RP', flagged: true, reason: 'THREAT_OF_SUICIDE', reviewDueAt: null, warmHandoverRequired: false, suppressCorrespondence: false, blockPortalForPartyIds: [] };
    expect(segments(send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-PI', flag) }))).toEqual(['CASE_GROUP->SPECIAL_CLIENT_RECORDS', 'SERVICE_REQUEST:SR-COC->SPECIAL_CLIENT_RECORDS']);
    // Removal (cessation) returns the case group to business as usual (003 step 26).
    expect(segments(send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-PI2', { ...flag, flagged: false, reason: null }) }))).toEqual(['CASE_GROUP->MAINTENANCE', 'SERVICE_REQUEST:SR-COC->MAINTENANCE']);
  });

  it('a special case group goes to ECH and is loaded back when every party has a NINO/CRN (type one, 001)', () => {
    const { send, segments } = harness();
    const app = application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP', true);
    const child = app.payload.type === 'ApplicationReceived' ? app.payload.qualifyingChildren[0] : undefined;
    if (child) Object.assign(child, { identifierKnown: false });
    send({ topic: 'cms.case-facts.v1', value: app });
    expect(segments(send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-NS', { type: 'CaseGroupMarkedSpecial', referringUserId: 'U-1', exceptionalType: 'TYPE_ONE' }) }))).toEqual(['CASE_GROUP->NON_STANDARD']);
    expect(segments(send({ topic: 'cms.party-facts.v1', value: party('C-1-QC', { type: 'PartyIdentifierAllocated', identifier: 'CRN' }) }))).toEqual(['CASE_GROUP->MAINTENANCE']);
  });

  it('rejects an SR of unknown type without changing anything', () => {
    const { send, segments, router } = harness();
    send({ topic: 'cms.case-facts.v1', value: application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP', true) });
    const before = router.state('CG-1');
    expect(segments(send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-X', srChange('OPENED', 'Made up', 'Thing', 'Other')) }))).toEqual(['REJECTED:CMS_UNKNOWN_SR_TYPE']);
    expect(router.state('CG-1')?.facts).toEqual(before?.facts);
  });
});

const workforce = (userId: string, payload: WorkforceEvent['payload'], occurredAt = at): WorkforceEvent => ({ userId, occurredAt, payload });
const allocate = (userId: string, caseGroupId: string, teamId = 'T-1', segment = 'MAINTENANCE'): WorkforceEvent => workforce(userId, { type: 'CaseGroupAllocated', caseGroupId, teamId, segment });
const orphanFlag = (caseGroupId: string, userId: string, state: 'FLAGGED' | 'RECOVERED' = 'FLAGGED'): OrphanFlag => ({ caseGroupId, userId, occurredAt: at, since: '2026-03-01T09:00:00.000Z', cause: 'SYSTEM_ACCESS_REMOVED', state, segment: 'MAINTENANCE' });

describe('caseworkers, their absence and orphaned case groups (004 Work Allocation, 002 CSA)', () => {
  const owned = (out: MemoryOutput[]) => out.map((o) => (o.topic === 'cms.assignments.v1' ? `${o.value.subject}${o.value.srId ? `:${o.value.srId}` : ''}->${o.value.segment}/${o.value.ownerUserId ?? 'unallocated'}${o.value.team?.startsWith('TEAM_LEADER') ? `/${o.value.team}` : ''}` : `REJECTED:${o.value.code}`));
  const setUp = () => {
    const h = harness();
    h.send({ topic: 'cms.workforce.v1', value: workforce('TL-1', { type: 'TeamLeadershipAssigned', teamId: 'T-1', segment: 'MAINTENANCE' }) });
    h.send({ topic: 'cms.case-facts.v1', value: application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP', true) });
    h.send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-COC', srChange('OPENED', 'Change of Circumstances', 'Address', 'Verify')) });
    return h;
  };

  it('004: "When a caseworker has been allocated a case group they will be responsible for completing all work on all cases within the case group"', () => {
    const { send, router } = setUp();
    const out = send({ topic: 'cms.workforce.v1', value: allocate('CW-1', 'CG-1') });
    expect(owned(out)).toEqual(['CASE_GROUP->MAINTENANCE/CW-1', 'SERVICE_REQUEST:SR-COC->MAINTENANCE/CW-1']);
    expect(out[0]?.value).toMatchObject({ reasons: [{ ruleId: 'paying-parent-postcode' }, { ruleId: 'caseworker-allocation' }] });
    // explain's history says what changed: who works it, not why it is in maintenance.
    expect(router.state('CG-1')?.history.at(-2)).toMatchObject({ kind: 'ASSIGNED', subject: 'CASE_GROUP', ruleId: 'caseworker-allocation' });
  });

  it('an allocation made in another segment waits until the case group is there, and ends when it leaves that segment', () => {
    const { send } = setUp();
    expect(owned(send({ topic: 'cms.workforce.v1', value: allocate('CW-1', 'CG-1', 'T-1', 'COMPLAINTS') }))).toEqual([]);
    expect(owned(send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-C', srChange('OPENED', 'Escalated Enquiries', 'Complaints', 'Review')) }))).toEqual([
      'CASE_GROUP->COMPLAINTS/CW-1',
      'SERVICE_REQUEST:SR-C->COMPLAINTS/CW-1',
      'SERVICE_REQUEST:SR-COC->COMPLAINTS/CW-1',
    ]);
    // Back to maintenance: the complaints caseworker's allocation ends; the work is the segment's again.
    expect(owned(send({ topic: 'cms.sr-facts.v1', value: srFact('CG-1', 'SR-C', srChange('COMPLETED', 'Escalated Enquiries', 'Complaints', 'Review')) }))).toEqual([
      'CASE_GROUP->MAINTENANCE/unallocated',
      'SERVICE_REQUEST:SR-COC->MAINTENANCE/unallocated',
    ]);
  });

  it('002: "where the CMS owning caseworker is unavailable e.g. due to leave or sickness absence" the work goes to their team leader, and back on return', () => {
    const { send, router } = setUp();
    send({ topic: 'cms.workforce.v1', value: allocate('CW-1', 'CG-1') });
    const away = send({ topic: 'cms.workforce.v1', value: workforce('CW-1', { type: 'UserAvailabilityChanged', available: false, reasonCode: 'SICKNESS_ABSENCE' }) });
    expect(owned(away)).toEqual(['CASE_GROUP->MAINTENANCE/TL-1/TEAM_LEADER:T-1', 'SERVICE_REQUEST:SR-COC->MAINTENANCE/TL-1/TEAM_LEADER:T-1']);
    expect(away[0]?.value).toMatchObject({ reasons: [{ ruleId: 'paying-parent-postcode' }, { ruleId: 'owner-unavailable', procedure: expect.stringContaining('002 CSA') as unknown }] });
    // The same absence again changes nothing.
    expect(send({ topic: 'cms.workforce.v1', value: workforce('CW-1', { type: 'UserAvailabilityChanged', available: false, reasonCode: 'ANNUAL_LEAVE' }) })).toEqual([]);
    expect(owned(send({ topic: 'cms.workforce.v1', value: workforce('CW-1', { type: 'UserAvailabilityChanged', available: true, reasonCode: 'RETURNED' }) }))).toEqual(['CASE_GROUP->MAINTENANCE/CW-1', 'SERVICE_REQUEST:SR-COC->MAINTENANCE/CW-1']);
    expect(router.state('CG-1')?.history.map((h) => h.text)).toEqual(expect.arrayContaining(['owning caseworker CW-1 is unavailable (SICKNESS_ABSENCE)', 'owning caseworker CW-1 is available again']));
  });

  it('an absent caseworker whose case group was reallocated meanwhile does not move it; no team leader recorded: the team\'s leader inbox', () => {
    const { send } = setUp();
    send({ topic: 'cms.workforce.v1', value: allocate('CW-1', 'CG-1') });
    send({ topic: 'cms.workforce.v1', value: allocate('CW-2', 'CG-1', 'T-9') });
    expect(send({ topic: 'cms.workforce.v1', value: workforce('CW-1', { type: 'UserAvailabilityChanged', available: false, reasonCode: 'ANNUAL_LEAVE' }) })).toEqual([]);
    expect(owned(send({ topic: 'cms.workforce.v1', value: workforce('CW-2', { type: 'UserAvailabilityChanged', available: false, reasonCode: 'ANNUAL_LEAVE' }) }))).toEqual([
      'CASE_GROUP->MAINTENANCE/unallocated/TEAM_LEADER:T-9',
      'SERVICE_REQUEST:SR-COC->MAINTENANCE/unallocated/TEAM_LEADER:T-9',
    ]);
  });

  it('004: an orphaned case group is recovered to its segment\'s unallocated work, with the reason; a stale flag changes nothing', () => {
    const { send, router } = setUp();
    send({ topic: 'cms.workforce.v1', value: allocate('CW-1', 'CG-1') });
    const out = send({ topic: 'cms.orphan-flags.v1', value: orphanFlag('CG-1', 'CW-1') });
    expect(owned(out)).toEqual(['CASE_GROUP->MAINTENANCE/unallocated', 'SERVICE_REQUEST:SR-COC->MAINTENANCE/unallocated']);
    const reason = out[0]?.topic === 'cms.assignments.v1' ? out[0].value.reasons[0] : undefined;
    expect(reason).toMatchObject({ ruleId: 'orphan-recovered', procedure: expect.stringContaining('004 Work Allocation') as unknown });
    expect(reason?.text).toContain('CW-1, who had their CMS 2012 access removed (since 2026-03-01)');
    // The same flag again (a replay), or a flag for someone who no longer holds it: nothing to recover.
    expect(send({ topic: 'cms.orphan-flags.v1', value: orphanFlag('CG-1', 'CW-1') })).toEqual([]);
    expect(send({ topic: 'cms.orphan-flags.v1', value: orphanFlag('CG-1', 'CW-1', 'RECOVERED') })).toEqual([]);
    expect(router.state('CG-1')?.history.filter((h) => h.kind === 'FACT').map((h) => h.text)).toEqual([
      'allocated to caseworker CW-1 (team T-1) in segment MAINTENANCE',
      'orphaned: caseworker CW-1 lost access (SYSTEM_ACCESS_REMOVED, since 2026-03-01T09:00:00.000Z)',
      'orphan flag for caseworker CW-1 needs no recovery: the case group is not allocated to anyone',
      'orphan flag for caseworker CW-1 cleared by the notifier',
    ]);
  });

  it('an orphan flag for a case group the router has never seen is a rejection', () => {
    const { send, segments } = harness();
    expect(segments(send({ topic: 'cms.orphan-flags.v1', value: orphanFlag('CG-404', 'CW-1') }))).toEqual(['REJECTED:CMS_UNKNOWN_CASE_GROUP']);
  });
});

describe('determinism', () => {
  it('the same inputs in the same order produce identical outputs, ids included', () => {
    const run = () => {
      const { send } = harness();
      return [
        ...send({ topic: 'cms.case-facts.v1', value: application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP') }),
        ...send({ topic: 'cms.case-facts.v1', value: p2p('CG-1', 'C-1') }),
        ...send({ topic: 'cms.party-facts.v1', value: party('PP', { type: 'NationallySensitiveChanged', nationallySensitive: true }) }),
      ];
    };
    expect(run()).toEqual(run());
  });

  it('keeps an explainable history, bounded', () => {
    const { send, router } = harness();
    send({ topic: 'cms.case-facts.v1', value: application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP') });
    for (let i = 0; i < 120; i += 1) send({ topic: 'cms.party-facts.v1', value: party('PP', { type: 'PartyAddressChanged', address: addr(i % 2 ? 'CF10 1AA' : 'LS1 4AP') }) });
    const history = router.state('CG-1')?.history ?? [];
    expect(history).toHaveLength(100);
    expect(history.at(-1)).toMatchObject({ kind: 'ASSIGNED', subject: 'CASE_GROUP', ruleId: 'lifecycle-new-case' });
  });
});
