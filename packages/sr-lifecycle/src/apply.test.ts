import { describe, expect, it } from 'vitest';
import type { SrFact, SrLifecycleEvent } from '@cms-router/events';
import { addMonths, applySrEvent, emptyState, type CaseGroupSrState, type Party, type SrOutcome } from './index.ts';

const parties: Party[] = [
  { partyId: 'PP', role: 'PAYING_PARENT' },
  { partyId: 'RP', role: 'RECEIVING_PARENT' },
  { partyId: 'QC', role: 'QUALIFYING_CHILD' },
];
type Role = 'CASEWORKER' | 'TEAM_LEADER' | 'SYSTEM';
const CW = { userId: 'CW-1', role: 'CASEWORKER' as Role, teamId: 'T-1' };
const TL = { userId: 'TL-1', role: 'TEAM_LEADER' as Role, teamId: 'T-1' };

let clock = 0;
function ev(payload: SrLifecycleEvent['payload'], actor = CW, srId = 'SR-1'): SrLifecycleEvent {
  clock += 1;
  return { srId, caseGroupId: 'CG-1', caseId: 'C-1', occurredAt: new Date(Date.UTC(2026, 0, 31, 9, 0, clock)).toISOString(), actor, payload };
}
const created = (area: string, reason: string | null, over: Partial<Extract<SrLifecycleEvent['payload'], { type: 'SrCreated' }>> = {}) =>
  ({ type: 'SrCreated', process: 'Special case management', area, subArea: 'Referral', reason, sourceOfReferral: 'CLIENT', raisedAgainstPartyId: 'RP', lockAssignment: false, ...over }) as const;
const status = (s: 'OPEN' | 'IN_PROGRESS' | 'PENDING_APPROVAL' | 'CLOSED' | 'CANCELLED', subStatus: string | null = null, resolutionCode: string | null = null) => ({ type: 'SrStatusChanged', status: s, subStatus, resolutionCode }) as const;
const plan = { type: 'ActivityPlanGenerated', activities: [{ activityId: 'A1', name: 'Check criteria' }, { activityId: 'A2', name: 'Record decision' }] } as const;
const done = (id: string) => ({ type: 'ActivityCompleted', activityId: id }) as const;
const decided = (d: 'APPROVED' | 'REJECTED') => ({ type: 'ApprovalDecided', decision: d }) as const;

/** The case group with its one case's parties known (from its application). */
const known = (): CaseGroupSrState => ({ ...emptyState('CG-1'), cases: { 'C-1': parties } });

/** Runs events in order; returns every outcome and the facts derived, as "Type:detail" strings. */
function run(events: SrLifecycleEvent[], start: CaseGroupSrState = known()): { outcomes: SrOutcome[]; facts: string[]; raw: SrFact[]; state: CaseGroupSrState } {
  let state = start;
  const outcomes: SrOutcome[] = [];
  const raw: SrFact[] = [];
  events.forEach((e, i) => {
    const o = applySrEvent(state, e, { eventId: `e-${e.srId}-${i}-${e.occurredAt}` });
    outcomes.push(o);
    state = o.state;
    if (o.kind === 'applied') raw.push(...o.facts);
  });
  const facts = raw.map((f) => {
    const p = f.payload;
    switch (p.type) {
      case 'ServiceRequestChanged':
        return `SR:${p.change}`;
      case 'PersonalInterestFlagChanged':
        return `PI:${p.partyId}:${p.flagged ? (p.reason ?? '') : 'removed'}`;
      case 'CaseGroupMarkedSpecial':
        return `SPECIAL:${p.exceptionalType}`;
      default:
        return p.type;
    }
  });
  return { outcomes, facts, raw, state };
}
const rejections = (r: ReturnType<typeof run>) => r.outcomes.filter((o) => o.kind === 'rejected').map((o) => (o.kind === 'rejected' ? `${o.code}: ${o.reason}` : ''));

const nsReferralToApproval = (): SrLifecycleEvent[] => [
  ev(created('Non Standard', 'NO_NINO_OR_CRN')), // 000 steps 7-9
  ev(status('IN_PROGRESS')), // 000 step 11
  ev(plan),
  ev(status('PENDING_APPROVAL', SUB_PENDING)), // 000 step 11
];
const SUB_PENDING = 'Pending approval - TL';

