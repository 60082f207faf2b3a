import { ConfigResourceTypes } from 'kafkajs';
import { createTransport } from 'nodemailer';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CmsError } from '@cms-router/errors';
import { DEAD_LETTER_HEADERS, HEADERS, subjectOf, TOPIC_SCHEMAS, type CaseFact, type Rejection } from '@cms-router/events';
import { createKafkaRunner, createLogger, createRedis, redisKeys, type InboundRecord, type OutboundRecord } from '@cms-router/platform';
import { collect, endpoints, readMail, testPlatform, uniqueName, waitFor, type TestPlatform } from '../harness/index.ts';

const fact = (caseGroupId: string, n: number): CaseFact => ({
  caseGroupId,
  caseId: `C-${n}`,
  occurredAt: '2026-03-01T10:00:00.000Z',
  payload: { type: 'PromiseToPayScheduleIssued', scheduleId: `S-${n}` },
});

const header = (headers: Record<string, unknown> | undefined, name: string): string | undefined => {
  const raw = headers?.[name];
  if (raw === undefined) return undefined;
  return Buffer.isBuffer(raw) ? raw.toString() : typeof raw === 'string' ? raw : JSON.stringify(raw);
};

describe('real stack: Kafka + Apicurio Registry', () => {
  let p: TestPlatform;
  beforeAll(async () => {
    p = await testPlatform('platform');
    await p.createTopics(['cms.case-facts.v1', 'cms.rejections.v1', 'cms.dead-letter.v1']);
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('produces and consumes an Avro event through Kafka and the registry', async () => {
    const producer = p.kafka.producer();
    await producer.connect();
    const value = fact('CG-AVRO', 1);
    await producer.send({ topic: p.topic('cms.case-facts.v1'), messages: [{ key: 'CG-AVRO', value: await p.serde.encode('cms.case-facts.v1', value) }] });
    await producer.disconnect();

    const collector = await collect(p.kafka, p.topic('cms.case-facts.v1'));
    const [message] = await waitFor(() => collector.messages.length >= 1 && collector.messages, 'the Avro record');
    await collector.stop();
    expect(message?.value?.[0]).toBe(0); // Confluent wire format magic byte
    const decoded = await p.serde.decode(p.topic('cms.case-facts.v1'), message?.value ?? null);
    expect(decoded).toEqual({ topic: 'cms.case-facts.v1', value });
    // Registered under the topic-name strategy; an upstream topic is FULL_TRANSITIVE.
    const subject = subjectOf(p.topic('cms.case-facts.v1'));
    expect(await p.registry.subjects()).toContain(subject);
    expect(await p.registry.getCompatibility(subject)).toBe('FULL_TRANSITIVE');
  });

  it('refuses an incompatible schema change and accepts a compatible one', async () => {
    const subject = subjectOf(p.topic('cms.case-facts.v1'));
    await p.serde.ensureRegistered('cms.case-facts.v1');
    const current = TOPIC_SCHEMAS['cms.case-facts.v1'] as { fields: unknown[] };
    // A new required field without a default: new readers cannot read old data.
    const incompatible = { ...current, fields: [...current.fields, { name: 'region', type: 'string', doc: 'x' }] };
    await expect(p.registry.register(subject, incompatible)).rejects.toMatchObject({ code: 'CMS_SCHEMA_INCOMPATIBLE', retryable: false });
    // A producer's version that removes caseId: old readers (ours) could not read what it writes. Refused.
    const withoutCaseId = { ...current, fields: current.fields.filter((f) => (f as { name: string }).name !== 'caseId') };
    await expect(p.registry.register(subject, withoutCaseId)).rejects.toMatchObject({ code: 'CMS_SCHEMA_INCOMPATIBLE' });
    // The same new field with a default is a compatible evolution both ways.
    const compatible = { ...current, fields: [...current.fields, { name: 'region', type: ['null', 'string'], default: null, doc: 'x' }] };
    await expect(p.registry.register(subject, compatible)).resolves.toBeGreaterThan(0);
  });

  it('runs Kafka transactions: a read_committed consumer sees committed records only', async () => {
    const topic = p.topic('cms.case-facts.v1');
    const producer = p.kafka.producer({ transactionalId: uniqueName('tx'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const committed = await producer.transaction();
    await committed.send({ topic, messages: [{ key: 'CG-TX', value: await p.serde.encode('cms.case-facts.v1', fact('CG-TX', 1)) }] });
    await committed.commit();
    const aborted = await producer.transaction();
    await aborted.send({ topic, messages: [{ key: 'CG-TX', value: await p.serde.encode('cms.case-facts.v1', fact('CG-TX', 2)) }] });
    await aborted.abort();
    const after = await producer.transaction();
    await after.send({ topic, messages: [{ key: 'CG-TX', value: await p.serde.encode('cms.case-facts.v1', fact('CG-TX', 3)) }] });
    await after.commit();
    await producer.disconnect();

    const committedOnly = await collect(p.kafka, topic);
    const everything = await collect(p.kafka, topic, { readUncommitted: true });
    const decodeIds = async (ms: typeof committedOnly.messages): Promise<string[]> =>
      (await Promise.all(ms.filter((m) => m.key?.toString() === 'CG-TX').map(async (m) => ((await p.serde.decode(topic, m.value)).value as CaseFact).caseId))).sort();
    await waitFor(async () => (await decodeIds(everything.messages)).length === 3, 'all three records read uncommitted');
    await waitFor(async () => (await decodeIds(committedOnly.messages)).length === 2, 'the two committed records');
    expect(await decodeIds(committedOnly.messages)).toEqual(['C-1', 'C-3']);
    expect(await decodeIds(everything.messages)).toEqual(['C-1', 'C-2', 'C-3']);
    await committedOnly.stop();
    await everything.stop();
  });
});

describe('real stack: the Kafka runner', () => {
  // Each test gets its own namespace (topics, subjects, group): a fresh group reads from the beginning.
  let p: TestPlatform;
  beforeEach(async () => {
    p = await testPlatform('runner');
    await p.createTopics(['cms.case-facts.v1', 'cms.rejections.v1', 'cms.dead-letter.v1']);
  });
  afterEach(async () => {
    await p.cleanup();
  });

  /** A handler that turns every case fact into a rejection, so the output is visible and countable. */
  const echo = async (record: InboundRecord): Promise<OutboundRecord[]> => {
    if (record.topic !== 'cms.case-facts.v1') return [];
    const value: Rejection = {
      rejectionId: `r-${record.offset}`,
      service: 'test',
      occurredAt: record.value.occurredAt,
      source: { topic: record.topic, partition: record.partition, offset: record.offset, eventId: record.headers.eventId },
      code: 'TEST_ECHO',
      reason: `saw ${record.value.caseId}`,
      caseGroupId: record.value.caseGroupId,
      srId: null,
    };
    return Promise.resolve([{ topic: 'cms.rejections.v1', key: record.value.caseGroupId, value }]);
  };

  function runner(handler: (r: InboundRecord) => Promise<readonly OutboundRecord[]>, logLines?: string[]) {
    const fatal: CmsError[] = [];
    const r = createKafkaRunner({
      service: 'test',
      kafka: p.kafka,
      serde: p.serde,
      logger: logLines ? createLogger({ service: 'test', level: 'warn', destination: { write: (line: string) => void logLines.push(line) } }) : createLogger({ service: 'test', level: 'silent' }),
      groupId: uniqueName('group'),
      topics: ['cms.case-facts.v1'],
      namespace: p.namespace,
      handler,
      transactional: true,
      retry: { initialMs: 50, maxMs: 200 },
      onFatal: (err) => fatal.push(err),
    });
    return { r, fatal };
  }

  it('dead-letters a poison record with reason headers and processes the next one', async () => {
    const { r, fatal } = runner(echo);
    const producer = p.kafka.producer();
    await producer.connect();
    // Same key, so same partition: the good record comes after the poison one.
    await producer.send({
      topic: p.topic('cms.case-facts.v1'),
      messages: [
        { key: 'CG-POISON', value: Buffer.from('{"not":"avro"}'), headers: { [HEADERS.eventId]: 'poison-1' } },
        { key: 'CG-POISON', value: await p.serde.encode('cms.case-facts.v1', fact('CG-POISON', 2)) },
      ],
    });
    await producer.disconnect();
    await r.start();
    const dlq = await collect(p.kafka, p.topic('cms.dead-letter.v1'));
    const out = await collect(p.kafka, p.topic('cms.rejections.v1'));
    const [dead] = await waitFor(() => dlq.messages.length >= 1 && dlq.messages, 'the dead-letter record');
    await waitFor(() => out.messages.length >= 1, 'the next record processed');
    await r.stop();
    expect(dead?.value?.toString()).toBe('{"not":"avro"}');
    expect(dead?.key?.toString()).toBe('CG-POISON');
    const h = dead?.headers;
    expect(header(h, DEAD_LETTER_HEADERS.sourceTopic)).toBe(p.topic('cms.case-facts.v1'));
    expect(header(h, DEAD_LETTER_HEADERS.sourceOffset)).toMatch(/^\d+$/);
    expect(header(h, DEAD_LETTER_HEADERS.sourcePartition)).toMatch(/^\d+$/);
    expect(header(h, DEAD_LETTER_HEADERS.errorCode)).toBe('CMS_DECODE_FAILED');
    expect(header(h, DEAD_LETTER_HEADERS.errorMessage)).toContain('magic byte');
    expect(header(h, HEADERS.eventId)).toBe('poison-1');
    const rejection = (await p.serde.decode(p.topic('cms.rejections.v1'), out.messages[0]?.value ?? null)).value as Rejection;
    expect(rejection.reason).toBe('saw C-2');
    expect(r.stats.deadLettered).toBe(1);
    expect(fatal).toEqual([]);
    await dlq.stop();
    await out.stop();
  });

  it('retries a retryable failure with backoff and produces exactly one output, never a dead letter', async () => {
    let failuresLeft = 3;
    const { r } = runner(async (record) => {
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        throw new CmsError('CMS_REDIS_UNAVAILABLE', 'redis away (simulated at the handler seam)');
      }
      return echo(record);
    });
    const producer = p.kafka.producer();
    await producer.connect();
    await producer.send({ topic: p.topic('cms.case-facts.v1'), messages: [{ key: 'CG-RETRY', value: await p.serde.encode('cms.case-facts.v1', fact('CG-RETRY', 9)) }] });
    await producer.disconnect();
    await r.start();
    const out = await collect(p.kafka, p.topic('cms.rejections.v1'));
    await waitFor(async () => {
      for (const m of out.messages) if (((await p.serde.decode(p.topic('cms.rejections.v1'), m.value)).value as Rejection).reason === 'saw C-9') return true;
      return false;
    }, 'the retried record processed');
    await r.stop();
    expect(r.stats.retries).toBe(3);
    expect(r.stats.deadLettered).toBe(0);
    const reasons = await Promise.all(out.messages.map(async (m) => ((await p.serde.decode(p.topic('cms.rejections.v1'), m.value)).value as Rejection).reason));
    expect(reasons.filter((x) => x === 'saw C-9')).toHaveLength(1);
    // Nothing reached the dead-letter topic: read it with a sentinel written after the run.
    const producer2 = p.kafka.producer();
    await producer2.connect();
    await producer2.send({ topic: p.topic('cms.dead-letter.v1'), messages: [{ key: 'sentinel', value: Buffer.from('end') }] });
    await producer2.disconnect();
    const dead = await collect(p.kafka, p.topic('cms.dead-letter.v1'));
    await waitFor(() => dead.messages.some((m) => m.key?.toString() === 'sentinel'), 'the sentinel');
    expect(dead.messages.map((m) => m.key?.toString())).toEqual(['sentinel']);
    await dead.stop();
    await out.stop();
  });

  it('backs off with growing delays, counting the attempts, until the failure clears', async () => {
    let failuresLeft = 5;
    const lines: string[] = [];
    const { r } = runner(async (record) => {
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        throw new CmsError('CMS_REDIS_UNAVAILABLE', 'redis away (simulated at the handler seam)');
      }
      return echo(record);
    }, lines);
    const producer = p.kafka.producer();
    await producer.connect();
    await producer.send({ topic: p.topic('cms.case-facts.v1'), messages: [{ key: 'CG-BACKOFF', value: await p.serde.encode('cms.case-facts.v1', fact('CG-BACKOFF', 11)) }] });
    await producer.disconnect();
    await r.start();
    await waitFor(() => r.stats.processed >= 1, 'the record processed after the failures');
    await r.stop();
    const retries = lines.map((l) => JSON.parse(l) as { msg: string; attempt?: number; delayMs?: number }).filter((l) => l.msg.startsWith('retryable failure'));
    expect(retries.map((l) => l.attempt)).toEqual([1, 2, 3, 4, 5]);
    const delays = retries.map((l) => l.delayMs ?? 0);
    // retry: 50 ms initial, 200 ms cap, full jitter in the upper half: 50, 50-100, 100-200, 100-200, 100-200.
    expect(delays[0]).toBe(50);
    expect(delays[1]).toBeGreaterThanOrEqual(50);
    for (const d of delays.slice(2)) expect(d).toBeGreaterThanOrEqual(100);
    for (const d of delays) expect(d).toBeLessThanOrEqual(200);
  });

  it('an input whose output is over its topic’s limit is dead-lettered as a reference (coordinates, first 64 KiB); the partition flows on', async () => {
    const big = fact('CG-BIG', 12);
    const payload = { ...big, payload: { type: 'PromiseToPayScheduleIssued' as const, scheduleId: `S-${'9'.repeat(200_000)}` } };
    const { r } = runner(async (record) => {
      if (record.topic === 'cms.case-facts.v1' && record.value.caseId === 'C-12') {
        return [{ topic: 'cms.rejections.v1', key: 'CG-BIG', value: { rejectionId: 'r-big', service: 'test', occurredAt: record.value.occurredAt, source: { topic: record.topic, partition: record.partition, offset: record.offset, eventId: null }, code: 'TEST_BIG', reason: 'x'.repeat(3_000_000), caseGroupId: 'CG-BIG', srId: null } }];
      }
      return echo(record);
    });
    const producer = p.kafka.producer();
    await producer.connect();
    const bigBytes = await p.serde.encode('cms.case-facts.v1', payload);
    await producer.send({ topic: p.topic('cms.case-facts.v1'), messages: [{ key: 'CG-BIG', value: bigBytes }, { key: 'CG-BIG', value: await p.serde.encode('cms.case-facts.v1', fact('CG-BIG', 13)) }] });
    await producer.disconnect();
    await r.start();
    const dlq = await collect(p.kafka, p.topic('cms.dead-letter.v1'));
    const out = await collect(p.kafka, p.topic('cms.rejections.v1'));
    const [dead] = await waitFor(() => dlq.messages.length >= 1 && dlq.messages, 'the dead-letter reference');
    await waitFor(() => out.messages.length >= 1, 'the next record of the partition processed');
    await r.stop();
    expect(header(dead?.headers, DEAD_LETTER_HEADERS.reference)).toBe('true');
    expect(header(dead?.headers, DEAD_LETTER_HEADERS.originalBytes)).toBe(String(bigBytes.length));
    expect(header(dead?.headers, DEAD_LETTER_HEADERS.errorCode)).toBe('CMS_RECORD_TOO_LARGE');
    expect(header(dead?.headers, DEAD_LETTER_HEADERS.sourceOffset)).toMatch(/^\d+$/);
    expect(dead?.value?.length).toBe(64 * 1024);
    expect(dead?.value?.equals(bigBytes.subarray(0, 64 * 1024))).toBe(true);
    expect(r.stats.oversized).toBe(1);
    await dlq.stop();
    await out.stop();
  });

  it('an output the broker refuses for good (over a topic limit set lower by hand) is found, one input at a time, and dead-lettered as a reference; the rest commit', async () => {
    const admin = p.kafka.admin();
    await admin.connect();
    await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: p.topic('cms.rejections.v1'), configEntries: [{ name: 'max.message.bytes', value: '20000' }] }] });
    await admin.disconnect();
    const { r } = runner(async (record) => {
      if (record.topic === 'cms.case-facts.v1' && record.value.caseId === 'C-21') {
        return [{ topic: 'cms.rejections.v1', key: 'CG-REF', value: { rejectionId: 'r-ref', service: 'test', occurredAt: record.value.occurredAt, source: { topic: record.topic, partition: record.partition, offset: record.offset, eventId: null }, code: 'TEST_REFUSED', reason: 'y'.repeat(50_000), caseGroupId: 'CG-REF', srId: null } }];
      }
      return echo(record);
    });
    const producer = p.kafka.producer();
    await producer.connect();
    // One send: the three land in one batch, so the runner first commits them in one transaction.
    await producer.send({ topic: p.topic('cms.case-facts.v1'), messages: await Promise.all([20, 21, 22].map(async (n) => ({ key: 'CG-REF', value: await p.serde.encode('cms.case-facts.v1', fact('CG-REF', n)) }))) });
    await producer.disconnect();
    await r.start();
    const dlq = await collect(p.kafka, p.topic('cms.dead-letter.v1'));
    const out = await collect(p.kafka, p.topic('cms.rejections.v1'));
    await waitFor(() => out.messages.length >= 2, 'the records either side of the refused one processed', 60_000);
    const refused = await waitFor(() => dlq.messages.find((m) => header(m.headers, DEAD_LETTER_HEADERS.reference) === 'true'), 'the refused record dead-lettered as a reference', 60_000);
    await r.stop();
    expect(header(refused.headers, DEAD_LETTER_HEADERS.errorCode)).toBe('CMS_RECORD_TOO_LARGE');
    expect(header(refused.headers, DEAD_LETTER_HEADERS.errorMessage)).toMatch(/refused/);
    const reasons = await Promise.all(out.messages.map(async (m) => ((await p.serde.decode(p.topic('cms.rejections.v1'), m.value)).value as Rejection).reason));
    expect(reasons.sort()).toEqual(['saw C-20', 'saw C-22']);
    await dlq.stop();
    await out.stop();
  });

  it('a transaction whose outputs together exceed the topic’s limit (each one small) commits whole, split into requests: nothing dead-lettered, no input isolated', async () => {
    // 30 outputs of about 60 KB for one partition: 1.8 MB, over the 1 MiB a record batch may carry.
    const { r } = runner((record) => {
      if (record.topic !== 'cms.case-facts.v1') return Promise.resolve([]);
      return Promise.resolve([{ topic: 'cms.rejections.v1', key: 'CG-SPLIT', value: { rejectionId: `r-${record.offset}`, service: 'test', occurredAt: record.value.occurredAt, source: { topic: record.topic, partition: record.partition, offset: record.offset, eventId: null }, code: 'TEST_SPLIT', reason: `${record.value.caseId} ${'z'.repeat(60_000)}`, caseGroupId: 'CG-SPLIT', srId: null } }]);
    });
    const producer = p.kafka.producer();
    await producer.connect();
    await producer.send({ topic: p.topic('cms.case-facts.v1'), messages: await Promise.all(Array.from({ length: 30 }, async (_, n) => ({ key: 'CG-SPLIT', value: await p.serde.encode('cms.case-facts.v1', fact('CG-SPLIT', 100 + n)) }))) });
    await producer.disconnect();
    await r.start();
    const out = await collect(p.kafka, p.topic('cms.rejections.v1'));
    const dlq = await collect(p.kafka, p.topic('cms.dead-letter.v1'));
    await waitFor(() => out.messages.length >= 30, 'all 30 outputs committed', 60_000);
    await r.stop();
    expect(out.messages).toHaveLength(30);
    expect(dlq.messages).toHaveLength(0);
    expect(r.stats.oversized).toBe(0);
    // One fetch, one transaction (two if the fetch came in two batches); before the split: 30, one input each.
    expect(r.stats.transactions).toBeLessThanOrEqual(2);
    await dlq.stop();
    await out.stop();
  });

  it('a stateful runner reads the state its inputs name ahead, one MGET per transaction and no GET per input; each input still sees the state before it', async () => {
    await p.createTopics(['cms.router-route-state.v1']);
    const redis = createRedis(endpoints().REDIS_URL, { connectionName: 'cms-test' });
    const watcher = createRedis(endpoints().REDIS_URL, { connectionName: 'cms-test-monitor' });
    const keyPrefix = uniqueName('ra');
    const stage = 'read-ahead';
    const docPrefix = redisKeys(keyPrefix).stateDoc(stage, 'count:');
    // What the stage asks Redis for its documents, seen by Redis itself.
    // The test's own reads go through another connection, left out by its address.
    const reader = createRedis(endpoints().REDIS_URL, { connectionName: 'cms-test-reader' });
    const readerAddr = /addr=(\S+)/.exec(await reader.client('INFO'))?.[1];
    const seen: string[][] = [];
    const monitor = await watcher.monitor();
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (source !== readerAddr && source !== 'lua' && args.slice(1).some((a) => a.startsWith(docPrefix))) seen.push(args);
    });
    // Counts per case group, distinct so that a document handed to the wrong key shows.
    const counts: Record<string, number> = { 'CG-RA-A': 3, 'CG-RA-B': 7, 'CG-RA-C': 12 };
    const produce = async (perGroup: Record<string, number>, from: number): Promise<void> => {
      const producer = p.kafka.producer();
      await producer.connect();
      const messages = [];
      let n = from;
      for (const [cg, k] of Object.entries(perGroup)) for (let i = 0; i < k; i += 1) messages.push({ key: cg, partition: 0, value: await p.serde.encode('cms.case-facts.v1', fact(cg, (n += 1))) });
      await producer.send({ topic: p.topic('cms.case-facts.v1'), messages });
      await producer.disconnect();
    };
    const groupId = uniqueName('group');
    const start = () =>
      createKafkaRunner({
        service: 'test',
        kafka: p.kafka,
        serde: p.serde,
        logger: createLogger({ service: 'test', level: 'silent' }),
        groupId,
        topics: ['cms.case-facts.v1'],
        namespace: p.namespace,
        transactional: true,
        retry: { initialMs: 50, maxMs: 200 },
        onFatal: () => undefined,
        state: { stage, changelog: 'cms.router-route-state.v1', redis, keyPrefix, keysOf: (r) => (r.topic === 'cms.case-facts.v1' ? [`count:${r.value.caseGroupId}`] : []) },
        handler: async (record, { store }) => {
          if (record.topic !== 'cms.case-facts.v1') return [];
          const key = `count:${record.value.caseGroupId}`;
          store.put(key, ((await store.get<number>(key)) ?? 0) + 1);
          return echo(record);
        },
      });
    const rejections = await collect(p.kafka, p.topic('cms.rejections.v1'));
    const stored = async (): Promise<Record<string, number>> =>
      Object.fromEntries(await Promise.all(Object.keys(counts).map(async (cg) => [cg, Number(await reader.get(`${docPrefix}${cg}`))] as const)));
    try {
      await produce(counts, 0);
      const first = start();
      await first.start();
      await waitFor(() => rejections.messages.length >= 22, 'the first 22 outputs');
      await waitFor(async () => JSON.stringify(await stored()) === JSON.stringify(counts), 'the counts in Redis after the commit');
      await first.stop();
      // A new runner (its cache empty) reads ahead what the first one left: one more input per case group.
      await produce({ 'CG-RA-A': 1, 'CG-RA-B': 1, 'CG-RA-C': 1 }, 100);
      const second = start();
      await second.start();
      await waitFor(() => rejections.messages.length >= 25, 'the next 3 outputs');
      await waitFor(async () => JSON.stringify(await stored()) === JSON.stringify({ 'CG-RA-A': 4, 'CG-RA-B': 8, 'CG-RA-C': 13 }), 'the counts carried on');
      await second.stop();
      const reads = seen.filter((args) => !/^eval/i.test(args[0] ?? ''));
      // Read ahead per transaction (at least one per runner), never one GET per input.
      const commands = reads.map((args) => args[0]?.toLowerCase());
      expect(commands.filter((c) => c !== 'mget')).toEqual([]);
      expect(commands.length).toBeGreaterThanOrEqual(2);
      expect(commands.length).toBeLessThan(25);
      expect(new Set(reads.flatMap((args) => args.slice(1)))).toEqual(new Set(Object.keys(counts).map((cg) => `${docPrefix}${cg}`)));
    } finally {
      await rejections.stop();
      monitor.disconnect();
      watcher.disconnect();
      await reader.quit();
      await redis.quit();
    }
  });

  it('stop() is idempotent and returns the same promise', async () => {
    const { r } = runner(echo);
    await r.start();
    const a = r.stop();
    expect(r.stop()).toBe(a);
    await a;
  });
});

describe('real stack: Redis and SMTP', () => {
  it('talks to Redis under its own key prefix', async () => {
    const redis = createRedis(endpoints().REDIS_URL, { connectionName: 'cms-test' });
    const keys = redisKeys(uniqueName('t'));
    await redis.set(keys.probe('hello'), 'world', 'EX', 60);
    expect(await redis.get(keys.probe('hello'))).toBe('world');
    await redis.del(keys.probe('hello'));
    await redis.quit();
  });

  it('reads a sent mail back from the SMTP sink API', async () => {
    const url = new URL(endpoints().SMTP_URL);
    const transport = createTransport({ host: url.hostname, port: Number(url.port), secure: false, ignoreTLS: true });
    const subject = `cms-router test ${uniqueName('mail')}`;
    const info = await transport.sendMail({ from: 'cms-router@example.test', to: 'scr-inbox@example.test', subject, text: 'Case group CG-1 needs action.' });
    transport.close();
    const mail = await waitFor(async () => (await readMail()).find((m) => m.subject === subject), 'the mail in the sink');
    expect(mail.to[0]?.address).toBe('scr-inbox@example.test');
    expect(mail.text?.trim()).toBe('Case group CG-1 needs action.');
    expect(info.messageId).toBeTruthy();
  });
});
