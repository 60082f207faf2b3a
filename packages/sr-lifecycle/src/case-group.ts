import type { SrLifecycleEvent } from '@cms-router/events';
import { applySrEvent } from './apply.ts';
import { emptyState, type CaseGroupSrState, type Party, type SrOutcome, type SrSource, type WaitingSrEvent } from './machine.ts';

/** What sr-events applies to one case group: a case's parties (from its application), or an SR lifecycle event. */
export type SrEventsInput =
  | { readonly kind: 'application'; readonly caseId: string; readonly parties: readonly Party[] }
  | { readonly kind: 'lifecycle'; readonly event: SrLifecycleEvent; readonly eventId: string; readonly arrivedAt: string; readonly source: SrSource };

/** One SR event handled: what it was, where it was read, and what came of it. */
export interface SrStep {
  readonly eventId: string;
  readonly source: SrSource;
  readonly event: SrLifecycleEvent;
  readonly outcome: SrOutcome;
}

export interface SrEventsResult {
  readonly state: CaseGroupSrState;
  /** Events applied, rejected or found duplicate by this input (released waiting events included), in order. */
  readonly steps: readonly SrStep[];
  /** The input itself waits (for its case's application, or its SR's creation). */
  readonly waiting: boolean;
}

/**
 * Applies one input to a case group's SR state. Pure. An SR event that arrives before what it refers
 * to waits for it instead of being rejected: before its case's application (the parties are needed to
 * flag associated contacts and to check who a referral is raised against), or before its SR's SrCreated.
 * What waited is applied, in the order it arrived, when that comes.
 */
export function applySrEventsInput(prior: CaseGroupSrState | null, input: SrEventsInput, caseGroupId: string): SrEventsResult {
  let state = prior ?? emptyState(caseGroupId);
  const steps: SrStep[] = [];
  const release = (waitsFor: WaitingSrEvent['waitsFor']): void => {
    const released = state.waiting.filter((w) => w.waitsFor === waitsFor);
    if (released.length === 0) return;
    state = { ...state, waiting: state.waiting.filter((w) => w.waitsFor !== waitsFor) };
    for (const w of released) handle({ kind: 'lifecycle', event: w.event, eventId: w.eventId, arrivedAt: w.arrivedAt, source: w.source });
  };
  const handle = (i: Extract<SrEventsInput, { kind: 'lifecycle' }>): boolean => {
    const e = i.event;
    if (state.seen.includes(i.eventId) || state.waiting.some((w) => w.eventId === i.eventId)) {
      steps.push({ eventId: i.eventId, source: i.source, event: e, outcome: { kind: 'duplicate', state } });
      return false;
    }
    const waitsFor: WaitingSrEvent['waitsFor'] | null = !(e.caseId in state.cases) ? `case:${e.caseId}` : e.payload.type !== 'SrCreated' && !(e.srId in state.srs) ? `sr:${e.srId}` : null;
    if (waitsFor) {
      state = { ...state, waiting: [...state.waiting, { eventId: i.eventId, arrivedAt: i.arrivedAt, waitsFor, event: e, source: i.source }] };
      return true;
    }
    const outcome = applySrEvent(state, e, { eventId: i.eventId });
    state = outcome.state;
    steps.push({ eventId: i.eventId, source: i.source, event: e, outcome });
    if (outcome.kind === 'applied' && e.payload.type === 'SrCreated') release(`sr:${e.srId}`);
    return false;
  };
  if (input.kind === 'application') {
    // A corrected resend of an application replaces the case's parties: it is judged on its own content.
    state = { ...state, cases: { ...state.cases, [input.caseId]: [...input.parties].sort((a, b) => (a.partyId < b.partyId ? -1 : a.partyId > b.partyId ? 1 : 0)) } };
    release(`case:${input.caseId}`);
    return { state, steps, waiting: false };
  }
  const waiting = handle(input);
  return { state, steps, waiting };
}

/** Waiting events that arrived at or before `cutoff`: rejected (CMS_WAIT_EXPIRED) with the reason, and dropped. */
export function expireSrWaiting(state: CaseGroupSrState, cutoff: string, expiryMs: number): { state: CaseGroupSrState; expired: readonly (WaitingSrEvent & { readonly reason: string })[] } {
  const expired = state.waiting.filter((w) => w.arrivedAt <= cutoff);
  if (expired.length === 0) return { state, expired: [] };
  const days = Math.round((expiryMs / 86_400_000) * 10) / 10;
  return {
    state: { ...state, waiting: state.waiting.filter((w) => w.arrivedAt > cutoff) },
    expired: expired.map((w) => ({
      ...w,
      reason: `${w.event.payload.type} of SR ${w.event.srId} waited ${days} days (since ${w.arrivedAt}) for ${w.waitsFor.startsWith('case:') ? `the application of case ${w.event.caseId}` : `the SrCreated of SR ${w.event.srId}`}, which never came`,
    })),
  };
}

/** The oldest waiting event's arrival (null when nothing waits), for the partition's waiting index. */
export const oldestSrWaiting = (state: CaseGroupSrState | null): string | null => state?.waiting.reduce<string | null>((a, w) => (a === null || w.arrivedAt < a ? w.arrivedAt : a), null) ?? null;

/** The parties of an application, for `applySrEventsInput`. */
export function partiesOfApplication(a: { payingParent: { partyId: string }; receivingParent: { partyId: string }; qualifyingChildren: readonly { partyId: string }[] }): Party[] {
  return [
    { partyId: a.payingParent.partyId, role: 'PAYING_PARENT' },
    { partyId: a.receivingParent.partyId, role: 'RECEIVING_PARENT' },
    ...a.qualifyingChildren.map((c) => ({ partyId: c.partyId, role: 'QUALIFYING_CHILD' as const })),
  ];
}