describe('000 Non Standard Case - Refer', () => {
  it.each([
    ['steps 7-11: create the referral (reason, source), In Progress, refer to the TL -> an approval task', nsReferralToApproval(), ['SR:OPENED', 'SR:PENDING_APPROVAL'], []],
    [
      'steps 18-20: TL approves, caseworker closes Complex Case Approved / Closed / Complete -> the whole case group is special',
      [...nsReferralToApproval(), ev(decided('APPROVED'), TL), ev(done('A1')), ev(done('A2')), ev(status('CLOSED', 'Complete', 'Complex Case Approved'))],
      ['SR:OPENED', 'SR:PENDING_APPROVAL', 'SR:OPENED', 'SPECIAL:TYPE_ONE', 'SR:COMPLETED'],
      [],
    ],
    [
      'steps 21-22: TL rejects -> In Progress / Rejected, case accessible to the referring caseworker again',
      [...nsReferralToApproval(), ev(decided('REJECTED'), TL)],
      ['SR:OPENED', 'SR:PENDING_APPROVAL', 'ReferralRejected', 'SR:OPENED'],
      [],
    ],
    [
      'step 4 and FAQ: a team leader who identifies the case needs no approval (self-authorise), then closes it',
      [ev(created('Non Standard', 'CANNOT_REACH_ACCURATE_OUTCOME'), TL), ev(status('IN_PROGRESS', 'Approved'), TL), ev(status('CLOSED', 'Complete', 'Complex Case Approved'), TL)],
      ['SR:OPENED', 'SPECIAL:TYPE_TWO', 'SR:COMPLETED'],
      [],
    ],
    [
      'step 4: "no approval is needed": a team leader who raised the referral closes it Complex Case Approved straight away',
      [ev(created('Non Standard', 'NO_NINO_OR_CRN'), TL), ev(status('IN_PROGRESS'), TL), ev(status('CLOSED', 'Complete', 'Complex Case Approved'), TL)],
      ['SR:OPENED', 'SPECIAL:TYPE_ONE', 'SR:COMPLETED'],
      [],
    ],
    [
      'step 8: a reason that is not one of the referral reasons is refused, without quoting it back (personal data)',
      [ev(created('Non Standard', 'TYPE_ONE_NO_NINO'))],
      [],
      ['CMS_SR_MANDATORY_FIELD: cannot create SR SR-1: the reason given is not one of NO_NINO_OR_CRN, CANNOT_REACH_ACCURATE_OUTCOME (not repeated here: a referral\'s reason is personal data)'],
    ],
    [
      'step 9: the source of the referral is mandatory',
      [ev(created('Non Standard', 'NO_NINO_OR_CRN', { sourceOfReferral: null }))],
      [],
      ['CMS_SR_MANDATORY_FIELD: cannot create SR SR-1: the source of the referral (000 step 9) is mandatory'],
    ],
    [
      'step 8: the reason is mandatory',
      [ev(created('Non Standard', null))],
      [],
      ['CMS_SR_MANDATORY_FIELD: cannot create SR SR-1: a reason (one of NO_NINO_OR_CRN, CANNOT_REACH_ACCURATE_OUTCOME) is mandatory'],
    ],
    [
      'step 11: refer only once In Progress',
      [ev(created('Non Standard', 'NO_NINO_OR_CRN')), ev(status('PENDING_APPROVAL', SUB_PENDING))],
      ['SR:OPENED'],
      ['CMS_SR_INVALID_TRANSITION: cannot refer SR SR-1 for approval: update its status to In Progress first (000 step 11, 003 step 7)'],
    ],
    [
      'steps 18-19: Complex Case Approved needs the TL approval first',
      [ev(created('Non Standard', 'NO_NINO_OR_CRN')), ev(status('IN_PROGRESS')), ev(status('CLOSED', 'Complete', 'Complex Case Approved'))],
      ['SR:OPENED'],
      ["CMS_SR_INVALID_TRANSITION: cannot close SR SR-1 as Complex Case Approved: a team leader has not approved the referral. A caseworker's referral goes to Pending Approval for the team leader's decision (000 steps 11 and 18); only a team leader who raised the referral closes it without that approval (000 step 4)"],
    ],
    [
      'only a team leader decides the approval inbox item',
      [...nsReferralToApproval(), ev(decided('APPROVED'), CW)],
      ['SR:OPENED', 'SR:PENDING_APPROVAL'],
      ['CMS_SR_NOT_AUTHORISED: SR SR-1: only a team leader decides an approval (caseworker CW-1 tried)'],
    ],
    [
      'a caseworker cannot self-authorise by setting sub status Approved',
      [ev(created('Non Standard', 'NO_NINO_OR_CRN')), ev(status('IN_PROGRESS', 'Approved'))],
      ['SR:OPENED'],
      ['CMS_SR_NOT_AUTHORISED: SR SR-1: only the team leader who raised a referral may approve it without the approval inbox (caseworker CW-1 tried); refer it for approval (Pending Approval)'],
    ],
  ])('%s', (_step, events, facts, rejected) => {
    const r = run(events);
    expect(r.facts).toEqual(facts);
    expect(rejections(r)).toEqual(rejected);
  });
});

