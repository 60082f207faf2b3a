import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import type { RecordHeaders } from '@cms-router/events';
import { CmsError } from '@cms-router/errors';
import { untilReady } from './client.ts';

/** One record as a reader sees it (no client library type: the CLI and tools read topics too). */
export interface TopicRecord {
  readonly offset: string;
  /** Milliseconds since the epoch, as a string (the record's timestamp). */
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: RecordHeaders;
}

/**
 * Reads a topic, read_committed, from its low watermarks up to the high watermarks it had when the read
 * began (or from the offsets given), calling `onRecord` in partition order. Transactional topics end in control records that are
 * never delivered, so progress is tracked from kafkajs's batch events (which report the last offset of
 * marker-only batches too). Used to rebuild state that lives in an output topic (the notifier's ledger).
 * Fails with a retryable CMS_STATE_REBUILDING when the end is not reached in time (e.g. a transaction
 * left open by a dead producer holds the last stable offset back until it times out).
 */
export async function readTopicToEnd(
  kafka: Kafka,
  topic: string,
  onRecord: (partition: number, message: TopicRecord) => Promise<void> | void,
  opts: { readonly timeoutMs?: number; /** Start here instead of the low watermark (only these partitions are read). */ readonly from?: ReadonlyMap<number, string>;
    /** Read only these partitions, from their low watermarks; the others are paused, not fetched and dropped. */
    readonly partitions?: ReadonlySet<number>;
    /** Told once how many offsets will be read (markers included), before the first record: for a progress bar. */
    readonly onStart?: (offsets: number) => void } = {},
): Promise<number> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const { pending, done, reached, offsets, all } = await endsToReach(kafka, topic, timeoutMs, opts.from, opts.partitions);
  opts.onStart?.(offsets);
  if (pending.size === 0) return 0;
  const consumer = kafka.consumer({ groupId: `read-to-end-${randomBytes(6).toString('hex')}`, readUncommitted: false, maxWaitTimeInMs: 100, allowAutoTopicCreation: false });
  let count = 0;
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    reached(payload.partition, payload.lastOffset);
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const from = opts.from?.get(batch.partition);
        for (const m of batch.messages) {
          if (!pending.has(batch.partition)) break;
          if (from !== undefined && BigInt(m.offset) < BigInt(from)) continue;
          await onRecord(batch.partition, m);
          count += 1;
        }
      },
    });
    for (const [partition, offset] of opts.from ?? []) if (pending.has(partition)) consumer.seek({ topic, partition, offset });
    const others = opts.partitions ? all.filter((p) => !opts.partitions?.has(p)) : [];
    if (others.length > 0) consumer.pause([{ topic, partitions: others }]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => { r('timeout'); }, timeoutMs);
    });
    const outcome = await Promise.race([done.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') throw new CmsError('CMS_STATE_REBUILDING', `reading ${topic} to its end did not finish in ${timeoutMs} ms (partitions left: ${[...pending.keys()].join(', ')})`);
    return count;
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

/**
 * The last offset to reach in each partition (its high watermark when asked, minus one), and a tracker
 * fed from kafkajs's batch events: transactional topics end in control records that are never delivered,
 * and those events report the last offset of marker-only batches too. `done` resolves when every
 * partition is reached (at once for an empty topic). Shared by readTopicToEnd and followTopic.
 */
export async function endsToReach(kafka: Kafka, topic: string, timeoutMs: number, from?: ReadonlyMap<number, string>, only?: ReadonlySet<number>): Promise<{ pending: Map<number, bigint>; done: Promise<void>; reached: (partition: number, lastOffset: string | null) => void; offsets: number; all: number[] }> {
  const admin = kafka.admin();
  // The ends, waited for while the broker is busy or just elected a leader (a restore must not fail on that).
  const ends = await untilReady(`the ends of ${topic}`, async () => {
    await admin.connect();
    return admin.fetchTopicOffsets(topic);
  }, { timeoutMs }).finally(() => admin.disconnect());
  const start = (partition: number, low: string): bigint => BigInt(from ? (from.get(partition) ?? '-1') : low);
  const pending = new Map(ends.filter((e) => (only === undefined || only.has(e.partition)) && start(e.partition, e.low) >= 0n && BigInt(e.high) > start(e.partition, e.low)).map((e) => [e.partition, BigInt(e.high) - 1n] as const));
  const offsets = Number([...pending].reduce((sum, [partition, last]) => sum + last + 1n - start(partition, ends.find((e) => e.partition === partition)?.low ?? '0'), 0n));
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  const reached = (partition: number, lastOffset: string | null): void => {
    const target = pending.get(partition);
    if (target !== undefined && lastOffset !== null && BigInt(lastOffset) >= target) pending.delete(partition);
    if (pending.size === 0) resolveDone();
  };
  if (pending.size === 0) resolveDone();
  return { pending, done, reached, offsets, all: ends.map((e) => e.partition).sort((a, b) => a - b) };
}

/**
 * A compacted topic as its consumers see it: the latest value of each key in each partition, a
 * tombstone deleting it, read to the end it had when the read began. Keys are per partition (a
 * changelog's key lives in its task's partition). Used for the rules versions, the current placements
 * and a changelog's live keys.
 */
export async function readLatestByKey(kafka: Kafka, topic: string, opts: { readonly timeoutMs?: number; readonly onStart?: (offsets: number) => void; readonly onRecord?: () => void } = {}): Promise<{ partition: number; key: string; value: Buffer }[]> {
  const latest = new Map<string, { partition: number; key: string; value: Buffer }>();
  await readTopicToEnd(kafka, topic, (partition, m) => {
    opts.onRecord?.();
    const key = m.key?.toString('utf8') ?? '';
    const id = `${partition}\u0000${key}`;
    if (m.value === null) latest.delete(id);
    else latest.set(id, { partition, key, value: m.value });
  }, { timeoutMs: opts.timeoutMs ?? 600_000, ...(opts.onStart ? { onStart: opts.onStart } : {}) });
  return [...latest.values()];
}
