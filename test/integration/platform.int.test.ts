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
    // Registered under the topic-name strategy, with BACKWARD_TRANSITIVE.
    const subject = subjectOf(p.topic('cms.case-facts.v1'));
    expect(await p.registry.subjects()).toContain(subject);
    expect(await p.registry.getCompatibility(subject)).toBe('BACKWARD_TRANSITIVE');
  });

  it('refuses an incompatible schema change and accepts a compatible one', async () => {
    const subject = subjectOf(p.topic('cms.case-facts.v1'));
    await p.serde.ensureRegistered('cms.case-facts.v1');
    const current = TOPIC_SCHEMAS['cms.case-facts.v1'] as { fields: unknown[] };
    // A new required field without a default: new readers cannot read old data.
    const incompatible = { ...current, fields: [...current.fields, { name: 'region', type: 'string', doc: 'x' }] };
    await expect(p.registry.register(subject, incompatible)).rejects.toMatchObject({ code: 'CMS_SCHEMA_INCOMPATIBLE', retryable: false });
    // The same field with a default is a compatible evolution.
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

  function runner(handler: (r: InboundRecord) => Promise<readonly OutboundRecord[]>) {
    const fatal: CmsError[] = [];
    const r = createKafkaRunner({
      service: 'test',
      kafka: p.kafka,
      serde: p.serde,
      logger: createLogger({ service: 'test', level: 'silent' }),
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
