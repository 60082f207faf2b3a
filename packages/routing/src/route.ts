import type { ErrorCode } from '@cms-router/errors';
import type { Assignment, DecisionBasis } from '@cms-router/events';
import { allocateWithinSegment, catalogueEntry, decideApprovalTask, decideCaseGroup, decideServiceRequest, lookupPostcode, orphanRecoveredReason, parsePostcode, partySummaryOf, PROCEDURES, serviceRequestReadsParties, summarizeParties, sameList, samePlacement, type CaseGroupFacts, type Decision, type DecisionResult, type OpenServiceRequest, type OrphanRecovery, type PartyFacts, type PartySummary, type Reason, type Rules } from '@cms-router/rules';
import type { PartitionInput, RouteInput } from './inputs.ts';
import { emptyCaseGroup, HISTORY_LIMIT, awaitedPersons, idRecord, insertAt, insertSorted, keepKeysIn, NO_IDS, sortSmall, sortedKeys, withEntry, withoutEntry, type Allocation, type CaseGroupState, type CaseRecord, type Dependencies, type Departure, type HistoryEntry, type PendingMove, type Placement, type SourceRef, type TeamDoc, type UserDoc } from './state.ts';

/** What the route stage needs besides the case group: the rules, and its partition's copies of users and teams. */
export interface RouteEnv {
  readonly rules: Rules;
  /** Event id of the record being handled: assignment ids derive from it, so a replay yields the same ids. */
  readonly eventId: string;
  /** When the record reached the router (the inbox record's time). */
  readonly arrivedAt: string;
  readonly user: (userId: string) => UserDoc | null;
  readonly team: (teamId: string) => TeamDoc | null;
  /** Where the fact was first read upstream (kept with a fact that waits, for its rejection if it expires). */
  readonly source?: SourceRef;
  /** History entries kept per case group (default HISTORY_LIMIT); 0 for a replay that prints its outputs and keeps no history. */
  readonly historyLimit?: number;
  /** What re-decided the case group when there is no input of its own (the workforce fact, the tick), for the decision's basis. */
  readonly cause?: string;
  /**
   * Only the new state is wanted, not the assignment records or history notes (what-if compares where work
   * ends up, read from the states): building them was a tenth of a replay's time and most of its garbage.
   * Rejections are still made.
   */
  readonly placementsOnly?: boolean;
  /**
   * What route() may keep between the steps of this case group, when its caller keeps the case group's
   * states in memory (the memory router: simulate, what-if). States are immutable, so a record that is the
   * same object is unchanged, and what was derived from it holds. The service reads each state back from
   * Redis, where nothing is the same object, and passes none.
   */
  readonly memo?: RouteMemo;
}

/** See RouteEnv.memo. Opaque to callers: they keep one per case group, and drop it with the case group. */
export interface RouteMemo {
  /** The parties as the rules see them, for these persons and cases (rebuilt when either changes). */
  parties?: { readonly persons: CaseGroupState['persons']; readonly cases: CaseGroupState['cases']; readonly made: PartiesMemo | null };
  /** The last decision for each open SR, with what it was made from (see decideWork). */
  work?: Map<string, WorkMemo>;
  /** The last decision of who works the case group inside its segment, with what it was made from (see ownedDecision). */
  owned?: { readonly base: Decision; readonly allocation: Allocation; readonly available: boolean; readonly leader: string | null; readonly decision: Decision };
}

type PartiesMemo = { readonly parties: Readonly<Record<string, PartyFacts>>; readonly summary: PartySummary };
type WorkMemo = { readonly sr: OpenServiceRequest; readonly parties: CaseGroupFacts['parties']; readonly current: Decision; readonly rules: Rules; readonly leader: string | null; readonly result: DecisionResult };

export type RouterOutput =
  | { readonly kind: 'assignment'; readonly value: Assignment }
  | { readonly kind: 'rejection'; readonly code: ErrorCode; readonly reason: string; readonly srId: string | null; readonly occurredAt: string; readonly eventId: string; readonly source?: SourceRef | null };

export interface RouteResult {
  /** The new state; null when the case group has nothing left (a shell whose waiting facts all expired). */
  readonly state: CaseGroupState | null;
  readonly outputs: readonly RouterOutput[];
  /** The case group was returned to its segment's unallocated work by this step: who it was left with. */
  readonly recovered: OrphanRecovery | null;
}

/**
 * Moves that take effect at once, even while case-owning work is in progress: those that protect people
 * (special case, sensitive or PI), and an escalation set to move the case group, whose SR is created "to
 * route the case" (002). Every other move waits for the case-owning SRs (004).
 */
const IMMEDIATE = new Set(['special-case', 'sensitive-or-personal-interest', 'escalation']);
/** Reasons that say who works a case group inside its segment. */
const OWNER_RULES = new Set(['orphan-recovered', 'owner-unavailable', 'caseworker-allocation']);

const byTime = <T extends { at: string }>(a: T | null, b: T): boolean => a === null || b.at > a.at;

function noteOf(env: Pick<RouteEnv, 'eventId'>, at: string, kind: HistoryEntry['kind'], text: string, extra: Partial<HistoryEntry> = {}): HistoryEntry {
  return { at, eventId: env.eventId, kind, subject: null, srId: null, segment: null, previousSegment: null, ruleId: null, text, ...extra };
}

function withHistory(state: CaseGroupState, entries: readonly HistoryEntry[], limit = HISTORY_LIMIT): CaseGroupState {
  if (entries.length === 0) return state;
  if (limit === 0) return state.history.length === 0 ? state : { ...state, history: [] };
  const all = [...state.history, ...entries];
  return { ...state, history: all.length > limit ? all.slice(all.length - limit) : all };
}

