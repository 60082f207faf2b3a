import { createHash } from 'node:crypto';
import type { Assignment, SrFact } from '@cms-router/events';
import type { TemplateData, TemplateId } from './templates.ts';

export type Inbox = 'SCR' | 'ECH_GATEWAY' | 'SCR_TEAM_LEADER' | 'ORPHANS';

export interface PlannedEmail {
  /** One email per (event, inbox), ever. */
  readonly idempotencyKey: string;
  readonly inbox: Inbox;
  readonly template: TemplateId;
  readonly data: TemplateData;
  /** Stable RFC 5322 Message-ID, so a resend after a crash carries the same id. */
  readonly messageId: string;
}

export type ReviewChange = { readonly kind: 'schedule'; readonly key: string; readonly caseGroupId: string; readonly dueAt: string } | { readonly kind: 'cancel'; readonly key: string };

export function messageIdFor(idempotencyKey: string): string {
  return `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@cms-router.notifier>`;
}

const email = (eventId: string, inbox: Inbox, template: TemplateId, data: TemplateData): PlannedEmail => {
  const idempotencyKey = `${eventId}:${inbox}`;
  return { idempotencyKey, inbox, template, data, messageId: messageIdFor(idempotencyKey) };
};

/** 003 step 14 and the ECH overview: who is told when a case group moves to SCR or ECH. */
export function planForAssignment(a: Assignment, eventId: string): PlannedEmail[] {
  if (a.subject !== 'CASE_GROUP' || a.segment === a.previousSegment) return [];
  const data = { caseGroupId: a.caseGroupId, segment: a.segment };
  if (a.segment === 'SPECIAL_CLIENT_RECORDS') return [email(eventId, 'SCR', 'SCR_ASSIGNED', data)];
  if (a.segment === 'NON_STANDARD') return [email(eventId, 'ECH_GATEWAY', 'ECH_GATEWAY', data)];
  return [];
}

/** CIFBA warm handovers (003 step 6) and threat-of-suicide reviews (three-monthly). */
export function planForSrFact(f: SrFact, eventId: string): { emails: PlannedEmail[]; reviews: ReviewChange[] } {
  if (f.payload.type !== 'PersonalInterestFlagChanged') return { emails: [], reviews: [] };
  const key = `${f.caseGroupId}:${f.payload.partyId}`;
  if (!f.payload.flagged) return { emails: [], reviews: [{ kind: 'cancel', key }] };
  const emails = f.payload.warmHandoverRequired ? [email(eventId, 'SCR_TEAM_LEADER', 'SCR_WARM_HANDOVER', { caseGroupId: f.caseGroupId, caseId: f.caseId, srId: f.srId })] : [];
  const reviews: ReviewChange[] = f.payload.reviewDueAt ? [{ kind: 'schedule', key, caseGroupId: f.caseGroupId, dueAt: f.payload.reviewDueAt }] : [];
  return { emails, reviews };
}

/** The reminder for a review that has fallen due; its key makes it once per review date. */
export function planReviewReminder(key: string, caseGroupId: string, dueAt: string): PlannedEmail {
  return email(`review:${key}:${dueAt}`, 'SCR', 'PI_REVIEW_DUE', { caseGroupId, dueAt });
}

/** Reviews due at `now` (a controllable clock in tests). */
export function dueReviews(schedule: Readonly<Record<string, { caseGroupId: string; dueAt: string }>>, now: Date): { key: string; caseGroupId: string; dueAt: string }[] {
  return Object.entries(schedule)
    .filter(([, r]) => Date.parse(r.dueAt) <= now.getTime())
    .map(([key, r]) => ({ key, ...r }))
    .sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.key.localeCompare(b.key));
}
