import type { ErrorCode } from '@cms-router/errors';
import type { Assignment } from '@cms-router/events';
import {
  allocateWithinSegment,
  catalogueEntry,
  decideApprovalTask,
  decideCaseGroup,
  decideServiceRequest,
  orphanRecoveredReason,
  samePlacement,
  type CaseGroupFacts,
  type Decision,
  type DecisionResult,
  type OpenServiceRequest,
  type PartyFacts,
  type Reason,
  type Rules,
} from '@cms-router/rules';
import type { RouterInput } from './inputs.ts';
import { HISTORY_LIMIT, type CaseGroupState, type HistoryEntry, type Placement } from './state.ts';

export interface RouteContext {
  readonly rules: Rules;
  /** Team leader of a team, from workforce events; null when none is recorded. */
  readonly teamLeaderOf: (teamId: string) => string | null;
  /** Event id of the input, for deterministic output ids and history. */
  readonly eventId: string;
}

export type RouterOutput = { readonly kind: 'assignment'; readonly value: Assignment } | { readonly kind: 'rejection'; readonly code: ErrorCode; readonly reason: string; readonly srId: string | null };

export interface RouteResult {
  /** The new state; the same object when nothing changed. */
  readonly state: CaseGroupState | null;
  readonly outputs: readonly RouterOutput[];
}

const reject = (state: CaseGroupState | null, code: ErrorCode, reason: string, srId: string | null = null): RouteResult => ({ state, outputs: [{ kind: 'rejection', code, reason, srId }] });

function newParty(p: { partyId: string; address: { ukPostcode: string | null; nonUkCountry: string | null }; identifierKnown: boolean }, role: PartyFacts['role']): PartyFacts {
  return { partyId: p.partyId, role, residence: { ...p.address }, identifierKnown: p.identifierKnown, nationallySensitive: false, personalInterest: null, knownAsRecorded: false };
}

type Owner = CaseGroupState['owner'];
/** `recovered`: an orphan flag returned the case group to its segment's unallocated work; always published. */
type Applied = { facts: CaseGroupFacts; owner?: Owner; note?: string; recovered?: Reason } | { rejection: { code: ErrorCode; reason: string; srId?: string } };

