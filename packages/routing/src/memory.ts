import type { Assignment, OrphanReport, PersonSnapshot, Rejection } from '@cms-router/events';
import type { Rules } from '@cms-router/rules';
import { ingestRoutes, isPartitionInput, partitionInputOf, peopleInputOf, routeInputOf, type InboxInput, type PartitionInput, type RouteInput, type UpstreamInput } from './inputs.ts';
import { applyPeopleInput, type PersonState } from './people.ts';
import { applyTeamFact, applyUserFact, dependencyChanges, expireWaiting, needsOf, oldestWaiting, route, type RouteEnv, type RouteMemo, type RouteResult, type RouterOutput } from './route.ts';
import type { CaseGroupState, Dependencies, TeamDoc, UserDoc } from './state.ts';

export type MemoryOutput =
  | { readonly topic: 'cms.assignments.v1'; readonly value: Assignment }
  | { readonly topic: 'cms.rejections.v1'; readonly value: Rejection }
  | { readonly topic: 'cms.router-orphans.v1'; readonly value: OrphanReport };

export interface MemoryRouterOptions {
  /** How long a fact may wait for its case group's application (ms). Default 7 days. */
  readonly waitExpiryMs?: number;
  /**
   * Which queued step runs next when several could: 'people' (the person registry's queue) or 'inbox'
   * (the route stage's). Default: the inbox first, then the person registry, as the stages' transactions
   * commit in the service. A property test passes a random choice to model the stages running at their
   * own pace.
   */
  readonly pick?: (ready: readonly ('people' | 'inbox')[]) => 'people' | 'inbox';
  /** History entries kept per case group (default HISTORY_LIMIT). A replay that prints its outputs keeps none: most of a case group's memory is its history. */
  readonly historyLimit?: number;
  /** The rules version in effect on a business date, as the service's rules book answers (default: `rules` for every date). */
  readonly rulesAt?: (occurredAt: string) => Rules;
  /** Make no assignment records or history, only states and rejections (what-if reads placements from the states). */
  readonly placementsOnly?: boolean;
  /** Told every record the route core runs, as the service's inbox would carry it (a benchmark records a replayable inbox with it). */
  readonly onInbox?: (input: InboxInput, eventId: string, source: { topic: string; partition: number; offset: string }, arrivedAt: string) => void;
  /**
   * False: the ingest and person-registry stages only. Every inbox record goes to `onInbox` and none is
   * routed, so no case group's state is held (what-if over a scenario spools the inbox this way and
   * routes it a partition at a time). Default true.
   */
  readonly routeInbox?: boolean;
}

export interface MemoryRouter {
  /** Runs one upstream record through the same ingest, person-registry and route code the service runs. */
  process(input: UpstreamInput, eventId: string, source: { topic: string; partition: number; offset: string }, arrivedAt?: string): MemoryOutput[];
  /**
   * One record of the route stage's own inbox, as the service's route stage reads it: what-if replays the
   * kept inbox this way, one memory router per inbox partition (each partition keeps its own copies of
   * users and teams, as the service's do). The person registry does not run: the inbox carries its snapshots.
   */
  inbox(input: InboxInput, eventId: string, source: { topic: string; partition: number; offset: string }, arrivedAt: string): MemoryOutput[];
  /** The passing of time: waiting facts older than the expiry are rejected. */
  tick(at: string): MemoryOutput[];
  /** Runs queued steps until none is left (only needed with a `pick` that leaves work queued). */
  drain(): MemoryOutput[];
  state(caseGroupId: string): CaseGroupState | undefined;
  person(partyId: string): PersonState | undefined;
  caseGroups(): string[];
}

type InboxItem = { readonly kind: 'route'; readonly input: RouteInput; readonly eventId: string; readonly arrivedAt: string; readonly source: Source } | { readonly kind: 'partition'; readonly input: PartitionInput; readonly eventId: string; readonly arrivedAt: string; readonly source: Source };
type PeopleItem = { readonly upstream: UpstreamInput; readonly partyId: string; readonly eventId: string; readonly arrivedAt: string; readonly source: Source };
type Source = { readonly topic: string; readonly partition: number; readonly offset: string };

