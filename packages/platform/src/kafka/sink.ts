import type { Admin, Consumer } from 'kafkajs';
import { CmsError } from '@cms-router/errors';
import { deterministicId, qualify, readStandardHeaders, unqualify, type TopicName } from '@cms-router/events';
import { LOG_FIELDS } from '../log-fields.ts';
import type { ServiceMetrics } from '../ops/metrics.ts';
import { backoffDelay, sleepUnlessAborted } from './backoff.ts';
import { untilReady } from './client.ts';
import { toCmsError } from './errors.ts';
import type { ConsumerOptions } from './runner.ts';

/** One record as a sink writes it: decoded, or a tombstone (`value` null), or undecodable (`failure`). */
export interface SinkRecord {
  /** The contract name (namespace removed). */
  readonly topic: TopicName;
  readonly partition: number;
  readonly offset: string;
  readonly key: string | null;
  /** The decoded value; null for a tombstone or an undecodable record. */
  readonly value: unknown;
  readonly eventId: string;
  /** Kafka record timestamp, ms since the epoch. */
  readonly timestamp: number;
  /** The stable code when the record could not be decoded: the sink records it and moves on. */
  readonly failure?: string;
}

/**
 * Where a sink writes: a database that stores each partition's next offset in the same transaction as
 * the rows, which is what makes the sink exactly-once (Kafka's committed offset is only a hint).
 */
export interface SinkStore {
  /**
   * In one transaction: read the partition's stored next offset (locking it), write the records at or
   * after it, store `nextOffset`. Records below the stored offset were written before (a replay after a
   * crash or a rebalance) and are skipped. Throws a retryable CmsError when the database is away.
   */
  apply(topic: TopicName, partition: number, records: readonly SinkRecord[], nextOffset: string): Promise<{ readonly written: number; readonly failures: number }>;
  /** The stored next offset of each partition of a topic: where the consumer seeks on assignment. */
  positions(topic: TopicName): Promise<ReadonlyMap<number, string>>;
}

export interface SinkRunnerOptions extends ConsumerOptions {
  readonly store: SinkStore;
  readonly retry: { readonly initialMs: number; readonly maxMs: number };
  readonly sessionTimeoutMs?: number;
  readonly metrics?: ServiceMetrics;
  /** Told after each committed batch (the console's live page). */
  readonly onCommitted?: (records: readonly SinkRecord[]) => void;
  readonly onFatal: (err: CmsError) => void;
}

export interface SinkRunner {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Records not yet written per assigned partition (transaction markers never counted). */
  lag(): Promise<{ readonly topic: string; readonly partition: number; readonly records: number }[]>;
  joined(): boolean;
  /** Partitions assigned, each ready once its first batch (or an idle fetch) has been seen. */
  assignment(): { readonly topic: string; readonly partition: number; readonly ready: boolean }[];
}

/**
 * Consumes published topics into a database, exactly once: each batch of a partition is written with
 * the partition's next offset in one database transaction (SinkStore.apply), so a crash at any point
 * either wrote both or neither, and a batch read again is skipped up to the stored offset. On
 * assignment the consumer seeks to the stored offsets; Kafka's own commit follows the database and is
 * only where a new consumer would start if the database had nothing (it never runs ahead of it).
 * read_committed: aborted outputs of the services never reach the database. A database outage is waited
 * out with backoff (the same records again); an undecodable record is handed to the store as a failure,
 * so the partition keeps flowing and the record is accounted for.
 */
