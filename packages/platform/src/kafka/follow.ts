import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { CmsError } from '@cms-router/errors';
import { endsToReach, type TopicRecord } from './read-to-end.ts';

export interface TopicFollower {
  /** Resolves once every record that was in the topic when following began has been handed over. */
  readonly caughtUp: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows a small topic from its start, for ever, read_committed, with no consumer-group commits (every
 * follower reads all of it: configuration such as the released rules versions, which each instance holds
 * whole). `caughtUp` says when what was there at the start has been read, so a service can wait for it
 * before it decides anything. Records are handed over one at a time, in partition order.
 */
export async function followTopic(kafka: Kafka, topic: string, onRecord: (partition: number, record: TopicRecord) => void, opts: { readonly timeoutMs?: number } = {}): Promise<TopicFollower> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const { done: caughtUp, reached } = await endsToReach(kafka, topic, timeoutMs);
  const consumer = kafka.consumer({ groupId: `follow-${randomBytes(6).toString('hex')}`, readUncommitted: false, maxWaitTimeInMs: 500, allowAutoTopicCreation: false });
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    reached(payload.partition, payload.lastOffset);
  });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: ({ batch }) => {
      for (const m of batch.messages) onRecord(batch.partition, m);
      return Promise.resolve();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new CmsError('CMS_STATE_REBUILDING', `reading ${topic} to its end did not finish in ${timeoutMs} ms`)); }, timeoutMs);
  });
  return {
    caughtUp: Promise.race([caughtUp, timedOut]).finally(() => { clearTimeout(timer); }),
    stop: () => consumer.disconnect(),
  };
}