const BOTH_READY: readonly ('people' | 'inbox')[] = Object.freeze(['inbox', 'people'] as const);

/**
 * What route() reads in the memory router. The service fetches the users and teams `needsOf` names before
 * it routes; here every other lookup fails, so a test catches a decision that reads something the service
 * would not have fetched. A class: its lookups are methods, not two closures made for every record.
 */
class MemoryEnv implements RouteEnv {
  readonly rules: Rules;
  readonly eventId: string;
  readonly arrivedAt: string;
  readonly memo: RouteMemo;
  readonly historyLimit: number | undefined;
  readonly placementsOnly: boolean | undefined;
  readonly cause: string | undefined;
  readonly #needs: Dependencies;
  readonly #users: ReadonlyMap<string, UserDoc>;
  readonly #teams: ReadonlyMap<string, TeamDoc>;
  constructor(rules: Rules, eventId: string, arrivedAt: string, memo: RouteMemo, needs: Dependencies, users: ReadonlyMap<string, UserDoc>, teams: ReadonlyMap<string, TeamDoc>, options: MemoryRouterOptions, cause: string | undefined) {
    this.rules = rules;
    this.eventId = eventId;
    this.arrivedAt = arrivedAt;
    this.memo = memo;
    this.historyLimit = options.historyLimit;
    this.placementsOnly = options.placementsOnly;
    this.cause = cause;
    this.#needs = needs;
    this.#users = users;
    this.#teams = teams;
  }

