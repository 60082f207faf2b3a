import { readFileSync, statSync } from 'node:fs';
import { deterministicId, qualify, readStandardHeaders, TOPICS, type RouterInboxRecord, type TopicName } from '@cms-router/events';
import { readTopicToEnd, topicEnds, type createKafka, type Serde } from '@cms-router/platform';
import { inboxInputOf, type UpstreamInput } from '@cms-router/routing';
import { isYamlScenario, parseScenario, streamScenarioFile } from './simulate.ts';
import type { SystemInput } from './system.ts';
import type { WhatIf } from './what-if.ts';

/** Told how far a long read has come, in the unit `start` gave (bytes of a file, offsets of a topic). */
export interface Progress {
  start(total: number, unit: 'bytes' | 'records'): void;
  update(done: number): void;
  stop(): void;
}

const silent: Progress = { start: () => undefined, update: () => undefined, stop: () => undefined };

/** A scenario file (JSON lines streamed, or YAML read whole), checked whole before anything runs, through both rules. */
export async function whatIfFromScenario(path: string, whatIf: WhatIf, progress: Progress = silent): Promise<number> {
  const source = (line: number, topic: string): { topic: string; partition: number; offset: string } => ({ topic, partition: 0, offset: String(line) });
  if (isYamlScenario(path)) {
    const events = parseScenario(readFileSync(path, 'utf8'), path);
    for (const { line, event } of events) whatIf.upstream({ topic: event.topic, value: event.value } as SystemInput, event.eventId, source(line, event.topic));
    return events.length;
  }
  progress.start(statSync(path).size, 'bytes');
  try {
    return await streamScenarioFile(path, (event, line) => {
      whatIf.upstream({ topic: event.topic, value: event.value } as SystemInput, event.eventId, source(line, event.topic));
    }, (bytes) => { progress.update(bytes); });
  } finally {
    progress.stop();
  }
}

/**
 * The router's kept inbox (cms.router-inbox.v1, retention forever), every partition from its start to
 * the end it had when the read began, read_committed, each partition through its own pair of route
 * cores as the service's route tasks run it. Person snapshots are in the inbox, so the person registry
 * is not replayed: its facts do not depend on the routing rules.
 */
export async function whatIfFromInbox(o: { readonly kafka: ReturnType<typeof createKafka>; readonly serde: Serde; readonly namespace: string | undefined; readonly timeoutMs?: number }, whatIf: WhatIf, progress: Progress = silent): Promise<number> {
  const topic = qualify(TOPICS.routerInbox, o.namespace);
  // One partition at a time, each settled when read: a case group lives in one partition, so the cores
  // hold one partition's state at a time (a sixth of it with six partitions), not the whole inbox's.
  const ends = await topicEnds(o.kafka, topic);
  progress.start(Number([...ends.values()].reduce((a, b) => a + b, 0n)), 'records');
  let done = 0;
  let read = 0;
  try {
    for (const partition of [...ends.keys()].sort((a, b) => a - b)) {
      read += await readTopicToEnd(o.kafka, topic, async (p, m) => {
        done += 1;
        if (done % 1_000 === 0) progress.update(done);
        const v = (await o.serde.decode(topic, m.value)).value as RouterInboxRecord;
        const carried = v.signal ? null : await decodeUpstream(o.serde, o.namespace, v.source.topic, v.fact);
        const input = inboxInputOf(v, carried);
        if (!input) return;
        const headers = readStandardHeaders(m.headers, () => deterministicId(topic, p, m.offset));
        // A user's or team's fact keeps its upstream event id, as the service's route stage keeps it.
        const eventId = input.kind === 'user' || input.kind === 'team' ? (v.source.eventId ?? headers.eventId) : headers.eventId;
        whatIf.inbox(p, input, eventId, { topic: v.source.topic, partition: v.source.partition, offset: v.source.offset }, new Date(Number(m.timestamp)).toISOString());
      }, { timeoutMs: o.timeoutMs ?? 600_000, partitions: new Set([partition]) });
      whatIf.settle(partition);
    }
    return read;
  } finally {
    progress.update(done);
    progress.stop();
  }
}

async function decodeUpstream(serde: Serde, namespace: string | undefined, sourceTopic: string, fact: Buffer): Promise<UpstreamInput> {
  const decoded = await serde.decode(qualify(sourceTopic as TopicName, namespace), fact);
  return { topic: decoded.topic, value: decoded.value } as UpstreamInput;
}
