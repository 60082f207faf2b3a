// The raw baseline for `npm run bench`: kafkajs with nothing of ours but (in some modes) the serde.
// BENCH_MODE:
//   alo        consume -> produce (idempotent, acks=all) -> commit after the send, at-least-once;
//   txn        one transaction per batch per partition, offsets sent in it (exactly-once, like our runner);
//   txn-serde  txn, plus the project's Avro serde: decode each value and encode it again;
//   topology   txn-serde as three hops in one process, laid out as the router's stages are: the first
//              reads BENCH_INPUTS and writes party facts to BENCH_PEOPLE and the rest to BENCH_INBOX; the
//              second copies BENCH_PEOPLE to BENCH_INBOX; the third copies BENCH_INBOX to BENCH_OUTPUT.
//              What the router's stages would cost if they did nothing but move each record.
// It copies key and headers, so the bench can time each record by its correlation id.
// Each hop prints how many transactions it made, their records and time, when it stops. BENCH_WORK_US,
// BENCH_PER_PARTITION, BENCH_STATE_BYTES and BENCH_REDIS add one of the router's costs at a time, to find
// which of them makes its latency (docs/benchmarks.md, "The router's shape as raw hops").
import { Kafka, logLevel, type EachBatchPayload, type Producer } from 'kafkajs';
import { TOPICS, type SchemaTopic } from '@cms-router/events';
import { createRedis, createSchemaRegistry, createSerde } from '@cms-router/platform';

const env = (name: string): string => {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`${name} is required`);
  return v;
};
const mode = env('BENCH_MODE');
if (!['alo', 'txn', 'txn-serde', 'topology'].includes(mode)) throw new Error(`BENCH_MODE must be alo, txn, txn-serde or topology (got ${mode})`);
const inputs = env('BENCH_INPUTS').split(',');
const output = env('BENCH_OUTPUT');
const groupId = env('BENCH_GROUP');
const namespace = env('KAFKA_TOPIC_NAMESPACE');
const kafka = new Kafka({ clientId: `bench-${mode}`, brokers: env('KAFKA_BROKERS').split(','), logLevel: logLevel.ERROR });
const serde = createSerde(createSchemaRegistry({ url: env('SCHEMA_REGISTRY_URL') }), namespace);
// Wire name -> contract topic, to encode with the same schema the value was decoded with.
const baseOf = new Map(Object.values(TOPICS).map((t) => [`${namespace}.${t}`, t as SchemaTopic]));
const withSerde = mode === 'txn-serde' || mode === 'topology';
// CPU held per record in each hop (µs, default none): to ask whether the router's tail comes from its CPU
// work in the one event loop or from what its transactions carry (docs/benchmarks.md).
const workMs = Number(process.env.BENCH_WORK_US ?? 0) / 1000;
const PER_PARTITION = process.env.BENCH_PER_PARTITION === '1';
// For the topology's second and third hops, which stand for the router's stateful stages (its person
// registry and route): BENCH_STATE_BYTES, a state record of that size per input to BENCH_STATE in the
// transaction (the changelog); BENCH_REDIS=1, the runner's Redis round trips around each transaction (the
// state read before handling, the check before the commit, the write after it).
const stateBytes = Number(process.env.BENCH_STATE_BYTES ?? 0);
const stateValue = Buffer.alloc(stateBytes, 120);
const redis = process.env.BENCH_REDIS === '1' ? createRedis(env('REDIS_URL'), { connectionName: 'bench-topology' }) : undefined;
const work = (): void => {
  const until = performance.now() + workMs;
  while (performance.now() < until);
};

// A 20 ms first retry, as the Java client backs off after CONCURRENT_TRANSACTIONS (the coordinator is still
// writing the last transaction's markers); kafkajs's default 300 ms would stall every other transaction.
const retry = { initialRetryTime: 20, retries: 50 };

// The serde knows a value's schema by the contract topic it was first written to: the topology's hops carry
// that topic (its place in BENCH_INPUTS) in this header, as the router's inbox records say what they carry.
const FROM = 'bench-from';
// Records per send in the topology: a fetched batch is up to 1 MiB, and with a header more it would pass
// the broker's largest record batch. The one-hop modes send each batch whole, as they always have.
const CHUNK = mode === 'topology' ? 1000 : Number.POSITIVE_INFINITY;
const convert = async (topic: string, value: Buffer | null): Promise<Buffer | null> => {
  if (!withSerde || value === null) return value;
  const decoded = await serde.decode(topic, value);
  return serde.encode(baseOf.get(topic) ?? decoded.topic, decoded.value as never);
};