const piReferral = (reason: string, client = 'RP'): SrLifecycleEvent[] => [
  ev(created('Personal Interest', reason, { raisedAgainstPartyId: client, sourceOfReferral: null })), // 003 step 7
  ev(status('IN_PROGRESS')), // "This creates an activity plan"
  ev(plan),
  ev(status('PENDING_APPROVAL', SUB_PENDING)), // step 9
];
const approveAndClose = (): SrLifecycleEvent[] => [ev(decided('APPROVED'), TL), ev(done('A1')), ev(done('A2')), ev(status('CLOSED', 'Complete', 'Personal Interest Approved'))];

describe('003 Personal Interest - Register', () => {
  it.each([
    ['steps 9-10, 13: approved and closed Personal Interest Approved -> the client is flagged (conflict of interest: client only)', [...piReferral('CONFLICT_OF_INTEREST'), ...approveAndClose()], ['SR:OPENED', 'SR:PENDING_APPROVAL', 'SR:OPENED', 'PI:RP:CONFLICT_OF_INTEREST', 'SR:COMPLETED'], []],
    [
      'step 7: information sharing (name not disclosed) -> Commission defined, and the other parties flagged Associated contact',
      [...piReferral('NAME_OR_IDENTITY_NOT_DISCLOSED'), ...approveAndClose()],
      ['SR:OPENED', 'SR:PENDING_APPROVAL', 'SR:OPENED', 'PI:RP:COMMISSION_DEFINED', 'PI:PP:ASSOCIATED_CONTACT', 'PI:QC:ASSOCIATED_CONTACT', 'SR:COMPLETED'],
      [],
    ],
    ['step 7: death of a qualifying child -> Commission defined + associated contacts', [...piReferral('QUALIFYING_CHILD_DIED'), ...approveAndClose()], ['SR:OPENED', 'SR:PENDING_APPROVAL', 'SR:OPENED', 'PI:RP:COMMISSION_DEFINED', 'PI:PP:ASSOCIATED_CONTACT', 'PI:QC:ASSOCIATED_CONTACT', 'SR:COMPLETED'], []],
    ['step 7: transgender -> Commission defined + associated contacts, and never nationally sensitive', [...piReferral('TRANSGENDER'), ...approveAndClose()], ['SR:OPENED', 'SR:PENDING_APPROVAL', 'SR:OPENED', 'PI:RP:COMMISSION_DEFINED', 'PI:PP:ASSOCIATED_CONTACT', 'PI:QC:ASSOCIATED_CONTACT', 'SR:COMPLETED'], []],
    ['SCR note: threat of suicide -> only that client is flagged', [...piReferral('THREAT_OF_SUICIDE'), ...approveAndClose()], ['SR:OPENED', 'SR:PENDING_APPROVAL', 'SR:OPENED', 'PI:RP:THREAT_OF_SUICIDE', 'SR:COMPLETED'], []],
    ['steps 11-12: rejected -> In Progress / Rejected; closed Personal Interest Not Valid / Closed / Rejected; no flag', [...piReferral('CONFLICT_OF_INTEREST'), ev(decided('REJECTED'), TL), ev(done('A1')), ev(done('A2')), ev(status('CLOSED', 'Rejected', 'Personal Interest Not Valid'))], ['SR:OPENED', 'SR:PENDING_APPROVAL', 'ReferralRejected', 'SR:OPENED', 'SR:COMPLETED'], []],
    [
      'step 5: a team leader raises and self-authorises: In Progress, sub status Approved, close activities, Closed / Complete',
      [ev(created('Personal Interest', 'EMPLOYEE_IS_CLIENT', { sourceOfReferral: null }), TL), ev(status('IN_PROGRESS'), TL), ev(plan, TL), ev(status('IN_PROGRESS', 'Approved', 'Personal Interest Approved'), TL), ev(done('A1'), TL), ev(done('A2'), TL), ev(status('CLOSED', 'Complete', 'Personal Interest Approved'), TL)],
      ['SR:OPENED', 'PI:RP:EMPLOYEE_IS_CLIENT', 'SR:COMPLETED'],
      [],
    ],
    [
      '"Team leaders who launch a referral can self authorise a case": a team leader closes their own referral Personal Interest Approved',
      [ev(created('Personal Interest', 'CONFLICT_OF_INTEREST', { sourceOfReferral: null }), TL), ev(status('IN_PROGRESS'), TL), ev(status('CLOSED', 'Complete', 'Personal Interest Approved'), TL)],
      ['SR:OPENED', 'PI:RP:CONFLICT_OF_INTEREST', 'SR:COMPLETED'],
      [],
    ],
    ['a personal-interest referral raised against someone outside the case group is refused', [ev(created('Personal Interest', 'CIFBA', { raisedAgainstPartyId: 'STRANGER' }))], [], ['CMS_SR_PARTY_MISSING: cannot create SR SR-1: it is raised against STRANGER, who is not a party of case group CG-1']],
    ['steps 5 and 7: the lock-assignment flag must not be selected', [ev(created('Personal Interest', 'CIFBA', { lockAssignment: true }))], [], ['CMS_SR_MANDATORY_FIELD: cannot create SR SR-1: the lock-assignment flag must not be selected on a personal-interest referral (003 steps 5 and 7)']],
    ['step 9: Pending Approval needs the sub status "Pending approval - TL"', [...piReferral('CIFBA').slice(0, 3), ev(status('PENDING_APPROVAL'))], ['SR:OPENED'], ['CMS_SR_INVALID_TRANSITION: SR SR-1: a personal-interest referral goes to Pending Approval with sub status "Pending approval - TL" (003 step 9)']],
    ['step 12: Personal Interest Not Valid is only for a rejected referral', [...piReferral('CIFBA'), ev(decided('APPROVED'), TL), ev(done('A1')), ev(done('A2')), ev(status('CLOSED', 'Rejected', 'Personal Interest Not Valid'))], ['SR:OPENED', 'SR:PENDING_APPROVAL', 'SR:OPENED'], ['CMS_SR_INVALID_TRANSITION: SR SR-1: Personal Interest Not Valid is for a referral a team leader rejected (003 step 12)']],
  ])('%s', (_step, events, facts, rejected) => {
    const r = run(events);
    expect(r.facts).toEqual(facts);
    expect(rejections(r)).toEqual(rejected);
  });

  it('threat of suicide: the review is due three months after the flag is set', () => {
    const r = run([...piReferral('THREAT_OF_SUICIDE'), ...approveAndClose()]);
    const flag = r.raw.find((f) => f.payload.type === 'PersonalInterestFlagChanged');
    const closedAt = r.raw.at(-1)?.occurredAt ?? '';
    expect(flag?.payload).toMatchObject({ reviewDueAt: addMonths(closedAt, 3) });
    expect(addMonths('2026-01-31T09:00:00.000Z', 3)).toBe('2026-04-30T09:00:00.000Z');
    expect(addMonths('2026-11-30T00:00:00.000Z', 3)).toBe('2027-02-28T00:00:00.000Z');
  });

  it('step 6: a CIFBA case needs a team leader warm handover to SCR', () => {
    const r = run([...piReferral('CIFBA'), ...approveAndClose()]);
    expect(r.raw.find((f) => f.payload.type === 'PersonalInterestFlagChanged')?.payload).toMatchObject({ partyId: 'RP', reason: 'CIFBA', warmHandoverRequired: true });
  });

  it('step 22: a name that must not be disclosed -> suppress correspondence and block the other adult parties from the portal', () => {
    const r = run([...piReferral('NAME_OR_IDENTITY_NOT_DISCLOSED'), ...approveAndClose()]);
    expect(r.raw.find((f) => f.payload.type === 'PersonalInterestFlagChanged')?.payload).toMatchObject({ partyId: 'RP', suppressCorrespondence: true, blockPortalForPartyIds: ['PP'] });
  });

  it('steps 23-26: cessation removes the flag and the associated contacts flagged with it (business as usual)', () => {
    const flagged = run([...piReferral('NAME_OR_IDENTITY_NOT_DISCLOSED'), ...approveAndClose()]);
    const cessation = run(
      [
        ev({ type: 'SrCreated', process: 'Special case management', area: 'Personal Interest', subArea: 'Cessation', reason: null, sourceOfReferral: null, raisedAgainstPartyId: 'RP', lockAssignment: false }, CW, 'SR-2'),
        ev(status('IN_PROGRESS'), CW, 'SR-2'),
        ev(status('CLOSED', 'Complete'), CW, 'SR-2'),
      ],
      flagged.state,
    );
    expect(cessation.facts).toEqual(['SR:OPENED', 'PI:PP:removed', 'PI:QC:removed', 'PI:RP:removed', 'SR:COMPLETED']);
    expect(cessation.state.piFlags).toEqual({});
  });
});

