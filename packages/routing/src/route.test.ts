import { describe, expect, it } from 'vitest';
import type { Assignment } from '@cms-router/events';
import { defaultRules, loadRules } from '@cms-router/rules';
import { createMemoryRouter, type MemoryOutput } from './memory.ts';
import { isPartitionInput, type InboxInput, type RouteInput, type UpstreamInput } from './inputs.ts';
import { applyTeamFact, applyUserFact, route, type RouteEnv } from './route.ts';
import type { CaseGroupState, TeamDoc, UserDoc } from './state.ts';
import { addr, allocate, application, caseInput, p2p, partyFact, partyInput, piFlag, srChange, srFact, srInput, workforce, workforceInput } from './testing.ts';

const rules = defaultRules();
/** The shipped rules with the escalation SR types set to move the whole case group (002 "route the case"). */
const moving = loadRules({ ...JSON.parse(JSON.stringify(rules)), serviceRequests: rules.serviceRequests.map((e) => (e.escalation ? { ...e, kind: 'CASE_OWNING', movesCaseGroup: true } : e)) });

function harness(r = rules) {
  const router = createMemoryRouter(r);
  let n = 0;
  const send = (input: UpstreamInput): MemoryOutput[] => {
    n += 1;
    return router.process(input, `e${n}`, { topic: input.topic, partition: 0, offset: String(n) });
  };
  const segments = (out: MemoryOutput[]) =>
    out.flatMap((o) => (o.topic === 'cms.assignments.v1' ? [`${o.value.subject}${o.value.srId ? `:${o.value.srId}` : ''}->${o.value.segment}`] : o.topic === 'cms.rejections.v1' ? [`REJECTED:${o.value.code}`] : []));
  const assignments = (out: MemoryOutput[]): Assignment[] => out.flatMap((o) => (o.topic === 'cms.assignments.v1' ? [o.value] : []));
  return { router, send, segments, assignments };
}

describe('routing a case group through its life (004 Work Allocation)', () => {
  it('new case, then maintenance after the P2P schedule, then moves with the paying parent, publishing only changes', () => {
    const { send, segments, assignments } = harness();
    const first = send(caseInput(application('CG-1', 'C-1', 'PP-1', 'RP-1', 'LS1 4AP')));
    expect(segments(first)).toEqual(['CASE_GROUP->NEW_CASE']);
    expect(assignments(first)[0]).toMatchObject({ previousSegment: null, region: 'YORKSHIRE_AND_THE_HUMBER', rulesVersion: rules.version, reasons: [{ ruleId: 'lifecycle-new-case' }], pendingMove: null, orphan: null });
    expect(segments(send(caseInput(p2p('CG-1', 'C-1'))))).toEqual(['CASE_GROUP->MAINTENANCE']);
    // Unchanged outcome: nothing published.
    expect(send(partyInput(partyFact('RP-1', { type: 'PartyAddressChanged', address: addr('SA1 1AA') })))).toEqual([]);
    const moved = assignments(send(partyInput(partyFact('PP-1', { type: 'PartyAddressChanged', address: addr('CF10 1AA') }))));
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatchObject({ segment: 'MAINTENANCE', previousSegment: 'MAINTENANCE', region: 'WALES' });
    expect(assignments(send(partyInput(partyFact('PP-1', { type: 'PartyIncomeSourceChanged', incomeSource: 'BENEFITS' }, '2026-02-06T09:00:00.000Z'))))[0]?.team).toBe('BENEFITS');
  });

  it('004: "If a receiving parent has more than one paying parent then they will feature in more than one casegroup": a fact about her reaches both', () => {
    const { send, segments, assignments } = harness();
    send(caseInput(application('CG-A', 'C-A', 'PP-A', 'RP-X', 'LS1 4AP')));
    send(caseInput(application('CG-B', 'C-B', 'PP-B', 'RP-X', 'EH1 1YZ')));
    const out = send(partyInput(partyFact('RP-X', { type: 'NationallySensitiveChanged', nationallySensitive: true })));
    expect(segments(out)).toEqual(['CASE_GROUP->SPECIAL_CLIENT_RECORDS', 'CASE_GROUP->SPECIAL_CLIENT_RECORDS']);
    expect(assignments(out).map((a) => a.caseGroupId)).toEqual(['CG-A', 'CG-B']);
  });

  it('004: a person classed as nationally sensitive before the application: the new case group goes straight to SCR, never to the application teams', () => {
    const { send, segments, router } = harness();
    expect(send(partyInput(partyFact('RP-S', { type: 'NationallySensitiveChanged', nationallySensitive: true }, '2026-01-01T09:00:00.000Z')))).toEqual([]);
    expect(router.person('RP-S')?.caseGroups).toEqual([]); // kept in the person registry, waiting for a case group
    expect(segments(send(caseInput(application('CG-1', 'C-1', 'PP-1', 'RP-S', 'LS1 4AP'))))).toEqual(['CASE_GROUP->SPECIAL_CLIENT_RECORDS']);
  });

  it('003: a person flagged once is flagged in every case group they are in, now or later', () => {
    const { send, segments } = harness();
    send(caseInput(application('CG-A', 'C-A', 'PP-A', 'RP-X', 'LS1 4AP', { existing: true })));
    expect(segments(send(srInput(srFact('CG-A', 'SR-PI', piFlag('RP-X', true)))))).toEqual(['CASE_GROUP->SPECIAL_CLIENT_RECORDS']);
    // RP-X joins a second case group later (another paying parent): that one goes to SCR too.
    expect(segments(send(caseInput(application('CG-B', 'C-B', 'PP-B', 'RP-X', 'EH1 1YZ', { existing: true }))))).toEqual(['CASE_GROUP->SPECIAL_CLIENT_RECORDS']);
  });

  it('a fact that arrives before its case group\'s application waits for it, and is applied when it comes (never rejected for being early)', () => {
    const { send, segments, router } = harness();
    expect(send(caseInput(p2p('CG-1', 'C-1')))).toEqual([]);
    expect(send(srInput(srFact('CG-1', 'SR-COC', srChange('OPENED', 'Change of Circumstances', 'Address', 'Verify'))))).toEqual([]);
    expect(router.state('CG-1')?.waiting.map((w) => w.waitsFor)).toEqual(['application', 'application']);
    expect(router.state('CG-1')?.history.map((h) => h.kind)).toEqual(['WAITING', 'WAITING']);
    expect(segments(send(caseInput(application('CG-1', 'C-1', 'PP-1', 'RP-1', 'LS1 4AP'))))).toEqual(['CASE_GROUP->MAINTENANCE', 'SERVICE_REQUEST:SR-COC->MAINTENANCE']);
    expect(router.state('CG-1')?.waiting).toEqual([]);
  });

  it('a fact for a case the case group does not have yet waits for that case\'s application', () => {
    const { send, segments, router } = harness();
    send(caseInput(application('CG-1', 'C-1', 'PP-1', 'RP-1', 'LS1 4AP', { existing: true })));
    expect(send(caseInput(p2p('CG-1', 'C-2')))).toEqual([]);
    expect(router.state('CG-1')?.waiting.map((w) => w.waitsFor)).toEqual(['case:C-2']);
    expect(segments(send(caseInput(application('CG-1', 'C-2', 'PP-1', 'RP-2', 'LS1 4AP'))))).toEqual([]);
    expect(router.state('CG-1')?.cases['C-2']?.promiseToPayIssued).toBe(true);
  });

  it('a waiting fact is rejected after the configured expiry, with the reason (CMS_WAIT_EXPIRED), and its shell is dropped', () => {
    const { send, segments, router } = harness();
    send(srInput(srFact('CG-404', 'SR-1', srChange('OPENED', 'Change of Circumstances', 'Address', 'Verify'))));
    expect(router.tick('2026-02-05T09:00:00.000Z')).toEqual([]);
    const expired = router.tick('2026-02-12T09:00:00.000Z');
    expect(segments(expired)).toEqual(['REJECTED:CMS_WAIT_EXPIRED']);
    expect(expired[0]?.value).toMatchObject({ caseGroupId: 'CG-404', srId: 'SR-1', reason: expect.stringMatching(/waited 7 days .* for the application of case group CG-404/) as unknown });
    expect(router.state('CG-404')).toBeUndefined();
  });

  it('an unroutable postcode is reported once, and a corrected application is judged on its own content', () => {
    const { send, segments, router } = harness();
    const bad = send(caseInput(application('CG-1', 'C-1', 'PP-1', 'RP-1', 'QQ9 9QQ')));
    expect(segments(bad)).toEqual(['REJECTED:CMS_POSTCODE_UNKNOWN']);
    expect(bad[0]?.value).toMatchObject({ reason: expect.stringContaining('district QQ9') as unknown });
    expect(JSON.stringify(bad)).not.toContain('QQ9 9QQ'); // the district only, never the full postcode
    // Another fact about the case group does not repeat the rejection.
    expect(send(partyInput(partyFact('RP-1', { type: 'PartyAddressChanged', address: addr('SA1 1AA') })))).toEqual([]);
    // The same application sent again, corrected.
    expect(segments(send(caseInput(application('CG-1', 'C-1', 'PP-1', 'RP-1', 'LS1 4AP'))))).toEqual(['CASE_GROUP->NEW_CASE']);
    expect(router.state('CG-1')?.failure).toBeNull();
  });
});

