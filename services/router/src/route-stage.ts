import { deterministicId, TOPICS, type OrphanReport } from '@cms-router/events';
import type { HandlerContext, InboundRecord, OutboundRecord, Serde, TaskStore } from '@cms-router/platform';
import type { Rules } from '@cms-router/rules';
import {
  applyTeamFact,
  applyUserFact,
  dependencyChanges,
  expireWaiting,
  fromStored,
  needsOf,
  oldestWaiting,
  placementRecords,
  inboxInputOf,
  isPartitionInput,
  route,
  toStored,
  type Loaded,
  type PartitionInput,
  type RouteInput,
  type CaseGroupState,
  type RouteResult,
  type SourceRef,
  type StoredCaseGroup,
  type TeamDoc,
  type UserDoc,
} from '@cms-router/routing';
import { decodeCarried } from './people-stage.ts';
import { STATE_KEYS, WAITING_BUCKETS, waitingBucket } from './state-keys.ts';

export interface RouteStageDeps {
  readonly serde: Serde;
  readonly namespace: string | undefined;
  /** The rules version in effect on a business date (the router's rules book: the file and the released versions). */
  readonly rulesAt: (occurredAt: string) => Rules;
  /** How long a fact may wait for its case group's application (ROUTER_WAIT_EXPIRY_MS). */
  readonly waitExpiryMs: number;
  /** Partitions of the inbox: a departure's orphan report has one part per partition. */
  readonly inboxPartitions: () => Promise<number>;
}

type Recovered = { caseGroupId: string; segment: string; recovery: NonNullable<RouteResult['recovered']> };

/** The case group's document an inbox record reads first (read ahead per transaction); a broadcast or a tick names none. */
export const caseGroupKeyOf = (record: InboundRecord): readonly string[] => (record.topic === 'cms.router-inbox.v1' && record.value.caseGroupId !== '' ? [STATE_KEYS.caseGroup(record.value.caseGroupId)] : []);

/**
 * Stage three of the router: one ordered stream per case group (the inbox), one task per inbox partition.
 * Applies each fact with the pure routing core and publishes what moved, with its reasons. Each partition
 * keeps its own copies of the users and teams its case groups depend on (their facts are sent to every
 * partition), and indexes to find those case groups when a user's or a team's facts change.
 */
