import { Redis } from 'ioredis';
import { CmsError } from '@cms-router/errors';

export type { Redis } from 'ioredis';

/**
 * A Redis client that fails commands quickly when Redis is away (so the consumer pauses and retries
 * with backoff) instead of queueing them without bound.
 */
export function createRedis(url: string, opts: { connectionName: string; lazyConnect?: boolean }): Redis {
  return new Redis(url, {
    connectionName: opts.connectionName,
    lazyConnect: opts.lazyConnect ?? false,
    maxRetriesPerRequest: 2,
    connectTimeout: 2_000,
    commandTimeout: 5_000,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 2_000),
  });
}

/** Runs a Redis operation, turning connection and timeout failures into retryable CMS_REDIS_UNAVAILABLE. */
export async function redisCall<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/WRONGTYPE|ERR syntax|NOSCRIPT/.test(message)) throw new CmsError('CMS_INTERNAL', `redis ${operation}: ${message}`, { cause: err });
    throw new CmsError('CMS_REDIS_UNAVAILABLE', `redis ${operation} failed: ${message}`, { cause: err });
  }
}

/**
 * Every Redis key, in one place: `<prefix>:<scope>:<type>[:<id>]`. The prefix comes from
 * REDIS_KEY_PREFIX so tests and environments never share keys.
 */
export function redisKeys(prefix: string) {
  return {
    prefix,
    /** Case group state (router). */
    caseGroup: (caseGroupId: string) => `${prefix}:router:casegroup:${caseGroupId}`,
    /** Team id -> team leader user id (router reference data). */
    teamLeaders: () => `${prefix}:router:team-leaders`,
    /** Case groups a party belongs to (router fan-out index). */
    partyCaseGroups: (partyId: string) => `${prefix}:router:party-casegroups:${partyId}`,
    /** Case groups ever allocated to a user (router fan-out index for availability changes). */
    userCaseGroups: (userId: string) => `${prefix}:router:user-casegroups:${userId}`,
    /** SR state of a case group (sr-events). */
    srCaseGroup: (caseGroupId: string) => `${prefix}:sr-events:casegroup:${caseGroupId}`,
    /** Parties of a case group, as `partyId|role` (sr-events, from applications). */
    srParties: (caseGroupId: string) => `${prefix}:sr-events:parties:${caseGroupId}`,
    /** Notification ledger entry (notifier): at most one email per idempotency key. */
    notificationLedger: (idempotencyKey: string) => `${prefix}:notifier:ledger:${idempotencyKey}`,
    /** Set after the transaction that published an email's event committed (notifier). */
    notificationPublished: (idempotencyKey: string) => `${prefix}:notifier:published:${idempotencyKey}`,
    /** Set once the ledger has been rebuilt from cms.notifications.v1 (or found empty); gone with Redis. */
    ledgerRebuilt: () => `${prefix}:notifier:ledger-rebuilt`,
    /** Case group -> its allocation (notifier ownership index; hash of JSON, last writer by time wins). */
    owners: () => `${prefix}:notifier:owners`,
    /** Case groups allocated to a caseworker (notifier ownership index). */
    ownerCaseGroups: (userId: string) => `${prefix}:notifier:owner-casegroups:${userId}`,
    /** User -> their team move or access removal (hash of JSON). */
    goneUsers: () => `${prefix}:notifier:gone`,
    /** Orphan flag of a case group (notifier; written after commit). */
    orphanFlag: (caseGroupId: string) => `${prefix}:notifier:orphan-flag:${caseGroupId}`,
    /** Personal-interest reviews: sorted set of `caseGroupId|partyId` scored by due time (ms). */
    reviews: () => `${prefix}:notifier:reviews`,
    /** Last input offset whose state is persisted, per consumer stage and partition (StateHooks). */
    appliedOffset: (stage: string, topic: string, partition: number) => `${prefix}:${stage}:applied-offset:${topic}:${partition}`,
    /** Scratch keys for the platform's own checks. */
    probe: (name: string) => `${prefix}:platform:probe:${name}`,
  } as const;
}
export type RedisKeys = ReturnType<typeof redisKeys>;