/** The special marking in effect: the latest marking, unless a later load-back undid it. */
export function effectiveSpecial(state: CaseGroupState): CaseGroupState['markedSpecial'] {
  const m = state.markedSpecial;
  if (!m) return null;
  return state.loadedBackAt !== null && state.loadedBackAt >= m.at ? null : m;
}

/** The case group as the rules see it: every party with the person registry's current facts, and their role here. */
export function factsOf(state: CaseGroupState, keep?: RouteMemo): CaseGroupFacts | undefined {
  if (state.payingParentId === null) return undefined;
  const memo = partiesOf(state, keep);
  if (!memo) return undefined;
  const special = effectiveSpecial(state);
  return {
    caseGroupId: state.caseGroupId,
    payingParentId: state.payingParentId,
    parties: memo.parties,
    partySummary: memo.summary,
    cases: state.cases,
    incomeSource: state.persons[state.payingParentId]?.incomeSource ?? 'UNKNOWN',
    special: special ? { exceptionalType: special.exceptionalType } : null,
    openServiceRequests: state.openServiceRequests,
  };
}

/**
 * The parties as the rules see them, made once per (cases, persons) pair when the caller keeps a memo.
 * Most facts change neither record (an SR, an allocation, a re-decision): rebuilding the parties for each
 * was the largest single cost of a replay. Kept in the caller's memo, not a WeakMap keyed by the record:
 * WeakMap insertions, and the collector's work on them, cost more than they saved.
 */
function partiesOf(state: CaseGroupState, keep: RouteMemo | undefined): PartiesMemo | null {
  const held = keep?.parties;
  if (held && held.persons === state.persons && held.cases === state.cases) return held.made;
  const parties = buildParties(state, held?.made ? { persons: held.persons, parties: held.made.parties } : undefined);
  const made = parties ? { parties, summary: summarizeParties(parties, state.cases) } : null;
  if (keep) keep.parties = { persons: state.persons, cases: state.cases, made };
  return made;
}

/**
 * The case group's parties as the rules see them. A party whose snapshot and role are the ones `previous`
 * was made from keeps its object: a fact about one person changes one party, and the others' new copies
 * would outlive the next young-generation collection, with the state that holds them.
 */
function buildParties(state: CaseGroupState, previous?: { readonly persons: CaseGroupState['persons']; readonly parties: Readonly<Record<string, PartyFacts>> }): Readonly<Record<string, PartyFacts>> | null {
  // A case group has a handful of parties: kept in id order as they are found, in two small arrays, instead
  // of a Map, its entries, a copy and a sort with a comparator.
  const ids: string[] = [];
  const roles: PartyFacts['role'][] = [];
  for (const caseId in state.cases) {
    for (const p of (state.cases[caseId] as CaseRecord).parties) {
      const i = insertSorted(ids, p.partyId);
      if (i >= 0) insertAt(roles, i, p.role);
      else if (p.role === 'PAYING_PARENT') roles[-i - 1] = p.role;
    }
  }
  const parties = idRecord<PartyFacts>();
  for (let i = 0; i < ids.length; i += 1) {
    const partyId = ids[i] as string;
    const s = state.persons[partyId];
    if (!s) return null;
    const kept = previous && previous.persons[partyId] === s ? previous.parties[partyId] : undefined;
    if (kept && kept.role === roles[i]) {
      parties[partyId] = kept;
      continue;
    }
    parties[partyId] = {
      partyId,
      role: roles[i] as PartyFacts['role'],
      residence: s.residence ?? { ukPostcode: null, nonUkCountry: null },
      identifierKnown: s.identifierKnown,
      nationallySensitive: s.nationallySensitive,
      personalInterest: s.personalInterest ? { warmHandoverRequired: s.personalInterest.warmHandoverRequired, suppressCorrespondence: s.personalInterest.suppressCorrespondence } : null,
      knownAsRecorded: s.knownAsRecorded,
    };
  }
  return parties;
}

/**
 * Why the case group's allocation is orphaned (004: "If a team move is complete for a user or 2012 access is
 * removed from a user who has work allocated to them, these cases will become orphaned"), or null. A pure
 * function of the allocation and the user's departures, so the answer does not depend on which was read first:
 * - access removed, or a move to another team, at or after the allocation: that departure;
 * - allocated after the user had lost access or left the allocation's team: OWNER_WITHOUT_ACCESS.
 */
export function orphanOf(allocation: Allocation, user: UserDoc | null): OrphanRecovery | null {
  if (!user || user.departures.length === 0) return null;
  const gone = (d: Departure): boolean => d.cause === 'SYSTEM_ACCESS_REMOVED' || d.toTeamId !== allocation.teamId;
  const after = user.departures.find((d) => d.since >= allocation.at && gone(d));
  if (after) return { userId: allocation.userId, cause: after.cause, since: after.since };
  const before = user.departures.filter((d) => d.since < allocation.at);
  const removed = before.find((d) => d.cause === 'SYSTEM_ACCESS_REMOVED');
  if (removed) return { userId: allocation.userId, cause: 'OWNER_WITHOUT_ACCESS', since: removed.since };
  const lastMove = before.filter((d) => d.cause === 'TEAM_MOVE_COMPLETED').at(-1);
  if (lastMove && lastMove.toTeamId !== allocation.teamId) return { userId: allocation.userId, cause: 'OWNER_WITHOUT_ACCESS', since: lastMove.since };
  return null;
}

