import { Partitioners, type Admin, type Consumer, type EachBatchPayload, type IHeaders, type Kafka, type KafkaMessage, type Message, type Producer } from 'kafkajs';
import { CmsError, isCmsError, messageOf } from '@cms-router/errors';
import {
  DEAD_LETTER_HEADERS,
  deterministicId,
  qualify,
  readStandardHeaders,
  standardHeaders,
  TOPICS,
  unqualify,
  type SchemaTopic,
  type StandardHeaders,
  type TopicName,
  type TopicValue,
} from '@cms-router/events';
import { LOG_FIELDS } from '../log-fields.ts';
import type { Logger } from '../logger.ts';
import type { Serde } from '../registry.ts';
import { backoffDelay } from './backoff.ts';

/** A decoded input record. `topic` is the contract name (namespace removed); the union narrows `value`. */
export type InboundRecord = {
  [T in SchemaTopic]: {
    readonly topic: T;
    readonly partition: number;
    readonly offset: string;
    readonly key: string | null;
    readonly value: TopicValue[T];
    readonly headers: StandardHeaders;
    /** Kafka record timestamp (ms since epoch, as a string). */
    readonly timestamp: string;
    /** The record value exactly as read (Confluent wire format). */
    readonly raw: Buffer;
  };
}[SchemaTopic];

/** An output the handler wants produced, in the same transaction as the input's offset. */
export type OutboundRecord = {
  [T in SchemaTopic]: {
    readonly topic: T;
    readonly key: string;
    readonly value: TopicValue[T];
    /** Defaults to an id derived from the input's coordinates and the output's position. */
    readonly eventId?: string;
    readonly eventType?: string;
  };
}[SchemaTopic];

export type Handler = (record: InboundRecord) => Promise<readonly OutboundRecord[]>;

export interface RunnerOptions {
  readonly service: string;
  readonly kafka: Kafka;
  readonly serde: Serde;
  readonly logger: Logger;
  readonly groupId: string;
  readonly topics: readonly TopicName[];
  readonly namespace: string | undefined;
  readonly handler: Handler;
  /**
   * Consume-transform-produce in Kafka transactions, one transactional id per input partition
   * (`<service>.<group>.<topic>.<partition>`): a new owner of a partition fences the previous one,
   * which is the fencing kafkajs's consumer group does not give us. Off: at-least-once.
   */
  readonly transactional: boolean;
  readonly retry: { readonly initialMs: number; readonly maxMs: number };
  readonly sessionTimeoutMs?: number;
  readonly partitionsConsumedConcurrently?: number;
  /** Called when the consumer has crashed and will not restart: the process must exit. */
  readonly onFatal: (err: CmsError) => void;
  /**
   * Largest number of inputs in one transaction (default 500), or a limit per input topic: a handler
   * with slow side effects (SMTP) keeps its transactions, and the gaps between heartbeats, short.
   */
  readonly maxInputsPerTransaction?: number | ((topic: TopicName) => number);
  /** For services that keep state outside Kafka (Redis): see StateHooks. */
  readonly state?: StateHooks;
}

/**
 * How a stateful service keeps its state consistent with Kafka. State changes are staged while a batch
 * is handled and persisted only after its transaction commits, with the last applied offset. Before
 * each batch the runner asks whether the stored state is behind the partition (a crash between commit
 * and persist) or gone (Redis lost); if so it replays the partition from the offset given, calling
 * `replay` (apply, produce nothing: those outputs were committed long ago), then carries on.
 */
export interface StateHooks {
  /**
   * The offset to replay this partition from, or undefined when the stored state is current.
   * `persistedHere` is the last offset this process persisted for the partition (undefined after a new
   * assignment): offsets between it and `firstOffset` are transaction markers, not missed records.
   */
  check(topic: string, partition: number, firstOffset: string, persistedHere: string | undefined): Promise<string | undefined>;
  /** Applies a record to state without producing anything. */
  replay(record: InboundRecord): Promise<void>;
  /** Persists what was staged for this partition, up to and including `lastOffset`. */
  persist(topic: string, partition: number, lastOffset: string): Promise<void>;
  /** Drops what was staged for this partition since the last persist (the transaction did not commit). */
  discard(topic: string, partition: number): void;
}

