import { describe, expect, it } from 'vitest';
import type { Assignment, SrFact } from '@cms-router/events';
import { allocated, emptyOwnership, recovered, sweep, userGone } from './orphans.ts';
import { dueReviews, messageIdFor, planForAssignment, planForSrFact, planReviewReminder } from './plan.ts';
import { headerSafe, render } from './templates.ts';

const assignment = (segment: string, previousSegment: string | null, subject: Assignment['subject'] = 'CASE_GROUP'): Assignment => ({
  assignmentId: 'a1',
  caseGroupId: 'CG-1',
  occurredAt: '2026-02-01T09:00:00.000Z',
  subject,
  srId: null,
  previousSegment,
  segment,
  region: null,
  team: null,
  ownerUserId: null,
  access: 'OWNER',
  requirements: [],
  handling: [],
  rulesVersion: 'v',
  reasons: [],
});
const flag = (over: Partial<Extract<SrFact['payload'], { type: 'PersonalInterestFlagChanged' }>>): SrFact => ({
  caseGroupId: 'CG-1',
  caseId: 'C-1',
  srId: 'SR-9',
  occurredAt: '2026-02-01T09:00:00.000Z',
  payload: { type: 'PersonalInterestFlagChanged', partyId: 'RP', flagged: true, reason: 'THREAT_OF_SUICIDE', reviewDueAt: null, warmHandoverRequired: false, suppressCorrespondence: false, blockPortalForPartyIds: [], ...over },
});

describe('who is told (003 step 14, ECH overview, 003 step 6)', () => {
  it.each([
    ['a move to SCR emails the CM 2012 SCHEME Special Client Records inbox', assignment('SPECIAL_CLIENT_RECORDS', 'MAINTENANCE'), ['SCR:SCR_ASSIGNED']],
    ['a move to the non standard segment emails the CM2012 ECH GATEWAY inbox', assignment('NON_STANDARD', 'SPECIAL_CLIENT_RECORDS'), ['ECH_GATEWAY:ECH_GATEWAY']],
    ['staying in SCR emails nobody', assignment('SPECIAL_CLIENT_RECORDS', 'SPECIAL_CLIENT_RECORDS'), []],
    ['SR work in SCR emails nobody', assignment('SPECIAL_CLIENT_RECORDS', 'MAINTENANCE', 'SERVICE_REQUEST'), []],
    ['a move to maintenance emails nobody', assignment('MAINTENANCE', 'NEW_CASE'), []],
  ])('%s', (_why, a, expected) => {
    expect(planForAssignment(a, 'evt-1').map((e) => `${e.inbox}:${e.template}`)).toEqual(expected);
  });

  it('one email per (event, inbox), with a stable Message-ID', () => {
    const [first] = planForAssignment(assignment('SPECIAL_CLIENT_RECORDS', null), 'evt-1');
    const [again] = planForAssignment(assignment('SPECIAL_CLIENT_RECORDS', null), 'evt-1');
    expect(first?.idempotencyKey).toBe('evt-1:SCR');
    expect(again?.messageId).toBe(first?.messageId);
    expect(first?.messageId).toMatch(/^<[0-9a-f]{32}@cms-router\.notifier>$/);
    expect(messageIdFor('evt-2:SCR')).not.toBe(first?.messageId);
  });

  it('a CIFBA flag asks the SCR team leader for a warm handover', () => {
    expect(planForSrFact(flag({ reason: 'CIFBA', warmHandoverRequired: true }), 'e').emails.map((e) => `${e.inbox}:${e.template}`)).toEqual(['SCR_TEAM_LEADER:SCR_WARM_HANDOVER']);
  });

  it('a threat-of-suicide flag schedules its review; removal cancels it', () => {
    expect(planForSrFact(flag({ reviewDueAt: '2026-05-01T09:00:00.000Z' }), 'e').reviews).toEqual([{ kind: 'schedule', key: 'CG-1:RP', caseGroupId: 'CG-1', dueAt: '2026-05-01T09:00:00.000Z' }]);
    expect(planForSrFact(flag({ flagged: false, reason: null }), 'e').reviews).toEqual([{ kind: 'cancel', key: 'CG-1:RP' }]);
  });

  it('reminders fire when due under a controllable clock, once per review date', () => {
    const schedule = { 'CG-1:RP': { caseGroupId: 'CG-1', dueAt: '2026-05-01T09:00:00.000Z' }, 'CG-2:PP': { caseGroupId: 'CG-2', dueAt: '2026-06-01T09:00:00.000Z' } };
    expect(dueReviews(schedule, new Date('2026-04-30T23:59:59Z'))).toEqual([]);
    expect(dueReviews(schedule, new Date('2026-05-01T09:00:00Z')).map((r) => r.key)).toEqual(['CG-1:RP']);
    expect(planReviewReminder('CG-1:RP', 'CG-1', '2026-05-01T09:00:00.000Z').idempotencyKey).toBe('review:CG-1:RP:2026-05-01T09:00:00.000Z:SCR');
  });
});

