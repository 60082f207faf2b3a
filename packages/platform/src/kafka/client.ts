import { Kafka, logLevel as KafkaLogLevel, type Admin, type ITopicConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { CmsError, isCmsError } from '@cms-router/errors';
import { backoffDelay } from './backoff.ts';
import { TRANSIENT_KAFKA } from './errors.ts';
import { isSchemaTopic, qualify, TOPIC_SPECS, UNSCHEMED_TOPICS, type TopicName } from '@cms-router/events';
import type { Serde } from '../registry.ts';
import type { Logger } from '../logger.ts';
import type { PlatformConfig } from '../config.ts';

/** A kafkajs client whose own logs go through our logger (warn and above), with SASL/TLS from config. */
export function createKafka(kafka: PlatformConfig['kafka'], logger: Logger): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: kafka.clientId,
    brokers: [...kafka.brokers],
    ssl: typeof kafka.ssl === 'boolean' ? kafka.ssl : { ca: [...kafka.ssl.ca] },
    sasl: kafka.sasl ? ({ ...kafka.sasl } as SASLOptions) : undefined,
    logLevel: KafkaLogLevel.WARN,
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry;
        const extra = rest as Record<string, unknown>;
        const safe = { broker: extra['broker'], groupId: extra['groupId'], error: extra['error'], retryCount: extra['retryCount'] };
        if (level <= KafkaLogLevel.ERROR) log.error(safe, message);
        else log.warn(safe, message);
      },
    retry: { initialRetryTime: 300, retries: 8 },
    // kafkajs allows a connection 1 s by default: too short for a remote cluster or a busy host.
    connectionTimeout: 10_000,
  });
}

/** The topic configuration of a contract topic: cleanup policy, retention, size limit, prompt compaction of changelogs. */
export function topicConfig(base: TopicName): { name: string; value: string }[] {
  const spec = TOPIC_SPECS[base];
  return [
    { name: 'cleanup.policy', value: spec.cleanupPolicy },
    ...(spec.retentionMs !== undefined ? [{ name: 'retention.ms', value: String(spec.retentionMs) }] : []),
    ...(spec.maxMessageBytes !== undefined ? [{ name: 'max.message.bytes', value: String(spec.maxMessageBytes) }] : []),
    // Changelogs: compact soon after writing, so a restore reads about one record per live key.
    ...(spec.cleanupPolicy === 'compact' ? [{ name: 'min.cleanable.dirty.ratio', value: '0.1' }, { name: 'segment.ms', value: String(3_600_000) }, { name: 'delete.retention.ms', value: String(86_400_000) }] : []),
  ];
}

/** Errors a topic creation may meet while the broker is busy or just started, worth a retry. */
const TRANSIENT = TRANSIENT_KAFKA;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Creates the topics that are missing, with the partition counts and policies of TOPIC_SPECS, and waits
 * until every partition has a leader. Idempotent and safe when several services run it at once (a topic
 * another one created is fine); retries what a busy or starting broker answers with, with a growing
 * delay, for up to `timeoutMs`.
 */
export async function ensureTopics(admin: Admin, topics: readonly TopicName[], namespace: string | undefined, replicationFactor = -1, opts: { timeoutMs?: number; log?: (line: string) => void } = {}): Promise<string[]> {
  const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
  const unique = [...new Set(topics)];
  const names = unique.map((t) => ({ base: t, name: qualify(t, namespace) }));
  const created: string[] = [];
  for (let attempt = 0; ; attempt += 1) {
    try {
      const existing = new Set(await admin.listTopics());
      const wanted: ITopicConfig[] = names.filter(({ name }) => !existing.has(name)).map(({ base, name }) => ({ topic: name, numPartitions: TOPIC_SPECS[base].partitions, replicationFactor, configEntries: topicConfig(base) }));
      if (wanted.length > 0) {
        try {
          await admin.createTopics({ topics: wanted, waitForLeaders: false });
          created.push(...wanted.map((t) => t.topic));
        } catch (err) {
          // Another instance may have created some of them between our list and create.
          if (!(err instanceof Error && /already exists/i.test(`${err.message} ${JSON.stringify((err as { errors?: unknown }).errors ?? '')}`))) throw err;
        }
      }
      // Every partition has a leader: producers and consumers can use the topics now.
      const meta = await admin.fetchTopicMetadata({ topics: names.map((n) => n.name) });
      const leaderless = meta.topics.flatMap((t) => (t.partitions.length === 0 ? [t.name] : t.partitions.filter((p) => p.leader < 0).map((p) => `${t.name}[${p.partitionId}]`)));
      if (leaderless.length === 0 && meta.topics.length === names.length) return created;
      throw new Error(`There is no leader yet for ${leaderless.slice(0, 5).join(', ') || 'some topics'}`);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const transient = TRANSIENT.test(message) || (err as { retriable?: boolean }).retriable === true;
      if (!transient || Date.now() > deadline) throw new CmsError(transient ? 'CMS_KAFKA_UNAVAILABLE' : 'CMS_INTERNAL', `creating topics: ${message}`, { cause: err });
      const delay = Math.min(100 * 2 ** attempt, 2_000);
      opts.log?.(`topics not ready (${message}); retrying in ${delay} ms`);
      await sleep(delay);
    }
  }
}

/** Whether a start-up step's failure is worth waiting out: the server is not there yet, or busy. A wrong password is not. */
function worthWaiting(err: unknown): boolean {
  if (isCmsError(err)) return err.retryable;
  const name = err instanceof Error ? err.name : '';
  if (/SASL|Authentication|Authorization/i.test(name)) return false;
  const cause = (err as { cause?: unknown }).cause;
  const message = err instanceof Error ? `${err.message} ${cause instanceof Error ? cause.message : ''}` : String(err);
  return TRANSIENT.test(message) || (err as { retriable?: boolean }).retriable === true || /KafkaJS(Connection|NumberOfRetriesExceeded|NonRetriable)Error/.test(name);
}

/**
 * Runs one start-up step until it succeeds, waiting out a broker, registry or Redis that is not up yet
 * (or too busy to answer) with a growing delay and one log line per attempt; fails at once on an error
 * that waiting cannot mend (bad credentials, an incompatible schema), and after `timeoutMs` otherwise.
 */
export async function untilReady<T>(what: string, step: () => Promise<T>, opts: { timeoutMs?: number; log?: (line: string) => void } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await step();
    } catch (err) {
      if (!worthWaiting(err) || Date.now() > deadline) throw err;
      const delay = backoffDelay(attempt, 250, 5_000);
      opts.log?.(`waiting for ${what} (${err instanceof Error ? err.message : String(err)}); trying again in ${delay} ms`);
      await sleep(delay);
    }
  }
}

/**
 * What a service needs before it consumes, each step waited for: the broker answers, its topics exist
 * with a leader for every partition, and every topic's schema is registered.
 */
export async function ensureContract(admin: Admin, serde: Serde, topics: readonly TopicName[], namespace: string | undefined, replicationFactor = -1, opts: { timeoutMs?: number; log?: (line: string) => void } = {}): Promise<string[]> {
  await untilReady('the Kafka broker', () => admin.connect(), opts);
  const created = await ensureTopics(admin, topics, namespace, replicationFactor, opts);
  // The dead-letter topic and the changelogs carry no Avro: they have no schema.
  for (const t of new Set(topics)) if (!UNSCHEMED_TOPICS.has(t) && isSchemaTopic(t)) await untilReady('the schema registry', () => serde.ensureRegistered(t), opts);
  return created;
}