export interface RunnerStats {
  processed: number;
  /** Redelivered records this process had already committed, not applied again. */
  skipped: number;
  replayed: number;
  produced: number;
  deadLettered: number;
  retries: number;
  transactions: number;
}

export interface KafkaRunner {
  start(): Promise<void>;
  /**
   * Replays a partition this instance owns from its low watermark up to its committed offset through
   * `state.replay`, e.g. to rebuild lost state other partitions depend on. Returns false when the
   * partition is not assigned here or has nothing to replay.
   */
  rebuild(topic: TopicName, partition: number): Promise<boolean>;
  /** Ordered, idempotent: stop consuming, finish the in-flight batch, commit, close producers. */
  stop(): Promise<void>;
  readonly stats: Readonly<RunnerStats>;
}

function toCmsError(err: unknown): CmsError {
  if (isCmsError(err)) return err;
  const e = err as { name?: string; retriable?: boolean; message?: string };
  if (typeof e?.name === 'string' && e.name.startsWith('KafkaJS')) {
    return new CmsError(e.retriable === false ? 'CMS_INTERNAL' : 'CMS_KAFKA_UNAVAILABLE', `kafka: ${e.message ?? e.name}`, { cause: err });
  }
  return new CmsError('CMS_INTERNAL', `unexpected error: ${messageOf(err)}`, { cause: err });
}

/**
 * Idempotent producers must not give up on a retriable error (kafkajs warns that limiting retries can
 * break exactly-once): retry for as long as it takes, at most 30 s apart.
 */
const PRODUCER_RETRY = { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 30_000 };

/**
 * kafkajs does not retry AddOffsetsToTxn (and sometimes EndTxn) when the coordinator answers
 * CONCURRENT_TRANSACTIONS, which it does while it is still writing the markers of the previous
 * transaction (kafkajs issues #430, #1068). The Java client retries these with a short backoff; so do we.
 */
async function retryConcurrentTransactions<T>(operation: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await operation();
    } catch (err) {
      const type = (err as { type?: unknown }).type;
      if (type !== 'CONCURRENT_TRANSACTIONS' || attempt >= 12) throw err;
      await new Promise((r) => setTimeout(r, Math.min(20 * 2 ** attempt, 1_000)));
    }
  }
}

const clip = (text: string, max = 500): string => (text.length > max ? `${text.slice(0, max)}...` : text);

/**
 * Runs a handler over input topics with eachBatch:
 * - decode failures and non-retryable handler errors -> dead-letter record (original bytes, reason
 *   headers, in the same transaction as the offset), and the partition keeps flowing;
 * - retryable errors (Redis, registry, broker down) -> commit what is done, back off, retry the same
 *   record; never dead-lettered;
 * - a consumer crash that kafkajs will not restart -> onFatal, so no live-looking dead process.
 */