/** Users and teams whose partition copies the decision for this state reads (fetch them before `route`). */
export function needsOf(state: CaseGroupState | null, input: RouteInput | null): Dependencies {
  // Small sorted lists, made only when there is something in them: this runs for every record.
  let users: string[] | null = null;
  let teams: string[] | null = null;
  const allocation = input?.kind === 'allocation' ? input : state?.allocation;
  if (allocation) {
    users = add(users, allocation.userId);
    teams = add(teams, input?.kind === 'allocation' ? input.fact.teamId : state?.allocation?.teamId);
  }
  if (state?.allocation) {
    users = add(users, state.allocation.userId);
    teams = add(teams, state.allocation.teamId);
  }
  const open = state?.openServiceRequests;
  if (open) for (const id in open) teams = add(teams, open[id]?.ownerTeamId);
  if (input?.kind === 'sr' && input.fact.type === 'ServiceRequestChanged') teams = add(teams, input.fact.ownerTeamId);
  return { users: users ?? NO_IDS, teams: teams ?? NO_IDS };
}

/** Adds an id to a small sorted list once, in its place; the list is made at its first id. */
function add(list: string[] | null, id: string | null | undefined): string[] | null {
  if (!id) return list;
  if (!list) return [id];
  insertSorted(list, id);
  return list;
}

/**
 * Applies one fact to the case group's facts (no decision yet) and returns the new state. Facts that arrive
 * early wait. History notes and rejections are added to the caller's lists: most facts make neither, and
 * lists and closures made per fact only to be dropped were a tenth of a replay's garbage.
 */
function applyInput(state: CaseGroupState, input: RouteInput, env: RouteEnv, eventId: string, history: HistoryEntry[], rejections: RouterOutput[]): CaseGroupState {
  if (input.kind === 'person') {
    // The registry's snapshots of a person only move forward in business time; an older one read again
    // (a replay, a rebuilt registry re-sending its history) must not take the case group back.
    const held = state.persons[input.snapshot.partyId];
    const counted = held !== undefined && held.revision > 0 && input.snapshot.revision > 0;
    // Counted snapshots by revision (the same one again changes nothing); uncounted ones (stored before) by business time.
    if (held && (counted ? input.snapshot.revision <= held.revision : held.updatedAt > input.snapshot.updatedAt)) return state;
    return { ...state, persons: withEntry(state.persons, input.snapshot.partyId, input.snapshot) };
  }
  const isApplication = input.kind === 'case' && input.fact.type === 'ApplicationReceived';
  if (state.payingParentId === null && !isApplication) return park(state, input, env, eventId, history, 'application');
  switch (input.kind) {
    case 'case': {
      const f = input.fact;
      if (f.type === 'ApplicationReceived') {
        if (state.payingParentId !== null && state.payingParentId !== f.payingParent.partyId) {
          return reject(state, input, eventId, history, rejections, 'CMS_EVENT_INVALID', `case ${input.caseId}: case group ${input.caseGroupId} belongs to paying parent ${state.payingParentId}, but the application names ${f.payingParent.partyId}`);
        }
        const existing = state.cases[input.caseId];
        const parties = [
          { partyId: f.payingParent.partyId, role: 'PAYING_PARENT' as const },
          { partyId: f.receivingParent.partyId, role: 'RECEIVING_PARENT' as const },
          ...f.qualifyingChildren.map((c) => ({ partyId: c.partyId, role: 'QUALIFYING_CHILD' as const })),
        ];
        // A corrected resend of an application is judged on its own content.
        const record = { caseId: input.caseId, open: existing?.open ?? true, newApplication: !f.partiesHaveExistingCase, promiseToPayIssued: existing?.promiseToPayIssued ?? false, parties, appliedAt: input.occurredAt };
        let next: CaseGroupState = { ...state, payingParentId: f.payingParent.partyId, cases: withEntry(state.cases, input.caseId, record) };
        // Release what waited for this application, in the order it arrived.
        const released = next.waiting.filter((w) => w.waitsFor === 'application' || w.waitsFor === `case:${input.caseId}`);
        if (released.length > 0) {
          next = { ...next, waiting: next.waiting.filter((w) => !released.includes(w)) };
          history.push(noteOf({ eventId }, input.occurredAt, 'FACT', `${released.length} ${released.length === 1 ? 'fact that was' : 'facts that were'} waiting for this application applied now`));
          for (const w of released) next = applyInput(next, w.input, env, w.eventId, history, rejections);
        }
        return next;
      }
      const current = state.cases[input.caseId];
      if (!current) return park(state, input, env, eventId, history, `case:${input.caseId}`);
      const updated = f.type === 'PromiseToPayScheduleIssued' ? { ...current, promiseToPayIssued: true } : { ...current, open: false };
      return { ...state, cases: withEntry(state.cases, input.caseId, updated) };
    }
    case 'sr': {
      const f = input.fact;
      switch (f.type) {
        case 'CaseGroupMarkedSpecial': {
          const marked = { exceptionalType: f.exceptionalType, at: input.occurredAt };
          return byTime(state.markedSpecial, marked) ? { ...state, markedSpecial: marked } : state;
        }
        case 'CaseGroupLoadedBack':
          return state.loadedBackAt === null || input.occurredAt > state.loadedBackAt ? { ...state, loadedBackAt: input.occurredAt } : state;
        case 'ReferralRejected':
          history.push(noteOf({ eventId }, input.occurredAt, 'FACT', `referral SR ${input.srId} was rejected; the case stays with the referring caseworker`, { srId: input.srId }));
          return state;
        case 'ServiceRequestChanged': {
          if (f.change === 'COMPLETED' || f.change === 'CANCELLED') {
            const open = withoutEntry(state.openServiceRequests, input.srId);
            return { ...state, openServiceRequests: open };
          }
          const sr = { srId: input.srId, process: f.process, area: f.area, subArea: f.subArea, raisedAgainstPartyId: f.raisedAgainstPartyId, pendingApproval: f.change === 'PENDING_APPROVAL', ownerUserId: f.ownerUserId, ownerTeamId: f.ownerTeamId, openedAt: state.openServiceRequests[input.srId]?.openedAt ?? input.occurredAt };
          if (!catalogueEntry(sr, env.rules)) return reject(state, input, eventId, history, rejections, 'CMS_UNKNOWN_SR_TYPE', `SR ${input.srId}: "${f.process} / ${f.area} / ${f.subArea}" is not in the SR catalogue of rules ${env.rules.version}`, input.srId);
          return { ...state, openServiceRequests: withEntry(state.openServiceRequests, input.srId, sr) };
        }
      }
      break;
    }
    case 'allocation': {
      const a: Allocation = { userId: input.userId, teamId: input.fact.teamId, segment: input.fact.segment, at: input.occurredAt };
      const current = state.allocation;
      // Allocations of one case group arrive on their users' keys, in any order: the latest by business time holds.
      if (current && (current.at > a.at || (current.at === a.at && current.userId >= a.userId))) {
        if (current.userId !== a.userId) history.push(noteOf({ eventId }, input.occurredAt, 'FACT', `an earlier allocation to caseworker ${a.userId} was read after the allocation to ${current.userId}; the later one holds`));
        return state;
      }
      history.push(noteOf({ eventId }, input.occurredAt, 'FACT', `allocated to caseworker ${a.userId} (team ${a.teamId}) in segment ${a.segment}`));
      return { ...state, allocation: a };
    }
  }
  return state;
}

