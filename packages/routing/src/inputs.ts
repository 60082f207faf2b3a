import type { CaseFact, PartyFact, PersonSnapshot, RouterInboxRecord, SrFact, WorkforceEvent } from '@cms-router/events';

type Payload<T extends { payload: unknown }> = T['payload'];
type Branch<T extends { payload: unknown }, K extends string> = Extract<Payload<T>, { type: K }>;

/** An upstream record, decoded, as the router's ingest stage reads it. */
export type UpstreamInput =
  | { readonly topic: 'cms.case-facts.v1'; readonly value: CaseFact }
  | { readonly topic: 'cms.party-facts.v1'; readonly value: PartyFact }
  | { readonly topic: 'cms.sr-facts.v1'; readonly value: SrFact }
  | { readonly topic: 'cms.workforce.v1'; readonly value: WorkforceEvent };

/** Workforce facts about a user that every router partition applies (its copy of the user). */
export type UserFact = Branch<WorkforceEvent, 'UserAvailabilityChanged' | 'TeamMoveCompleted' | 'SystemAccessRemoved'>;
export type TeamFact = Branch<WorkforceEvent, 'TeamLeadershipAssigned'>;
export type AllocationFact = Branch<WorkforceEvent, 'CaseGroupAllocated'>;
/** SR facts the route stage applies; personal-interest flags go to the person registry instead. */
export type CaseGroupSrFact = Exclude<Payload<SrFact>, { type: 'PersonalInterestFlagChanged' }>;

/** One fact about a person, as the person registry (the router's people stage) applies it. */
export type PeopleInput =
  | { readonly kind: 'party'; readonly partyId: string; readonly occurredAt: string; readonly fact: Payload<PartyFact> }
  | { readonly kind: 'application'; readonly partyId: string; readonly occurredAt: string; readonly caseGroupId: string; readonly caseId: string; readonly application: Branch<CaseFact, 'ApplicationReceived'> }
  | { readonly kind: 'pi'; readonly partyId: string; readonly occurredAt: string; readonly caseGroupId: string; readonly srId: string; readonly fact: Branch<SrFact, 'PersonalInterestFlagChanged'> };

/** A fact about one case group, as the route stage applies it (already keyed by case group). */
export type RouteInput =
  | { readonly kind: 'case'; readonly caseGroupId: string; readonly caseId: string; readonly occurredAt: string; readonly fact: Payload<CaseFact> }
  | { readonly kind: 'sr'; readonly caseGroupId: string; readonly caseId: string; readonly srId: string; readonly occurredAt: string; readonly fact: CaseGroupSrFact }
  | { readonly kind: 'allocation'; readonly caseGroupId: string; readonly userId: string; readonly occurredAt: string; readonly fact: AllocationFact }
  | { readonly kind: 'person'; readonly caseGroupId: string; readonly occurredAt: string; readonly snapshot: PersonSnapshot }
  /** A bulk re-route: re-decide under the rules in effect at `occurredAt` (the run's start); only case groups whose paying parent lives in `postcodeArea`, when set. */
  | { readonly kind: 'reroute'; readonly caseGroupId: string; readonly occurredAt: string; readonly runId: string; readonly postcodeArea: string | null };

/** A record for every case group of a route partition: a user's or a team's fact, or the passing of time. */
export type PartitionInput =
  | { readonly kind: 'user'; readonly userId: string; readonly occurredAt: string; readonly fact: UserFact }
  | { readonly kind: 'team'; readonly userId: string; readonly occurredAt: string; readonly fact: TeamFact }
  | { readonly kind: 'tick'; readonly at: string };

/** Where the ingest stage sends one upstream record (it carries the original bytes everywhere). */
export interface IngestRoutes {
  /** Person registry, keyed by party id. */
  readonly people: readonly string[];
  /** Route stage, keyed by case group id. */
  readonly inbox: readonly string[];
  /** Every route partition (a user's or a team's fact). */
  readonly broadcast: boolean;
}

/**
 * Where an upstream record goes. Pure and stateless: the ingest stage needs no state at all, because
 * the person registry and the route partitions keep what they need.
 * - an application: the case group, and each of its parties (the person joins the case group);
 * - a party fact, or a personal-interest flag derived from an SR: the person;
 * - other case and SR facts, and an allocation: the case group;
 * - availability, team moves, access removal and team leadership: every route partition.
 */
