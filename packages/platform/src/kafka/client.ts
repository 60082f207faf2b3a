import { Kafka, logLevel as KafkaLogLevel, type Admin, type ITopicConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { qualify, TOPIC_SPECS, TOPICS, type TopicName } from '@cms-router/events';
import type { Serde } from '../registry.ts';
import type { Logger } from '../logger.ts';
import type { PlatformConfig } from '../config.ts';

/** A kafkajs client whose own logs go through our logger (warn and above), with SASL/TLS from config. */
export function createKafka(kafka: PlatformConfig['kafka'], logger: Logger): Kafka {
  const log = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: kafka.clientId,
    brokers: [...kafka.brokers],
    ssl: kafka.ssl,
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
  });
}

/** Creates the topics that are missing, with the partition counts and policies of TOPIC_SPECS. Idempotent. */
export async function ensureTopics(admin: Admin, topics: readonly TopicName[], namespace: string | undefined, replicationFactor = -1): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const wanted: ITopicConfig[] = topics
    .map((t) => ({ base: t, name: qualify(t, namespace) }))
    .filter(({ name }) => !existing.has(name))
    .map(({ base, name }) => ({
      topic: name,
      numPartitions: TOPIC_SPECS[base].partitions,
      replicationFactor,
      configEntries: [
        { name: 'cleanup.policy', value: TOPIC_SPECS[base].cleanupPolicy },
        ...(TOPIC_SPECS[base].retentionMs !== undefined ? [{ name: 'retention.ms', value: String(TOPIC_SPECS[base].retentionMs) }] : []),
      ],
    }));
  if (wanted.length > 0) {
    try {
      await admin.createTopics({ topics: wanted, waitForLeaders: true });
    } catch (err) {
      // Another instance may have created them between our list and create.
      if (!(err instanceof Error && /already exists/i.test(err.message))) throw err;
    }
  }
  return wanted.map((t) => t.topic);
}

/** What a service needs before it consumes: its topics exist and every topic's schema is registered. */
export async function ensureContract(admin: Admin, serde: Serde, topics: readonly TopicName[], namespace: string | undefined, replicationFactor = -1): Promise<string[]> {
  const created = await ensureTopics(admin, topics, namespace, replicationFactor);
  // The dead-letter topic keeps the original bytes: it has no schema.
  for (const t of new Set(topics)) if (t !== TOPICS.deadLetter) await serde.ensureRegistered(t);
  return created;
}
