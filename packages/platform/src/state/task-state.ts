import type { Kafka } from 'kafkajs';
import { CmsError } from '@cms-router/errors';
import { LOG_FIELDS } from '../log-fields.ts';
import type { Logger } from '../logger.ts';
import { redisCall, redisKeys, type Redis } from '../redis.ts';
import { readTopicToEnd } from '../kafka/read-to-end.ts';

/**
 * The state of one task (one partition of a stateful stage's input), as its handler sees it. Reads see
 * the writes of earlier records of the same transaction; writes become durable only with the
 * transaction: they are written to the stage's changelog inside it, and to Redis after it commits.
 */
export interface TaskStore {
  readonly task: number;
  get<T>(key: string): Promise<T | undefined>;
  /** Stages a value for the key; `undefined` deletes it. Values are JSON. */
  put(key: string, value: unknown): void;
}

export interface TaskStateOptions {
  /** Names the stage's state in Redis (`<prefix>:<stage>:<key>`) and in logs. */
  readonly stage: string;
  /** Full name of the compacted changelog topic; its partition n holds task n's state. */
  readonly changelogTopic: string;
  readonly redis: Redis;
  readonly keyPrefix: string;
  readonly kafka: Kafka;
  readonly logger: Logger;
  /** Decoded documents kept in process memory across batches, per process (default 50,000). */
  readonly cacheEntries?: number;
  /** How long a restore may take before the partition retries it (default 10 minutes). */
  readonly restoreTimeoutMs?: number;
}

export interface TaskStateStats {
  restores: number;
  restoredRecords: number;
  restoreMs: number;
  /** Persist attempts refused because Redis no longer held this process's marker (lost or taken over). */
  lost: number;
}

/** A changelog record to write in the transaction. */
export interface ChangelogWrite {
  readonly key: string;
  readonly value: string | null;
}

/** The compare-and-set a persist is: refused when the marker is not the one this process last saw. */
const PERSIST = `
local current = redis.call('GET', KEYS[1])
if (current or '') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
for i = 2, #KEYS do
  local v = ARGV[i + 1]
  if v == '\\0' then redis.call('DEL', KEYS[i]) else redis.call('SET', KEYS[i], v) end
end
return 1`;

const DELETE = '\0';

/** A staged write: the value, and its JSON (undefined until first needed; null for a delete). */
interface Staged {
  raw: string | null | undefined;
  readonly value: unknown;
}

const rawOf = (w: Staged): string | null => {
  if (w.raw === undefined) w.raw = JSON.stringify(w.value);
  return w.raw;
};

/**
 * Changelog-backed task state (the Kafka Streams pattern, with Redis as the local store):
 * - every write goes to a compacted changelog topic in the same transaction as the outputs and the
 *   input offsets, so the changelog is exactly the committed state;
 * - Redis holds the same state for fast reads, written after each commit together with the last
 *   changelog offset it reflects (a compare-and-set on that marker, so a zombie owner or a Redis that
 *   lost everything can never be written over);
 * - a task is restored from its changelog partition when this process takes it over and Redis is
 *   behind, and whenever the marker is gone (Redis lost): in time proportional to the live keys, not to
 *   the history, because the changelog is compacted.
 * Facts never need upstream topics to outlive their retention: the changelog is kept forever.
 */