describe('templates: minimal personal data, nothing can forge a header', () => {
  it.each(['SCR_ASSIGNED', 'ECH_GATEWAY', 'SCR_WARM_HANDOVER', 'PI_REVIEW_DUE', 'ORPHANED_CASE_GROUP'] as const)('%s says what to do and no personal-interest reason', (t) => {
    const email = render(t, { caseGroupId: 'CG-1', caseId: 'C-1', srId: 'SR-9', segment: 'MAINTENANCE', userId: 'U-1', dueAt: '2026-05-01T09:00:00.000Z' });
    expect(email.subject).toContain('CG-1');
    expect(email.text).toMatch(/Action: /);
    expect(`${email.subject} ${email.text} ${email.html}`).not.toMatch(/suicide|transgender|died|conflict of interest/i);
  });

  it('strips CR/LF and control characters from anything that reaches a header', () => {
    const email = render('SCR_ASSIGNED', { caseGroupId: 'CG-1\r\nBcc: attacker@example.com' });
    expect(email.subject).not.toMatch(/[\r\n]/);
    expect(email.subject).toContain('CG-1 Bcc: attacker@example.com');
    expect(headerSafe('a\u0000b\u2028c')).toBe('a b c');
  });

  it('escapes HTML', () => {
    expect(render('ECH_GATEWAY', { caseGroupId: '<script>x</script>' }).html).not.toContain('<script>');
  });
});

describe('orphaned case groups (004 Work Allocation)', () => {
  it('a team move orphans every case group still allocated to the caseworker', () => {
    let o = emptyOwnership;
    for (const cg of ['CG-3', 'CG-1', 'CG-2']) o = allocated(o, cg, 'U-1').ownership;
    o = allocated(o, 'CG-9', 'U-2').ownership;
    const gone = userGone(o, 'U-1', 'TEAM_MOVE_COMPLETED', '2026-03-01T09:00:00.000Z');
    expect(gone.orphans.map((x) => x.caseGroupId)).toEqual(['CG-1', 'CG-2', 'CG-3']);
    expect(gone.orphans[0]).toMatchObject({ userId: 'U-1', cause: 'TEAM_MOVE_COMPLETED', since: '2026-03-01T09:00:00.000Z' });
    const after = recovered(gone.ownership, 'CG-1');
    expect(sweep(after).map((x) => x.caseGroupId)).toEqual(['CG-2', 'CG-3']);
  });

  it('an allocation to someone already gone is orphaned at once (facts out of order)', () => {
    const o = userGone(emptyOwnership, 'U-7', 'SYSTEM_ACCESS_REMOVED', '2026-03-01T09:00:00.000Z').ownership;
    expect(allocated(o, 'CG-5', 'U-7').orphans).toEqual([{ caseGroupId: 'CG-5', userId: 'U-7', cause: 'OWNER_WITHOUT_ACCESS', since: '2026-03-01T09:00:00.000Z' }]);
  });
});