  user(id: string): UserDoc | null {
    if (!this.#needs.users.includes(id)) throw new Error(`route read user ${id}, which needsOf did not name`);
    return this.#users.get(id) ?? null;
  }

  team(id: string): TeamDoc | null {
    if (!this.#needs.teams.includes(id)) throw new Error(`route read team ${id}, which needsOf did not name`);
    return this.#teams.get(id) ?? null;
  }
}

export const DEFAULT_WAIT_EXPIRY_MS = 7 * 24 * 3_600_000;

/**
 * The router without Kafka or Redis: its three stages (ingest, person registry, route) over maps, one
 * route partition. Used by `simulate`, by what-if and by tests as the reference the service must agree
 * with.
 */
export function createMemoryRouter(rules: Rules, options: MemoryRouterOptions = {}): MemoryRouter {
  const waitExpiryMs = options.waitExpiryMs ?? DEFAULT_WAIT_EXPIRY_MS;
  const pick = options.pick ?? ((ready) => (ready.includes('inbox') ? 'inbox' : 'people'));
  const routing = options.routeInbox ?? true;
  const states = new Map<string, CaseGroupState>();
  const people = new Map<string, PersonState>();
  const users = new Map<string, UserDoc>();
  const teams = new Map<string, TeamDoc>();
  const index = new Map<string, Set<string>>();
  const inbox: InboxItem[] = [];
  const peopleQueue: PeopleItem[] = [];

  const rejection = (source: Source & { eventId: string }, occurredAt: string, code: string, reason: string, caseGroupId: string | null, srId: string | null, n: number): MemoryOutput => ({
    topic: 'cms.rejections.v1',
    value: { rejectionId: `${source.eventId}:${n}`, service: 'router', occurredAt, source, code, reason, caseGroupId, srId },
  });

  const rulesAt = options.rulesAt ?? (() => rules);
  // What route() keeps between the steps of each case group (see RouteEnv.memo), dropped with the case group.
  const memos = new Map<string, RouteMemo>();
  const memoOf = (caseGroupId: string): RouteMemo => {
    let m = memos.get(caseGroupId);
    if (!m) memos.set(caseGroupId, (m = {}));
    return m;
  };
  const env = (caseGroupId: string, eventId: string, arrivedAt: string, needs: ReturnType<typeof needsOf>, at: string, cause?: string): RouteEnv =>
    new MemoryEnv(rulesAt(at), eventId, arrivedAt, memoOf(caseGroupId), needs, users, teams, options, cause);

  const store = (caseGroupId: string, before: CaseGroupState | undefined, result: RouteResult): void => {
    const after = result.state;
    if (after) states.set(caseGroupId, after);
    else {
      states.delete(caseGroupId);
      memos.delete(caseGroupId);
    }
    if (before && after && before.deps === after.deps) return;
    const changes = dependencyChanges(before?.deps ?? { users: [], teams: [] }, after?.deps ?? { users: [], teams: [] });
    for (const key of changes.add) {
      const members = index.get(key);
      if (members) members.add(caseGroupId);
      else index.set(key, new Set([caseGroupId]));
    }
    for (const key of changes.remove) index.get(key)?.delete(caseGroupId);
  };

  const outputsOf = (result: RouteResult, caseGroupId: string, item: InboxItem, out: MemoryOutput[]): void => {
    if (result.outputs.length === 0) return;
    const source = { ...item.source, eventId: item.eventId };
    for (const o of result.outputs) out.push(toMemory(o, caseGroupId, source, out.length));
  };
  const toMemory = (o: RouterOutput, caseGroupId: string, source: Source & { eventId: string }, n: number): MemoryOutput =>
    o.kind === 'assignment' ? { topic: 'cms.assignments.v1', value: o.value } : rejection({ ...source, eventId: o.eventId }, o.occurredAt, o.code, o.reason, caseGroupId, o.srId, n);

  const runInbox = (item: InboxItem, out: MemoryOutput[]): void => {
    options.onInbox?.(item.input, item.eventId, item.source, item.arrivedAt);
    if (!routing) return;
    if (item.kind === 'route') {
      const cg = item.input.caseGroupId;
      const before = states.get(cg);
      const result = route(before ?? null, item.input, env(cg, item.eventId, item.arrivedAt, needsOf(before ?? null, item.input), item.input.occurredAt));
      store(cg, before, result);
      outputsOf(result, cg, item, out);
      if (result.recovered) out.push(report(item.eventId, item.input.occurredAt, result.recovered, [{ caseGroupId: cg, segment: result.state?.placement?.decision.segment ?? '' }], 0, 1));
      return;
    }
    const p = item.input;
    if (p.kind === 'tick') {
      const cutoff = new Date(Date.parse(p.at) - waitExpiryMs).toISOString();
      for (const cg of [...states.keys()].sort()) {
        const before = states.get(cg);
        const oldest = oldestWaiting(before ?? null);
        if (!before || oldest === null || oldest > cutoff) continue;
        const result = expireWaiting(before, cutoff, waitExpiryMs, { eventId: item.eventId, historyLimit: options.historyLimit });
        store(cg, before, result);
        outputsOf(result, cg, item, out);
      }
      return;
    }
    const key = p.kind === 'user' ? `user:${p.userId}` : `team:${p.fact.teamId}`;
    if (p.kind === 'user') users.set(p.userId, applyUserFact(users.get(p.userId) ?? null, p, item.eventId));
    else teams.set(p.fact.teamId, applyTeamFact(teams.get(p.fact.teamId) ?? null, p));
    const recovered: { caseGroupId: string; segment: string }[] = [];
    let recovery: ReturnType<typeof route>['recovered'] = null;
    for (const cg of [...(index.get(key) ?? [])].sort()) {
      const before = states.get(cg);
      const result = route(before ?? null, null, env(cg, item.eventId, item.arrivedAt, needsOf(before ?? null, null), p.occurredAt, p.fact.type));
      store(cg, before, result);
      outputsOf(result, cg, item, out);
      if (result.recovered) {
        recovery = result.recovered;
        recovered.push({ caseGroupId: cg, segment: result.state?.placement?.decision.segment ?? '' });
      }
    }
    // A departure's report has one part per route partition, empty or not, so the notifier knows it has them all.
    if (p.kind === 'user' && p.fact.type !== 'UserAvailabilityChanged') {
      const departure = users.get(p.userId)?.departures.find((d) => d.eventId === item.eventId);
      const cause = recovery?.cause ?? departure?.cause ?? 'TEAM_MOVE_COMPLETED';
      out.push(report(item.eventId, p.occurredAt, { userId: p.userId, cause, since: recovery?.since ?? p.occurredAt }, recovered, 0, 1));
    }
  };

  const report = (reportId: string, occurredAt: string, r: { userId: string; cause: OrphanReport['cause']; since: string }, caseGroups: { caseGroupId: string; segment: string }[], part: number, parts: number): MemoryOutput => ({
    topic: 'cms.router-orphans.v1',
    value: { reportId, userId: r.userId, occurredAt, since: r.since, cause: r.cause, part, parts, caseGroups },
  });

  const runPeople = (item: PeopleItem, out: MemoryOutput[]): void => {
    const input = peopleInputOf(item.upstream, item.partyId);
    if (!input) return;
    const result = applyPeopleInput(people.get(item.partyId) ?? null, input, rulesAt(input.occurredAt));
    if (result.rejection) {
      out.push(rejection({ ...item.source, eventId: item.eventId }, input.occurredAt, result.rejection.code, result.rejection.reason, null, null, out.length));
      return;
    }
    if (result.state) people.set(item.partyId, result.state);
    for (const { caseGroupId, snapshot } of result.snapshots) inbox.push(personItem(caseGroupId, snapshot, item, `${item.eventId}/${item.partyId}/${caseGroupId}`));
  };

  const personItem = (caseGroupId: string, snapshot: PersonSnapshot, item: PeopleItem, eventId: string): InboxItem => ({
    kind: 'route',
    input: { kind: 'person', caseGroupId, occurredAt: snapshot.updatedAt, snapshot },
    eventId,
    arrivedAt: item.arrivedAt,
    source: item.source,
  });

  const drain = (): MemoryOutput[] => {
    const out: MemoryOutput[] = [];
    for (;;) {
      const inboxReady = inbox.length > 0;
      const peopleReady = peopleQueue.length > 0;
      if (!inboxReady && !peopleReady) return out;
      const next = inboxReady && peopleReady ? pick(BOTH_READY) : inboxReady ? 'inbox' : 'people';
      if (next === 'inbox') {
        const item = inbox.shift();
        if (item) runInbox(item, out);
      } else {
        const item = peopleQueue.shift();
        if (item) runPeople(item, out);
      }
    }
  };

  return {
    process(input, eventId, source, arrivedAt) {
      const at = arrivedAt ?? input.value.occurredAt;
      const routes = ingestRoutes(input);
      for (const cg of routes.inbox) {
        const routeInput = routeInputOf(input, cg);
        if (routeInput) inbox.push({ kind: 'route', input: routeInput, eventId: routes.inbox.length > 1 ? `${eventId}/${cg}` : eventId, arrivedAt: at, source });
      }
      if (routes.broadcast) {
        const p = partitionInputOf(input);
        if (p) inbox.push({ kind: 'partition', input: p, eventId, arrivedAt: at, source });
      }
      for (const partyId of routes.people) peopleQueue.push({ upstream: input, partyId, eventId: routes.people.length > 1 ? `${eventId}/${partyId}` : eventId, arrivedAt: at, source });
      return options.pick ? [] : drain();
    },
    inbox(input, eventId, source, arrivedAt) {
      inbox.push(isPartitionInput(input) ? { kind: 'partition', input, eventId, arrivedAt, source } : { kind: 'route', input, eventId, arrivedAt, source });
      return options.pick ? [] : drain();
    },
    tick(at) {
      inbox.push({ kind: 'partition', input: { kind: 'tick', at }, eventId: `tick:${at}`, arrivedAt: at, source: { topic: 'tick', partition: 0, offset: at } });
      return drain();
    },
    drain,
    state: (id) => states.get(id),
    person: (id) => people.get(id),
    caseGroups: () => [...states.keys()].sort(),
  };
}