/** A fact refused: the state is unchanged, the rejection and its history note are added to the lists. */
function reject(state: CaseGroupState, input: RouteInput, eventId: string, history: HistoryEntry[], rejections: RouterOutput[], code: ErrorCode, reason: string, srId: string | null = null): CaseGroupState {
  rejections.push({ kind: 'rejection', code, reason, srId, occurredAt: input.occurredAt, eventId });
  history.push(noteOf({ eventId }, input.occurredAt, 'REJECTED', reason, { ruleId: code, srId }));
  return state;
}

/** A fact that arrived before what it refers to waits in the state. */
function park(state: CaseGroupState, input: RouteInput, env: RouteEnv, eventId: string, history: HistoryEntry[], waitsFor: 'application' | `case:${string}`): CaseGroupState {
  history.push(noteOf({ eventId }, input.occurredAt, 'WAITING', `${describe(input)} waits for ${waitsFor === 'application' ? 'the case group\'s application' : `the application of case ${waitsFor.slice(5)}`}; it is applied when that arrives`));
  return { ...state, waiting: [...state.waiting, { eventId, source: env.source ?? null, arrivedAt: env.arrivedAt, waitsFor, input }] };
}

function describe(input: RouteInput): string {
  switch (input.kind) {
    case 'case':
      return `${input.fact.type} for case ${input.caseId}`;
    case 'sr':
      return `${input.fact.type} of SR ${input.srId}`;
    case 'allocation':
      return `allocation to caseworker ${input.userId}`;
    case 'person':
      return `the facts of person ${input.snapshot.partyId}`;
    case 'reroute':
      return `re-route run ${input.runId}`;
  }
}

/** Type one (001 ECH overview): "Cases remain exceptional until ... a NINO/CRN is allocated". Sticky once loaded back. */
function typeOneLoadBack(state: CaseGroupState, env: Pick<RouteEnv, 'eventId'>, at: string): { state: CaseGroupState; note: HistoryEntry | null } {
  const special = effectiveSpecial(state);
  if (special?.exceptionalType !== 'TYPE_ONE') return { state, note: null };
  const parties = new Set(Object.values(state.cases).flatMap((c) => c.parties.map((p) => p.partyId)));
  let latest = '';
  for (const id of parties) {
    const knownAt = state.persons[id]?.identifierKnownAt;
    if (!knownAt) return { state, note: null };
    if (knownAt > latest) latest = knownAt;
  }
  if (latest < special.at) return { state, note: null };
  return { state: { ...state, loadedBackAt: latest }, note: noteOf(env, at, 'FACT', 'every party now has a NINO or CRN, so the type-one exceptional case group is loaded back') };
}

const sameLocation = (a: Decision, b: Decision): boolean => a.segment === b.segment && a.region === b.region && a.team === b.team;
const samePending = (a: PendingMove | null, b: PendingMove | null): boolean => (a === null || b === null ? a === b : sameLocation(a.decision, b.decision) && sameList(a.heldBy, b.heldBy));

/** The event type of what caused a routing step, for the decision's basis. */
function causeOf(input: RouteInput | null, env: RouteEnv): string {
  if (!input) return env.cause ?? 'Redecided';
  switch (input.kind) {
    case 'case':
    case 'sr':
    case 'allocation':
      return input.fact.type;
    case 'person':
      return 'PersonSnapshot';
    case 'reroute':
      return 'Reroute';
  }
}

/**
 * What a decision was made on, minus personal data (the assignment's `basis`): the input and the facts
 * the rules read, as ids, codes, booleans and the paying parent's postcode district.
 */