/** Applies one fact to the facts of a case group. Pure; returns a rejection when the fact cannot apply. */
function applyFact(state: CaseGroupState | null, input: RouterInput, rules: Rules): Applied {
  if (input.source === 'case' && input.fact.type === 'ApplicationReceived') {
    const a = input.fact;
    const existing = state?.facts;
    if (existing && existing.payingParentId !== a.payingParent.partyId) {
      return { rejection: { code: 'CMS_EVENT_INVALID', reason: `case ${input.caseId}: case group ${input.caseGroupId} belongs to paying parent ${existing.payingParentId}, but the application names ${a.payingParent.partyId}` } };
    }
    const parties: Record<string, PartyFacts> = { ...(existing?.parties ?? {}) };
    parties[a.payingParent.partyId] ??= newParty(a.payingParent, 'PAYING_PARENT');
    parties[a.receivingParent.partyId] ??= newParty(a.receivingParent, 'RECEIVING_PARENT');
    for (const child of a.qualifyingChildren) parties[child.partyId] ??= newParty(child, 'QUALIFYING_CHILD');
    const cases = { ...(existing?.cases ?? {}) };
    cases[input.caseId] ??= { caseId: input.caseId, open: true, newApplication: !a.partiesHaveExistingCase, promiseToPayIssued: false };
    return {
      facts: {
        caseGroupId: input.caseGroupId,
        payingParentId: a.payingParent.partyId,
        parties,
        cases,
        incomeSource: existing?.incomeSource ?? a.incomeSource,
        special: existing?.special ?? null,
        openServiceRequests: existing?.openServiceRequests ?? {},
      },
    };
  }
  if (!state) return { rejection: { code: 'CMS_UNKNOWN_CASE_GROUP', reason: `case group ${input.caseGroupId} is not known to the router: no application has been received for it` } };
  const facts = state.facts;
  switch (input.source) {
    case 'case': {
      const current = facts.cases[input.caseId];
      if (!current) return { rejection: { code: 'CMS_UNKNOWN_CASE_GROUP', reason: `case ${input.caseId} is not in case group ${input.caseGroupId}` } };
      if (input.fact.type === 'PromiseToPayScheduleIssued') return { facts: { ...facts, cases: { ...facts.cases, [input.caseId]: { ...current, promiseToPayIssued: true } } } };
      return { facts: { ...facts, cases: { ...facts.cases, [input.caseId]: { ...current, open: false } } } };
    }
    case 'party': {
      const party = facts.parties[input.partyId];
      if (!party) return { rejection: { code: 'CMS_UNKNOWN_PARTY', reason: `party ${input.partyId} is not in case group ${input.caseGroupId}` } };
      const f = input.fact;
      let updated: PartyFacts = party;
      let incomeSource = facts.incomeSource;
      let special = facts.special;
      let note: string | undefined;
      switch (f.type) {
        case 'PartyAddressChanged':
          updated = { ...party, residence: { ...f.address } };
          break;
        case 'PartyIncomeSourceChanged':
          // Income source routes by the paying parent's income only.
          if (input.partyId === facts.payingParentId) incomeSource = f.incomeSource;
          break;
        case 'PartyIdentifierAllocated':
          updated = { ...party, identifierKnown: true };
          break;
        case 'PartyKnownAsChanged':
          updated = { ...party, knownAsRecorded: f.knownAsRecorded };
          break;
        case 'NationallySensitiveChanged':
          updated = { ...party, nationallySensitive: f.nationallySensitive };
          break;
      }
      const parties = { ...facts.parties, [input.partyId]: updated };
      // 001 ECH overview: "Cases remain exceptional until ... a NINO/CRN is allocated". A type-one case
      // group is loaded back once every party has its identifier.
      if (special?.exceptionalType === 'TYPE_ONE' && f.type === 'PartyIdentifierAllocated' && Object.values(parties).every((p) => p.identifierKnown)) {
        special = null;
        note = 'every party now has a NINO or CRN, so the type-one exceptional case group is loaded back';
      }
      return { facts: { ...facts, parties, incomeSource, special }, ...(note ? { note } : {}) };
    }
    case 'sr': {
      const f = input.fact;
      switch (f.type) {
        case 'CaseGroupMarkedSpecial':
          return { facts: { ...facts, special: { exceptionalType: f.exceptionalType } } };
        case 'CaseGroupLoadedBack':
          return { facts: { ...facts, special: null } };
        case 'ReferralRejected':
          return { facts, note: `referral SR ${input.srId} was rejected; the case stays with the referring caseworker` };
        case 'PersonalInterestFlagChanged': {
          const party = facts.parties[f.partyId];
          if (!party) return { rejection: { code: 'CMS_UNKNOWN_PARTY', reason: `SR ${input.srId}: party ${f.partyId} is not in case group ${input.caseGroupId}`, srId: input.srId } };
          const flag = f.flagged ? { reason: f.reason, warmHandoverRequired: f.warmHandoverRequired, suppressCorrespondence: f.suppressCorrespondence, blockPortalForPartyIds: [...f.blockPortalForPartyIds] } : null;
          return { facts: { ...facts, parties: { ...facts.parties, [f.partyId]: { ...party, personalInterest: flag } } } };
        }
        case 'ServiceRequestChanged': {
          let open: Record<string, OpenServiceRequest> = { ...facts.openServiceRequests };
          if (f.change === 'COMPLETED' || f.change === 'CANCELLED') {
            open = Object.fromEntries(Object.entries(open).filter(([id]) => id !== input.srId));
          } else {
            const sr: OpenServiceRequest = {
              srId: input.srId,
              process: f.process,
              area: f.area,
              subArea: f.subArea,
              raisedAgainstPartyId: f.raisedAgainstPartyId,
              pendingApproval: f.change === 'PENDING_APPROVAL',
              ownerUserId: f.ownerUserId,
              ownerTeamId: f.ownerTeamId,
            };
            if (!catalogueEntry(sr, rules)) {
              return { rejection: { code: 'CMS_UNKNOWN_SR_TYPE', reason: `SR ${input.srId}: "${f.process} / ${f.area} / ${f.subArea}" is not in the SR catalogue of rules ${rules.version}`, srId: input.srId } };
            }
            open[input.srId] = sr;
          }
          return { facts: { ...facts, openServiceRequests: open } };
        }
      }
      break;
    }
    case 'workforce': {
      const f = input.fact;
      if (f.type === 'CaseGroupAllocated') {
        return { facts, owner: { userId: input.userId, teamId: f.teamId, segment: f.segment, available: true }, note: `allocated to caseworker ${input.userId} (team ${f.teamId}) in segment ${f.segment}` };
      }
      // Fanned out from the user's index, which may still list case groups since reallocated: only the owner counts.
      const owner = state.owner;
      if (owner?.userId !== input.userId || (owner.available !== false) === f.available) return { facts };
      return { facts, owner: { ...owner, available: f.available }, note: f.available ? `owning caseworker ${input.userId} is available again` : `owning caseworker ${input.userId} is unavailable (${f.reasonCode})` };
    }
    case 'orphan': {
      const flag = input.fact;
      if (flag.state === 'RECOVERED') return { facts, note: `orphan flag for caseworker ${flag.userId} cleared by the notifier` };
      const owner = state.owner;
      if (owner?.userId !== flag.userId) {
        return { facts, note: `orphan flag for caseworker ${flag.userId} needs no recovery: the case group is ${owner ? `now allocated to ${owner.userId}` : 'not allocated to anyone'}` };
      }
      const segment = state.placement?.decision.segment ?? owner.segment;
      return { facts, owner: null, note: `orphaned: caseworker ${flag.userId} ${flag.cause === 'TEAM_MOVE_COMPLETED' ? 'moved team' : 'lost access'} (${flag.cause}, since ${flag.since})`, recovered: orphanRecoveredReason(flag, segment) };
    }
  }
  return { facts };
}

