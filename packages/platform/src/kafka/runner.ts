import { Partitioners, type Admin, type Consumer, type EachBatchPayload, type IHeaders, type Kafka, type KafkaMessage, type Message, type Producer, type RecordMetadata } from 'kafkajs';
import { CmsError, messageOf } from '@cms-router/errors';
import {
  DEAD_LETTER_HEADERS,
  deterministicId,
  qualify,
  readStandardHeaders,
  standardHeaders,
  TOPIC_SPECS,
  TOPICS,
  unqualify,
  UPSTREAM_MAX_BYTES,
  type SchemaTopic,
  type StandardHeaders,
  type TopicName,
  type TopicValue,
} from '@cms-router/events';
import { LOG_FIELDS } from '../log-fields.ts';
import type { ServiceMetrics } from '../ops/metrics.ts';
import type { Logger } from '../logger.ts';
import type { Redis } from '../redis.ts';
import type { Serde } from '../registry.ts';
import { createTaskState, STATE_CONTROL_KEYS, stateLost, type TaskState, type TaskStore } from '../state/task-state.ts';
import { backoffDelay } from './backoff.ts';
import { untilReady } from './client.ts';
import { toCmsError } from './errors.ts';

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

/** Compacted topics an output may delete a key of (a tombstone: `value` null). */
export type TombstoneTopic = 'cms.placements.v1';

/** An output the handler wants produced, in the same transaction as the input's offset. */
export type OutboundRecord = {
  [T in SchemaTopic]: {
    readonly topic: T;
    readonly key: string;
    /** Null only on a compacted topic: a tombstone deletes the key. */
    readonly value: TopicValue[T] | (T extends TombstoneTopic ? null : never);
    /** Defaults to an id derived from the input's coordinates and the output's position. */
    readonly eventId?: string;
    readonly eventType?: string;
    /** An explicit partition (the default is the key's partition, murmur2 like the Java client). */
    readonly partition?: number;
    /** One copy to every partition of the topic (a fact every task of a stage must see), ids suffixed per partition. */
    readonly broadcast?: boolean;
  };
}[SchemaTopic];

export interface HandlerContext {
  /** The state of the input's task. Only for a runner with `state`. */
  readonly store: TaskStore;
}

export type Handler = (record: InboundRecord, ctx: HandlerContext) => Promise<readonly OutboundRecord[]>;

export interface RunnerStateOptions {
  /** Names the stage's state in Redis and in logs, e.g. `router-route`. */
  readonly stage: string;
  /** The compacted changelog topic: one partition per partition of the (single) input topic. */
  readonly changelog: TopicName;
  readonly redis: Redis;
  readonly keyPrefix: string;
  readonly cacheEntries?: number;
  /**
   * The state keys an input will read that can be named from the input alone: the runner reads those of
   * a whole transaction in one round trip before its inputs are handled (TaskState.readAhead).
   */
  readonly keysOf?: (record: InboundRecord) => readonly string[];
}

/** What every consumer of the platform is told: who it is, its group, its topics, its clients. */
export interface ConsumerOptions {
  readonly service: string;
  readonly kafka: Kafka;
  readonly serde: Serde;
  readonly logger: Logger;
  readonly groupId: string;
  readonly topics: readonly TopicName[];
  readonly namespace: string | undefined;
}

export interface RunnerOptions extends ConsumerOptions {
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
  /** Where the runner reports inputs by outcome, commit latency, lag and retries (the service's /metrics). */
  readonly metrics?: ServiceMetrics;
  /**
   * Largest number of inputs in one transaction (default 500), or a limit per input topic: a handler
   * with slow side effects (SMTP) keeps its transactions, and the gaps between heartbeats, short.
   */
  readonly maxInputsPerTransaction?: number | ((topic: TopicName) => number);
  /** Changelog-backed state for a stateful stage (it must consume exactly one topic): see createTaskState. */
  readonly state?: RunnerStateOptions;
  /**
   * Called before the inputs of each transaction are handled, with those inputs decoded (an undecodable
   * one is left out; the handler's turn dead-letters it). A handler whose slow side effects are
   * independent of each other (the notifier's SMTP sends) starts them together here, and each input's
   * handler awaits its own. It must not write state, and what it starts must be safe if the transaction
   * never happens (a rebalance, a crash). A failure here is logged and changes nothing: the handler does
   * the work in its turn.
   */
  readonly prepare?: (records: readonly InboundRecord[], ctx: HandlerContext) => Promise<void>;
}

export interface RunnerStats {
  processed: number;
  produced: number;
  deadLettered: number;
  retries: number;
  transactions: number;
  /** Inputs whose outputs could not be published (too large, refused by the broker) and were dead-lettered as a reference. */
  oversized: number;
}

export interface KafkaRunner {
  start(): Promise<void>;
  /** Ordered, idempotent: stop consuming, finish the in-flight batch, commit, close producers. */
  stop(): Promise<void>;
  readonly stats: Readonly<RunnerStats>;
  /** Partitions assigned to this instance, and whether each task's state is restored (readiness). */
  assignment(): { readonly topic: string; readonly partition: number; readonly ready: boolean }[];
  /** Records behind per assigned input partition, transaction markers not counted (the /metrics lag). */
  lag(): Promise<{ readonly topic: string; readonly partition: number; readonly records: number }[]>;
  /** Whether the consumer has joined its group (received an assignment, possibly empty). */
  joined(): boolean;
  readonly taskState: TaskState | undefined;
}