function basisOf(facts: CaseGroupFacts, state: CaseGroupState, eventId: string, cause: string, rules: Rules): DecisionBasis {
  const parties = partySummaryOf(facts);
  const residence = facts.parties[facts.payingParentId]?.residence;
  return {
    eventId,
    input: cause,
    // The rules' postcode lookup is cached, and its district is the parsed one (or none when malformed).
    payingParentDistrict: residence?.ukPostcode ? (lookupPostcode(residence.ukPostcode, rules).district ?? null) : null,
    payingParentCountry: residence?.nonUkCountry ?? null,
    incomeSource: facts.incomeSource,
    nationallySensitive: parties.sensitive,
    personalInterest: parties.personalInterest,
    knownAsRecorded: parties.list.some((p) => p.knownAsRecorded),
    special: facts.special?.exceptionalType ?? null,
    cases: casesBasis(state.cases),
    openSrIds: Object.keys(state.openServiceRequests).sort(),
    allocatedTo: state.allocation?.userId ?? null,
  };
}

/** The cases as the lifecycle rule reads them, in case id order (most case groups have one case: no sort). */
function casesBasis(cases: CaseGroupState['cases']): DecisionBasis['cases'] {
  const list: DecisionBasis['cases'][number][] = [];
  for (const id in cases) {
    const c = cases[id] as CaseRecord;
    list.push({ caseId: c.caseId, newApplication: c.newApplication, promiseToPayIssued: c.promiseToPayIssued });
  }
  return list.length > 1 ? list.sort((a, b) => (a.caseId < b.caseId ? -1 : 1)) : list;
}

function assignmentOf(env: RouteEnv, index: number, caseGroupId: string, occurredAt: string, placement: Placement, previous: Placement | undefined | null, pending: PendingMove | null, orphan: OrphanRecovery | null, basis: DecisionBasis): Assignment {
  const d = placement.decision;
  return {
    // The case group is in the id: one record (a team leader change, an absence) can re-place several case groups.
    assignmentId: `${env.eventId}:${caseGroupId}:${index}`,
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
    pendingMove: pending ? { segment: pending.decision.segment, region: pending.decision.region, team: pending.decision.team, heldBySrIds: [...pending.heldBy], ruleId: pending.decision.reasons[0]?.ruleId ?? '' } : null,
    orphan: orphan ? { ...orphan } : null,
    basis,
  };
}

function pendingReason(pending: PendingMove, rules: Rules): Reason {
  const where = [rules.segments[pending.decision.segment]?.name ?? pending.decision.segment, pending.decision.region].filter(Boolean).join(', ');
  return {
    ruleId: 'move-pending',
    text: `A move to ${where} (${pending.decision.reasons[0]?.ruleId ?? 'rules'}) waits until case-owning SR${pending.heldBy.length === 1 ? '' : 's'} ${pending.heldBy.join(', ')} ${pending.heldBy.length === 1 ? 'is' : 'are'} completed.`,
    procedure: `${PROCEDURES.workAllocation}, Case movement ("Caseworkers should ensure that all relevant work items are completed first, as the case will flip to the new owning segment when the SR is completed")`,
  };
}

/**
 * The users and teams a case group's placement reads: its caseworker, their team, and the teams of SRs
 * waiting in a team leader's approval inbox. The same dependencies keep their object, so the partition's
 * index sees at a glance that nothing changed; most case groups have no approval task, and then no list is
 * made to find that out.
 */
function dependenciesOf(state: CaseGroupState): Dependencies {
  const allocation = state.allocation;
  let approvals: string[] | null = null;
  for (const id in state.openServiceRequests) {
    const sr = state.openServiceRequests[id];
    if (sr?.pendingApproval && sr.ownerTeamId !== null && sr.ownerTeamId !== allocation?.teamId && !approvals?.includes(sr.ownerTeamId)) (approvals ??= []).push(sr.ownerTeamId);
  }
  const prior = state.deps;
  if (!approvals) {
    const same = allocation ? prior.users.length === 1 && prior.users[0] === allocation.userId && prior.teams.length === 1 && prior.teams[0] === allocation.teamId : prior.users.length === 0 && prior.teams.length === 0;
    if (same) return prior;
    return allocation ? { users: [allocation.userId], teams: [allocation.teamId] } : { users: [], teams: [] };
  }
  const users = allocation ? [allocation.userId] : [];
  const teams = (allocation ? [allocation.teamId, ...approvals] : approvals).sort();
  return sameList(users, prior.users) && sameList(teams, prior.teams) ? prior : { users, teams };
}

/**
 * Decides where the case group and its work belong after its facts changed, and says what moved. Work
 * follows the case group: open case-owning SRs go where it is; functionally unique SRs and approval tasks
 * are placed on their own terms. A move that does not protect anyone waits while case-owning SRs are
 * open (004); protective moves (special case, sensitive or PI) and changes of who works it do not.
 */