function assignment(ctx: RouteContext, index: number, caseGroupId: string, occurredAt: string, placement: Placement, previous: Placement | undefined | null): Assignment {
  const d = placement.decision;
  return {
    assignmentId: `${ctx.eventId}:${index}`,
    caseGroupId,
    occurredAt,
    subject: placement.subject,
    srId: placement.srId,
    previousSegment: previous?.decision.segment ?? null,
    segment: d.segment,
    region: d.region,
    team: d.team,
    ownerUserId: d.ownerUserId,
    access: d.access,
    requirements: [...d.requirements],
    handling: [...d.handling],
    rulesVersion: d.rulesVersion,
    reasons: d.reasons.map((r) => ({ ...r })),
  };
}

/** Reasons that say who works a case group inside its segment, first the one that ends an allocation. */
const OWNER_RULES = new Set(['orphan-recovered', 'owner-unavailable', 'caseworker-allocation']);

function historyOf(state: CaseGroupState | null, entries: HistoryEntry[]): readonly HistoryEntry[] {
  const all = [...(state?.history ?? []), ...entries];
  return all.length > HISTORY_LIMIT ? all.slice(all.length - HISTORY_LIMIT) : all;
}

/**
 * Applies one input to a case group and says what follows: the new state, and assignments for every
 * work item whose placement changed (the case group itself, then its open SRs and approval tasks in
 * SR id order), or a rejection with a reason. Deterministic: the same state and input always give the
 * same result, which is what makes replays after a crash produce identical outputs.
 */