export function createTaskState(opts: TaskStateOptions) {
  const { redis, stage } = opts;
  const log = opts.logger.child({ component: 'task-state', stage });
  const maxCache = opts.cacheEntries ?? 50_000;
  const stats: TaskStateStats = { restores: 0, restoredRecords: 0, restoreMs: 0, lost: 0 };
  const names = redisKeys(opts.keyPrefix);
  const docKey = (key: string): string => names.stateDoc(stage, key);
  const markerKey = (task: number): string => names.changelogOffset(stage, task);
  /** The marker this process last read or wrote per task: the state it knows Redis to hold. */
  const markers = new Map<number, string>();
  const verified = new Set<number>();
  /** Decoded documents, least recently used first; `at` counts insertions, to tell how far one has drifted. */
  const cache = new Map<string, { readonly value: unknown; readonly at: number }>();
  let insertions = 0;
  /** Writes of the transaction in progress, per task: the value, and its JSON once needed (null = delete). */
  const staged = new Map<number, Map<string, Staged>>();
  /** Writes of the input being handled (dropped if it fails, so a dead-lettered record changes no state). */
  const frames = new Map<number, Map<string, Staged>>();

  /**
   * Documents read ahead for the transaction a task has open, as Redis returned them (null: absent). Only
   * this process writes a verified task, so they stay current until the transaction ends; then they go.
   */
  const ahead = new Map<number, Map<string, string | null>>();

  const remember = (key: string, value: unknown): void => {
    cache.delete(key);
    cache.set(key, { value, at: (insertions += 1) });
    if (cache.size > maxCache) {
      const oldest = cache.keys().next();
      if (!oldest.done) cache.delete(oldest.value);
    }
  };

  /**
   * A cached document. A read moves it to the newest end only once it has drifted into the older half: a
   * key read by every input (the rebuild boundary, a busy case group) cost a delete and an insert per read
   * (3% of the router's time), and it still never becomes the oldest.
   */
  const recall = (key: string): { readonly value: unknown } | undefined => {
    const hit = cache.get(key);
    if (hit && insertions - hit.at > maxCache / 2) remember(key, hit.value);
    return hit;
  };

  const read = async (task: number, key: string): Promise<unknown> => {
    const hit = recall(key);
    if (hit) return hit.value;
    const early = ahead.get(task);
    const raw = early?.has(key) ? (early.get(key) ?? null) : await redisCall('read state', () => redis.get(docKey(key)));
    early?.delete(key);
    const value = raw === null ? undefined : (JSON.parse(raw) as unknown);
    remember(key, value);
    return value;
  };

  const forget = (task: number): void => {
    ahead.delete(task);
    staged.delete(task);
    frames.delete(task);
    markers.delete(task);
    verified.delete(task);
  };

  /** Reads the changelog partition from `from` to its end into Redis; returns the last offset applied. */
  const restoreFrom = async (task: number, from: string, previous: string | null): Promise<string> => {
    const started = Date.now();
    let last = previous;
    let count = 0;
    let pending: { key: string; value: string | null }[] = [];
    /** The batch being written while the next is read (one at a time, in order: each ends with its marker). */
    let inFlight: Promise<void> = Promise.resolve();
    const write = async (): Promise<void> => {
      if (pending.length === 0) return;
      const multi = redis.multi();
      for (const w of pending) {
        if (w.value === null) multi.del(docKey(w.key));
        else multi.set(docKey(w.key), w.value);
      }
      if (last !== null) multi.set(markerKey(task), last);
      pending = [];
      await inFlight;
      const written = redisCall('restore state', () => multi.exec()).then(() => undefined);
      // Awaited before the next batch and at the end; a failure fails the restore there, which is retried.
      written.catch(() => undefined);
      inFlight = written;
    };
    await readTopicToEnd(
      opts.kafka,
      opts.changelogTopic,
      async (partition, message) => {
        if (partition !== task || message.key === null) return;
        pending.push({ key: message.key.toString('utf8'), value: message.value ? message.value.toString('utf8') : null });
        last = message.offset;
        count += 1;
        if (pending.length >= 1_000) await write();
      },
      { from: new Map([[task, from]]), timeoutMs: opts.restoreTimeoutMs ?? 600_000 },
    );
    await write();
    await inFlight;
    const marker = last ?? '-1';
    await redisCall('write marker', () => redis.set(markerKey(task), marker));
    stats.restores += 1;
    stats.restoredRecords += count;
    stats.restoreMs += Date.now() - started;
    log.info({ [LOG_FIELDS.partition]: task, [LOG_FIELDS.count]: count, [LOG_FIELDS.durationMs]: Date.now() - started, from, marker }, 'task state restored from its changelog');
    return marker;
  };

  return {
    stats,
    /** Makes sure Redis holds task `task`'s committed state, restoring from the changelog if it does not. */
    async verify(task: number): Promise<void> {
      const marker = await redisCall('read marker', () => redis.get(markerKey(task)));
      const admin = opts.kafka.admin();
      await admin.connect();
      const offsets = await admin.fetchTopicOffsets(opts.changelogTopic).finally(() => admin.disconnect());
      const end = offsets.find((o) => o.partition === task);
      const low = BigInt(end?.low ?? '0');
      const high = BigInt(end?.high ?? '0');
      // Current: nothing after the marker but the commit marker of the last transaction that wrote it.
      const current = marker !== null && (marker === '-1' ? high <= low : BigInt(marker) + 2n >= high);
      let known = marker;
      if (!current) {
        if (marker === null) log.warn({ [LOG_FIELDS.partition]: task }, 'no state marker for this task (Redis lost or never written): restoring from the changelog');
        const from = marker === null || marker === '-1' ? low.toString() : (BigInt(marker) + 1n).toString();
        known = high > BigInt(from) ? await restoreFrom(task, from, marker === '-1' ? null : marker) : (marker ?? '-1');
        if (known !== marker) await redisCall('write marker', () => redis.set(markerKey(task), known ?? '-1'));
        for (const k of [...cache.keys()]) cache.delete(k); // documents of this task may have been replaced
        ahead.delete(task);
      }
      markers.set(task, known ?? '-1');
      verified.add(task);
    },
    isVerified: (task: number): boolean => verified.has(task),
    /** True when Redis still holds the marker this process knows (one GET): false means lost or taken over. */
    async intact(task: number): Promise<boolean> {
      const marker = await redisCall('read marker', () => redis.get(markerKey(task)));
      return marker !== null && marker === markers.get(task);
    },
    /** The partitions this process owns now: everything else is forgotten (another owner may write it). */
    assigned(tasks: ReadonlySet<number>): void {
      for (const task of [...new Set([...markers.keys(), ...verified, ...staged.keys()])]) if (!tasks.has(task)) forget(task);
      // Unverified again: another owner may have written the task since we last held it.
      for (const task of tasks) verified.delete(task);
      cache.clear();
      ahead.clear();
    },
    unverify(task: number): void {
      verified.delete(task);
    },
    /** A committed value, read outside any input (a metrics scrape): never touches a handler's writes. */
    async peek<T>(key: string): Promise<T | undefined> {
      const hit = cache.get(key);
      if (hit) return hit.value as T | undefined;
      // Not remembered: a commit may write the key while this read is in flight, and the cache must not
      // end up holding the older value.
      const raw = await redisCall('peek state', () => redis.get(docKey(key)));
      return raw === null ? undefined : (JSON.parse(raw) as T);
    },
    /** The store a handler uses for one input of task `task`. */
    store(task: number): TaskStore {
      const frame = new Map<string, Staged>();
      frames.set(task, frame);
      return {
        task,
        async get<T>(key: string): Promise<T | undefined> {
          const f = frame.get(key) ?? staged.get(task)?.get(key);
          if (f) return f.value as T | undefined;
          return (await read(task, key)) as T | undefined;
        },
        put(key, value) {
          // Encoded at the commit, once: a key written by many inputs of a transaction (an index, a busy
          // case group) was encoded on every write. Values are not changed after put; the cache shares them.
          frame.set(key, value === undefined || value === null ? { raw: null, value: undefined } : { raw: undefined, value });
        },
      };
    },
    /** The input's writes join the transaction's. */
    keepInput(task: number): void {
      const frame = frames.get(task);
      frames.delete(task);
      if (!frame || frame.size === 0) return;
      let s = staged.get(task);
      if (!s) staged.set(task, (s = new Map<string, Staged>()));
      for (const [k, v] of frame) {
        s.delete(k);
        s.set(k, v);
      }
    },
    /** The input failed (dead-lettered): its writes are dropped. */
    dropInput(task: number): void {
      frames.delete(task);
    },
    /** What to write to the changelog in this transaction. */
    writes(task: number): ChangelogWrite[] {
      return [...(staged.get(task) ?? [])].map(([key, v]) => ({ key, value: rawOf(v) }));
    },
    /**
     * Reads the documents the next transaction of a verified task will ask for, in one round trip, where
     * each would otherwise be one. The handler's reads then find them without waiting. (A round trip per
     * input, on an event loop the other stages keep busy, was most of the person registry's time.)
     */
    async readAhead(task: number, keys: Iterable<string>): Promise<void> {
      const wanted = [...new Set(keys)].filter((k) => !cache.has(k));
      ahead.delete(task);
      if (wanted.length === 0) return;
      const raws = await redisCall('read state ahead', () => redis.mget(...wanted.map(docKey)));
      ahead.set(task, new Map(wanted.map((k, i) => [k, raws[i] ?? null])));
    },
    /** The transaction did not commit: its writes are dropped. */
    discard(task: number): void {
      ahead.delete(task);
      staged.delete(task);
      frames.delete(task);
    },
    /**
     * After the commit: writes the transaction's state to Redis with the changelog offset it ends at.
     * Refused (false) when Redis no longer holds the marker this process knows: lost, or taken over by
     * another owner; the task is then restored from the changelog before it is used again.
     */
    async persist(task: number, lastChangelogOffset: string | undefined): Promise<boolean> {
      ahead.delete(task);
      const writes = [...(staged.get(task) ?? [])];
      staged.delete(task);
      if (writes.length === 0 || lastChangelogOffset === undefined) return true;
      const expected = markers.get(task) ?? '';
      const keys = [markerKey(task), ...writes.map(([k]) => docKey(k))];
      const args = [expected, lastChangelogOffset, ...writes.map(([, v]) => rawOf(v) ?? DELETE)];
      const ok = (await redisCall('persist state', () => redis.eval(PERSIST, keys.length, ...keys, ...args))) === 1;
      if (!ok) {
        stats.lost += 1;
        verified.delete(task);
        markers.delete(task);
        log.warn({ [LOG_FIELDS.partition]: task }, 'state marker not as left (Redis lost or another owner): the task is restored from its changelog before its next batch');
        return false;
      }
      markers.set(task, lastChangelogOffset);
      for (const [k, v] of writes) remember(k, v.value);
      return true;
    },
  };
}

export type TaskState = ReturnType<typeof createTaskState>;

/**
 * Keys the platform itself keeps in a stage's state (the leading `_` is never a stage's own key):
 * `quietUntil` is a rebuild's boundary for one task, `{ until: <inbox offset>, since: <ISO time> }` (see
 * the runner). It names its task: a stage's keys share one Redis namespace across its tasks.
 */
export const STATE_CONTROL_KEYS = { quietUntil: (task: number) => `_rebuild:p${task}:quiet-until` } as const;

/** Thrown before a commit when the task's state in Redis vanished during the batch: the batch is redone. */
export const stateLost = (task: number): CmsError => new CmsError('CMS_STATE_REBUILDING', `the state of task ${task} was lost during the batch; it is restored from the changelog and the batch done again`, { context: { task } });