/**
 * Idempotent producers must not give up on a retriable error (kafkajs warns that limiting retries can
 * break exactly-once): retry for as long as it takes, at most 30 s apart. The first retry comes after
 * 20 ms, not kafkajs's 300: a partition's next transaction often meets CONCURRENT_TRANSACTIONS while
 * the coordinator still writes the last one's markers (a few ms), and the Java client retries that after
 * 20 ms too. With 300 ms, consecutive transactions of a partition stalled (sr-events: 725 -> 5,597 events/s).
 */
const PRODUCER_RETRY = { initialRetryTime: 20, retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 30_000 };

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

/** The consumer's heartbeat interval, and how often a batch that waits on slow side effects heartbeats. */
const HEARTBEAT_INTERVAL_MS = 3_000;
const roundTimings = (t: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.round(v * 10) / 10]));
const clip = (text: string, max = 500): string => (text.length > max ? `${text.slice(0, max)}...` : text);

/** What a dead-letter reference keeps of a record too large to carry on: enough to find and inspect it. */
const REFERENCE_COPY_BYTES = 64 * 1024;
/** Per-record overhead Kafka adds to key + value + headers (record batch framing), with room to spare. */
const RECORD_OVERHEAD = 512;

type Pending = { topic: string; message: Message };

/**
 * Runs a handler over input topics with eachBatch:
 * - decode failures and non-retryable handler errors -> dead-letter record (original bytes, reason
 *   headers, in the same transaction as the offset), the input's state writes dropped, and the
 *   partition keeps flowing;
 * - an output the broker cannot take (too large, or refused for good) -> the input is dead-lettered as a
 *   reference (coordinates and a truncated copy), found by committing the batch one input at a time;
 * - retryable errors (Redis, registry, broker down) -> commit what is done, back off with growing delays
 *   (reset only by a commit), retry the same record; never dead-lettered;
 * - a consumer crash that kafkajs will not restart -> onFatal, so no live-looking dead process.
 * With `state`, each partition is a task whose state is written to a compacted changelog in the same
 * transaction and to Redis after it (createTaskState); a task is restored before it is used when this
 * process takes it over, and whenever Redis lost it.
 */