export function route(state: CaseGroupState | null, input: RouterInput, ctx: RouteContext): RouteResult {
  const applied = applyFact(state, input, ctx.rules);
  if ('rejection' in applied) {
    const r = applied.rejection;
    const next = state ? { ...state, history: historyOf(state, [{ at: input.occurredAt, eventId: ctx.eventId, kind: 'REJECTED', subject: null, srId: r.srId ?? null, segment: null, previousSegment: null, ruleId: r.code, text: r.reason }]) } : null;
    return reject(next, r.code, r.reason, r.srId ?? null);
  }
  const outputs: RouterOutput[] = [];
  const history: HistoryEntry[] = [];
  if (applied.note) history.push({ at: input.occurredAt, eventId: ctx.eventId, kind: 'FACT', subject: null, srId: null, segment: null, previousSegment: null, ruleId: null, text: applied.note });
  const facts = applied.facts;
  let placement = state?.placement ?? null;
  let srPlacements: Record<string, Placement> = { ...(state?.srPlacements ?? {}) };
  const emit = (p: Placement, previous: Placement | null | undefined): void => {
    const value = assignment(ctx, outputs.length, facts.caseGroupId, input.occurredAt, p, previous);
    outputs.push({ kind: 'assignment', value });
    // Within the same segment, what changed is who works it: the history quotes that reason.
    const ownerChanged = previous?.decision.segment === value.segment && previous.decision.ownerUserId !== value.ownerUserId;
    const why = (ownerChanged ? value.reasons.find((r) => OWNER_RULES.has(r.ruleId)) : undefined) ?? value.reasons[0];
    history.push({ at: input.occurredAt, eventId: ctx.eventId, kind: 'ASSIGNED', subject: p.subject, srId: p.srId, segment: value.segment, previousSegment: value.previousSegment, ruleId: why?.ruleId ?? null, text: why?.text ?? '' });
  };
  const fail = (result: Extract<DecisionResult, { ok: false }>, srId: string | null): void => {
    outputs.push({ kind: 'rejection', code: result.error.code, reason: `cannot route ${srId ? `SR ${srId} of ` : ''}case group ${facts.caseGroupId}: ${result.error.reason}`, srId });
    history.push({ at: input.occurredAt, eventId: ctx.eventId, kind: 'REJECTED', subject: srId ? 'SERVICE_REQUEST' : 'CASE_GROUP', srId, segment: null, previousSegment: null, ruleId: result.error.code, text: result.error.reason });
  };

  let owner: Owner = applied.owner !== undefined ? applied.owner : (state?.owner ?? null);
  const cg = decideCaseGroup(facts, ctx.rules);
  if (!cg.ok) fail(cg, null);
  else {
    // An allocation holds while the case group stays in the segment it was made in (004: a caseworker
    // is allocated a case group within a segment); when the case group moves on, it ends.
    if (owner && placement?.decision.segment === owner.segment && cg.decision.segment !== owner.segment) {
      history.push({ at: input.occurredAt, eventId: ctx.eventId, kind: 'FACT', subject: null, srId: null, segment: null, previousSegment: null, ruleId: null, text: `allocation to caseworker ${owner.userId} ended: the case group left segment ${owner.segment}` });
      owner = null;
    }
    const decision = allocateWithinSegment(cg.decision, owner ? { ...owner, available: owner.available !== false } : null, ctx.teamLeaderOf);
    if (applied.recovered) {
      const next: Placement = { subject: 'CASE_GROUP', srId: null, decision: { ...decision, reasons: [applied.recovered, ...decision.reasons] } };
      emit(next, placement);
      placement = next;
    } else if (!samePlacement(placement?.decision, decision)) {
      const next: Placement = { subject: 'CASE_GROUP', srId: null, decision };
      emit(next, placement);
      placement = next;
    }
  }
  // Work follows the case group: re-place every open SR against the case group's current placement.
  const current: Decision | undefined = placement?.decision;
  srPlacements = Object.fromEntries(Object.entries(srPlacements).filter(([srId]) => srId in facts.openServiceRequests));
  if (current) {
    for (const srId of Object.keys(facts.openServiceRequests).sort()) {
      const sr = facts.openServiceRequests[srId];
      if (!sr) continue;
      const result = sr.pendingApproval ? decideApprovalTask(sr, sr.ownerTeamId ? ctx.teamLeaderOf(sr.ownerTeamId) : null, current, ctx.rules) : decideServiceRequest(sr, facts, current, ctx.rules);
      const previous = srPlacements[srId];
      if (!result.ok) {
        // Only report a failure once per change of the SR, not on every unrelated fact.
        if (input.source === 'sr' && input.srId === srId) fail(result, srId);
        continue;
      }
      const subject = sr.pendingApproval ? 'APPROVAL_TASK' : 'SERVICE_REQUEST';
      if (previous && previous.subject === subject && samePlacement(previous.decision, result.decision)) continue;
      const next: Placement = { subject, srId, decision: result.decision };
      emit(next, previous);
      srPlacements = { ...srPlacements, [srId]: next };
    }
  }
  const next: CaseGroupState = {
    caseGroupId: facts.caseGroupId,
    facts,
    placement,
    srPlacements,
    owner,
    history: historyOf(state, history),
  };
  return { state: next, outputs };
}
