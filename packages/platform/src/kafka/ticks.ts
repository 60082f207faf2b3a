import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import { CmsError } from '@cms-router/errors';
import { deterministicId, qualify, standardHeaders, type SchemaTopic, type TopicValue } from '@cms-router/events';
import type { Serde } from '../registry.ts';

export interface TickWriterOptions<T extends SchemaTopic> {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly serde: Serde;
  /** The stage's own input: time passing is an input like any other, handled exactly once. */
  readonly topic: T;
  readonly namespace: string | undefined;
  /** Names the writer in the tick's event id and producer header. */
  readonly service: string;
  /** The record a tick at `at` carries. */
  readonly record: (at: string) => TopicValue[T];
}

export interface TickWriter {
  /** Writes one tick for `at` to every partition of the topic. Its event ids depend on `at` only: a repeat is a duplicate. */
  readonly write: (at: string) => Promise<void>;
  /** The topic's partition count, once the broker's metadata has it. */
  readonly partitions: () => Promise<number>;
  readonly close: () => Promise<void>;
}

export function createTickWriter<T extends SchemaTopic>(o: TickWriterOptions<T>): TickWriter {
  const topic = qualify(o.topic, o.namespace);
  let producer: Promise<Producer> | undefined;
  let count: Promise<number> | undefined;
  const partitions = (): Promise<number> => {
    // Cached once known; a failure (the broker away, metadata not there yet) is not, so the next call asks again.
    count ??= o.admin.fetchTopicMetadata({ topics: [topic] }).then((m) => {
      const n = m.topics[0]?.partitions.length ?? 0;
      if (n === 0) throw new CmsError('CMS_KAFKA_UNAVAILABLE', `${topic} has no partitions in the metadata yet`);
      return n;
    });
    count.catch(() => {
      count = undefined;
    });
    return count;
  };
  return {
    partitions,
    write: async (at) => {
      producer ??= (async () => {
        const p = o.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
        await p.connect();
        return p;
      })();
      producer.catch(() => {
        producer = undefined;
      });
      const bytes = await o.serde.encode(o.topic, o.record(at));
      const n = await partitions();
      const messages = Array.from({ length: n }, (_, partition) => ({ key: '', value: bytes, partition, headers: standardHeaders({ eventId: deterministicId(o.service, 'tick', at, partition), producedAt: at, eventType: 'Tick', producer: o.service }) }));
      await (await producer).send({ topic, messages, acks: -1 });
    },
    close: async () => {
      if (producer) await (await producer.catch(() => undefined))?.disconnect().catch(() => undefined);
    },
  };
}