export function createKafkaRunner(opts: RunnerOptions): KafkaRunner {
  const log = opts.logger.child({ component: 'runner', groupId: opts.groupId });
  const stats: RunnerStats = { processed: 0, produced: 0, deadLettered: 0, retries: 0, transactions: 0, oversized: 0 };
  /** Retry attempts per partition since its last successful commit. */
  const attempts = new Map<string, number>();
  const assigned = new Set<string>();
  /** Partitions whose next transactions hold one input each, to isolate an output the broker refuses. */
  const isolating = new Set<string>();
  const resumeTimers = new Set<NodeJS.Timeout>();
  let admin: Admin | undefined;
  const stopping = new AbortController();
  const producers = new Map<string, Promise<Producer>>();
  const deadLetterTopic = qualify(TOPICS.deadLetter, opts.namespace);
  const rejectionsTopic = qualify(TOPICS.rejections, opts.namespace);
  const metrics = opts.metrics?.runner(opts.groupId);
  let joined = false;
  /** For lag: per partition, a position and end seen together, and how many fetches had completed then. */
  const observed = new Map<string, { next: bigint; high: bigint; fetches: number }>();
  /** Fetches the consumer has completed (kafkajs's FETCH event), and the partitions in a batch now. */
  let fetches = 0;
  const inBatch = new Set<string>();
  /** Partitions paused for a backoff. */
  const pausedTps = new Set<string>();
  const changelogTopic = opts.state ? qualify(opts.state.changelog, opts.namespace) : undefined;
  if (opts.state && opts.topics.length !== 1) throw new CmsError('CMS_CONFIG_INVALID', `a stateful runner consumes exactly one topic (its task = its partition); ${opts.groupId} has ${opts.topics.length}`);
  const taskState = opts.state
    ? createTaskState({ stage: opts.state.stage, changelogTopic: changelogTopic ?? '', redis: opts.state.redis, keyPrefix: opts.state.keyPrefix, kafka: opts.kafka, logger: opts.logger, cacheEntries: opts.state.cacheEntries })
    : undefined;
  const limit = opts.maxInputsPerTransaction ?? 500;
  const maxInputsOf = (fullTopic: string): number => {
    if (typeof limit === 'number') return limit;
    const base = unqualify(fullTopic, opts.namespace);
    return base ? limit(base) : 500;
  };
  const maxBytes = new Map<string, number>();
  /** A topic's per-batch limit, asked for every output: looked up once per topic. */
  const maxBytesOf = (fullTopic: string): number => {
    let n = maxBytes.get(fullTopic);
    if (n === undefined) {
      const base = unqualify(fullTopic, opts.namespace);
      n = (base ? TOPIC_SPECS[base].maxMessageBytes : undefined) ?? UPSTREAM_MAX_BYTES;
      maxBytes.set(fullTopic, n);
    }
    return n;
  };
  let consumer: Consumer | undefined;
  let plainProducer: Promise<Producer> | undefined;
  let stopPromise: Promise<void> | undefined;
  const partitionCounts = new Map<string, Promise<number>>();

  const transactionalId = (topic: string, partition: number): string => `${opts.service}.${opts.groupId}.${topic}.${partition}`;
  const connectedAdmin = async (): Promise<Admin> => {
    admin ??= opts.kafka.admin();
    await admin.connect();
    return admin;
  };
  const partitionsOf = (fullTopic: string): Promise<number> => {
    let count = partitionCounts.get(fullTopic);
    if (!count) {
      count = (async () => {
        const n = (await (await connectedAdmin()).fetchTopicMetadata({ topics: [fullTopic] })).topics[0]?.partitions.length ?? 0;
        // A broadcast to no partition would lose the record: wait for metadata that names them.
        if (n === 0) throw new CmsError('CMS_KAFKA_UNAVAILABLE', `no partitions of ${fullTopic} in the metadata yet`);
        return n;
      })();
      partitionCounts.set(fullTopic, count);
      count.catch(() => partitionCounts.delete(fullTopic));
    }
    return count;
  };

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

  const deadLetter = (topic: string, partition: number, message: KafkaMessage, err: CmsError, reference = false): Message => {
    const headers: IHeaders = { ...(message.headers ?? {}) };
    headers[DEAD_LETTER_HEADERS.sourceTopic] = topic;
    headers[DEAD_LETTER_HEADERS.sourcePartition] = String(partition);
    headers[DEAD_LETTER_HEADERS.sourceOffset] = message.offset;
    headers[DEAD_LETTER_HEADERS.errorCode] = err.code;
    headers[DEAD_LETTER_HEADERS.errorMessage] = clip(err.message);
    headers[DEAD_LETTER_HEADERS.service] = opts.service;
    headers[DEAD_LETTER_HEADERS.failedAt] = new Date().toISOString();
    const value = message.value ?? null;
    // A record too large to carry on whole is kept as a reference: its coordinates plus a truncated copy.
    const truncate = reference || (value !== null && value.length + RECORD_OVERHEAD > maxBytesOf(deadLetterTopic));
    if (truncate) {
      headers[DEAD_LETTER_HEADERS.reference] = 'true';
      headers[DEAD_LETTER_HEADERS.originalBytes] = String(value?.length ?? 0);
    }
    return { key: message.key, value: truncate && value ? value.subarray(0, REFERENCE_COPY_BYTES) : value, headers };
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

  const sizeOf = (m: Message): number => {
    let n = RECORD_OVERHEAD + (m.key ? Buffer.byteLength(m.key) : 0) + (m.value ? Buffer.byteLength(m.value) : 0);
    for (const [k, v] of Object.entries(m.headers ?? {})) n += k.length + (v === undefined ? 0 : Buffer.byteLength(Array.isArray(v) ? v.join('') : (v)));
    return n;
  };

  /** Decode + handle one record. Returns the records to produce; throws only retryable errors. */
  const processOne = async (topic: string, partition: number, message: KafkaMessage, decoded?: InboundRecord): Promise<Pending[]> => {
    const store = taskState?.store(partition);
    // A rebuild to a time: below the boundary the input only rebuilds state; what it caused was published the first time.
    const quiet = store ? await quietReplay(store, partition, message.offset) : false;
    let record: InboundRecord;
    try {
      record = decoded ?? (await decodeRecord(topic, partition, message));
    } catch (err) {
      const e = toCmsError(err);
      if (e.retryable) throw e;
      if (quiet) return [];
      return [{ topic: deadLetterTopic, message: deadLetter(topic, partition, message, e) }];
    }
    const headers = record.headers;
    let outputs: readonly OutboundRecord[];
    try {
      outputs = await opts.handler(record, { store: store ?? noStore });
    } catch (err) {
      taskState?.dropInput(partition);
      const e = toCmsError(err);
      if (e.retryable) throw e;
      if (quiet) return [];
      log.warn({ [LOG_FIELDS.code]: e.code, [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.offset]: message.offset, [LOG_FIELDS.eventId]: headers.eventId, [LOG_FIELDS.correlationId]: headers.correlationId ?? headers.eventId, err: e }, 'record dead-lettered');
      return [{ topic: deadLetterTopic, message: deadLetter(topic, partition, message, e) }];
    }
    if (quiet) {
      taskState?.keepInput(partition);
      return [];
    }
    const producedAt = new Date().toISOString();
    const pending: Pending[] = [];
    try {
      let i = 0;
      for (const out of outputs) {
        const full = qualify(out.topic, opts.namespace);
        const value = out.value === null ? null : await opts.serde.encode(out.topic, out.value);
        const baseId = out.eventId ?? deterministicId(opts.service, topic, partition, message.offset, i);
        i += 1;
        const copy = (id: string, p: number | undefined): Pending => ({
          topic: full,
          message: {
            key: out.key,
            value,
            ...(p === undefined ? {} : { partition: p }),
            headers: standardHeaders({
              eventId: id,
              causationId: headers.eventId,
              correlationId: headers.correlationId ?? headers.eventId,
              producedAt,
              eventType: out.eventType ?? (out.value as { payload?: { type?: string } } | null)?.payload?.type ?? out.topic,
              producer: opts.service,
            }),
          },
        });
        if (out.broadcast) {
          const count = await partitionsOf(full);
          for (let p = 0; p < count; p += 1) pending.push(copy(`${baseId}:p${p}`, p));
        } else pending.push(copy(baseId, out.partition));
      }
    } catch (err) {
      taskState?.dropInput(partition);
      const e = toCmsError(err);
      if (e.retryable) throw e;
      return [{ topic: deadLetterTopic, message: deadLetter(topic, partition, message, e) }];
    }
    const tooLarge = pending.find((p) => sizeOf(p.message) > maxBytesOf(p.topic));
    if (tooLarge) {
      taskState?.dropInput(partition);
      stats.oversized += 1;
      const e = new CmsError('CMS_RECORD_TOO_LARGE', `an output for ${unqualify(tooLarge.topic, opts.namespace) ?? tooLarge.topic} would be ${sizeOf(tooLarge.message)} bytes, over the topic's limit of ${maxBytesOf(tooLarge.topic)}`, { context: { bytes: sizeOf(tooLarge.message) } });
      log.warn({ [LOG_FIELDS.code]: e.code, [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.offset]: message.offset }, 'record dead-lettered as a reference: its outputs are too large to publish');
      return [{ topic: deadLetterTopic, message: deadLetter(topic, partition, message, e, true) }];
    }
    taskState?.keepInput(partition);
    return pending;
  };

  /**
   * One request for all topics (one AddPartitionsToTxn per transaction, however many topics it writes),
   * split where needed so that no request carries more for one partition than its topic accepts: the
   * broker's limit is per record batch, and kafkajs sends one batch per partition per request. Without the
   * split, a transaction of a few hundred inputs whose state documents are a few KiB each was refused as a
   * whole, and the partition fell back to one input per transaction to look for a record that was never too
   * large (the route stage: 5,283 transactions for 40,563 inputs; with the split, 125).
   */
  const send = async (producerOrTx: Pick<Producer, 'sendBatch'>, outputs: readonly Pending[]): Promise<RecordMetadata[]> => {
    if (outputs.length === 0) return [];
    // The smallest limit among the topics written: a request within it is within every partition's.
    const budget = Math.min(...[...new Set(outputs.map((o) => o.topic))].map(maxBytesOf));
    const requests: Pending[][] = [];
    let current: Pending[] = [];
    let bytes = 0;
    for (const o of outputs) {
      const size = sizeOf(o.message);
      if (current.length > 0 && bytes + size > budget) {
        requests.push(current);
        current = [];
        bytes = 0;
      }
      current.push(o);
      bytes += size;
    }
    requests.push(current);
    const metadata: RecordMetadata[] = [];
    // In order, one after another: a partition's records keep their order, and its offsets stay contiguous.
    for (const request of requests) {
      const byTopic = new Map<string, Message[]>();
      for (const o of request) {
        const list = byTopic.get(o.topic);
        if (list) list.push(o.message);
        else byTopic.set(o.topic, [o.message]);
      }
      metadata.push(...(await producerOrTx.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 })));
    }
    return metadata;
  };

  const key = (topic: string, partition: number): string => `${topic}:${partition}`;

  /**
   * Partitions whose consumer position is known to follow the committed offset. kafkajs reads committed
   * offsets without KIP-447's require_stable, so a partition taken over while its previous owner's
   * transaction is still completing (a rebalance, a SIGTERM, a broker restart) starts from the offset
   * before that transaction, and would do its inputs again. Before the first batch of a partition, and
   * after any failed commit, the runner therefore opens the partition's transactional producer (which
   * fences the previous owner and waits until its last transaction is committed or aborted), reads the
   * committed offset again, and moves the position there if it differs.
   */
  const positioned = new Set<string>();

  /** The committed offset of a partition once any previous transaction on it is complete; '-1' when none. */
  const settledOffset = async (topic: string, partition: number): Promise<string> => {
    if (opts.transactional) await producerFor(topic, partition);
    const [offsets] = await (await connectedAdmin()).fetchOffsets({ groupId: opts.groupId, topics: [topic] });
    return offsets?.partitions.find((x) => x.partition === partition)?.offset ?? '-1';
  };

  /** Pause a partition after a retryable failure and come back to `offset` after a backoff. */
  const pauseAndRetry = (topic: string, partition: number, offset: string, e: CmsError, immediate = false): void => {
    const tp = key(topic, partition);
    // A retryable error may say how long to wait (`retryAfterMs`: work scheduled for later, a server's
    // retry-after): that is waited for as stated, and is not a failure counted towards the backoff.
    const waitMs = e.context['retryAfterMs'];
    let delayMs: number;
    if (immediate) delayMs = 1;
    else if (typeof waitMs === 'number') {
      delayMs = Math.max(1, waitMs);
      log.debug({ [LOG_FIELDS.code]: e.code, [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.offset]: offset, [LOG_FIELDS.delayMs]: delayMs }, 'partition paused for the time the record asked for');
    } else {
      const attempt = attempts.get(tp) ?? 0;
      attempts.set(tp, attempt + 1);
      stats.retries += 1;
      metrics?.retried(e.code);
      delayMs = backoffDelay(attempt, opts.retry.initialMs, opts.retry.maxMs);
      log.warn({ [LOG_FIELDS.code]: e.code, [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.offset]: offset, [LOG_FIELDS.attempt]: attempt + 1, [LOG_FIELDS.delayMs]: delayMs, err: e }, 'retryable failure: partition paused, retrying after backoff');
    }
    const c = consumer;
    if (!c || stopping.signal.aborted) return;
    c.pause([{ topic, partitions: [partition] }]);
    c.seek({ topic, partition, offset });
    pausedTps.add(tp);
    const timer = setTimeout(() => {
      resumeTimers.delete(timer);
      pausedTps.delete(tp);
      // The consumer may have been replaced after a crash meanwhile: resuming the old one is harmless.
      if (!stopping.signal.aborted && c === consumer) c.resume([{ topic, partitions: [partition] }]);
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
    let pending: Pending[] = [];
    /** The inputs of the open transaction, to dead-letter one that the broker refuses. */
    let inputs: KafkaMessage[] = [];
    let lastOffset: string | undefined;
    const maxInputs = (): number => (isolating.has(tp) ? 1 : maxInputsOf(topic));
    let referenceFailed = false;
    /** When the open transaction's first input was taken up. */
    let handleStarted = performance.now();

    if (!positioned.has(tp)) {
      try {
        const committed = await settledOffset(topic, partition);
        positioned.add(tp);
        if (committed !== '-1' && committed !== first.offset) {
          // Ahead: a transaction of the previous owner (or of a failed attempt) committed meanwhile, and its
          // inputs would otherwise be done twice. Behind: usually only a transaction marker lies between.
          const ahead = BigInt(committed) > BigInt(first.offset);
          log[ahead ? 'info' : 'debug']({ [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.offset]: first.offset, committed }, ahead ? 'inputs already committed by a transaction that completed meanwhile: the position moves past them' : 'position moved back to the committed offset');
          taskState?.unverify(partition);
          consumer?.seek({ topic, partition, offset: committed });
          return;
        }
      } catch (err) {
        pauseAndRetry(topic, partition, first.offset, toCmsError(err));
        return;
      }
    }

    // A task's state must be the committed one before anything reads it: restore it on first use here,
    // and whenever Redis lost it (its marker gone), without replaying history.
    if (taskState) {
      try {
        if (!taskState.isVerified(partition) || !(await taskState.intact(partition))) {
          await taskState.verify(partition);
        }
      } catch (err) {
        const e = toCmsError(err);
        pauseAndRetry(topic, partition, first.offset, e.retryable ? e : new CmsError('CMS_STATE_REBUILDING', e.message, { cause: err }));
        return;
      }
    }

    /**
     * Commits what is pending (outputs + changelog + offset, one transaction) and then persists state.
     * Returns false when the commit failed: the transaction is aborted, staged state dropped, and the
     * partition paused and rewound to the first uncommitted input, to be processed again.
     */
    const flush = async (): Promise<boolean> => {
      if (lastOffset === undefined) return true;
      const next = (BigInt(lastOffset) + 1n).toString();
      const from = inputs[0]?.offset ?? lastOffset;
      const writes = taskState?.writes(partition) ?? [];
      const changelog: Pending[] = writes.map((w) => ({ topic: changelogTopic ?? '', message: { key: w.key, value: w.value, partition } }));
      let metadata: RecordMetadata[] = [];
      const started = performance.now();
      /** Where a transaction's time goes (debug log): handling its inputs, the produce requests, offsets, the commit. */
      const timings = { handleMs: started - handleStarted, sendMs: 0, offsetsMs: 0, commitMs: 0, persistMs: 0 };
      try {
        // State read from a Redis that vanished during the batch must not be committed.
        if (taskState && !(await taskState.intact(partition))) throw stateLost(partition);
        if (opts.transactional) {
          const producer = await producerFor(topic, partition);
          const tx = await producer.transaction();
          try {
            let mark = performance.now();
            metadata = await send(tx, [...pending, ...changelog]);
            timings.sendMs = performance.now() - mark;
            mark = performance.now();
            await retryConcurrentTransactions(() => tx.sendOffsets({ consumerGroupId: opts.groupId, topics: [{ topic, partitions: [{ partition, offset: next }] }] }));
            timings.offsetsMs = performance.now() - mark;
            mark = performance.now();
            await retryConcurrentTransactions(() => tx.commit());
            timings.commitMs = performance.now() - mark;
          } catch (err) {
            await retryConcurrentTransactions(() => tx.abort()).catch(() => undefined);
            // A fenced or broken producer is not reused: the next attempt makes a fresh one, whose
            // initialisation also finishes or aborts anything this one left open. A failed commit can
            // still have committed (the coordinator wrote the marker before the client saw an error):
            // the position check before the next batch finds out from the committed offset, and the
            // task's state is verified against its changelog.
            await dropProducer(topic, partition);
            positioned.delete(tp);
            taskState?.unverify(partition);
            throw err;
          }
          stats.transactions += 1;
        } else {
          await send(await producerFor(topic, partition), pending);
        }
      } catch (err) {
        taskState?.discard(partition);
        const e = toCmsError(err);
        const count = inputs.length;
        const refused = inputs;
        pending = [];
        inputs = [];
        lastOffset = undefined;
        // Only a broker's refusal of a record for good is isolated and dead-lettered; anything else in a
        // commit (the cluster away, a bug in a client) is waited out: the inputs are retried, never lost.
        if (e.code === 'CMS_RECORD_TOO_LARGE') {
          // The broker refused an output for good (too large, invalid): find the input, one per transaction.
          if (count > 1 || !refused[0]) {
            isolating.add(tp);
            log.warn({ [LOG_FIELDS.code]: e.code, [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.offset]: from, err: e }, 'the broker refused a transaction for good: committing its inputs one at a time to find the one it refuses');
            pauseAndRetry(topic, partition, from, e, true);
            return false;
          }
          const poison = refused[0];
          if (referenceFailed) {
            // Even the reference was refused: wait and try again rather than lose the record.
            referenceFailed = false;
            pauseAndRetry(topic, partition, poison.offset, new CmsError('CMS_KAFKA_UNAVAILABLE', `the broker refused the dead-letter reference too: ${e.message}`));
            return false;
          }
          referenceFailed = true;
          stats.oversized += 1;
          log.warn({ [LOG_FIELDS.code]: e.code, [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.offset]: poison.offset, err: e }, 'record dead-lettered as a reference: the broker refused its outputs');
          pending = [{ topic: deadLetterTopic, message: deadLetter(topic, partition, poison, new CmsError('CMS_RECORD_TOO_LARGE', `the broker refused this record's outputs: ${e.message}`), true) }];
          inputs = [poison];
          lastOffset = poison.offset;
          stats.deadLettered += 1;
          return flush();
        }
        pauseAndRetry(topic, partition, from, e);
        return false;
      }
      payload.resolveOffset(lastOffset);
      if (!opts.transactional) await payload.commitOffsetsIfNecessary();
      attempts.delete(tp);
      referenceFailed = false;
      const persisting = performance.now();
      if (taskState) {
        const written = metadata.filter((m) => m.topicName === changelogTopic && m.partition === partition);
        const base = written.reduce<bigint | undefined>((a, m) => (m.baseOffset === undefined ? a : a === undefined || BigInt(m.baseOffset) < a ? BigInt(m.baseOffset) : a), undefined);
        const last = base === undefined ? undefined : (base + BigInt(changelog.length) - 1n).toString();
        // Committed in Kafka; if Redis refuses or fails, the task is restored from the changelog before its next batch.
        await taskState.persist(partition, last).catch((err: unknown) => {
          taskState.unverify(partition);
          taskState.discard(partition);
          log.warn({ err: toCmsError(err), [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition }, 'state not written to Redis after the commit; it is restored from the changelog');
        });
      }
      timings.persistMs = performance.now() - persisting;
      if (log.isLevelEnabled('debug')) {
        log.debug({ [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition, [LOG_FIELDS.count]: inputs.length, [LOG_FIELDS.outputs]: pending.length, [LOG_FIELDS.stateWrites]: changelog.length, [LOG_FIELDS.timings]: roundTimings(timings) }, 'transaction committed');
      }
      stats.processed += inputs.length;
      stats.produced += pending.length;
      if (metrics) {
        let rejections = 0;
        let deadLetters = 0;
        for (const o of pending) {
          if (o.topic === rejectionsTopic) rejections += 1;
          else if (o.topic === deadLetterTopic) deadLetters += 1;
        }
        // Per input, one outcome: an input's rejection or dead letter is its outcome; the rest were handled.
        metrics.committed(unqualify(topic, opts.namespace) ?? topic, { outputs: Math.max(0, inputs.length - rejections - deadLetters), rejections, deadLetters }, (performance.now() - started) / 1000);
      }
      observed.set(tp, { next: BigInt(next), high: BigInt(batch.highWatermark), fetches });
      pending = [];
      inputs = [];
      lastOffset = undefined;
      await heartbeat();
      return true;
    };

    /** Inputs decoded for `prepare`, handed to their handler's turn so that none is decoded twice. */
    const prepared = new Map<string, InboundRecord>();
    const keysOf = opts.state?.keysOf;
    const prepareFrom = async (index: number): Promise<void> => {
      if (!opts.prepare && !keysOf) return;
      prepared.clear();
      const records: InboundRecord[] = [];
      for (const m of batch.messages.slice(index, index + maxInputs())) {
        try {
          const r = await decodeRecord(topic, partition, m);
          prepared.set(m.offset, r);
          records.push(r);
        } catch (err) {
          // Undecodable: its own turn dead-letters it. The registry away: the turns wait for it.
          if (toCmsError(err).retryable) break;
        }
      }
      if (keysOf && taskState) {
        // A failure here costs only the round trips it would have saved: each read is made in its turn.
        await taskState.readAhead(partition, records.flatMap(keysOf)).catch((err: unknown) => {
          log.debug({ err: toCmsError(err), [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition }, 'state not read ahead; each input reads its own');
        });
      }
      if (!opts.prepare) return;
      try {
        await opts.prepare(records, { store: taskState?.store(partition) ?? noStore });
      } catch (err) {
        log.warn({ err: toCmsError(err), [LOG_FIELDS.topic]: topic, [LOG_FIELDS.partition]: partition }, 'prepare failed; each input is handled in its turn');
      }
    };

    const handleBatch = async (): Promise<void> => {
      for (const [index, message] of batch.messages.entries()) {
        if (!isRunning() || isStale() || stopping.signal.aborted) break;
        if (inputs.length === 0) {
          handleStarted = performance.now();
          await prepareFrom(index);
        }
        let outputs: Pending[];
        try {
          outputs = await processOne(topic, partition, message, prepared.get(message.offset));
        } catch (err) {
          // Keep what is done, then wait for the world to come back; this record is retried, never dead-lettered.
          if (!(await flush())) return;
          pauseAndRetry(topic, partition, message.offset, toCmsError(err));
          return;
        }
        stats.deadLettered += outputs.filter((o) => o.topic === deadLetterTopic).length;
        pending.push(...outputs);
        inputs.push(message);
        lastOffset = message.offset;
        if (inputs.length >= maxInputs() && !(await flush())) return;
      }
      if (await flush()) isolating.delete(tp);
    };

    // A handler's slow side effects (SMTP) can outlast the heartbeat interval: keep the membership alive.
    const keepAlive = opts.prepare ? setInterval(() => { heartbeat().catch(() => undefined); }, HEARTBEAT_INTERVAL_MS) : undefined;
    inBatch.add(tp);
    try {
      await handleBatch();
    } finally {
      inBatch.delete(tp);
      if (keepAlive) clearInterval(keepAlive);
    }
  };

  /** Consumer crashes in a row that we restarted ourselves (the backoff between them grows). */
  let crashes = 0;

  /** Creates, connects and runs the consumer; again after a crash kafkajs does not restart from. */
  async function startConsumer(): Promise<void> {
    const makeConsumer = (): Consumer => {
      const c = opts.kafka.consumer({
        groupId: opts.groupId,
        sessionTimeout: opts.sessionTimeoutMs ?? 30_000,
        heartbeatInterval: HEARTBEAT_INTERVAL_MS,
        allowAutoTopicCreation: false,
        readUncommitted: false,
        maxWaitTimeInMs: 250,
      });
      c.on(c.events.CRASH, ({ payload }) => {
        if (payload.restart || stopping.signal.aborted) return;
        // kafkajs restarts a crashed consumer only when it calls the error retriable, and it does not call
        // "Failed to find group coordinator" (a broker still loading its groups) retriable. What our
        // classification calls the cluster being away is waited out: the consumer is started again.
        const e = toCmsError(payload.error);
        if (!e.retryable) {
          opts.onFatal(new CmsError('CMS_CONSUMER_CRASHED', `consumer ${opts.groupId} crashed and will not restart: ${messageOf(payload.error)}`, { cause: payload.error }));
          return;
        }
        const delayMs = backoffDelay(crashes, opts.retry.initialMs, opts.retry.maxMs);
        crashes += 1;
        log.warn({ [LOG_FIELDS.code]: e.code, [LOG_FIELDS.attempt]: crashes, [LOG_FIELDS.delayMs]: delayMs, err: e }, 'consumer crashed on a transient broker error; starting it again');
        const timer = setTimeout(() => {
          resumeTimers.delete(timer);
          if (stopping.signal.aborted) return;
          startConsumer().catch((err: unknown) => {
            opts.onFatal(new CmsError('CMS_CONSUMER_CRASHED', `consumer ${opts.groupId} could not be started again: ${messageOf(err)}`, { cause: err }));
          });
        }, delayMs);
        resumeTimers.add(timer);
      });
      c.on(c.events.FETCH, () => {
        fetches += 1;
      });
      c.on(c.events.GROUP_JOIN, ({ payload }) => {
        joined = true;
        assigned.clear();
        for (const [t, ps] of Object.entries(payload.memberAssignment)) for (const p of ps) assigned.add(key(t, p));
        isolating.clear();
        positioned.clear();
        crashes = 0;
        // Tasks are verified again before their next batch: another owner may have written them meanwhile.
        taskState?.assigned(new Set(Object.values(payload.memberAssignment).flat()));
        // Close transactional producers of partitions we no longer own; their new owner fences them anyway.
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
      return c;
    };
    // A broker that is slow or not there yet is waited for (one log line per attempt), not a failed start.
    const c = await untilReady(
      `the consumer group ${opts.groupId}`,
      async () => {
        const candidate = makeConsumer();
        try {
          await candidate.connect();
          await candidate.subscribe({ topics: opts.topics.map((t) => qualify(t, opts.namespace)), fromBeginning: true });
          return candidate;
        } catch (err) {
          await candidate.disconnect().catch(() => undefined);
          throw err;
        }
      },
      { log: (line) => { log.warn(line); } },
    );
    consumer = c;
    await c.run({
      autoCommit: !opts.transactional,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: opts.partitionsConsumedConcurrently ?? 1,
      eachBatch,
    });
  }

  /**
   * Transaction markers take offsets and are never delivered, so a caught-up consumer of a transactional
   * topic sits short of the high watermark: by one marker per transaction that wrote to the partition
   * after its last record (several producers write an internal topic's partition, so often 2 or more).
   * The gap is markers (or aborted records), not records, when the same position and end have been seen
   * across two completed fetches (kafkajs fetches every assigned, unpaused partition from its position,
   * every 250 ms at most) and the partition is neither paused nor in a batch: records there would have
   * been delivered. A stuck consumer still shows its lag: it is in its batch, or paused, or it does not
   * fetch, or the end moves. The first sight of a gap (after a restart, say) reports it until two
   * fetches have passed.
   */
  const markersOnly = (tp: string, next: bigint, high: bigint): boolean => {
    const seen = observed.get(tp);
    if (!seen || seen.next !== next || seen.high !== high) {
      observed.set(tp, { next, high, fetches });
      return false;
    }
    return fetches - seen.fetches >= 2 && !pausedTps.has(tp) && !inBatch.has(tp);
  };

  const runner: KafkaRunner = {
    stats,
    taskState,
    joined: () => joined,
    assignment: () =>
      [...assigned].map((tp) => {
        const i = tp.lastIndexOf(':');
        const partition = Number(tp.slice(i + 1));
        return { topic: tp.slice(0, i), partition, ready: taskState ? taskState.isVerified(partition) : true };
      }),
    lag: async () => {
      const a = await connectedAdmin();
      const out: { topic: string; partition: number; records: number }[] = [];
      for (const topic of opts.topics.map((t) => qualify(t, opts.namespace))) {
        const mine = [...assigned].filter((tp) => tp.slice(0, tp.lastIndexOf(':')) === topic);
        if (mine.length === 0) continue;
        const [ends, [committed]] = await Promise.all([a.fetchTopicOffsets(topic), a.fetchOffsets({ groupId: opts.groupId, topics: [topic] })]);
        for (const tp of mine) {
          const partition = Number(tp.slice(tp.lastIndexOf(':') + 1));
          const high = BigInt(ends.find((e) => e.partition === partition)?.high ?? '0');
          const c = committed?.partitions.find((p) => p.partition === partition)?.offset ?? '-1';
          const next = c === '-1' ? BigInt(ends.find((e) => e.partition === partition)?.low ?? '0') : BigInt(c);
          const gap = high > next ? high - next : 0n;
          out.push({ topic: unqualify(topic, opts.namespace) ?? topic, partition, records: markersOnly(tp, next, high) ? 0 : Number(gap) });
        }
      }
      return out;
    },
    start: startConsumer,
    stop() {
      stopPromise ??= (async () => {
        stopping.abort();
        for (const timer of resumeTimers) clearTimeout(timer);
        resumeTimers.clear();
        await admin?.disconnect().catch(() => undefined);
        await consumer?.disconnect().catch((err: unknown) => {
          log.warn({ err }, 'consumer disconnect failed');
        });
        const all = [...producers.values(), ...(plainProducer ? [plainProducer] : [])];
        producers.clear();
        await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.disconnect().catch(() => undefined)));
        log.info({ ...stats, ...(taskState ? { restores: taskState.stats.restores, restoredRecords: taskState.stats.restoredRecords } : {}) }, 'runner stopped');
      })();
      return stopPromise;
    },
  };
  opts.metrics?.watch(opts.groupId, { lag: () => runner.lag(), assignment: () => runner.assignment(), joined: () => runner.joined(), restores: () => taskState?.stats });
  return runner;
}

/**
 * A stage rebuilt to a time (`cms-router rebuild <service> --since`) replays its kept inbox from the start
 * with an empty state, and the rebuild leaves a boundary in the state: the inbox offset of that time, per
 * task. Inputs below it rebuild the state and publish nothing (their outputs, rejections and dead letters
 * were published the first time); the first input at or past it removes the boundary, in its own
 * transaction, and the stage is live again. The boundary is state, so a crash mid-replay keeps it.
 * Asked for every input, it costs a cache hit: the state cache remembers a key's absence too, and a key
 * read on every input stays its most recent entry (one Redis read per task after each restore).
 */
async function quietReplay(store: TaskStore, task: number, offset: string): Promise<boolean> {
  const boundary = await store.get<{ readonly until: string }>(STATE_CONTROL_KEYS.quietUntil(task));
  if (!boundary) return false;
  if (BigInt(offset) < BigInt(boundary.until)) return true;
  store.put(STATE_CONTROL_KEYS.quietUntil(task), undefined);
  return false;
}

/** The store of a runner without state: a handler that asks for it has a bug. */
const noStore: TaskStore = {
  task: -1,
  get: () => Promise.reject(new CmsError('CMS_INTERNAL', 'this runner has no state')),
  put: () => {
    throw new CmsError('CMS_INTERNAL', 'this runner has no state');
  },
};
