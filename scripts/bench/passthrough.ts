// The raw baseline for `npm run bench`: kafkajs with nothing of ours but (in one mode) the serde.
// BENCH_MODE:
//   alo        consume -> produce (idempotent, acks=all) -> commit after the send, at-least-once;
//   txn        one transaction per batch per partition, offsets sent in it (exactly-once, like our runner);
//   txn-serde  txn, plus the project's Avro serde: decode each value and encode it again.
// It copies key and headers, so the bench can time each record by its correlation id.
import { Kafka, logLevel, type EachBatchPayload } from 'kafkajs';
import { TOPICS, type SchemaTopic } from '@cms-router/events';
import { createSchemaRegistry, createSerde } from '@cms-router/platform';

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is required`);
  return v;
};
const mode = env('BENCH_MODE');
if (!['alo', 'txn', 'txn-serde'].includes(mode)) throw new Error(`BENCH_MODE must be alo, txn or txn-serde (got ${mode})`);
const inputs = env('BENCH_INPUTS').split(',');
const output = env('BENCH_OUTPUT');
const groupId = env('BENCH_GROUP');
const namespace = env('KAFKA_TOPIC_NAMESPACE');
const kafka = new Kafka({ clientId: `bench-${mode}`, brokers: env('KAFKA_BROKERS').split(','), logLevel: logLevel.ERROR });
const serde = createSerde(createSchemaRegistry({ url: env('SCHEMA_REGISTRY_URL') }), namespace);
// Wire name -> contract topic, to encode with the same schema the value was decoded with.
const baseOf = new Map(Object.values(TOPICS).map((t) => [`${namespace}.${t}`, t as SchemaTopic]));

// A 20 ms first retry, as the Java client backs off after CONCURRENT_TRANSACTIONS (the coordinator is still
// writing the last transaction's markers); kafkajs's default 300 ms would stall every other transaction.
const retry = { initialRetryTime: 20, retries: 50 };
const producer = mode === 'alo' ? kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry }) : kafka.producer({ transactionalId: `${groupId}-tx`, idempotent: true, maxInFlightRequests: 1, retry });
const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 100 });
await producer.connect();
await consumer.connect();
await consumer.subscribe({ topics: inputs, fromBeginning: true });

const convert = async (topic: string, value: Buffer | null): Promise<Buffer | null> => {
  if (mode !== 'txn-serde' || value === null) return value;
  const decoded = await serde.decode(topic, value);
  return serde.encode(baseOf.get(topic) ?? decoded.topic, decoded.value as never);
};

async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
  if (!isRunning() || isStale() || batch.messages.length === 0) return;
  const messages = [];
  for (const m of batch.messages) messages.push({ key: m.key, value: await convert(batch.topic, m.value), headers: m.headers });
  const next = (BigInt(batch.lastOffset()) + 1n).toString();
  if (mode === 'alo') {
    await producer.send({ topic: output, messages, acks: -1 });
    resolveOffset(batch.lastOffset());
  } else {
    const tx = await producer.transaction();
    try {
      await tx.send({ topic: output, messages, acks: -1 });
      await tx.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
      await tx.commit();
    } catch (err) {
      await tx.abort().catch(() => undefined);
      throw err;
    }
    resolveOffset(batch.lastOffset()); // the position only: the offset was committed in the transaction
  }
  await heartbeat();
}

await consumer.run({ autoCommit: mode === 'alo', eachBatchAutoResolve: false, eachBatch });
const stop = async (): Promise<void> => {
  await consumer.disconnect().catch(() => undefined);
  await producer.disconnect().catch(() => undefined);
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
