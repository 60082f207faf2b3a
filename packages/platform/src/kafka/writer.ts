import { Partitioners, type Kafka } from 'kafkajs';
import type { RecordHeaders } from '@cms-router/events';
import { readTopicToEnd, type TopicRecord } from './read-to-end.ts';

/** A record a tool writes: the key decides the partition as it does for every writer of the system. */
export interface ToolRecord {
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, string>> | RecordHeaders;
  readonly partition?: number;
  readonly timestamp?: string;
}

export interface RecordWriter {
  /** Writes the records in order, acknowledged by every in-sync replica. */
  send(topic: string, records: readonly ToolRecord[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The producer the operator's tools write with (rules release, reroute, replay): idempotent, and with the
 * murmur2 partitioner the services' runner uses, so a record keyed by a case group lands on the same
 * partition as every other record of that case group (and so in the same route task's order).
 */
export async function createRecordWriter(kafka: Kafka): Promise<RecordWriter> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return {
    async send(topic, records) {
      if (records.length === 0) return;
      await producer.send({ topic, acks: -1, messages: records.map((r) => ({ key: r.key, value: r.value, headers: r.headers as Record<string, string> | undefined, ...(r.partition === undefined ? {} : { partition: r.partition }), ...(r.timestamp === undefined ? {} : { timestamp: r.timestamp }) })) });
    },
    close: () => producer.disconnect(),
  };
}

/** The end offset of each partition of a topic now (the high watermark): what a consumer must pass to have read what was written so far. */
export async function topicEnds(kafka: Kafka, topic: string): Promise<Map<number, bigint>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * How many offsets a consumer group still has to commit before it has passed `targets` (from
 * topicEnds): 0 when it has read, applied and committed everything written before them. Transaction
 * markers count, so a group that is caught up reads 0.
 */
export async function groupBehind(kafka: Kafka, groupId: string, topic: string, targets: ReadonlyMap<number, bigint>): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    let behind = 0n;
    for (const [partition, target] of targets) {
      const c = at.get(partition) ?? -1n;
      if (c < target) behind += target - (c < 0n ? 0n : c);
    }
    return Number(behind);
  } finally {
    await admin.disconnect();
  }
}

/** The first offset of each partition at or after a time (ms since the epoch): where a read by time starts. */
export async function offsetsAtTime(kafka: Kafka, topic: string, timestampMs: number): Promise<Map<number, string>> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return new Map((await admin.fetchTopicOffsetsByTimestamp(topic, timestampMs)).map((o) => [o.partition, o.offset]));
  } finally {
    await admin.disconnect();
  }
}

/**
 * Every record of one key in a topic, oldest first: its partition found as every writer of the system
 * finds it (murmur2 of the key), read from that partition's start. For a topic kept forever, a key's
 * whole history, however old (explain --history all).
 */
export async function readKeyHistory(kafka: Kafka, topic: string, key: string, opts: { readonly timeoutMs?: number } = {}): Promise<TopicRecord[]> {
  const admin = kafka.admin();
  await admin.connect();
  let offsets: { partition: number; low: string; high: string }[];
  try {
    offsets = await admin.fetchTopicOffsets(topic);
  } finally {
    await admin.disconnect();
  }
  const partitionMetadata = offsets.map((o) => ({ partitionId: o.partition, leader: 0, partitionErrorCode: 0, replicas: [], isr: [] }));
  const partition = Partitioners.DefaultPartitioner()({ topic, partitionMetadata, message: { key, value: null } });
  const low = offsets.find((o) => o.partition === partition)?.low ?? '0';
  const out: TopicRecord[] = [];
  await readTopicToEnd(kafka, topic, (_p, m) => {
    if (m.key?.toString('utf8') === key) out.push(m);
  }, { from: new Map([[partition, low]]), timeoutMs: opts.timeoutMs ?? 600_000 });
  return out;
}