function place(state: CaseGroupState, env: RouteEnv, occurredAt: string, touchedSr: string | null, history: HistoryEntry[], outputs: RouterOutput[], cause: string): { state: CaseGroupState; recovered: OrphanRecovery | null } {
  const facts = factsOf(state, env.memo);
  if (!facts) return { state, recovered: null };
  const rules = env.rules;
  const cg = decideCaseGroup(facts, rules);
  if (!cg.ok) {
    const key = `${cg.error.code}|${cg.error.reason}`;
    if (state.failure !== key) {
      const reason = `cannot route case group ${state.caseGroupId}: ${cg.error.reason}`;
      outputs.push({ kind: 'rejection', code: cg.error.code, reason, srId: null, occurredAt, eventId: env.eventId });
      history.push(noteOf(env, occurredAt, 'REJECTED', cg.error.reason, { ruleId: cg.error.code, subject: 'CASE_GROUP' }));
    }
    return { state: { ...state, failure: key, deps: dependenciesOf(state) }, recovered: null };
  }
  const target = cg.decision;
  // A move that protects nobody waits for case-owning work in progress.
  let base = target;
  let pending: PendingMove | null = null;
  if (state.placement && state.base && !sameLocation(state.base, target) && !IMMEDIATE.has(target.reasons[0]?.ruleId ?? '')) {
    const heldBy = caseOwningWork(state.openServiceRequests, rules);
    const prior = state.pendingMove;
    if (heldBy.length > 0 && prior && prior.decision === target && sameList(prior.heldBy, heldBy)) {
      // The same move still waits for the same SRs (a memory router's state, where the shared decision is the
      // same object): what was made for it last time holds.
      pending = prior;
      base = state.base;
    } else if (heldBy.length > 0) {
      pending = { decision: target, heldBy };
      base = { ...state.base, handling: target.handling, reasons: [...state.base.reasons.filter((r) => r.ruleId !== 'move-pending'), pendingReason(pending, rules)] };
    }
  }
  // Who works it inside the segment: the allocation while the case group is in its segment, unless its
  // caseworker has left (orphaned: returned to the segment's unallocated work).
  const allocation = state.allocation;
  const orphan = allocation && allocation.segment === base.segment ? orphanOf(allocation, env.user(allocation.userId)) : null;
  const newlyRecovered = orphan && allocation && !(state.recoveredFrom?.userId === orphan.userId && state.recoveredFrom.allocationAt === allocation.at) ? orphan : null;
  let decision = allocation && !orphan ? ownedDecision(base, allocation, env) : base;
  if (newlyRecovered) decision = { ...decision, reasons: [orphanRecoveredReason(newlyRecovered, decision.segment), ...decision.reasons] };
  let placement = state.placement;
  // Made at the first assignment, if there is one (most facts move nothing); a replay that wants only the
  // placements (placementsOnly) makes none.
  let emits: Emits | null = null;
  if (newlyRecovered || !samePlacement(placement?.decision, decision) || !samePending(state.pendingMove, pending)) {
    const next: Placement = { subject: 'CASE_GROUP', srId: null, decision };
    if (env.placementsOnly !== true) (emits ??= new Emits(env, state, facts, occurredAt, cause, history, outputs)).emit(next, placement, pending, newlyRecovered);
    placement = next;
  }
  // Work follows the case group: re-place every open SR against its current placement.
  const current = placement?.decision ?? decision;
  const open = state.openServiceRequests;
  // Placements of SRs that closed are dropped (a new record only when there is one to drop).
  let srPlacements = keepKeysIn(state.srPlacements, open);
  let openCount = 0;
  for (const srId of sortedKeys(open)) {
    const sr = open[srId];
    if (!sr) continue;
    openCount += 1;
    const result = decideWork(sr, facts, current, rules, sr.pendingApproval && sr.ownerTeamId ? leaderOf(env, sr.ownerTeamId) : null, env.memo);
    const previous = srPlacements[srId];
    if (!result.ok) {
      // Reported once per change of the SR itself, not on every fact of the case group.
      if (touchedSr === srId) {
        outputs.push({ kind: 'rejection', code: result.error.code, reason: `cannot route SR ${srId} of case group ${state.caseGroupId}: ${result.error.reason}`, srId, occurredAt, eventId: env.eventId });
        history.push(noteOf(env, occurredAt, 'REJECTED', result.error.reason, { ruleId: result.error.code, subject: 'SERVICE_REQUEST', srId }));
      }
      continue;
    }
    const subject = sr.pendingApproval ? 'APPROVAL_TASK' : 'SERVICE_REQUEST';
    if (previous && previous.subject === subject && samePlacement(previous.decision, result.decision)) continue;
    const next: Placement = { subject, srId, decision: result.decision };
    if (env.placementsOnly !== true) (emits ??= new Emits(env, state, facts, occurredAt, cause, history, outputs)).emit(next, previous, null, null);
    srPlacements = withEntry(srPlacements, srId, next);
  }
  // decideWork kept every open SR: any more are SRs that closed.
  const work = env.memo?.work;
  if (work && work.size > openCount) for (const srId of work.keys()) if (!(srId in open)) work.delete(srId);
  const recoveredFrom = orphan && allocation ? { ...orphan, allocationAt: allocation.at } : state.recoveredFrom;
  const deps = dependenciesOf(state);
  // Most facts change no placement: the state is kept, not copied.
  if (base === state.base && placement === state.placement && pending === state.pendingMove && srPlacements === state.srPlacements && state.failure === null && recoveredFrom === state.recoveredFrom && deps === state.deps) return { state, recovered: newlyRecovered };
  return { state: { ...state, base, placement, pendingMove: pending, srPlacements, failure: null, recoveredFrom, deps }, recovered: newlyRecovered };
}

/** The open case-owning SRs, in id order. An SR waiting in a team leader's approval inbox is not work the caseworker can complete, so it holds nothing. */
function caseOwningWork(open: CaseGroupState['openServiceRequests'], rules: Rules): readonly string[] {
  const ids: string[] = [];
  for (const id in open) {
    const sr = open[id];
    if (sr && !sr.pendingApproval && catalogueEntry(sr, rules)?.kind === 'CASE_OWNING') ids.push(sr.srId);
  }
  return sortSmall(ids);
}

/** The team leader of a team, as the partition's copy of the team has it. */
const leaderOf = (env: RouteEnv, teamId: string): string | null => env.team(teamId)?.leader?.userId ?? null;

/**
 * Who works the case group inside its segment (allocateWithinSegment), kept in the memo while the
 * decision, the allocation, the caseworker's availability and (while they are away) their team leader
 * stay the same: it makes a new decision and a reason sentence, nearly always the same as the last.
 */