describe('service requests and the work that moves with the case group', () => {
  const setUp = (r = rules) => {
    const h = harness(r);
    h.send(workforceInput(workforce('TL-1', { type: 'TeamLeadershipAssigned', teamId: 'T-1', segment: 'MAINTENANCE' }, '2026-01-01T09:00:00.000Z')));
    h.send(caseInput(application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP', { existing: true })));
    h.send(srInput(srFact('CG-1', 'SR-COC', srChange('OPENED', 'Change of Circumstances', 'Address', 'Verify'))));
    return h;
  };

  it('004: escalations are functionally unique: the complaint goes to the complaints caseworkers read-only, routed by the postcode of the person it is raised against; the case group stays', () => {
    const { send, assignments } = setUp();
    const out = assignments(send(srInput(srFact('CG-1', 'SR-C', srChange('OPENED', 'Escalated enquires', 'Complaints', 'Review', 'RP')))));
    expect(out.map((a) => [a.subject, a.segment, a.region, a.access, a.reasons[0]?.ruleId])).toEqual([['SERVICE_REQUEST', 'COMPLAINTS', 'WALES', 'READ_ONLY', 'escalation-sr']]);
  });

  it('002: with movesCaseGroup set, an escalation routes the case to its segment at once, and it returns when the work there is done', () => {
    const { send, segments } = setUp(moving);
    expect(segments(send(srInput(srFact('CG-1', 'SR-C', srChange('OPENED', 'Escalated enquires', 'Complaints', 'Review')))))).toEqual(['CASE_GROUP->COMPLAINTS', 'SERVICE_REQUEST:SR-C->COMPLAINTS', 'SERVICE_REQUEST:SR-COC->COMPLAINTS']);
    // The complaint completes; the move back waits for the case-owning SR still open (004), then happens.
    expect(segments(send(srInput(srFact('CG-1', 'SR-C', srChange('COMPLETED', 'Escalated enquires', 'Complaints', 'Review'), '2026-02-05T09:00:00.000Z'))))).toEqual(['CASE_GROUP->COMPLAINTS']);
    expect(segments(send(srInput(srFact('CG-1', 'SR-COC', srChange('COMPLETED', 'Change of Circumstances', 'Address', 'Verify'), '2026-02-06T09:00:00.000Z'))))).toEqual(['CASE_GROUP->MAINTENANCE']);
  });

  it('004: "the case will flip to the new owning segment when the SR is completed": a move waits while case-owning work is in progress, and the stream says so', () => {
    const { send, assignments, router } = setUp();
    const held = assignments(send(partyInput(partyFact('PP', { type: 'PartyAddressChanged', address: addr('CF10 1AA') }))));
    expect(held.map((a) => [a.subject, a.segment, a.region])).toEqual([['CASE_GROUP', 'MAINTENANCE', 'YORKSHIRE_AND_THE_HUMBER']]);
    expect(held[0]?.pendingMove).toEqual({ segment: 'MAINTENANCE', region: 'WALES', team: 'EARNINGS', heldBySrIds: ['SR-COC'], ruleId: 'paying-parent-postcode' });
    expect(held[0]?.reasons.map((r) => r.ruleId)).toContain('move-pending');
    expect(router.state('CG-1')?.srPlacements['SR-COC']?.decision.region).toBe('YORKSHIRE_AND_THE_HUMBER');
    const flipped = assignments(send(srInput(srFact('CG-1', 'SR-COC', srChange('COMPLETED', 'Change of Circumstances', 'Address', 'Verify'), '2026-02-06T09:00:00.000Z'))));
    expect(flipped.map((a) => [a.subject, a.segment, a.region, a.pendingMove])).toEqual([['CASE_GROUP', 'MAINTENANCE', 'WALES', null]]);
  });

  it('safeguarding beats continuity: a move into SCR happens at once, case-owning work in progress or not', () => {
    const { send, segments } = setUp();
    expect(segments(send(partyInput(partyFact('PP', { type: 'NationallySensitiveChanged', nationallySensitive: true }))))).toEqual(['CASE_GROUP->SPECIAL_CLIENT_RECORDS', 'SERVICE_REQUEST:SR-COC->SPECIAL_CLIENT_RECORDS']);
  });

  it('004: a functionally unique SR goes to its specialist team by the postcode of the party it is raised against, read-only', () => {
    const { send, assignments } = harness();
    send(caseInput(application('CG-1', 'C-1', 'PP', 'RP', 'BT1 5GS', { existing: true })));
    expect(assignments(send(srInput(srFact('CG-1', 'SR-1', srChange('OPENED', 'Payments', 'Discrepancy Log', 'Investigate', 'RP')))))[0]).toMatchObject({ subject: 'SERVICE_REQUEST', segment: 'SPECIALIST', region: 'WALES', access: 'READ_ONLY', team: 'PAYMENT_DISCREPANCIES' });
  });

  it('003 step 9: an SR pending approval is a task for the referrer\'s team leader; when the team leader changes, the task moves to the new one', () => {
    const { send, assignments } = setUp();
    send(srInput(srFact('CG-1', 'SR-PI', srChange('OPENED', 'Special case management', 'Personal Interest', 'Referral'))));
    const [task] = assignments(send(srInput(srFact('CG-1', 'SR-PI', srChange('PENDING_APPROVAL', 'Special case management', 'Personal Interest', 'Referral')))));
    expect(task).toMatchObject({ subject: 'APPROVAL_TASK', srId: 'SR-PI', ownerUserId: 'TL-1', team: 'TEAM_LEADER:T-1' });
    const moved = assignments(send(workforceInput(workforce('TL-2', { type: 'TeamLeadershipAssigned', teamId: 'T-1', segment: 'MAINTENANCE' }, '2026-03-01T09:00:00.000Z'))));
    expect(moved.map((a) => [a.subject, a.srId, a.ownerUserId])).toEqual([['APPROVAL_TASK', 'SR-PI', 'TL-2']]);
    // An older leadership fact read late changes nothing.
    expect(send(workforceInput(workforce('TL-0', { type: 'TeamLeadershipAssigned', teamId: 'T-1', segment: 'MAINTENANCE' }, '2026-01-15T09:00:00.000Z')))).toEqual([]);
  });

  it('an approval task of another team than the caseworker\'s follows that team\'s leader', () => {
    const { send, assignments } = setUp();
    send(workforceInput(allocate('U-1', 'CG-1', 'T-1')));
    send(srInput(srFact('CG-1', 'SR-PI', srChange('OPENED', 'Special case management', 'Personal Interest', 'Referral', null, 'T-2'))));
    const [task] = assignments(send(srInput(srFact('CG-1', 'SR-PI', srChange('PENDING_APPROVAL', 'Special case management', 'Personal Interest', 'Referral', null, 'T-2')))));
    expect(task).toMatchObject({ subject: 'APPROVAL_TASK', ownerUserId: null, team: 'TEAM_LEADER:T-2' });
    // The case group's placement reads both teams: a leader for T-2 reaches the task; a new leader for T-1 does not move it.
    expect(assignments(send(workforceInput(workforce('TL-2', { type: 'TeamLeadershipAssigned', teamId: 'T-2', segment: 'MAINTENANCE' }, '2026-03-01T09:00:00.000Z')))).map((a) => [a.subject, a.ownerUserId])).toEqual([['APPROVAL_TASK', 'TL-2']]);
    expect(assignments(send(workforceInput(workforce('TL-3', { type: 'TeamLeadershipAssigned', teamId: 'T-1', segment: 'MAINTENANCE' }, '2026-03-02T09:00:00.000Z')))).map((a) => a.subject)).not.toContain('APPROVAL_TASK');
  });

  it('003 step 13: an approved personal-interest referral flags the person and moves the case group and its open work to SCR; removal returns it when its work is done', () => {
    const { send, segments } = setUp();
    expect(segments(send(srInput(srFact('CG-1', 'SR-PI', piFlag('RP', true)))))).toEqual(['CASE_GROUP->SPECIAL_CLIENT_RECORDS', 'SERVICE_REQUEST:SR-COC->SPECIAL_CLIENT_RECORDS']);
    // 003 step 26: removal. Leaving SCR protects nobody, so it waits for the open case-owning SR.
    expect(segments(send(srInput(srFact('CG-1', 'SR-PI2', piFlag('RP', false), '2026-02-05T09:00:00.000Z'))))).toEqual(['CASE_GROUP->SPECIAL_CLIENT_RECORDS']);
    expect(segments(send(srInput(srFact('CG-1', 'SR-COC', srChange('COMPLETED', 'Change of Circumstances', 'Address', 'Verify'), '2026-02-06T09:00:00.000Z'))))).toEqual(['CASE_GROUP->MAINTENANCE']);
  });

  it('001: a type-one exceptional case group goes to ECH and is loaded back when every party has a NINO/CRN', () => {
    const { send, segments } = harness();
    send(caseInput(application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP', { existing: true, qcKnown: false })));
    expect(segments(send(srInput(srFact('CG-1', 'SR-NS', { type: 'CaseGroupMarkedSpecial', referringUserId: 'U-1', exceptionalType: 'TYPE_ONE' }))))).toEqual(['CASE_GROUP->NON_STANDARD']);
    expect(segments(send(partyInput(partyFact('C-1-QC', { type: 'PartyIdentifierAllocated', identifier: 'CRN' }, '2026-02-10T09:00:00.000Z'))))).toEqual(['CASE_GROUP->MAINTENANCE']);
  });

  it('rejects an SR of unknown type without changing anything', () => {
    const { send, segments, router } = setUp();
    const before = router.state('CG-1')?.openServiceRequests;
    expect(segments(send(srInput(srFact('CG-1', 'SR-X', srChange('OPENED', 'Made up', 'Thing', 'Other')))))).toEqual(['REJECTED:CMS_UNKNOWN_SR_TYPE']);
    expect(router.state('CG-1')?.openServiceRequests).toEqual(before);
  });
});

describe('caseworkers, their absence and orphaned case groups (004 Work Allocation, 002 CSA)', () => {
  const owned = (out: MemoryOutput[]) =>
    out.flatMap((o) => (o.topic === 'cms.assignments.v1' ? [`${o.value.subject}${o.value.srId ? `:${o.value.srId}` : ''}->${o.value.segment}/${o.value.ownerUserId ?? 'unallocated'}${o.value.team?.startsWith('TEAM_LEADER') ? `/${o.value.team}` : ''}`] : o.topic === 'cms.rejections.v1' ? [`REJECTED:${o.value.code}`] : [`REPORT:${o.value.cause}:${o.value.caseGroups.map((c) => c.caseGroupId).join(',')}`]));
  const setUp = (withSr = true) => {
    const h = harness();
    h.send(workforceInput(workforce('TL-1', { type: 'TeamLeadershipAssigned', teamId: 'T-1', segment: 'MAINTENANCE' }, '2026-01-01T09:00:00.000Z')));
    h.send(caseInput(application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP', { existing: true })));
    if (withSr) h.send(srInput(srFact('CG-1', 'SR-COC', srChange('OPENED', 'Change of Circumstances', 'Address', 'Verify'))));
    return h;
  };

  it('004: "When a caseworker has been allocated a case group they will be responsible for completing all work on all cases within the case group"', () => {
    const { send, router } = setUp();
    const out = send(workforceInput(allocate('CW-1', 'CG-1')));
    expect(owned(out)).toEqual(['CASE_GROUP->MAINTENANCE/CW-1', 'SERVICE_REQUEST:SR-COC->MAINTENANCE/CW-1']);
    expect(out[0]?.value).toMatchObject({ reasons: [{ ruleId: 'paying-parent-postcode' }, { ruleId: 'caseworker-allocation' }] });
    expect(router.state('CG-1')?.history.filter((h) => h.kind === 'ASSIGNED').at(-2)).toMatchObject({ subject: 'CASE_GROUP', ruleId: 'caseworker-allocation' });
  });

  it('allocations arrive on their users\' keys in any order: the latest by business time holds', () => {
    const { send } = setUp(false);
    expect(owned(send(workforceInput(allocate('CW-2', 'CG-1', 'T-1', 'MAINTENANCE', '2026-02-09T09:00:00.000Z'))))).toEqual(['CASE_GROUP->MAINTENANCE/CW-2']);
    expect(send(workforceInput(allocate('CW-1', 'CG-1', 'T-1', 'MAINTENANCE', '2026-02-08T09:00:00.000Z')))).toEqual([]);
  });

  it('an allocation holds while the case group is in its segment: made before the case group gets there, it applies when it arrives; it is set aside while the case group is elsewhere', () => {
    const { send } = harness();
    send(caseInput(application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP')));
    expect(send(workforceInput(allocate('CW-1', 'CG-1')))).toEqual([]); // the case group is still in new case
    expect(owned(send(caseInput(p2p('CG-1', 'C-1', '2026-02-06T09:00:00.000Z'))))).toEqual(['CASE_GROUP->MAINTENANCE/CW-1']);
    expect(owned(send(partyInput(partyFact('PP', { type: 'NationallySensitiveChanged', nationallySensitive: true }, '2026-02-07T09:00:00.000Z'))))).toEqual(['CASE_GROUP->SPECIAL_CLIENT_RECORDS/unallocated']);
    expect(owned(send(partyInput(partyFact('PP', { type: 'NationallySensitiveChanged', nationallySensitive: false }, '2026-02-08T09:00:00.000Z'))))).toEqual(['CASE_GROUP->MAINTENANCE/CW-1']);
  });

  it('002: "where the CMS owning caseworker is unavailable e.g. due to leave or sickness absence" the work goes to their team leader, and back on return; the absence reason is not kept', () => {
    const { send, router } = setUp();
    send(workforceInput(allocate('CW-1', 'CG-1')));
    const away = send(workforceInput(workforce('CW-1', { type: 'UserAvailabilityChanged', available: false, reasonCode: 'SICKNESS_ABSENCE' }, '2026-02-06T09:00:00.000Z')));
    expect(owned(away)).toEqual(['CASE_GROUP->MAINTENANCE/TL-1/TEAM_LEADER:T-1', 'SERVICE_REQUEST:SR-COC->MAINTENANCE/TL-1/TEAM_LEADER:T-1']);
    expect(away[0]?.value).toMatchObject({ reasons: [{ ruleId: 'paying-parent-postcode' }, { ruleId: 'owner-unavailable', procedure: expect.stringContaining('002 CSA') as unknown }] });
    expect(send(workforceInput(workforce('CW-1', { type: 'UserAvailabilityChanged', available: false, reasonCode: 'ANNUAL_LEAVE' }, '2026-02-07T09:00:00.000Z')))).toEqual([]);
    expect(owned(send(workforceInput(workforce('CW-1', { type: 'UserAvailabilityChanged', available: true, reasonCode: 'RETURNED' }, '2026-02-08T09:00:00.000Z'))))).toEqual(['CASE_GROUP->MAINTENANCE/CW-1', 'SERVICE_REQUEST:SR-COC->MAINTENANCE/CW-1']);
    expect(JSON.stringify(router.state('CG-1'))).not.toMatch(/SICKNESS|ANNUAL_LEAVE/);
  });

  it('a re-decision that changes nothing keeps the state object: the memory router copies nothing', () => {
    const { send, router } = setUp();
    send(workforceInput(allocate('CW-1', 'CG-1')));
    const before = router.state('CG-1');
    // The caseworker's own team gets a new leader: CG-1 is re-decided (it depends on team T-1), and nothing moves.
    expect(send(workforceInput(workforce('TL-2', { type: 'TeamLeadershipAssigned', teamId: 'T-1', segment: 'MAINTENANCE' }, '2026-03-01T09:00:00.000Z')))).toEqual([]);
    expect(router.state('CG-1')).toBe(before);
    // A fact that moves it makes a new state.
    send(partyInput(partyFact('PP', { type: 'PartyAddressChanged', address: addr('CF10 1AA') }, '2026-03-02T09:00:00.000Z')));
    expect(router.state('CG-1')).not.toBe(before);
  });

  it('allocated to someone already away: the team leader has it at once; a team leader change reaches it', () => {
    const { send } = setUp(false);
    send(workforceInput(workforce('CW-1', { type: 'UserAvailabilityChanged', available: false, reasonCode: 'ANNUAL_LEAVE' }, '2026-02-04T09:00:00.000Z')));
    expect(owned(send(workforceInput(allocate('CW-1', 'CG-1'))))).toEqual(['CASE_GROUP->MAINTENANCE/TL-1/TEAM_LEADER:T-1']);
    expect(owned(send(workforceInput(workforce('TL-2', { type: 'TeamLeadershipAssigned', teamId: 'T-1', segment: 'MAINTENANCE' }, '2026-03-01T09:00:00.000Z'))))).toEqual(['CASE_GROUP->MAINTENANCE/TL-2/TEAM_LEADER:T-1']);
  });

  it('004: access removed from a caseworker who has work allocated: the case group is orphaned and returned to its segment\'s unallocated work, with who, why and since when', () => {
    const { send } = setUp(false);
    send(workforceInput(allocate('CW-1', 'CG-1')));
    const out = send(workforceInput(workforce('CW-1', { type: 'SystemAccessRemoved', reasonCode: 'LEFT' }, '2026-03-01T09:00:00.000Z')));
    expect(owned(out)).toEqual(['CASE_GROUP->MAINTENANCE/unallocated', 'REPORT:SYSTEM_ACCESS_REMOVED:CG-1']);
    const a = out[0]?.topic === 'cms.assignments.v1' ? out[0].value : undefined;
    expect(a?.orphan).toEqual({ userId: 'CW-1', cause: 'SYSTEM_ACCESS_REMOVED', since: '2026-03-01T09:00:00.000Z' });
    expect(a?.reasons[0]).toMatchObject({ ruleId: 'orphan-recovered', procedure: expect.stringContaining('004 Work Allocation') as unknown });
    expect(a?.reasons[0]?.text).toContain('CW-1, who had their CMS 2012 access removed (since 2026-03-01)');
    // The same departure read again (a replay) recovers nothing more.
    expect(owned(send(workforceInput(workforce('CW-1', { type: 'SystemAccessRemoved', reasonCode: 'LEFT' }, '2026-03-01T09:00:00.000Z'))))).toEqual(['REPORT:SYSTEM_ACCESS_REMOVED:']);
  });

  it('the departure read before the allocation it orphans, or an allocation to someone who had already left: recovered when the allocation arrives', () => {
    const { send } = setUp(false);
    send(caseInput(application('CG-2', 'C-2', 'PP-2', 'RP-2', 'LS1 4AP', { existing: true })));
    expect(owned(send(workforceInput(workforce('CW-1', { type: 'SystemAccessRemoved', reasonCode: 'LEFT' }, '2026-03-01T09:00:00.000Z'))))).toEqual(['REPORT:SYSTEM_ACCESS_REMOVED:']);
    expect(owned(send(workforceInput(allocate('CW-1', 'CG-1', 'T-1', 'MAINTENANCE', '2026-02-20T09:00:00.000Z'))))).toEqual(['CASE_GROUP->MAINTENANCE/unallocated', 'REPORT:SYSTEM_ACCESS_REMOVED:CG-1']);
    expect(owned(send(workforceInput(allocate('CW-1', 'CG-2', 'T-1', 'MAINTENANCE', '2026-03-02T09:00:00.000Z'))))).toEqual(['CASE_GROUP->MAINTENANCE/unallocated', 'REPORT:OWNER_WITHOUT_ACCESS:CG-2']);
  });

  it('a team move orphans the work left in the old team, not work allocated in the new one', () => {
    const { send } = setUp(false);
    send(caseInput(application('CG-2', 'C-2', 'PP-2', 'RP-2', 'LS1 4AP', { existing: true })));
    send(workforceInput(allocate('CW-1', 'CG-1', 'T-1')));
    expect(owned(send(workforceInput(workforce('CW-1', { type: 'TeamMoveCompleted', fromTeamId: 'T-1', toTeamId: 'T-2' }, '2026-03-01T09:00:00.000Z'))))).toEqual(['CASE_GROUP->MAINTENANCE/unallocated', 'REPORT:TEAM_MOVE_COMPLETED:CG-1']);
    expect(owned(send(workforceInput(allocate('CW-1', 'CG-2', 'T-2', 'MAINTENANCE', '2026-03-02T09:00:00.000Z'))))).toEqual(['CASE_GROUP->MAINTENANCE/CW-1']);
  });
});

describe('the person registry', () => {
  it('a new address that cannot be routed (unknown district, malformed) is refused at the registry and changes nothing, in either arrival order', () => {
    const finals = (first: 'application' | 'address') => {
      const { send, segments, router } = harness();
      const app = caseInput(application('CG-1', 'C-1', 'PP', 'RP', 'CF10 1AA', { existing: true, at: '2026-02-01T09:00:00.000Z' }));
      // Later in business time than the application: a valid address would win whichever came first.
      const bad = partyInput(partyFact('PP', { type: 'PartyAddressChanged', address: addr('ZZ99 9ZZ') }, '2026-02-02T09:00:00.000Z'));
      const malformed = partyInput(partyFact('PP', { type: 'PartyAddressChanged', address: addr('NOT A POSTCODE') }, '2026-02-03T09:00:00.000Z'));
      const out = (first === 'application' ? [app, bad, malformed] : [bad, malformed, app]).flatMap((i) => segments(send(i)));
      return { out: out.sort(), region: router.state('CG-1')?.placement?.decision.region };
    };
    for (const order of ['application', 'address'] as const) {
      expect(finals(order), order).toEqual({ out: ['CASE_GROUP->MAINTENANCE', 'REJECTED:CMS_POSTCODE_MALFORMED', 'REJECTED:CMS_POSTCODE_UNKNOWN'], region: 'WALES' });
    }
  });

  it('the newest fact about a person wins whatever order they are read in', () => {
    const { send, router } = harness();
    send(caseInput(application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP', { existing: true })));
    send(partyInput(partyFact('PP', { type: 'PartyAddressChanged', address: addr('CF10 1AA') }, '2026-03-02T09:00:00.000Z')));
    expect(send(partyInput(partyFact('PP', { type: 'PartyAddressChanged', address: addr('EH1 1YZ') }, '2026-03-01T09:00:00.000Z')))).toEqual([]);
    expect(router.state('CG-1')?.placement?.decision.region).toBe('WALES');
  });

  it('003 steps 15-21: SCR marks an associated contact by hand, without an SR; a threat of suicide cannot be set that way', () => {
    const { send, segments, router } = harness();
    send(caseInput(application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP', { existing: true })));
    const manual = (flagged: boolean, reason: string | null, at: string) => partyInput(partyFact('RP', { type: 'PersonalInterestRecorded', flagged, reason, caseId: 'C-1', recordedByUserId: 'SCR-1' }, at));
    expect(segments(send(manual(true, 'ASSOCIATED_CONTACT', '2026-03-01T09:00:00.000Z')))).toEqual(['CASE_GROUP->SPECIAL_CLIENT_RECORDS']);
    const tos = send(manual(true, 'THREAT_OF_SUICIDE', '2026-03-02T09:00:00.000Z'));
    expect(segments(tos)).toEqual(['REJECTED:CMS_EVENT_INVALID']);
    expect(tos[0]?.value).toMatchObject({ reason: expect.stringContaining('set only by a referral approved by a team leader') as unknown });
    expect(JSON.stringify(tos)).not.toMatch(/SUICIDE/i); // the refused flag's reason is not repeated
    // 003 step 26: "Update the Personal Interest checkbox to N".
    expect(segments(send(manual(false, null, '2026-03-03T09:00:00.000Z')))).toEqual(['CASE_GROUP->MAINTENANCE']);
    expect(JSON.stringify(router.person('RP'))).not.toContain('ASSOCIATED_CONTACT'); // the reason is never kept
  });

  it('never keeps a personal-interest reason', () => {
    const { send, router } = harness();
    send(caseInput(application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP', { existing: true })));
    send(srInput(srFact('CG-1', 'SR-PI', piFlag('RP', true, { reason: 'THREAT_OF_SUICIDE' }))));
    expect(JSON.stringify([router.person('RP'), router.state('CG-1')])).not.toMatch(/SUICIDE/i);
  });
});

describe('determinism', () => {
  it('the same inputs in the same order produce identical outputs, ids included', () => {
    const run = () => {
      const { send } = harness();
      return [
        ...send(caseInput(application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP'))),
        ...send(caseInput(p2p('CG-1', 'C-1'))),
        ...send(partyInput(partyFact('PP', { type: 'NationallySensitiveChanged', nationallySensitive: true }))),
      ];
    };
    expect(run()).toEqual(run());
  });

  it('decisions reused while nothing they read changed (kept by object identity) equal decisions made afresh from a copied state', () => {
    // The memory router keeps its states, so route() can reuse a case group's parties and its SRs' last
    // decisions; the service reads each state back from Redis, so it never can. Both must answer alike.
    const inbox: { input: InboxInput; eventId: string; arrivedAt: string }[] = [];
    const router = createMemoryRouter(rules, { onInbox: (input, eventId, _s, arrivedAt) => inbox.push({ input, eventId, arrivedAt }) });
    const live: string[] = [];
    let n = 0;
    const send = (input: UpstreamInput): void => {
      n += 1;
      for (const o of router.process(input, `e${n}`, { topic: input.topic, partition: 0, offset: String(n) })) live.push(JSON.stringify(o.value));
    };
    send(workforceInput(workforce('TL-1', { type: 'TeamLeadershipAssigned', teamId: 'T-1', segment: 'MAINTENANCE' }, '2026-01-01T09:00:00.000Z')));
    send(caseInput(application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP', { existing: true, rpPostcode: 'BT1 5GS' })));
    send(srInput(srFact('CG-1', 'SR-FU', srChange('OPENED', 'Payments', 'Discrepancy Log', 'Investigate', 'RP'))));
    send(srInput(srFact('CG-1', 'SR-COC', srChange('OPENED', 'Change of Circumstances', 'Address', 'Verify'))));
    send(workforceInput(allocate('CW-1', 'CG-1')));
    // The person the functionally unique SR is raised against moves: the SR must move with her.
    send(partyInput(partyFact('RP', { type: 'PartyAddressChanged', address: addr('CF10 1AA') }, '2026-02-06T09:00:00.000Z')));
    send(srInput(srFact('CG-1', 'SR-PI', srChange('PENDING_APPROVAL', 'Special case management', 'Personal Interest', 'Referral'), '2026-02-07T09:00:00.000Z')));
    // The caseworker is away when the team gets a new leader: the work follows the new leader, then the caseworker's return.
    send(workforceInput(workforce('CW-1', { type: 'UserAvailabilityChanged', available: false, reasonCode: 'ANNUAL_LEAVE' }, '2026-02-20T09:00:00.000Z')));
    send(workforceInput(workforce('TL-2', { type: 'TeamLeadershipAssigned', teamId: 'T-1', segment: 'MAINTENANCE' }, '2026-03-01T09:00:00.000Z')));
    send(workforceInput(workforce('CW-1', { type: 'UserAvailabilityChanged', available: true, reasonCode: 'RETURNED' }, '2026-03-01T10:00:00.000Z')));
    // A move held by a case-owning SR; a fact that changes nothing; a second SR that holds it too; then both complete.
    send(partyInput(partyFact('PP', { type: 'PartyAddressChanged', address: addr('G1 1AA') }, '2026-03-02T09:00:00.000Z')));
    send(partyInput(partyFact('RP', { type: 'PartyIdentifierAllocated', identifier: 'NINO' }, '2026-03-02T10:00:00.000Z')));
    send(srInput(srFact('CG-1', 'SR-COC2', srChange('OPENED', 'Change of Circumstances', 'Address', 'Verify'), '2026-03-02T11:00:00.000Z')));
    send(srInput(srFact('CG-1', 'SR-COC', srChange('COMPLETED', 'Change of Circumstances', 'Address', 'Verify'), '2026-03-03T09:00:00.000Z')));
    send(srInput(srFact('CG-1', 'SR-COC2', srChange('COMPLETED', 'Change of Circumstances', 'Address', 'Verify'), '2026-03-03T10:00:00.000Z')));
    send(srInput(srFact('CG-1', 'SR-PI3', piFlag('RP', true), '2026-03-04T09:00:00.000Z')));

    const copy = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
    const states = new Map<string, CaseGroupState>();
    const users = new Map<string, UserDoc>();
    const teams = new Map<string, TeamDoc>();
    const afresh: string[] = [];
    for (const { input, eventId, arrivedAt } of inbox) {
      const env = (cause?: string): RouteEnv => ({ rules, eventId, arrivedAt, ...(cause ? { cause } : {}), user: (id) => users.get(id) ?? null, team: (id) => teams.get(id) ?? null });
      const step = (cg: string, routeInput: RouteInput | null, cause?: string): void => {
        const before = states.get(cg);
        const result = route(before ? copy(before) : null, routeInput, env(cause));
        if (result.state) states.set(cg, copy(result.state));
        for (const o of result.outputs) if (o.kind === 'assignment') afresh.push(JSON.stringify(o.value));
      };
      if (!isPartitionInput(input)) step(input.caseGroupId, input);
      else if (input.kind === 'user') users.set(input.userId, applyUserFact(users.get(input.userId) ?? null, input, eventId));
      else if (input.kind === 'team') teams.set(input.fact.teamId, applyTeamFact(teams.get(input.fact.teamId) ?? null, input));
      if (isPartitionInput(input) && input.kind !== 'tick') for (const cg of [...states.keys()].sort()) step(cg, null, input.fact.type);
    }
    const assignmentsOnly = live.filter((v) => (JSON.parse(v) as { assignmentId?: string }).assignmentId !== undefined);
    expect(assignmentsOnly.length).toBeGreaterThan(8);
    // The steps above reached what they are there for: the team leader while the caseworker was away, and a move held by two SRs.
    expect(assignmentsOnly.some((v) => v.includes('"ownerUserId":"TL-2"'))).toBe(true);
    expect(assignmentsOnly.some((v) => v.includes('"heldBySrIds":["SR-COC","SR-COC2"]'))).toBe(true);
    expect(afresh).toEqual(assignmentsOnly);
  });

  it('keeps an explainable history, bounded', () => {
    const { send, router } = harness();
    send(caseInput(application('CG-1', 'C-1', 'PP', 'RP', 'LS1 4AP')));
    for (let i = 0; i < 120; i += 1) send(partyInput(partyFact('PP', { type: 'PartyAddressChanged', address: addr(i % 2 ? 'CF10 1AA' : 'LS1 4AP') }, new Date(Date.parse('2026-03-01T00:00:00.000Z') + i * 60_000).toISOString())));
    const history = router.state('CG-1')?.history ?? [];
    expect(history).toHaveLength(100);
    expect(history.at(-1)).toMatchObject({ kind: 'ASSIGNED', subject: 'CASE_GROUP', ruleId: 'lifecycle-new-case' });
  });
});

describe('assignment ids', () => {
  it('are unique when one record re-places several case groups (a new team leader for two case groups\' approval tasks)', () => {
    const { send, assignments } = harness();
    for (const cg of ['CG-1', 'CG-2']) {
      send(caseInput(application(cg, `${cg}-C`, `${cg}-PP`, `${cg}-RP`, 'LS1 4AP', { existing: true })));
      send(srInput(srFact(cg, `${cg}-SR`, srChange('OPENED', 'Special case management', 'Personal Interest', 'Referral'))));
      send(srInput(srFact(cg, `${cg}-SR`, srChange('PENDING_APPROVAL', 'Special case management', 'Personal Interest', 'Referral'))));
    }
    const moved = assignments(send(workforceInput(workforce('TL-9', { type: 'TeamLeadershipAssigned', teamId: 'T-1', segment: 'MAINTENANCE' }, '2026-03-01T09:00:00.000Z'))));
    expect(moved.map((a) => a.caseGroupId)).toEqual(['CG-1', 'CG-2']);
    expect(new Set(moved.map((a) => a.assignmentId)).size).toBe(2);
  });
});

describe('a bulk re-route (cms-router reroute)', () => {
  const released = loadRules({ ...(JSON.parse(JSON.stringify(rules)) as object), version: 'next', effectiveFrom: '2027-01-01', postcodes: { ...rules.postcodes, districts: { ...rules.postcodes.districts, LS1: { country: 'ENGLAND', region: 'NORTH_WEST' } } } });
  const book = (at: string) => (at >= '2027-01-01' ? released : rules);
  const reroute = (caseGroupId: string, runId: string, postcodeArea: string | null = null) => ({ kind: 'reroute' as const, caseGroupId, occurredAt: '2027-01-02T08:00:00.000Z', runId, postcodeArea });

  it('re-decides under the version in effect at the run, publishes only what moves, names the run, and changes nothing run again', () => {
    const router = createMemoryRouter(rules, { rulesAt: book });
    const src = { topic: 't', partition: 0, offset: '0' };
    router.process(caseInput(application('CG-L', 'C-L', 'PP-L', 'RP-L', 'LS1 4AP', { existing: true })), 'a1', src);
    router.process(caseInput(application('CG-M', 'C-M', 'PP-M', 'RP-M', 'M1 1AE', { existing: true })), 'a2', src);
    const moved = router.inbox(reroute('CG-L', 'run-1'), 'r1', src, '2027-01-02T08:00:00.000Z').flatMap((o) => (o.topic === 'cms.assignments.v1' ? [o.value] : []));
    expect(moved).toHaveLength(1);
    expect(moved[0]).toMatchObject({ caseGroupId: 'CG-L', region: 'NORTH_WEST', rulesVersion: 'next' });
    expect(moved[0]?.reasons[0]?.ruleId).toBe('paying-parent-postcode');
    expect(moved[0]?.reasons.at(-1)?.ruleId).toBe('reroute');
    expect(moved[0]?.reasons.at(-1)?.text).toContain('run-1');
    // Nothing moves for a case group the release does not touch, for the same run again, or for an unknown case group.
    expect(router.inbox(reroute('CG-M', 'run-1'), 'r2', src, '2027-01-02T08:00:00.000Z')).toEqual([]);
    expect(router.inbox(reroute('CG-L', 'run-1'), 'r3', src, '2027-01-02T08:00:00.000Z')).toEqual([]);
    expect(router.inbox(reroute('CG-NONE', 'run-1'), 'r4', src, '2027-01-02T08:00:00.000Z')).toEqual([]);
    expect(router.state('CG-NONE')).toBeUndefined();
  });

  it('with a postcode area, only case groups whose paying parent lives there', () => {
    const router = createMemoryRouter(rules, { rulesAt: book });
    const src = { topic: 't', partition: 0, offset: '0' };
    router.process(caseInput(application('CG-L', 'C-L', 'PP-L', 'RP-L', 'LS1 4AP', { existing: true })), 'a1', src);
    expect(router.inbox(reroute('CG-L', 'run-2', 'M'), 'r1', src, '2027-01-02T08:00:00.000Z')).toEqual([]);
    expect(router.inbox(reroute('CG-L', 'run-2', 'LS'), 'r2', src, '2027-01-02T08:00:00.000Z')).toHaveLength(1);
  });
});

describe('the decision basis each assignment carries (why, years later, minus personal data)', () => {
  it('names the input and the facts the rules read: district not postcode, flags as booleans, ids', () => {
    const { send, assignments } = harness();
    const first = assignments(send(caseInput(application('CG-B', 'C-B', 'PP-B', 'RP-B', 'LS1 4AP'))))[0];
    // The first placement waits for the person registry's facts on every party: the last of them decides it.
    expect(first?.basis).toEqual({ eventId: expect.stringMatching(/^e1\//) as string, input: 'PersonSnapshot', payingParentDistrict: 'LS1', payingParentCountry: null, incomeSource: 'EMPLOYED', nationallySensitive: false, personalInterest: false, knownAsRecorded: false, special: null, cases: [{ caseId: 'C-B', newApplication: true, promiseToPayIssued: false }], openSrIds: [], allocatedTo: null });
    const moved = assignments(send(partyInput(partyFact('PP-B', { type: 'PartyAddressChanged', address: addr(null, 'ES') }))))[0];
    expect(moved?.basis).toMatchObject({ input: 'PersonSnapshot', payingParentDistrict: null, payingParentCountry: 'ES' });
    const flagged = assignments(send(srInput(srFact('CG-B', 'SR-PI', piFlag('RP-B', true), '2026-02-04T09:00:00.000Z', 'C-B'))))[0];
    expect(flagged?.basis).toMatchObject({ input: 'PersonSnapshot', personalInterest: true });
    for (const a of [first, moved, flagged]) expect(JSON.stringify(a)).not.toMatch(/4AP|THREAT|CONFLICT|EMPLOYEE_IS_CLIENT/);
  });
});

describe('a person\'s snapshots move forward only', () => {
  it('an older snapshot read again (a replay, a rebuilt registry) does not take the case group back', () => {
    const router = createMemoryRouter(rules);
    const src = { topic: 't', partition: 0, offset: '0' };
    router.process(caseInput(application('CG-S', 'C-S', 'PP-S', 'RP-S', 'LS1 4AP', { existing: true })), 'a1', src);
    const pp = router.state('CG-S')?.persons['PP-S'];
    if (!pp) throw new Error('no snapshot');
    expect(pp.revision).toBeGreaterThan(0);
    const newer = { ...pp, residence: { ukPostcode: 'CF10 1AA', nonUkCountry: null }, updatedAt: '2026-03-01T00:00:00.000Z', revision: pp.revision + 1 };
    const person = (snapshot: typeof pp) => ({ kind: 'person' as const, caseGroupId: 'CG-S', occurredAt: snapshot.updatedAt, snapshot });
    expect(router.inbox(person(newer), 's2', src, '2026-03-01T00:00:00.000Z').map((o) => (o.topic === 'cms.assignments.v1' ? o.value.region : null))).toEqual(['WALES']);
    expect(router.inbox(person(pp), 's1-again', src, '2026-03-01T00:00:01.000Z')).toEqual([]);
    expect(router.state('CG-S')?.persons['PP-S']?.residence?.ukPostcode).toBe('CF10 1AA');
  });
});
