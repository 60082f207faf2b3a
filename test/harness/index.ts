import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin, type Consumer, type KafkaMessage } from 'kafkajs';
import { inject } from 'vitest';
import { qualify, type CaseFact, type TopicName } from '@cms-router/events';
import { createSchemaRegistry, createSerde, ensureTopics, untilReady, type Serde, type SchemaRegistry } from '@cms-router/platform';
import type { TestEndpoints } from './endpoints.ts';

export type { TestEndpoints } from './endpoints.ts';

export function endpoints(): TestEndpoints {
  return inject('endpoints');
}

/** A name no other test or run shares: topics, groups and key prefixes per test. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** Polls `probe` until it returns a value that is not undefined/false, or fails with `what`. */
export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 30_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function testKafka(clientId = 'cms-test'): Kafka {
  // Patient on a loaded machine: kafkajs gives a connection 1 s by default.
  const kafka = new Kafka({ clientId, brokers: endpoints().KAFKA_BROKERS.split(','), logLevel: logLevel.NOTHING, connectionTimeout: 10_000, requestTimeout: 60_000, retry: { retries: 12, initialRetryTime: 200 } });
  const admin = kafka.admin.bind(kafka);
  return Object.assign(kafka, { admin: (...args: Parameters<Kafka['admin']>) => patientAdmin(admin(...args)) });
}

/**
 * An admin client whose calls wait out a busy or just-restarted broker ("not the leader", "does not
 * host this topic-partition" right after topics were created or deleted), as the services' own calls
 * do. Deleting is not retried: a second delete of a deleted topic would wait for nothing.
 */
function patientAdmin(admin: Admin): Admin {
  return new Proxy(admin, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'deleteTopics' || prop === 'disconnect' || prop === 'on' || prop === 'logger') return value;
      const fn = value as (...a: unknown[]) => unknown;
      return (...a: unknown[]) => untilReady(`the broker (test admin ${String(prop)})`, () => Promise.resolve(fn.apply(target, a)), { timeoutMs: 120_000 });
    },
  });
}

export interface TestPlatform {
  readonly namespace: string;
  readonly kafka: Kafka;
  readonly registry: SchemaRegistry;
  readonly serde: Serde;
  /** Full topic name in this test's namespace. */
  topic(name: TopicName): string;
  createTopics(names: readonly TopicName[]): Promise<void>;
  cleanup(): Promise<void>;
}

/** Kafka, registry and serde for one test, in its own topic namespace (and so its own subjects). */
export async function testPlatform(label: string): Promise<TestPlatform> {
  const namespace = uniqueName(label);
  const kafka = testKafka(namespace);
  // Patient on a loaded machine: a registry write (kafkasql) waits for the broker.
  const registry = createSchemaRegistry({ url: endpoints().SCHEMA_REGISTRY_URL, timeoutMs: 60_000 });
  const serde = createSerde(registry, namespace);
  const admin = kafka.admin();
  await admin.connect();
  const created: string[] = [];
  return {
    namespace,
    kafka,
    registry,
    serde,
    topic: (name) => qualify(name, namespace),
    async createTopics(names) {
      created.push(...(await ensureTopics(admin, names, namespace, 1)));
    },
    async cleanup() {
      if (process.env['CMS_TEST_KEEP_TOPICS'] === '1') {
        // For a post-mortem of a failed run: the topics stay, named here.
        console.log(`[harness] kept the topics of namespace ${namespace}`);
        await admin.disconnect();
        return;
      }
      // Every topic of this namespace, whoever created it (the services create theirs too).
      const mine = (await admin.listTopics().catch(() => created)).filter((t) => t.startsWith(`${namespace}.`));
      if (mine.length > 0) await admin.deleteTopics({ topics: mine }).catch(() => undefined);
      await admin.disconnect();
    },
  };
}

export interface Collector {
  readonly messages: KafkaMessage[];
  stop(): Promise<void>;
}

/** Reads a topic from the beginning into memory (read_committed unless told otherwise). */
export async function collect(kafka: Kafka, topic: string, opts: { readUncommitted?: boolean } = {}): Promise<Collector> {
  const consumer: Consumer = kafka.consumer({ groupId: uniqueName('collector'), readUncommitted: opts.readUncommitted ?? false, maxWaitTimeInMs: 100 });
  const messages: KafkaMessage[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachMessage: ({ message }) => {
      messages.push(message);
      return Promise.resolve();
    },
  });
  return { messages, stop: () => consumer.disconnect() };
}

/** Mail captured by the SMTP sink (MailDev API). */
export interface SinkMail {
  readonly id: string;
  readonly subject: string;
  readonly text?: string;
  readonly html?: string;
  readonly to: { address: string }[];
  readonly headers: Record<string, string>;
  readonly messageId?: string;
}

export async function readMail(): Promise<SinkMail[]> {
  const res = await fetch(`${endpoints().SMTP_API_URL}/email`);
  if (!res.ok) throw new Error(`SMTP sink API answered ${res.status}`);
  return (await res.json()) as SinkMail[];
}

/** An application for a case group whose three parties live at `postcode` (ids `<caseGroupId>-PP|RP|QC`). */
export function application(caseGroupId: string, postcode = 'M1 1AE'): CaseFact {
  const party = (role: string, identifierKnown = true) => ({ partyId: `${caseGroupId}-${role}`, address: { ukPostcode: postcode, nonUkCountry: null }, identifierKnown });
  return {
    caseGroupId,
    caseId: `${caseGroupId}-C`,
    occurredAt: '2026-01-05T09:00:00.000Z',
    payload: { type: 'ApplicationReceived', payingParent: party('PP'), receivingParent: party('RP'), qualifyingChildren: [party('QC', false)], incomeSource: 'EMPLOYED', partiesHaveExistingCase: true },
  };
}