/** One consume -> produce hop with its own consumer group and producer; `target` names each input topic's output. */
async function hop(group: string, from: readonly string[], target: (topic: string) => string, stateful = false): Promise<() => Promise<void>> {
  const atLeastOnce = mode === 'alo';
  const producer = atLeastOnce ? kafka.producer({ idempotent: true, maxInFlightRequests: 1, retry }) : kafka.producer({ transactionalId: `${group}-tx`, idempotent: true, maxInFlightRequests: 1, retry });
  const consumer = kafka.consumer({ groupId: group, readUncommitted: false, maxWaitTimeInMs: 100 });
  await producer.connect();
  // BENCH_PER_PARTITION=1: a transactional producer per input partition, two partitions at a time, as the
  // runner has them for its fencing without KIP-447 (packages/platform/src/kafka/runner.ts).
  const perPartition = new Map<string, Promise<Producer>>();
  const producerOf = (topic: string, partition: number): Promise<Producer> => {
    if (!PER_PARTITION || atLeastOnce) return Promise.resolve(producer);
    const id = `${group}-tx-${topic}-${partition}`;
    let p = perPartition.get(id);
    if (!p) {
      const made = kafka.producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1, retry });
      perPartition.set(id, (p = made.connect().then(() => made)));
    }
    return p;
  };
  await consumer.connect();
  await consumer.subscribe({ topics: [...from], fromBeginning: true });

  async function eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const messages = [];
    const keys = stateful && redis ? batch.messages.map((m) => `${namespace}:bench:${m.key?.toString() ?? ''}`) : [];
    if (keys.length > 0) await redis?.mget(keys);
    // The one-hop modes copy each record as it is: the header lookup is the topology's alone, so that the
    // baselines' per-record work stays what it was.
    const own = String(inputs.indexOf(batch.topic));
    for (const m of batch.messages) {
      if (mode === 'topology') {
        const from = m.headers?.[FROM]?.toString() ?? own;
        messages.push({ key: m.key, value: await convert(inputs[Number(from)] ?? batch.topic, m.value), headers: { ...m.headers, [FROM]: from } });
      } else {
        messages.push({ key: m.key, value: await convert(batch.topic, m.value), headers: m.headers });
      }
      if (workMs > 0) work();
    }
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    const topic = target(batch.topic);
    if (atLeastOnce) {
      for (let i = 0; i < messages.length; i += CHUNK) await producer.send({ topic, messages: messages.slice(i, i + CHUNK), acks: -1 });
      resolveOffset(batch.lastOffset());
    } else {
      const started = performance.now();
      const tx = await (await producerOf(batch.topic, batch.partition)).transaction();
      try {
        for (let i = 0; i < messages.length; i += CHUNK) await tx.send({ topic, messages: messages.slice(i, i + CHUNK), acks: -1 });
        if (stateful && stateBytes > 0) {
          const state = messages.map((m) => ({ key: m.key, value: stateValue, partition: batch.partition }));
          for (let i = 0; i < state.length; i += 100) await tx.send({ topic: env('BENCH_STATE'), messages: state.slice(i, i + 100), acks: -1 });
        }
        if (keys.length > 0) await redis?.exists(`${namespace}:bench:marker`);
        await tx.sendOffsets({ consumerGroupId: group, topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => undefined);
        throw err;
      }
      resolveOffset(batch.lastOffset()); // the position only: the offset was committed in the transaction
      if (keys.length > 0) await redis?.mset(keys.flatMap((k) => [k, stateBytes > 0 ? stateValue : 'x']));
      stats.transactions += 1;
      stats.records += messages.length;
      stats.ms += performance.now() - started;
    }
    await heartbeat();
  }

  // What each transaction held and took, printed at the end beside the router's own commit metrics.
  const stats = { transactions: 0, records: 0, ms: 0 };
  await consumer.run({ autoCommit: atLeastOnce, eachBatchAutoResolve: false, partitionsConsumedConcurrently: PER_PARTITION ? 2 : 1, eachBatch });
  return async () => {
    await consumer.disconnect().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    for (const p of perPartition.values()) await (await p).disconnect().catch(() => undefined);
    if (stats.transactions > 0) console.log(`${group}: ${stats.transactions} transactions, ${(stats.records / stats.transactions).toFixed(1)} records and ${(stats.ms / stats.transactions).toFixed(1)} ms (publish and commit) each on average`);
  };
}

const hops: (() => Promise<void>)[] = [];
if (mode === 'topology') {
  const people = env('BENCH_PEOPLE');
  const inbox = env('BENCH_INBOX');
  const partyFacts = `${namespace}.${TOPICS.partyFacts}`;
  hops.push(await hop(`${groupId}.ingest`, inputs, (t) => (t === partyFacts ? people : inbox)));
  hops.push(await hop(`${groupId}.people`, [people], () => inbox, true));
  hops.push(await hop(`${groupId}.route`, [inbox], () => output, true));
} else {
  hops.push(await hop(groupId, inputs, () => output));
}

const stop = async (): Promise<void> => {
  for (const h of hops) await h();
  process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