function ownedDecision(base: Decision, allocation: Allocation, env: RouteEnv): Decision {
  const available = env.user(allocation.userId)?.available?.v ?? true;
  // Read only where allocateWithinSegment would read it: the caseworker away, in the case group's segment.
  const leader = available || allocation.segment !== base.segment ? null : leaderOf(env, allocation.teamId);
  const held = env.memo?.owned;
  if (held && held.base === base && held.allocation === allocation && held.available === available && held.leader === leader) return held.decision;
  const decision = allocateWithinSegment(base, { userId: allocation.userId, teamId: allocation.teamId, segment: allocation.segment, available }, () => leader);
  if (env.memo) env.memo.owned = { base, allocation, available, leader, decision };
  return decision;
}

/** The assignments of one routing step, with the decision basis they share (made once, at the first). */
class Emits {
  private basis: DecisionBasis | undefined;
  private count = 0;
  private readonly env: RouteEnv;
  private readonly state: CaseGroupState;
  private readonly facts: CaseGroupFacts;
  private readonly occurredAt: string;
  private readonly cause: string;
  private readonly history: HistoryEntry[];
  private readonly outputs: RouterOutput[];
  constructor(env: RouteEnv, state: CaseGroupState, facts: CaseGroupFacts, occurredAt: string, cause: string, history: HistoryEntry[], outputs: RouterOutput[]) {
    this.env = env;
    this.state = state;
    this.facts = facts;
    this.occurredAt = occurredAt;
    this.cause = cause;
    this.history = history;
    this.outputs = outputs;
  }

  emit(p: Placement, previous: Placement | null | undefined, pend: PendingMove | null, recovered: OrphanRecovery | null): void {
    const env = this.env;
    this.basis ??= basisOf(this.facts, this.state, env.eventId, this.cause, env.rules);
    const value = assignmentOf(env, this.count++, this.state.caseGroupId, this.occurredAt, p, previous, pend, recovered, this.basis);
    this.outputs.push({ kind: 'assignment', value });
    const ownerChanged = previous?.decision.segment === value.segment && previous.decision.ownerUserId !== value.ownerUserId;
    const why = (ownerChanged || recovered ? value.reasons.find((r) => OWNER_RULES.has(r.ruleId)) : undefined) ?? value.reasons[0];
    this.history.push(noteOf(env, this.occurredAt, 'ASSIGNED', why?.text ?? '', { subject: p.subject, srId: p.srId, segment: value.segment, previousSegment: value.previousSegment, ruleId: why?.ruleId ?? null }));
  }
}

/**
 * The last decision for each open SR, with what it was made from. Every fact of a case group re-places
 * its open SRs, and most facts change nothing an SR's placement reads (the SR itself, the parties, the
 * case group's placement, the rules, the team leader): the decision, its reasons and their sentences
 * were made again only to be found the same.
 */
function decideWork(sr: OpenServiceRequest, facts: CaseGroupFacts, current: Decision, rules: Rules, leader: string | null, keep: RouteMemo | undefined): DecisionResult {
  const hit = keep?.work?.get(sr.srId);
  // Only a functionally unique SR reads the parties: the others need not be made again when a person's facts change.
  if (hit && hit.sr === sr && hit.current === current && hit.rules === rules && hit.leader === leader && (hit.parties === facts.parties || sr.pendingApproval || !serviceRequestReadsParties(sr, current, rules))) return hit.result;
  const result = sr.pendingApproval ? decideApprovalTask(sr, leader, current, rules) : decideServiceRequest(sr, facts, current, rules);
  if (keep) (keep.work ??= new Map()).set(sr.srId, { sr, parties: facts.parties, current, rules, leader, result });
  return result;
}

/**
 * Applies one fact to a case group and says what follows: the new state, and assignments for every
 * work item whose placement changed (the case group first, then its open SRs and approval tasks in SR
 * id order), or rejections with reasons. `input` null re-decides with the partition's current users and
 * teams (after a user's or a team's fact). Deterministic: the same state, input and partition copies
 * always give the same result, which is what makes replays produce identical outputs.
 */
export function route(prior: CaseGroupState | null, input: RouteInput | null, env: RouteEnv): RouteResult {
  if (input?.kind === 'reroute') return reroute(prior, input, env);
  let state = prior ?? emptyCaseGroup(input?.caseGroupId ?? '');
  const history: HistoryEntry[] = [];
  const outputs: RouterOutput[] = [];
  let occurredAt = env.arrivedAt;
  if (input) {
    occurredAt = input.occurredAt;
    const hadApplication = state.payingParentId !== null;
    state = applyInput(state, input, env, env.eventId, history, outputs);
    if (!hadApplication && state.payingParentId !== null) {
      const waitingFor = awaitedPersons(state);
      if (waitingFor.length > 0) history.push(noteOf(env, occurredAt, 'WAITING', `the first placement waits for the person registry's facts on ${waitingFor.join(', ')}`));
    }
  }
  const loadBack = typeOneLoadBack(state, env, occurredAt);
  state = loadBack.state;
  if (loadBack.note) history.push(loadBack.note);
  const placed = place(state, env, occurredAt, input?.kind === 'sr' ? input.srId : null, history, outputs, causeOf(input, env));
  return { state: withHistory(placed.state, history, env.historyLimit), outputs, recovered: placed.recovered };
}

/**
 * A bulk re-route of one case group (cms-router reroute): the case group and its open work re-decided
 * under `env.rules` (the version in effect at the run's start), with no fact changed. Only what moves is
 * published, each assignment naming the run. A case group with no application yet, or whose paying
 * parent lives outside the run's postcode area, is left as it is: a re-route never waits and never
 * rejects, so running it twice, or resuming it, changes nothing more.
 */