describe('the SR state machine', () => {
  it('004: an SR cannot be closed with open activities, and the state is unchanged', () => {
    const r = run([ev(created('Non Standard', 'NO_NINO_OR_CRN'), TL), ev(status('IN_PROGRESS', 'Approved'), TL), ev(plan, TL), ev(done('A1'), TL), ev(status('CLOSED', 'Complete', 'Complex Case Approved'), TL)]);
    expect(rejections(r)).toEqual(['CMS_SR_INVALID_TRANSITION: cannot close SR SR-1: 1 activity open']);
    expect(r.state.srs['SR-1']?.status).toBe('IN_PROGRESS');
    expect(r.facts).toEqual(['SR:OPENED']);
  });

  it('004: the activity plan is generated once the SR has been started', () => {
    const r = run([ev(created('Non Standard', 'NO_NINO_OR_CRN')), ev(plan)]);
    expect(rejections(r)).toEqual(['CMS_SR_INVALID_TRANSITION: SR SR-1: an activity plan is generated when the SR is started (In Progress), and it is still Open']);
  });

  it('a duplicate event (same id) changes nothing and produces nothing', () => {
    const first = run(nsReferralToApproval());
    const again = nsReferralToApproval().map((e, i) => applySrEvent(first.state, e, { eventId: `e-${e.srId}-${i}-${e.occurredAt}` }));
    // Different ids (new clock) but the same transitions: each is either a no-op duplicate or rejected, never a new fact.
    for (const o of again) expect(o.kind === 'applied' ? o.facts : []).toEqual([]);
  });

  it('replaying the same event id is a no-op', () => {
    const e = ev(created('Non Standard', 'NO_NINO_OR_CRN'));
    const once = applySrEvent(known(), e, { eventId: 'X' });
    expect(applySrEvent(once.state, e, { eventId: 'X' })).toMatchObject({ kind: 'duplicate' });
  });

  it('on its own, the state machine rejects an event for an SR it does not have (applySrEventsInput holds it for its SrCreated first)', () => {
    const r = run([ev(status('IN_PROGRESS'))]);
    expect(rejections(r)).toEqual(['CMS_UNKNOWN_SR: SR SR-1 has not been created (no SrCreated received for case group CG-1); publish it first, then replay this event']);
  });

  it('a closed SR cannot change', () => {
    const r = run([ev(created('Escalated Enquiries', null, { process: 'Escalated Enquiries', area: 'Complaints', subArea: 'Review' })), ev(status('IN_PROGRESS')), ev(status('CLOSED', 'Complete')), ev(status('IN_PROGRESS'))]);
    expect(r.facts).toEqual(['SR:OPENED', 'SR:COMPLETED']);
    expect(rejections(r)).toEqual(['CMS_SR_INVALID_TRANSITION: SR SR-1 is closed; it cannot change any more']);
  });

  it('type two exits: closing a Non Standard / Load Back SR loads the case group back (001)', () => {
    const r = run([ev({ type: 'SrCreated', process: 'Special case management', area: 'Non Standard', subArea: 'Load Back', reason: null, sourceOfReferral: null, raisedAgainstPartyId: null, lockAssignment: false }), ev(status('IN_PROGRESS')), ev(status('CLOSED', 'Complete'))]);
    expect(r.facts).toEqual(['SR:OPENED', 'CaseGroupLoadedBack', 'SR:COMPLETED']);
  });
});