export function createKafkaRunner(opts: RunnerOptions): KafkaRunner {
  const log = opts.logger.child({ component: 'runner', groupId: opts.groupId });
  const stats: RunnerStats = { processed: 0, skipped: 0, replayed: 0, produced: 0, deadLettered: 0, retries: 0, transactions: 0 };
  /** Partitions being replayed, with the offset where normal processing resumes. */
  const restoring = new Map<string, string>();
  /** Retry attempts per partition while it is paused after a retryable failure. */
  const attempts = new Map<string, number>();
  const assigned = new Set<string>();
  /** Last offset whose state this process persisted, per partition. */
  const persistedHere = new Map<string, string>();
  const resumeTimers = new Set<NodeJS.Timeout>();
  let admin: Admin | undefined;
  const stopping = new AbortController();
  const producers = new Map<string, Promise<Producer>>();
  const deadLetterTopic = qualify(TOPICS.deadLetter, opts.namespace);
  const limit = opts.maxInputsPerTransaction ?? 500;
  const maxInputsOf = (fullTopic: string): number => {
    if (typeof limit === 'number') return limit;
    const base = unqualify(fullTopic, opts.namespace);
    return base ? limit(base) : 500;
  };
  let consumer: Consumer | undefined;
  let plainProducer: Promise<Producer> | undefined;
  let stopPromise: Promise<void> | undefined;

  const transactionalId = (topic: string, partition: number): string => `${opts.service}.${opts.groupId}.${topic}.${partition}`;

  const producerFor = (topic: string, partition: number): Promise<Producer> => {
    if (!opts.transactional) {
      plainProducer ??= (async () => {
        const p = opts.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner, retry: PRODUCER_RETRY });
        await p.connect();
        return p;
      })();
      return plainProducer;
    }
    const id = transactionalId(topic, partition);
    let producer = producers.get(id);
    if (!producer) {
      producer = (async () => {
        const p = opts.kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, transactionTimeout: 60_000, createPartitioner: Partitioners.DefaultPartitioner, retry: PRODUCER_RETRY });
        await p.connect();
        log.debug({ [LOG_FIELDS.transactionalId]: id }, 'transactional producer ready');
        return p;
      })();
      producers.set(id, producer);
      producer.catch(() => producers.delete(id));
    }
    return producer;
  };

  const dropProducer = async (topic: string, partition: number): Promise<void> => {
    const id = transactionalId(topic, partition);
    const producer = producers.get(id);
    producers.delete(id);
    if (producer) await (await producer.catch(() => undefined))?.disconnect().catch(() => undefined);
  };

  const deadLetter = (topic: string, partition: number, message: KafkaMessage, err: CmsError): Message => {
    const headers: IHeaders = { ...(message.headers ?? {}) };
    headers[DEAD_LETTER_HEADERS.sourceTopic] = topic;
    headers[DEAD_LETTER_HEADERS.sourcePartition] = String(partition);
    headers[DEAD_LETTER_HEADERS.sourceOffset] = message.offset;
    headers[DEAD_LETTER_HEADERS.errorCode] = err.code;
    headers[DEAD_LETTER_HEADERS.errorMessage] = clip(err.message);
    headers[DEAD_LETTER_HEADERS.service] = opts.service;
    headers[DEAD_LETTER_HEADERS.failedAt] = new Date().toISOString();
    return { key: message.key, value: message.value, headers };
  };

  /** Decodes a record; undecodable input is a non-retryable CmsError, registry trouble a retryable one. */
  const decodeRecord = async (topic: string, partition: number, message: KafkaMessage): Promise<InboundRecord> => {
    const decoded = await opts.serde.decode(topic, message.value);
    const headers = readStandardHeaders(message.headers, () => deterministicId(topic, partition, message.offset));
    return {
      topic: decoded.topic,
      partition,
      offset: message.offset,
      key: message.key?.toString('utf8') ?? null,
      value: decoded.value,
      headers,
      timestamp: message.timestamp,
      raw: message.value ?? Buffer.alloc(0),
    } as InboundRecord;
  };

  /** Decode + handle one record. Returns the records to produce; throws only retryable errors. */
  const processOne = async (topic: string, partition: number, message: KafkaMessage): Promise<{ topic: string; message: Message }[]> => {
    let record: InboundRecord;
    try {
      record = await decodeRecord(topic, partition, message);
    } catch (err) {
      const e = toCmsError(err);
      if (e.retryable) throw e;
      return [{ topic: deadLetterTopic, message: deadLetter(topic, partition, message, e) }];
    }
    const headers = record.headers;
    let outputs: readonly OutboundRecord[];
    try {
      outputs = await opts.handler(record);
    } catch (err) {
      const e = toCmsError(err);
      if (e.retryable) throw e;
      log.warn({ [LOG_FIELDS.code]: e.code, [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.offset]: message.offset, [LOG_FIELDS.eventId]: headers.eventId, err: e }, 'record dead-lettered');
      return [{ topic: deadLetterTopic, message: deadLetter(topic, partition, message, e) }];
    }
    const producedAt = new Date().toISOString();
    return Promise.all(
      outputs.map(async (out, i) => ({
        topic: qualify(out.topic, opts.namespace),
        message: {
          key: out.key,
          value: await opts.serde.encode(out.topic, out.value as never),
          headers: standardHeaders({
            eventId: out.eventId ?? deterministicId(opts.service, topic, partition, message.offset, i),
            causationId: headers.eventId,
            correlationId: headers.correlationId ?? headers.eventId,
            producedAt,
            eventType: out.eventType ?? (out.value as { payload?: { type?: string } }).payload?.type ?? out.topic,
            producer: opts.service,
          }),
        },
      })),
    );
  };

  /** One request for all topics: one AddPartitionsToTxn per transaction, however many topics it writes. */
  const send = async (producerOrTx: Pick<Producer, 'sendBatch'>, outputs: readonly { topic: string; message: Message }[]): Promise<void> => {
    if (outputs.length === 0) return;
    const byTopic = new Map<string, Message[]>();
    for (const o of outputs) {
      const list = byTopic.get(o.topic);
      if (list) list.push(o.message);
      else byTopic.set(o.topic, [o.message]);
    }
    await producerOrTx.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
  };


  const key = (topic: string, partition: number): string => `${topic}:${partition}`;

  /** After a failed commit: a fresh producer (same transactional id) closes the old transaction; did it commit? */
  const committedAnyway = async (topic: string, partition: number, next: string): Promise<boolean> => {
    try {
      await producerFor(topic, partition);
      admin ??= opts.kafka.admin();
      await admin.connect();
      const [offsets] = await admin.fetchOffsets({ groupId: opts.groupId, topics: [topic] });
      const committed = offsets?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
      return BigInt(committed) >= BigInt(next);
    } catch {
      return false;
    }
  };

  /** Pause a partition after a retryable failure and come back to `offset` after a backoff. */
  const pauseAndRetry = (topic: string, partition: number, offset: string, e: CmsError): void => {
    const tp = key(topic, partition);
    // A retryable error may say how long to wait (`retryAfterMs`: work scheduled for later, a server's
    // retry-after): that is waited for as stated, and is not a failure counted towards the backoff.
    const waitMs = e.context['retryAfterMs'];
    let delayMs: number;
    if (typeof waitMs === 'number') {
      delayMs = Math.max(1, waitMs);
      log.debug({ [LOG_FIELDS.code]: e.code, [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.offset]: offset, [LOG_FIELDS.delayMs]: delayMs }, 'partition paused for the time the record asked for');
    } else {
      const attempt = attempts.get(tp) ?? 0;
      attempts.set(tp, attempt + 1);
      stats.retries += 1;
      delayMs = backoffDelay(attempt, opts.retry.initialMs, opts.retry.maxMs);
      log.warn({ [LOG_FIELDS.code]: e.code, [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.offset]: offset, [LOG_FIELDS.attempt]: attempt + 1, [LOG_FIELDS.delayMs]: delayMs, err: e }, 'retryable failure: partition paused, retrying after backoff');
    }
    const c = consumer;
    if (!c || stopping.signal.aborted) return;
    c.pause([{ topic, partitions: [partition] }]);
    c.seek({ topic, partition, offset });
    const timer = setTimeout(() => {
      resumeTimers.delete(timer);
      if (!stopping.signal.aborted) c.resume([{ topic, partitions: [partition] }]);
    }, delayMs);
    resumeTimers.add(timer);
  };

  const eachBatch = async (payload: EachBatchPayload): Promise<void> => {
    const { batch } = payload;
    const heartbeat = (): Promise<void> => payload.heartbeat();
    const isRunning = (): boolean => payload.isRunning();
    const isStale = (): boolean => payload.isStale();
    const { topic, partition } = batch;
    const tp = key(topic, partition);
    const first = batch.messages[0];
    if (!first) return;
    let pending: { topic: string; message: Message }[] = [];
    let lastOffset: string | undefined;
    /** Offset of the first input not yet committed: where to come back to if the commit fails. */
    let pendingFrom: string | undefined;
    let inputs = 0;
    const maxInputs = maxInputsOf(topic);

    /**
     * Commits what is pending (outputs + offset, one transaction) and then persists state. Returns
     * false when the commit failed: the transaction is aborted, staged state dropped, and the partition
     * paused and rewound to the first uncommitted input, to be processed again from committed state.
     */
    const flush = async (): Promise<boolean> => {
      if (lastOffset === undefined) return true;
      const next = (BigInt(lastOffset) + 1n).toString();
      try {
        if (opts.transactional) {
          const producer = await producerFor(topic, partition);
          const tx = await producer.transaction();
          try {
            await send(tx, pending);
            await retryConcurrentTransactions(() => tx.sendOffsets({ consumerGroupId: opts.groupId, topics: [{ topic, partitions: [{ partition, offset: next }] }] }));
            await retryConcurrentTransactions(() => tx.commit());
          } catch (err) {
            await retryConcurrentTransactions(() => tx.abort()).catch(() => undefined);
            // A fenced or broken producer is not reused: the next attempt makes a fresh one, whose
            // initialisation also finishes or aborts anything this one left open.
            await dropProducer(topic, partition);
            // A failed commit can still have committed (the coordinator may have written the marker
            // before the client saw an error). Outputs and offsets commit together, so the committed
            // offset tells which it was, once a fresh producer has closed the old transaction.
            if (!(await committedAnyway(topic, partition, next))) throw err;
            log.warn({ [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.offset]: lastOffset, err: toCmsError(err) }, 'commit reported an error but the transaction committed');
          }
          stats.transactions += 1;
        } else {
          await send(await producerFor(topic, partition), pending);
        }
      } catch (err) {
        opts.state?.discard(topic, partition);
        persistedHere.delete(tp);
        const from = pendingFrom ?? lastOffset;
        pending = [];
        lastOffset = undefined;
        pendingFrom = undefined;
        inputs = 0;
        pauseAndRetry(topic, partition, from, toCmsError(err));
        return false;
      }
      payload.resolveOffset(lastOffset);
      if (!opts.transactional) await payload.commitOffsetsIfNecessary();
      if (opts.state) {
        // Committed in Kafka; if persisting fails the state is behind, which the next check() replays.
        const persisted = lastOffset;
        await opts.state.persist(topic, partition, lastOffset).then(
          () => persistedHere.set(tp, persisted),
          (err: unknown) => {
          persistedHere.delete(tp);
          opts.state?.discard(topic, partition);
          log.warn({ err: toCmsError(err), [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition }, 'state not persisted after commit; it will be replayed');
        });
      }
      stats.processed += inputs;
      stats.produced += pending.length;
      pending = [];
      lastOffset = undefined;
      pendingFrom = undefined;
      inputs = 0;
      await heartbeat();
      return true;
    };

    if (opts.state && !restoring.has(tp)) {
      let from: string | undefined;
      try {
        from = await opts.state.check(topic, partition, first.offset, persistedHere.get(tp));
      } catch (err) {
        const e = toCmsError(err);
        if (!e.retryable) throw e;
        pauseAndRetry(topic, partition, first.offset, e);
        return;
      }
      if (from !== undefined && BigInt(from) < BigInt(first.offset)) {
        log.warn({ [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, from, until: first.offset }, 'state is behind or lost: replaying the partition');
        restoring.set(tp, first.offset);
        consumer?.seek({ topic, partition, offset: from });
        return;
      }
    }

    let lastReplayed: string | undefined;
    for (const message of batch.messages) {
      if (!isRunning() || isStale() || stopping.signal.aborted) break;
      const target = restoring.get(tp);
      if (target !== undefined && opts.state) {
        if (BigInt(message.offset) < BigInt(target)) {
          try {
            await opts.state.replay(await decodeRecord(topic, partition, message));
          } catch (err) {
            const e = toCmsError(err);
            if (e.retryable) {
              if (lastReplayed !== undefined) await opts.state.persist(topic, partition, lastReplayed);
              pauseAndRetry(topic, partition, message.offset, e);
              return;
            }
            // Undecodable or rejected when first seen: it changed no state then, and changes none now.
          }
          lastReplayed = message.offset;
          stats.replayed += 1;
          continue;
        }
        if (lastReplayed !== undefined) {
          await opts.state.persist(topic, partition, lastReplayed);
          persistedHere.set(tp, lastReplayed);
          payload.resolveOffset(lastReplayed);
          lastReplayed = undefined;
        }
        restoring.delete(tp);
        log.info({ [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.offset]: message.offset }, 'replay finished');
      }
      // Already committed and persisted by this process (kafkajs can redeliver a prefetched batch after a
      // seek): applying it again would repeat its outputs against state that already contains it.
      const done = persistedHere.get(tp);
      if (done !== undefined && BigInt(message.offset) <= BigInt(done)) {
        stats.skipped += 1;
        continue;
      }
      let outputs: { topic: string; message: Message }[];
      try {
        outputs = await processOne(topic, partition, message);
      } catch (err) {
        // Keep what is done, then wait for the world to come back; this record is retried, never dead-lettered.
        if (!(await flush())) return;
        opts.state?.discard(topic, partition);
        pauseAndRetry(topic, partition, message.offset, toCmsError(err));
        return;
      }
      attempts.delete(tp);
      stats.deadLettered += outputs.filter((o) => o.topic === deadLetterTopic).length;
      pending.push(...outputs);
      pendingFrom ??= message.offset;
      lastOffset = message.offset;
      inputs += 1;
      if (inputs >= maxInputs && !(await flush())) return;
    }
    if (lastReplayed !== undefined && opts.state) {
      await opts.state.persist(topic, partition, lastReplayed);
      persistedHere.set(tp, lastReplayed);
      payload.resolveOffset(lastReplayed);
      await heartbeat();
    }
    await flush();
  };

  return {
    stats,
    async start() {
      const c = opts.kafka.consumer({
        groupId: opts.groupId,
        sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: 3_000,
        allowAutoTopicCreation: false,
        readUncommitted: false,
        maxWaitTimeInMs: 250,
      });
      consumer = c;
      c.on(c.events.CRASH, ({ payload }) => {
        if (!payload.restart && !stopping.signal.aborted) {
          opts.onFatal(new CmsError('CMS_CONSUMER_CRASHED', `consumer ${opts.groupId} crashed and will not restart: ${messageOf(payload.error)}`, { cause: payload.error }));
        }
      });
      c.on(c.events.GROUP_JOIN, ({ payload }) => {
        // Close transactional producers of partitions we no longer own; their new owner fences them anyway.
        assigned.clear();
        for (const [t, ps] of Object.entries(payload.memberAssignment)) for (const p of ps) assigned.add(key(t, p));
        for (const tp of [...restoring.keys()]) if (!assigned.has(tp)) restoring.delete(tp);
        // After a rebalance, what this process persisted before may have been superseded by another owner.
        persistedHere.clear();
        const owned = new Set(Object.entries(payload.memberAssignment).flatMap(([t, ps]) => ps.map((p) => transactionalId(t, p))));
        for (const id of producers.keys()) {
          if (!owned.has(id)) {
            const producer = producers.get(id);
            producers.delete(id);
            void producer?.then((p) => p.disconnect()).catch(() => undefined);
          }
        }
        log.info({ assignment: payload.memberAssignment }, 'joined group');
      });
      await c.connect();
      await c.subscribe({ topics: opts.topics.map((t) => qualify(t, opts.namespace)), fromBeginning: true });
      await c.run({
        autoCommit: !opts.transactional,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 1,
        eachBatch,
      });
    },
    async rebuild(name, partition) {
      const topic = qualify(name, opts.namespace);
      const tp = key(topic, partition);
      if (!opts.state || !consumer || !assigned.has(tp) || restoring.has(tp)) return false;
      admin ??= opts.kafka.admin();
      await admin.connect();
      const [committed] = await admin.fetchOffsets({ groupId: opts.groupId, topics: [topic] });
      const position = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
      const low = (await admin.fetchTopicOffsets(topic)).find((p) => p.partition === partition)?.low ?? '0';
      if (BigInt(position) <= BigInt(low)) return false;
      log.warn({ [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, from: low, until: position }, 'rebuilding state: replaying the partition');
      restoring.set(tp, position);
      consumer.seek({ topic, partition, offset: low });
      return true;
    },
    stop() {
      stopPromise ??= (async () => {
        stopping.abort();
        for (const timer of resumeTimers) clearTimeout(timer);
        resumeTimers.clear();
        await admin?.disconnect().catch(() => undefined);
        await consumer?.disconnect().catch((err: unknown) => { log.warn({ err }, 'consumer disconnect failed'); });
        const all = [...producers.values(), ...(plainProducer ? [plainProducer] : [])];
        producers.clear();
        await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.disconnect().catch(() => undefined)));
        log.info({ ...stats }, 'runner stopped');
      })();
      return stopPromise;
    },
  };
}