export function createRouteStage(deps: RouteStageDeps): { handler: (r: InboundRecord, ctx: HandlerContext) => Promise<OutboundRecord[]> } {
  const handler = async (record: InboundRecord, { store }: HandlerContext): Promise<OutboundRecord[]> => {
    if (record.topic !== 'cms.router-inbox.v1') return [];
    const v = record.value;
    const task = record.partition;
    const eventId = record.headers.eventId;
    const arrivedAt = new Date(Number(record.timestamp)).toISOString();
    const source: SourceRef = v.source;
    const out: OutboundRecord[] = [];
    let n = 0;

    const emit = (caseGroupId: string, before: CaseGroupState | null, result: RouteResult): void => {
      // The compacted current placements first: a dashboard that bootstraps from them sees what the assignments say.
      for (const p of placementRecords(caseGroupId, before, result.state, result.outputs)) out.push({ topic: TOPICS.placements, key: p.key, value: p.value, eventType: p.value?.subject ?? 'CLOSED' });
      for (const o of result.outputs) {
        if (o.kind === 'assignment') out.push({ topic: TOPICS.assignments, key: caseGroupId, value: o.value, eventType: o.value.subject });
        else {
          out.push({
            topic: TOPICS.rejections,
            key: caseGroupId,
            value: { rejectionId: deterministicId('router', eventId, (n += 1)), service: 'router', occurredAt: o.occurredAt, source: o.source ?? source, code: o.code, reason: o.reason, caseGroupId, srId: o.srId },
            eventType: o.code,
          });
        }
      }
    };

    const report = (r: { userId: string; cause: OrphanReport['cause']; since: string }, caseGroups: Recovered[], occurredAt: string, part: number, parts: number): OutboundRecord => ({
      topic: TOPICS.routerOrphans,
      key: r.userId,
      value: { reportId: source.eventId ?? deterministicId(source.topic, source.partition, source.offset), userId: r.userId, occurredAt, since: r.since, cause: r.cause, part, parts, caseGroups: caseGroups.map((c) => ({ caseGroupId: c.caseGroupId, segment: c.segment })) },
      eventType: 'OrphanReport',
    });

    const load = async (caseGroupId: string): Promise<Loaded | undefined> => {
      const doc = await store.get<StoredCaseGroup>(STATE_KEYS.caseGroup(caseGroupId));
      return doc ? fromStored(doc) : undefined;
    };

    /** Stores a case group's new state and keeps the partition's indexes in step with it. */
    const save = async (s: TaskStore, caseGroupId: string, loaded: Loaded | undefined, result: RouteResult): Promise<void> => {
      const before = loaded?.state;
      const after = result.state;
      // The document, and only the history entries this fact added (the ring: packages/routing/src/stored.ts).
      const stored = toStored(loaded, after ?? null);
      for (const { slot, entry } of stored.slots) s.put(STATE_KEYS.historyEntry(caseGroupId, slot), entry);
      s.put(STATE_KEYS.caseGroup(caseGroupId), stored.doc);
      const changes = dependencyChanges(before?.deps ?? { users: [], teams: [] }, after?.deps ?? { users: [], teams: [] });
      for (const dep of [...changes.add, ...changes.remove]) {
        const k = STATE_KEYS.index(task, dep);
        const members = new Set((await s.get<string[]>(k)) ?? []);
        if (changes.add.includes(dep)) members.add(caseGroupId);
        else members.delete(caseGroupId);
        s.put(k, members.size === 0 ? undefined : [...members].sort());
      }
      const wasWaiting = oldestWaiting(before ?? null);
      const nowWaiting = oldestWaiting(after);
      if (wasWaiting !== nowWaiting) {
        const k = STATE_KEYS.waiting(task, waitingBucket(caseGroupId));
        const others = Object.entries((await s.get<Record<string, string>>(k)) ?? {}).filter(([id]) => id !== caseGroupId);
        const waiting = Object.fromEntries(nowWaiting === null ? others : [...others, [caseGroupId, nowWaiting]]);
        s.put(k, Object.keys(waiting).length === 0 ? undefined : waiting);
        const legacy = await s.get<Record<string, string>>(STATE_KEYS.waitingLegacy(task));
        if (legacy && caseGroupId in legacy) {
          const rest = Object.fromEntries(Object.entries(legacy).filter(([id]) => id !== caseGroupId));
          s.put(STATE_KEYS.waitingLegacy(task), Object.keys(rest).length === 0 ? undefined : rest);
        }
      }
    };

    /** Routes one case group: fetches the partition's copies of the users and teams its decision reads. */
    const routeOne = async (caseGroupId: string, input: RouteInput | null, at: string, cause?: string): Promise<RouteResult> => {
      const loaded = await load(caseGroupId);
      const before = loaded?.state;
      const needs = needsOf(before ?? null, input);
      const users = new Map(await Promise.all(needs.users.map(async (id) => [id, (await store.get<UserDoc>(STATE_KEYS.user(task, id))) ?? null] as const)));
      const teams = new Map(await Promise.all(needs.teams.map(async (id) => [id, (await store.get<TeamDoc>(STATE_KEYS.team(task, id))) ?? null] as const)));
      const result = route(before ?? null, input, { rules: deps.rulesAt(at), eventId, arrivedAt, user: (id) => users.get(id) ?? null, team: (id) => teams.get(id) ?? null, source, ...(cause ? { cause } : {}) });
      // A step that changed nothing (a re-route of a case group that stays) writes nothing either.
      if (result.state !== (before ?? null)) await save(store, caseGroupId, loaded, result);
      emit(caseGroupId, before ?? null, result);
      return result;
    };

    const partitionFact = async (p: PartitionInput): Promise<void> => {
      if (p.kind === 'tick') {
        const cutoff = new Date(Date.parse(p.at) - deps.waitExpiryMs).toISOString();
        const shares = await Promise.all([STATE_KEYS.waitingLegacy(task), ...Array.from({ length: WAITING_BUCKETS }, (_, b) => STATE_KEYS.waiting(task, b))].map((k) => store.get<Record<string, string>>(k)));
        const waiting: Record<string, string> = {};
        for (const share of shares) Object.assign(waiting, share ?? {});
        for (const caseGroupId of Object.keys(waiting).filter((id) => (waiting[id] ?? '') <= cutoff).sort()) {
          const loaded = await load(caseGroupId);
          if (!loaded) continue;
          const result = expireWaiting(loaded.state, cutoff, deps.waitExpiryMs, { eventId });
          await save(store, caseGroupId, loaded, result);
          emit(caseGroupId, loaded.state, result);
        }
        return;
      }
      const dependency = p.kind === 'user' ? `user:${p.userId}` : `team:${p.fact.teamId}`;
      if (p.kind === 'user') {
        const k = STATE_KEYS.user(task, p.userId);
        store.put(k, applyUserFact((await store.get<UserDoc>(k)) ?? null, p, source.eventId ?? eventId));
      } else {
        const k = STATE_KEYS.team(task, p.fact.teamId);
        store.put(k, applyTeamFact((await store.get<TeamDoc>(k)) ?? null, p));
      }
      const recovered: Recovered[] = [];
      for (const caseGroupId of (await store.get<string[]>(STATE_KEYS.index(task, dependency))) ?? []) {
        const result = await routeOne(caseGroupId, null, p.occurredAt, p.fact.type);
        if (result.recovered) recovered.push({ caseGroupId, segment: result.state?.placement?.decision.segment ?? '', recovery: result.recovered });
      }
      // A departure's report has a part from every partition, empty or not: the notifier knows when it has them all.
      if (p.kind === 'user' && p.fact.type !== 'UserAvailabilityChanged') {
        const cause = recovered[0]?.recovery.cause ?? (p.fact.type === 'TeamMoveCompleted' ? 'TEAM_MOVE_COMPLETED' : 'SYSTEM_ACCESS_REMOVED');
        out.push(report({ userId: p.userId, cause, since: recovered[0]?.recovery.since ?? p.occurredAt }, recovered, p.occurredAt, task, await deps.inboxPartitions()));
      }
    };

    /** A fact about one case group; a recovery it causes (an allocation to someone gone, a return to the allocation's segment) is a report of one part. */
    const caseGroupFact = async (input: RouteInput): Promise<void> => {
      const result = await routeOne(input.caseGroupId, input, input.occurredAt);
      if (result.recovered) out.push(report(result.recovered, [{ caseGroupId: input.caseGroupId, segment: result.state?.placement?.decision.segment ?? '', recovery: result.recovered }], input.occurredAt, 0, 1));
    };

    const input = inboxInputOf(v, v.signal ? null : await decodeCarried(deps.serde, deps.namespace, v.source, v.fact));
    if (input) await (isPartitionInput(input) ? partitionFact(input) : caseGroupFact(input));
    return out;
  };
  return { handler };
}