function reroute(prior: CaseGroupState | null, input: Extract<RouteInput, { kind: 'reroute' }>, env: RouteEnv): RouteResult {
  const unchanged: RouteResult = { state: prior, outputs: [], recovered: null };
  if (!prior || prior.payingParentId === null) return unchanged;
  if (input.postcodeArea !== null) {
    const postcode = prior.persons[prior.payingParentId]?.residence?.ukPostcode;
    if (!postcode || parsePostcode(postcode)?.area !== input.postcodeArea.toUpperCase()) return unchanged;
  }
  const history: HistoryEntry[] = [];
  const outputs: RouterOutput[] = [];
  const placed = place(prior, env, input.occurredAt, null, history, outputs, 'Reroute');
  const why: Reason = { ruleId: 'reroute', text: `Re-decided by the re-route run ${input.runId} under rules ${env.rules.version}.`, procedure: `${PROCEDURES.workAllocation}, Case movement (an operator's bulk re-route after a rules release or an organisation change)` };
  const named = outputs.map((o): RouterOutput => (o.kind === 'assignment' ? { ...o, value: { ...o.value, reasons: [...o.value.reasons, why] } } : o));
  return { state: withHistory(placed.state, history, env.historyLimit), outputs: named, recovered: placed.recovered };
}

/** Waiting facts that arrived before `cutoff` are rejected: their case group or case never came (CMS_WAIT_EXPIRED). */
export function expireWaiting(state: CaseGroupState, cutoff: string, expiryMs: number, env: Pick<RouteEnv, 'eventId' | 'historyLimit'>): RouteResult {
  const expired = state.waiting.filter((w) => w.arrivedAt <= cutoff);
  if (expired.length === 0) return { state, outputs: [], recovered: null };
  const days = Math.round((expiryMs / 86_400_000) * 10) / 10;
  const outputs: RouterOutput[] = expired.map((w) => ({
    kind: 'rejection',
    code: 'CMS_WAIT_EXPIRED',
    reason: `${describe(w.input)} waited ${days} days (since ${w.arrivedAt}) for ${w.waitsFor === 'application' ? `the application of case group ${state.caseGroupId}` : `the application of case ${w.waitsFor.slice(5)}`}, which never came`,
    srId: w.input.kind === 'sr' ? w.input.srId : null,
    occurredAt: w.input.occurredAt,
    eventId: w.eventId,
    source: w.source,
  }));
  const next: CaseGroupState = { ...state, waiting: state.waiting.filter((w) => !expired.includes(w)) };
  const empty = next.payingParentId === null && next.waiting.length === 0 && Object.keys(next.persons).length === 0;
  return { state: empty ? null : withHistory(next, expired.map((w) => noteOf(env, w.arrivedAt, 'REJECTED', 'the fact waited too long and was rejected', { ruleId: 'CMS_WAIT_EXPIRED' })), env.historyLimit), outputs, recovered: null };
}

/** The oldest waiting fact's arrival, for the partition's waiting index (null when nothing waits). */
export const oldestWaiting = (state: CaseGroupState | null): string | null => state?.waiting.reduce<string | null>((a, w) => (a === null || w.arrivedAt < a ? w.arrivedAt : a), null) ?? null;

/** Applies a user's fact to a route partition's copy of the user. Pure. Absence reasons are not kept (health data). */
export function applyUserFact(doc: UserDoc | null, input: Extract<PartitionInput, { kind: 'user' }>, eventId: string): UserDoc {
  const base: UserDoc = doc ?? { userId: input.userId, available: null, departures: [] };
  const f = input.fact;
  if (f.type === 'UserAvailabilityChanged') {
    const next = { v: f.available, at: input.occurredAt };
    return byTime(base.available, next) || base.available?.at === next.at ? { ...base, available: next } : base;
  }
  if (base.departures.some((d) => d.eventId === eventId)) return base;
  const departure: Departure = { cause: f.type === 'TeamMoveCompleted' ? 'TEAM_MOVE_COMPLETED' : 'SYSTEM_ACCESS_REMOVED', since: input.occurredAt, toTeamId: f.type === 'TeamMoveCompleted' ? f.toTeamId : null, eventId };
  return { ...base, departures: [...base.departures, departure].sort((a, b) => (a.since < b.since ? -1 : a.since > b.since ? 1 : a.eventId < b.eventId ? -1 : 1)) };
}

/** Applies a team-leadership fact to a route partition's copy of the team: the latest by business time leads. */
export function applyTeamFact(doc: TeamDoc | null, input: Extract<PartitionInput, { kind: 'team' }>): TeamDoc {
  const base: TeamDoc = doc ?? { teamId: input.fact.teamId, leader: null };
  const next = { userId: input.userId, at: input.occurredAt };
  const current = base.leader;
  if (current && (current.at > next.at || (current.at === next.at && current.userId >= next.userId))) return base;
  return { ...base, leader: next };
}

/** Index entries to add and remove when a case group's dependencies change (keys `user:<id>`, `team:<id>`). */
export function dependencyChanges(before: Dependencies, after: Dependencies): { readonly add: readonly string[]; readonly remove: readonly string[] } {
  const keys = (d: Dependencies): Set<string> => new Set([...d.users.map((u) => `user:${u}`), ...d.teams.map((t) => `team:${t}`)]);
  const b = keys(before);
  const a = keys(after);
  return { add: [...a].filter((k) => !b.has(k)).sort(), remove: [...b].filter((k) => !a.has(k)).sort() };
}
