import { describe, expect, it } from 'vitest';
import type { Assignment, SrFact } from '@cms-router/events';
import { afterFailure, emailStep, type LedgerEntry } from './ledger.ts';
import { orphanCause, orphansOf, sweep, type Allocation, type Departure } from './orphans.ts';
import { dueReviews, messageIdFor, nextReview, planForAssignment, planForSrFact, planOrphanEmail, planReviewReminder } from './plan.ts';
import { headerSafe, render, TEMPLATE_IDS } from './templates.ts';

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

  it('a threat-of-suicide flag schedules its review; removal cancels it; a flag without a review date has none (003)', () => {
    expect(planForSrFact(flag({ reviewDueAt: '2026-05-01T09:00:00.000Z' }), 'e').reviews).toEqual([{ kind: 'schedule', key: 'CG-1|RP', dueAt: '2026-05-01T09:00:00.000Z' }]);
    expect(planForSrFact(flag({ flagged: false, reason: null }), 'e').reviews).toEqual([{ kind: 'cancel', key: 'CG-1|RP' }]);
    expect(planForSrFact(flag({ reason: 'COMMISSION_DEFINED' }), 'e').reviews).toEqual([{ kind: 'cancel', key: 'CG-1|RP' }]);
  });

  it('003 "after a three monthly review": reminders fire when due under a controllable clock, once per review date, then every three months', () => {
    const schedule = { 'CG-1|RP': '2026-05-01T09:00:00.000Z', 'CG-2|PP': '2026-06-01T09:00:00.000Z' };
    expect(dueReviews(schedule, new Date('2026-05-01T08:59:59.999Z'))).toEqual([]);
    expect(dueReviews(schedule, new Date('2026-05-01T09:00:00Z')).map((r) => r.key)).toEqual(['CG-1|RP']);
    const reminder = planReviewReminder('CG-1|RP', '2026-05-01T09:00:00.000Z');
    expect(reminder).toMatchObject({ idempotencyKey: 'review:CG-1|RP:2026-05-01T09:00:00.000Z:SCR', caseGroupId: 'CG-1', inbox: 'SCR', template: 'PI_REVIEW_DUE' });
    expect(nextReview('2026-05-01T09:00:00.000Z')).toBe('2026-08-01T09:00:00.000Z');
    expect(nextReview('2026-11-30T09:00:00.000Z')).toBe('2027-02-28T09:00:00.000Z');
  });
});

