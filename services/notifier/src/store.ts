import { createStagedStore, redisCall, type Redis, type RedisKeys, type StagedStore } from '@cms-router/platform';
import type { LedgerEntry } from './core/ledger.ts';
import type { Allocation, Departure, OrphanCause } from './core/orphans.ts';

/** The orphan flag the notifier last published for a case group. */
export interface FlagDoc {
  readonly state: 'FLAGGED' | 'RECOVERED';
  readonly userId: string;
  readonly cause: OrphanCause;
  readonly since: string;
}

/**
 * Last writer by business time wins, atomically: allocations of one case group arrive on the partitions
 * of different users, departures may be replayed. Returns the previous value and whether it was replaced.
 */
const LAST_WRITER_WINS = `
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local old = cjson.decode(current)
  if old.at > ARGV[3] then return {0, current} end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {1, current or ''}`;

type WithAt<T> = T & { readonly at: string };

/**
 * Everything the notifier keeps in Redis. Two kinds of writes:
 * - guards of external effects and idempotent indexes, written at once (the ledger the moment SMTP answers;
 *   allocations, departures and review dates, which a replay writes again to the same values);
 * - orphan flags, staged while a batch is handled and written after its transaction commits, because
 *   whether a FLAGGED event was published is only true once the transaction is.
 */