export function ingestRoutes(input: UpstreamInput): IngestRoutes {
  switch (input.topic) {
    case 'cms.case-facts.v1': {
      const v = input.value;
      if (v.payload.type !== 'ApplicationReceived') return { people: [], inbox: [v.caseGroupId], broadcast: false };
      const a = v.payload;
      const people = [...new Set([a.payingParent.partyId, a.receivingParent.partyId, ...a.qualifyingChildren.map((c) => c.partyId)])].sort();
      return { people, inbox: [v.caseGroupId], broadcast: false };
    }
    case 'cms.party-facts.v1':
      return { people: [input.value.partyId], inbox: [], broadcast: false };
    case 'cms.sr-facts.v1': {
      const v = input.value;
      if (v.payload.type === 'PersonalInterestFlagChanged') return { people: [v.payload.partyId], inbox: [], broadcast: false };
      return { people: [], inbox: [v.caseGroupId], broadcast: false };
    }
    case 'cms.workforce.v1': {
      const p = input.value.payload;
      if (p.type === 'CaseGroupAllocated') return { people: [], inbox: [p.caseGroupId], broadcast: false };
      return { people: [], inbox: [], broadcast: true };
    }
  }
}

/** The person-registry view of an upstream record sent to `partyId`, or undefined if it says nothing about them. */
export function peopleInputOf(input: UpstreamInput, partyId: string): PeopleInput | undefined {
  switch (input.topic) {
    case 'cms.party-facts.v1':
      return input.value.partyId === partyId ? { kind: 'party', partyId, occurredAt: input.value.occurredAt, fact: input.value.payload } : undefined;
    case 'cms.case-facts.v1': {
      const v = input.value;
      if (v.payload.type !== 'ApplicationReceived') return undefined;
      return { kind: 'application', partyId, occurredAt: v.occurredAt, caseGroupId: v.caseGroupId, caseId: v.caseId, application: v.payload };
    }
    case 'cms.sr-facts.v1': {
      const v = input.value;
      if (v.payload.type !== 'PersonalInterestFlagChanged' || v.payload.partyId !== partyId) return undefined;
      return { kind: 'pi', partyId, occurredAt: v.occurredAt, caseGroupId: v.caseGroupId, srId: v.srId, fact: v.payload };
    }
    case 'cms.workforce.v1':
      return undefined;
  }
}

/** The route-stage view of an upstream record sent to a case group. */
export function routeInputOf(input: UpstreamInput, caseGroupId: string): RouteInput | undefined {
  switch (input.topic) {
    case 'cms.case-facts.v1':
      return { kind: 'case', caseGroupId, caseId: input.value.caseId, occurredAt: input.value.occurredAt, fact: input.value.payload };
    case 'cms.sr-facts.v1': {
      const v = input.value;
      if (v.payload.type === 'PersonalInterestFlagChanged') return undefined;
      return { kind: 'sr', caseGroupId, caseId: v.caseId, srId: v.srId, occurredAt: v.occurredAt, fact: v.payload };
    }
    case 'cms.workforce.v1': {
      const p = input.value.payload;
      return p.type === 'CaseGroupAllocated' ? { kind: 'allocation', caseGroupId, userId: input.value.userId, occurredAt: input.value.occurredAt, fact: p } : undefined;
    }
    case 'cms.party-facts.v1':
      return undefined;
  }
}

/** The partition-wide view of a broadcast workforce record. */
export function partitionInputOf(input: UpstreamInput): PartitionInput | undefined {
  if (input.topic !== 'cms.workforce.v1') return undefined;
  const v = input.value;
  const p = v.payload;
  if (p.type === 'TeamLeadershipAssigned') return { kind: 'team', userId: v.userId, occurredAt: v.occurredAt, fact: p };
  if (p.type === 'UserAvailabilityChanged' || p.type === 'TeamMoveCompleted' || p.type === 'SystemAccessRemoved') return { kind: 'user', userId: v.userId, occurredAt: v.occurredAt, fact: p };
  return undefined;
}

/** One record of the route stage's inbox: a fact about one case group, or one for its whole partition. */
export type InboxInput = RouteInput | PartitionInput;

export const isPartitionInput = (input: InboxInput): input is PartitionInput => input.kind === 'user' || input.kind === 'team' || input.kind === 'tick';

/**
 * What the route stage applies for an inbox record, given the upstream fact it carries (decoded by the
 * caller, null for a signal). Shared by the service's route stage and what-if, so both read the kept
 * inbox the same way.
 */
export function inboxInputOf(record: Pick<RouterInboxRecord, 'caseGroupId' | 'occurredAt' | 'signal'>, carried: UpstreamInput | null): InboxInput | undefined {
  const signal = record.signal;
  if (signal?.type === 'Tick') return { kind: 'tick', at: signal.at };
  if (signal?.type === 'PersonSnapshot') return { kind: 'person', caseGroupId: record.caseGroupId, occurredAt: record.occurredAt, snapshot: signal };
  if (signal?.type === 'Reroute') return { kind: 'reroute', caseGroupId: record.caseGroupId, occurredAt: signal.at, runId: signal.runId, postcodeArea: signal.postcodeArea };
  if (!carried) return undefined;
  return record.caseGroupId === '' ? partitionInputOf(carried) : routeInputOf(carried, record.caseGroupId);
}
