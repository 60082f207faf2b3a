import { createHash } from 'node:crypto';
import type { Assignment, SrFact } from '@cms-router/events';
import { addMonths } from '@cms-router/sr-lifecycle';
import type { Orphan } from './orphans.ts';
import type { TemplateData, TemplateId } from './templates.ts';

export type Inbox = 'SCR' | 'ECH_GATEWAY' | 'SCR_TEAM_LEADER' | 'ORPHANS';

export interface PlannedEmail {
  /** One email per (event, inbox), ever. */
  readonly idempotencyKey: string;
  readonly caseGroupId: string;
  readonly inbox: Inbox;
  readonly template: TemplateId;
  readonly data: TemplateData;
  /** Stable RFC 5322 Message-ID, so a resend after a crash carries the same id. */
  readonly messageId: string;
}

/** 003: "For threat of suicide cases the marker is removed when a threat no longer exists or after a three monthly review." */
export const REVIEW_MONTHS = 3;

export type ReviewChange = { readonly kind: 'schedule'; readonly key: string; readonly dueAt: string } | { readonly kind: 'cancel'; readonly key: string };

export function messageIdFor(idempotencyKey: string): string {
  return `<${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 32)}@cms-router.notifier>`;
}

const email = (eventKey: string, inbox: Inbox, template: TemplateId, data: TemplateData): PlannedEmail => {
  const idempotencyKey = `${eventKey}:${inbox}`;
  return { idempotencyKey, caseGroupId: data.caseGroupId, inbox, template, data, messageId: messageIdFor(idempotencyKey) };
};

/**
 * 003 step 14 ("Send an email to the CM 2012 SCHEME Special Client Records inbox") and the ECH overview
 * (the ECH gateway template "email to CM2012 ECH GATEWAY"): who is told when a case group moves into SCR
 * or the non standard segment. Keyed by the assignment id, which a replay of the router reproduces.
 */
export function planForAssignment(a: Assignment, eventKey: string): PlannedEmail[] {
  if (a.subject !== 'CASE_GROUP' || a.segment === a.previousSegment) return [];
  const data = { caseGroupId: a.caseGroupId, segment: a.segment };
  if (a.segment === 'SPECIAL_CLIENT_RECORDS') return [email(eventKey, 'SCR', 'SCR_ASSIGNED', data)];
  if (a.segment === 'NON_STANDARD') return [email(eventKey, 'ECH_GATEWAY', 'ECH_GATEWAY', data)];
  return [];
}

/** The review of a party's flag: one per case group and party. */
export const reviewKey = (caseGroupId: string, partyId: string): string => `${caseGroupId}|${partyId}`;

/** CIFBA warm handovers (003 step 6) and threat-of-suicide reviews (three-monthly, 003). */
export function planForSrFact(f: SrFact, eventKey: string): { emails: PlannedEmail[]; reviews: ReviewChange[] } {
  if (f.payload.type !== 'PersonalInterestFlagChanged') return { emails: [], reviews: [] };
  const key = reviewKey(f.caseGroupId, f.payload.partyId);
  if (!f.payload.flagged) return { emails: [], reviews: [{ kind: 'cancel', key }] };
  const emails = f.payload.warmHandoverRequired ? [email(eventKey, 'SCR_TEAM_LEADER', 'SCR_WARM_HANDOVER', { caseGroupId: f.caseGroupId, caseId: f.caseId, srId: f.srId })] : [];
  const reviews: ReviewChange[] = f.payload.reviewDueAt ? [{ kind: 'schedule', key, dueAt: f.payload.reviewDueAt }] : [{ kind: 'cancel', key }];
  return { emails, reviews };
}

/** The reminder for a review that has fallen due; its key makes it once per review date. */
export function planReviewReminder(key: string, dueAt: string): PlannedEmail {
  const caseGroupId = key.split('|')[0] ?? key;
  return email(`review:${key}:${dueAt}`, 'SCR', 'PI_REVIEW_DUE', { caseGroupId, dueAt });
}

/** After a reminder the flag stays until someone removes it, so the next review is due three months on. */
export const nextReview = (dueAt: string): string => addMonths(dueAt, REVIEW_MONTHS);

/** Reviews due at `now` (the tick's time; a controllable clock in tests), earliest first. */
export function dueReviews(schedule: Readonly<Record<string, string>>, now: Date): { key: string; dueAt: string }[] {
  return Object.entries(schedule)
    .filter(([, dueAt]) => Date.parse(dueAt) <= now.getTime())
    .map(([key, dueAt]) => ({ key, dueAt }))
    .sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.key.localeCompare(b.key));
}

/** One email to the local IT / segment manager inbox for the case groups one event orphaned. */
export function planOrphanEmail(eventKey: string, orphans: readonly Orphan[]): PlannedEmail[] {
  const first = orphans[0];
  if (!first) return [];
  const users = [...new Set(orphans.map((o) => o.userId))];
  return [email(eventKey, 'ORPHANS', 'ORPHANED_CASE_GROUPS', { caseGroupId: first.caseGroupId, caseGroupIds: orphans.map((o) => o.caseGroupId), userId: users.length === 1 ? first.userId : null })];
}