export function createNotifierStore(redis: Redis, keys: RedisKeys) {
  const flags: StagedStore<FlagDoc> = createStagedStore<FlagDoc>(redis, keys.orphanFlag);
  const published: StagedStore<true> = createStagedStore<true>(redis, keys.notificationPublished);
  const hashSetLatest = async <T>(hash: string, field: string, value: WithAt<T>): Promise<{ applied: boolean; previous: WithAt<T> | null }> => {
    const [applied, previous] = (await redisCall('write latest', () => redis.eval(LAST_WRITER_WINS, 1, hash, field, JSON.stringify(value), value.at))) as [number, string];
    return { applied: applied === 1, previous: previous ? (JSON.parse(previous) as WithAt<T>) : null };
  };
  /** The case group's allocation, or null when nobody holds it (never allocated, or released). */
  const allocation = async (caseGroupId: string): Promise<Allocation | null> => {
    const raw = await redisCall('read allocation', () => redis.hget(keys.owners(), caseGroupId));
    const a = raw === null ? null : (JSON.parse(raw) as Allocation);
    return a?.userId ? a : null;
  };
  return {
    flags,

    async ledger(idempotencyKey: string): Promise<LedgerEntry | null> {
      const raw = await redisCall('read ledger', () => redis.get(keys.notificationLedger(idempotencyKey)));
      return raw === null ? null : (JSON.parse(raw) as LedgerEntry);
    },
    /** The first entry for a key stands (NX): a rebuild never overwrites what live sending wrote. */
    async recordLedger(idempotencyKey: string, entry: LedgerEntry): Promise<void> {
      await redisCall('write ledger', () => redis.set(keys.notificationLedger(idempotencyKey), JSON.stringify(entry), 'NX'));
    },
    /** A ledger entry rebuilt from a published event: sent or failed, and published. */
    async recordPublished(idempotencyKey: string, entry: LedgerEntry): Promise<void> {
      await redisCall('rebuild ledger', () => redis.multi().set(keys.notificationLedger(idempotencyKey), JSON.stringify(entry), 'NX').set(keys.notificationPublished(idempotencyKey), 'true').exec());
    },
    /** Whether the event of this email is known to be committed (staged until the commit). */
    async published(tp: string, idempotencyKey: string): Promise<boolean> {
      return (await published.load(tp, idempotencyKey)) === true;
    },
    stagePublished(tp: string, idempotencyKey: string): void {
      published.stage(tp, idempotencyKey, true);
    },
    async ledgerRebuilt(): Promise<boolean> {
      return (await redisCall('read ledger marker', () => redis.exists(keys.ledgerRebuilt()))) === 1;
    },
    async markLedgerRebuilt(): Promise<void> {
      await redisCall('write ledger marker', () => redis.set(keys.ledgerRebuilt(), new Date().toISOString()));
    },

    /** Records an allocation if it is the latest for the case group; keeps the user -> case groups index. */
    async allocate(caseGroupId: string, allocation: Allocation): Promise<{ applied: boolean; previous: Allocation | null }> {
      const result = await hashSetLatest(keys.owners(), caseGroupId, allocation);
      if (result.applied) {
        const multi = redis.multi().sadd(keys.ownerCaseGroups(allocation.userId), caseGroupId);
        if (result.previous && result.previous.userId !== allocation.userId) multi.srem(keys.ownerCaseGroups(result.previous.userId), caseGroupId);
        await redisCall('index allocation', () => multi.exec());
      }
      return result;
    },
    allocation,
    /**
     * The router recovered the case group from `userId`: it is nobody's now. Written as a tombstone with the
     * allocation's own time, so an allocation made after it still wins, whatever order they are read in.
     */
    async release(caseGroupId: string, userId: string): Promise<void> {
      const current = await allocation(caseGroupId);
      if (current?.userId !== userId) return;
      await hashSetLatest(keys.owners(), caseGroupId, { userId: '', teamId: '', segment: current.segment, at: current.at });
      await redisCall('unindex allocation', () => redis.srem(keys.ownerCaseGroups(userId), caseGroupId));
    },
    async depart(userId: string, departure: Departure): Promise<boolean> {
      return (await hashSetLatest(keys.goneUsers(), userId, { ...departure, at: departure.since })).applied;
    },
    async departure(userId: string): Promise<Departure | undefined> {
      const raw = await redisCall('read departure', () => redis.hget(keys.goneUsers(), userId));
      return raw === null ? undefined : (JSON.parse(raw) as Departure);
    },
    /** The allocations of the case groups indexed under a user (some may since belong to someone else). */
    async allocationsOf(userId: string): Promise<Record<string, Allocation>> {
      const ids = await redisCall('read user index', () => redis.smembers(keys.ownerCaseGroups(userId)));
      if (ids.length === 0) return {};
      const values = await redisCall('read allocations', () => redis.hmget(keys.owners(), ...ids));
      return Object.fromEntries(ids.flatMap((id, i) => (values[i] ? [[id, JSON.parse(values[i]) as Allocation] as const] : [])));
    },
    async allAllocations(): Promise<Record<string, Allocation>> {
      const all = await redisCall('read allocations', () => redis.hgetall(keys.owners()));
      return Object.fromEntries(Object.entries(all).map(([id, v]) => [id, JSON.parse(v) as Allocation]));
    },
    async allDepartures(): Promise<Record<string, Departure>> {
      const all = await redisCall('read departures', () => redis.hgetall(keys.goneUsers()));
      return Object.fromEntries(Object.entries(all).map(([id, v]) => [id, JSON.parse(v) as Departure]));
    },
    /** Case groups among `ids` whose current flag is FLAGGED (persisted state, not this batch's staging). */
    async flagged(ids: readonly string[]): Promise<Set<string>> {
      if (ids.length === 0) return new Set();
      const raw = await redisCall('read flags', () => redis.mget(...ids.map((id) => keys.orphanFlag(id))));
      return new Set(ids.filter((_, i) => raw[i] && (JSON.parse(raw[i]) as FlagDoc).state === 'FLAGGED'));
    },

    /** A review date; never moves an existing one earlier (a replay of the flag must not undo a reminder). */
    async scheduleReview(key: string, dueAt: string): Promise<void> {
      await redisCall('schedule review', () => redis.zadd(keys.reviews(), 'GT', Date.parse(dueAt), key));
    },
    async cancelReview(key: string): Promise<void> {
      await redisCall('cancel review', () => redis.zrem(keys.reviews(), key));
    },
    async dueReviews(now: Date, limit = 100): Promise<{ key: string; dueAt: string }[]> {
      const raw = await redisCall('read due reviews', () => redis.zrangebyscore(keys.reviews(), '-inf', now.getTime(), 'WITHSCORES', 'LIMIT', 0, limit));
      const out: { key: string; dueAt: string }[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) out.push({ key: raw[i] ?? '', dueAt: new Date(Number(raw[i + 1])).toISOString() });
      return out;
    },
    /** Moves a review on to its next date, only if it is still at `from` (XX: never resurrect a cancelled one). */
    async advanceReview(key: string, from: string, to: string): Promise<void> {
      const current = await redisCall('read review', () => redis.zscore(keys.reviews(), key));
      if (current !== null && Number(current) === Date.parse(from)) await redisCall('advance review', () => redis.zadd(keys.reviews(), 'XX', Date.parse(to), key));
    },
    async reviewDate(key: string): Promise<string | null> {
      const score = await redisCall('read review', () => redis.zscore(keys.reviews(), key));
      return score === null ? null : new Date(Number(score)).toISOString();
    },

    appliedOffset: (stage: string, topic: string, partition: number) => redisCall('get applied offset', () => redis.get(keys.appliedOffset(stage, topic, partition))),
    /** After a commit: published markers, then flags with the applied offset (a crash between is replayed). */
    async persist(stage: string, topic: string, partition: number, lastOffset: string): Promise<void> {
      await published.persist(keys.appliedOffset(stage, topic, partition), `${topic}:${partition}`, lastOffset);
      await flags.persist(keys.appliedOffset(stage, topic, partition), `${topic}:${partition}`, lastOffset);
    },
    discard(tp: string): void {
      published.discard(tp);
      flags.discard(tp);
    },
  };
}

export type NotifierStore = ReturnType<typeof createNotifierStore>;
