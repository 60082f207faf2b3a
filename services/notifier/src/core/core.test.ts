import { describe, expect, it } from 'vitest';
import type { Assignment, SrFact } from '@cms-router/events';
import { afterFailure, emailStep, type LedgerEntry } from './ledger.ts';
import { addPart, type DigestPart } from './orphans.ts';
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
  pendingMove: null,
  orphan: null,
  basis: null,
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

describe('orphaned case groups (004: "these cases will become orphaned ... To have these cases recovered contact your local IT Team")', () => {
  const since = '2026-03-10T09:00:00.000Z';
  const part = (n: number, parts: number, caseGroups: string[]): DigestPart => ({ reportId: 'R-1', userId: 'U-1', cause: 'SYSTEM_ACCESS_REMOVED', since, part: n, parts, caseGroups: caseGroups.map((caseGroupId) => ({ caseGroupId, segment: 'MAINTENANCE' })) });

  it('puts the router partitions\' parts of a report together, and completes once, whatever order they arrive in', () => {
    let d = addPart(null, part(2, 3, ['CG-3']));
    expect(d.complete).toBeNull();
    d = addPart(d.digest, part(0, 3, []));
    expect(d.complete).toBeNull();
    d = addPart(d.digest, part(2, 3, ['CG-3'])); // a copy of a part already held
    expect(d.complete).toBeNull();
    d = addPart(d.digest, part(1, 3, ['CG-2', 'CG-1']));
    expect(d.complete?.map((o) => o.caseGroupId)).toEqual(['CG-1', 'CG-2', 'CG-3']);
    expect(d.complete?.[0]).toEqual({ caseGroupId: 'CG-1', segment: 'MAINTENANCE', userId: 'U-1', cause: 'SYSTEM_ACCESS_REMOVED', since });
    // Told once: a part replayed later changes nothing.
    expect(addPart(d.digest, part(0, 3, [])).complete).toBeNull();
  });

  it('one email for everything one departure orphaned, listing the case groups and nothing personal', () => {
    const orphans = addPart(null, part(0, 1, ['CG-2', 'CG-1', 'CG-3'])).complete ?? [];
    const [mail, ...more] = planOrphanEmail('orphans:R-1', orphans);
    expect(more).toEqual([]);
    expect(mail).toMatchObject({ idempotencyKey: 'orphans:R-1:ORPHANS', inbox: 'ORPHANS', template: 'ORPHANED_CASE_GROUPS', data: { caseGroupIds: ['CG-1', 'CG-2', 'CG-3'], userId: 'U-1' } });
    const text = render('ORPHANED_CASE_GROUPS', mail?.data ?? { caseGroupId: '' });
    expect(text.subject).toBe('[CMS] 3 orphaned case groups (CG-1, ...)');
    expect(text.text).toContain('CG-1, CG-2, CG-3');
    expect(planOrphanEmail('e', [])).toEqual([]);
  });
});

describe('the send-once ledger', () => {
  const now = new Date('2026-03-01T09:00:00.000Z');
  const entry: LedgerEntry = { status: 'SENT', attempts: 1, messageId: '<m@x>', at: now.toISOString(), errorCode: null };
  it.each<[string, LedgerEntry | null, LedgerEntry | null, string, string]>([
    ['never sent and due: send', null, null, '2026-03-01T09:00:00.000Z', 'send'],
    ['never sent, backing off: wait', null, null, '2026-03-01T09:00:02.000Z', 'wait'],
    ['SMTP accepted it, then the process died before the commit: record and publish it, do not send again', null, entry, '2026-03-01T09:00:00.000Z', 'record'],
    ['in the ledger (its event committed with it): a replayed record, a rewound group, a timer twice: nothing at all', entry, entry, '2026-03-01T09:00:00.000Z', 'done'],
    ['in the ledger, the guard gone with Redis (the ledger is restored from the changelog): nothing at all', entry, null, '2026-03-01T09:00:00.000Z', 'done'],
  ])('%s', (_why, ledger, guard, notBefore, kind) => {
    expect(emailStep(ledger, guard, notBefore, now).kind).toBe(kind);
  });

  it('backs off after temporary failures until the budget is spent; a permanent failure fails at once', () => {
    const backoff = (a: number) => 1000 * 2 ** a;
    expect(afterFailure(0, true, now, 3, backoff)).toEqual({ kind: 'retry', attempts: 1, notBefore: '2026-03-01T09:00:01.000Z' });
    expect(afterFailure(1, true, now, 3, backoff)).toEqual({ kind: 'retry', attempts: 2, notBefore: '2026-03-01T09:00:02.000Z' });
    expect(afterFailure(2, true, now, 3, backoff)).toEqual({ kind: 'fail', attempts: 3 });
    expect(afterFailure(0, false, now, 3, backoff)).toEqual({ kind: 'fail', attempts: 1 });
  });
});