export function createSinkRunner(opts: SinkRunnerOptions): SinkRunner {
  const log = opts.logger.child({ component: 'sink', groupId: opts.groupId });
  const stopping = new AbortController();
  const metrics = opts.metrics?.runner(opts.groupId);
  const assigned = new Set<string>();
  /** Per partition: the next offset known handled (records and markers), from the batch events. */
  const position = new Map<string, bigint>();
  let consumer: Consumer | undefined;
  let admin: Admin | undefined;
  let joined = false;
  let stopPromise: Promise<void> | undefined;
  const tpOf = (topic: string, partition: number): string => `${topic}:${partition}`;

  const decode = async (topic: string, partition: number, m: { offset: string; key: Buffer | null; value: Buffer | null; timestamp: string; headers?: Record<string, unknown> }): Promise<SinkRecord> => {
    const contract = unqualify(topic, opts.namespace) as TopicName;
    const eventId = readStandardHeaders(m.headers as never, () => deterministicId(topic, partition, m.offset)).eventId;
    const base = { topic: contract, partition, offset: m.offset, key: m.key?.toString('utf8') ?? null, eventId, timestamp: Number(m.timestamp) };
    if (m.value === null) return { ...base, value: null };
    try {
      const decoded = await opts.serde.decode(topic, m.value);
      return { ...base, value: decoded.value };
    } catch (err) {
      const e = toCmsError(err);
      if (e.retryable) throw e;
      log.warn({ [LOG_FIELDS.code]: e.code, [LOG_FIELDS.topic]: contract, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.offset]: m.offset }, 'record could not be decoded; recorded as skipped');
      return { ...base, value: null, failure: e.code };
    }
  };

  const start = async (): Promise<void> => {
    const topics = opts.topics.map((t) => qualify(t, opts.namespace));
    const c = opts.kafka.consumer({ groupId: opts.groupId, readUncommitted: false, allowAutoTopicCreation: false, sessionTimeout: opts.sessionTimeoutMs ?? 30_000, maxWaitTimeInMs: 250 });
    consumer = c;
    c.on(c.events.GROUP_JOIN, ({ payload }) => {
      joined = true;
      assigned.clear();
      for (const [topic, partitions] of Object.entries(payload.memberAssignment)) for (const p of partitions) assigned.add(tpOf(topic, p));
      // Start where the database is, not where Kafka's commit is (which may lag it after a crash).
      void (async () => {
        for (const topic of topics) {
          const mine = [...assigned].filter((tp) => tp.startsWith(`${topic}:`)).map((tp) => Number(tp.slice(topic.length + 1)));
          if (mine.length === 0) continue;
          const stored = await opts.store.positions(unqualify(topic, opts.namespace) as TopicName).catch(() => new Map<number, string>());
          for (const p of mine) {
            const next = stored.get(p);
            if (next !== undefined) c.seek({ topic, partition: p, offset: next });
          }
        }
      })();
    });
    c.on(c.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.lastOffset !== null) position.set(tpOf(payload.topic, payload.partition), BigInt(payload.lastOffset) + 1n);
    });
    c.on(c.events.CRASH, ({ payload }) => {
      if (!payload.restart && !stopping.signal.aborted) opts.onFatal(new CmsError('CMS_CONSUMER_CRASHED', `the sink consumer of ${opts.groupId} crashed and will not restart`, { cause: payload.error }));
    });
    await untilReady(`the broker for ${opts.groupId}`, async () => {
      await c.connect();
      await c.subscribe({ topics, fromBeginning: true });
    }, { log: (line) => { log.warn(line); } });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async (payload) => {
        const { batch } = payload;
        if (batch.messages.length === 0) return;
        const contract = unqualify(batch.topic, opts.namespace) as TopicName;
        const last = batch.messages[batch.messages.length - 1];
        if (!last) return;
        const next = (BigInt(last.offset) + 1n).toString();
        // Decoded once; a database outage retries the write, not the decoding.
        let records: SinkRecord[] | undefined;
        for (let attempt = 0; ; attempt += 1) {
          if (!payload.isRunning() || payload.isStale() || stopping.signal.aborted) return;
          try {
            const started = performance.now();
            if (!records) {
              const decoded: SinkRecord[] = [];
              for (const m of batch.messages) decoded.push(await decode(batch.topic, batch.partition, m));
              records = decoded;
            }
            const done = await opts.store.apply(contract, batch.partition, records, next);
            // What was written now: records read again after a crash (skipped by the store) are not counted twice.
            metrics?.committed(contract, { outputs: done.written - done.failures, rejections: 0, deadLetters: done.failures }, (performance.now() - started) / 1000);
            opts.onCommitted?.(records);
            break;
          } catch (err) {
            const e = toCmsError(err);
            if (!e.retryable) {
              opts.onFatal(e);
              throw e;
            }
            metrics?.retried(e.code);
            const wait = backoffDelay(attempt, opts.retry.initialMs, opts.retry.maxMs);
            log.warn({ [LOG_FIELDS.code]: e.code, [LOG_FIELDS.topic]: contract, [LOG_FIELDS.partition]: batch.partition, attempt, waitMs: wait }, 'sink batch not written; retrying');
            await payload.heartbeat().catch(() => undefined);
            await sleepUnlessAborted(wait, stopping.signal);
          }
        }
        // The fetch position moves past the batch; Kafka's commit trails the database (a failure here
        // costs a re-read that the store skips).
        payload.resolveOffset(last.offset);
        await c.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]).catch(() => undefined);
        await payload.heartbeat().catch(() => undefined);
      },
    });
  };

  const runner: SinkRunner = {
    start,
    joined: () => joined,
    assignment: () => [...assigned].map((tp) => {
      const i = tp.lastIndexOf(':');
      return { topic: tp.slice(0, i), partition: Number(tp.slice(i + 1)), ready: true };
    }),
    lag: async () => {
      if (!admin) {
        admin = opts.kafka.admin();
        await admin.connect();
      }
      const out: { topic: string; partition: number; records: number }[] = [];
      for (const t of opts.topics) {
        const topic = qualify(t, opts.namespace);
        const mine = [...assigned].filter((tp) => tp.startsWith(`${topic}:`));
        if (mine.length === 0) continue;
        const [ends, stored] = await Promise.all([admin.fetchTopicOffsets(topic), opts.store.positions(t)]);
        for (const tp of mine) {
          const partition = Number(tp.slice(topic.length + 1));
          const end = ends.find((e) => e.partition === partition);
          const high = BigInt(end?.high ?? '0');
          // Markers after the last record are read past by the consumer (its batch events), never stored.
          const seen = position.get(tp) ?? 0n;
          const db = BigInt(stored.get(partition) ?? end?.low ?? '0');
          const done = seen > db ? seen : db;
          out.push({ topic: t, partition, records: high > done ? Number(high - done) : 0 });
        }
      }
      return out;
    },
    stop() {
      stopPromise ??= (async () => {
        stopping.abort();
        await admin?.disconnect().catch(() => undefined);
        await consumer?.disconnect().catch((err: unknown) => {
          log.warn({ err }, 'sink consumer disconnect failed');
        });
        log.info('sink stopped');
      })();
      return stopPromise;
    },
  };
  opts.metrics?.watch(opts.groupId, { lag: () => runner.lag(), assignment: () => runner.assignment(), joined: () => runner.joined(), restores: () => undefined });
  return runner;
}
