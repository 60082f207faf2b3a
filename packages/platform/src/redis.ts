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
 * REDIS_KEY_PREFIX so tests and environments never share keys. A stage's task state (createTaskState)
 * lives under `stateDoc(stage, key)`; each stage names its own keys in one module (the router's
 * state-keys.ts, sr-events' SR_STATE_KEYS, the notifier's NOTIFIER_KEYS).
 */
export function redisKeys(prefix: string) {
  return {
    prefix,
    /** One document of a stage's task state, e.g. `cms:router-route:cg:CG-1`. */
    stateDoc: (stage: string, key: string) => `${prefix}:${stage}:${key}`,
    /** The last changelog offset a task's state in Redis reflects (createTaskState). */
    changelogOffset: (stage: string, task: number) => `${prefix}:${stage}:changelog-offset:${task}`,
    /** Written the moment SMTP answers, before the commit that records the email (notifier): no second send after a crash. */
    notificationGuard: (idempotencyKey: string) => `${prefix}:notifier:guard:${idempotencyKey}`,
    /** Scratch keys for the platform's own checks. */
    probe: (name: string) => `${prefix}:platform:probe:${name}`,
  } as const;
}
export type RedisKeys = ReturnType<typeof redisKeys>;