describe('templates: minimal personal data, nothing can forge a header', () => {
  it.each(TEMPLATE_IDS)('%s says what to do and no personal-interest reason', (t) => {
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

describe('orphaned case groups (004: "If a team move is complete for a user or 2012 access is removed from a user who has work allocated to them, these cases will become orphaned")', () => {
  const at = (day: number) => `2026-03-${String(day).padStart(2, '0')}T09:00:00.000Z`;
  const alloc = (userId: string, day: number, teamId = 'T-1'): Allocation => ({ userId, teamId, segment: 'MAINTENANCE', at: at(day) });
  const removed: Departure = { cause: 'SYSTEM_ACCESS_REMOVED', since: at(10), toTeamId: null };
  const moved: Departure = { cause: 'TEAM_MOVE_COMPLETED', since: at(10), toTeamId: 'T-2' };

  it.each<[string, Allocation, Departure | undefined, string | null]>([
    ['access removed: work allocated before it is orphaned', alloc('U-1', 1), removed, 'SYSTEM_ACCESS_REMOVED'],
    ['team move complete: work left in the old team is orphaned', alloc('U-1', 1), moved, 'TEAM_MOVE_COMPLETED'],
    ['team move: work allocated in the new team is ordinary work', alloc('U-1', 12, 'T-2'), moved, null],
    ['allocated after access was removed (facts out of order, or allocated to a leaver)', alloc('U-1', 12), removed, 'OWNER_WITHOUT_ACCESS'],
    ['a user who never left', alloc('U-1', 1), undefined, null],
  ])('%s', (_why, allocation, departure, cause) => {
    expect(orphanCause(allocation, departure)).toBe(cause);
  });

  it('a departure orphans every case group still allocated to the user, and only theirs, sorted', () => {
    const allocations = { 'CG-3': alloc('U-1', 1), 'CG-1': alloc('U-1', 2), 'CG-2': alloc('U-1', 3), 'CG-9': alloc('U-2', 1) };
    expect(orphansOf('U-1', removed, allocations)).toEqual(['CG-1', 'CG-2', 'CG-3'].map((caseGroupId) => ({ caseGroupId, userId: 'U-1', cause: 'SYSTEM_ACCESS_REMOVED', since: at(10) })));
  });

  it('the sweep finds what is orphaned and not flagged yet; recovered (tombstoned) case groups are nobody\'s', () => {
    const allocations = { 'CG-1': alloc('U-1', 1), 'CG-2': alloc('U-1', 2), 'CG-3': alloc('U-3', 2), 'CG-4': { ...alloc('', 1), teamId: '' } };
    expect(sweep(allocations, { 'U-1': removed }, new Set(['CG-1'])).map((o) => o.caseGroupId)).toEqual(['CG-2']);
    expect(sweep(allocations, {}, new Set())).toEqual([]);
  });

  it('one email for everything one departure orphaned, listing the case groups and nothing personal', () => {
    const orphans = orphansOf('U-1', removed, { 'CG-1': alloc('U-1', 1), 'CG-2': alloc('U-1', 1), 'CG-3': alloc('U-1', 1) });
    const [mail, ...more] = planOrphanEmail('workforce:evt-9', orphans);
    expect(more).toEqual([]);
    expect(mail).toMatchObject({ idempotencyKey: 'workforce:evt-9:ORPHANS', inbox: 'ORPHANS', template: 'ORPHANED_CASE_GROUPS', data: { caseGroupIds: ['CG-1', 'CG-2', 'CG-3'], userId: 'U-1' } });
    const text = render('ORPHANED_CASE_GROUPS', mail?.data ?? { caseGroupId: '' });
    expect(text.subject).toBe('[CMS] 3 orphaned case groups (CG-1, ...)');
    expect(text.text).toContain('CG-1, CG-2, CG-3');
    expect(planOrphanEmail('e', [])).toEqual([]);
  });
});

describe('the send-once ledger', () => {
  const now = new Date('2026-03-01T09:00:00.000Z');
  const entry: LedgerEntry = { status: 'SENT', attempts: 1, messageId: '<m@x>', at: now.toISOString(), by: 'work:0:5', errorCode: null };
  it.each<[string, LedgerEntry | null, boolean, string, string, string]>([
    ['never sent and due: send', null, false, 'work:0:5', '2026-03-01T09:00:00.000Z', 'send'],
    ['never sent, backing off: wait', null, false, 'work:0:5', '2026-03-01T09:00:02.000Z', 'wait'],
    ['sent by this very record, whose transaction did not commit: publish the event again, do not send', entry, false, 'work:0:5', '2026-03-01T09:00:00.000Z', 'republish'],
    ['sent by this very record, committed, read again by a rewound or new consumer group: nothing at all', entry, true, 'work:0:5', '2026-03-01T09:00:00.000Z', 'done'],
    ['sent by another record (a replay of the assignments, a timer firing twice): nothing at all', entry, false, 'work:1:7', '2026-03-01T09:00:00.000Z', 'done'],
    ['rebuilt from the notifications topic: nothing at all', { ...entry, by: null }, true, 'work:0:5', '2026-03-01T09:00:00.000Z', 'done'],
  ])('%s', (_why, e, published, coordinates, notBefore, kind) => {
    expect(emailStep(e, published, coordinates, notBefore, now).kind).toBe(kind);
  });

  it('backs off after temporary failures until the budget is spent; a permanent failure fails at once', () => {
    const backoff = (a: number) => 1000 * 2 ** a;
    expect(afterFailure(0, true, now, 3, backoff)).toEqual({ kind: 'retry', attempts: 1, notBefore: '2026-03-01T09:00:01.000Z' });
    expect(afterFailure(1, true, now, 3, backoff)).toEqual({ kind: 'retry', attempts: 2, notBefore: '2026-03-01T09:00:02.000Z' });
    expect(afterFailure(2, true, now, 3, backoff)).toEqual({ kind: 'fail', attempts: 3 });
    expect(afterFailure(0, false, now, 3, backoff)).toEqual({ kind: 'fail', attempts: 1 });
  });
});
