import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { codecFor, qualify, TOPICS, type Assignment, type Rejection, type TopicName } from '@cms-router/events';
import { readTopicToEnd, type Serde } from '@cms-router/platform';
import { defaultRules } from '@cms-router/rules';
import { createMemoryRouter, type MemoryOutput } from '@cms-router/routing';
import type { TrafficEvent } from '@cms-router/traffic';
import { endpoints, testKafka, waitFor } from './index.ts';

const REPO = resolve(import.meta.dirname, '..', '..');

export interface RouterProcess {
  readonly child: ChildProcess;
  readonly output: string[];
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

/** Starts `node services/router/src/main.ts` as its own process, as an operator would. */
export function startRouterProcess(env: Record<string, string>): RouterProcess {
  return startServiceProcess('router', env);
}

/** Starts `node services/<name>/src/main.ts` as its own process, pointed at the test stack. */
export function startServiceProcess(name: 'router' | 'sr-events' | 'notifier', env: Record<string, string>): RouterProcess {
  const child = spawn(process.execPath, [resolve(REPO, `services/${name}/src/main.ts`)], {
    env: { ...process.env, KAFKA_BROKERS: endpoints().KAFKA_BROKERS, SCHEMA_REGISTRY_URL: endpoints().SCHEMA_REGISTRY_URL, REDIS_URL: endpoints().REDIS_URL, LOG_LEVEL: 'info', RETRY_INITIAL_MS: '100', RETRY_MAX_MS: '2000', KAFKA_SESSION_TIMEOUT_MS: '6000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => { r(code); }));
  return {
    child,
    output,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export async function waitForRouterStarted(p: RouterProcess, name = 'router'): Promise<void> {
  await waitFor(() => p.output.join('').includes(`"msg":"${name} started"`), `${name} to start`, 60_000, 100);
}

/** Produces traffic in the contract's Avro form, in order, in batches. */
export async function produceTraffic(kafka: Kafka, serde: Serde, namespace: string, events: readonly TrafficEvent[], batchSize = 500): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < events.length; i += batchSize) {
    const slice = events.slice(i, i + batchSize);
    const byTopic = new Map<string, { key: string; value: Buffer }[]>();
    for (const e of slice) {
      const topic = qualify(e.topic, namespace);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), { key: e.key, value: await serde.encode(e.topic, e.value) }]);
    }
    await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
  }
  await producer.disconnect();
}

/**
 * True when a group has committed everything on the given topics. A topic written transactionally ends
 * with transaction markers, which take offsets but are never consumed, so the committed offset stops
 * short of the high watermark: by one (a commit marker) or more (an abort marker of a retried
 * transaction, then a commit marker). Where the gap is more than one, a peek decides whether any data
 * record is left.
 */
export async function caughtUp(admin: Admin, groupId: string, topics: readonly string[], transactional = false): Promise<boolean> {
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const unsure = new Map<number, { from: bigint; high: bigint }>();
    for (const end of ends) {
      if (BigInt(end.high) <= BigInt(end.low)) continue;
      const c = BigInt(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1');
      const high = BigInt(end.high);
      if (c >= high - (transactional ? 1n : 0n)) continue;
      if (!transactional || c < 0n || high - c > 16n) return false;
      unsure.set(end.partition, { from: c, high });
    }
    if (unsure.size > 0 && !(await onlyMarkersLeft(topic, unsure))) return false;
  }
  return true;
}

/** Reads each partition from `from` (read_committed): true when no data record is there, only markers. */
async function onlyMarkersLeft(topic: string, partitions: ReadonlyMap<number, { from: bigint; high: bigint }>): Promise<boolean> {
  let data = 0;
  const from = new Map([...partitions].map(([p, { from: f }]) => [p, f.toString()] as const));
  await readTopicToEnd(testKafka('cms-test-peek'), topic, () => { data += 1; }, { from, timeoutMs: 10_000 });
  return data === 0;
}

export async function waitUntilSrEventsDone(admin: Admin, namespace: string, groupId: string, timeoutMs = 120_000): Promise<void> {
  const inputs = [TOPICS.srLifecycle, TOPICS.caseFacts].map((t) => qualify(t, namespace));
  await waitFor(async () => caughtUp(admin, groupId, inputs), 'sr-events to process everything', timeoutMs, 300);
}

/** Lag per group and partition, for a failure message. */
export async function lagReport(admin: Admin, namespace: string, groupId: string): Promise<string> {
  const rows: string[] = [];
  for (const [group, base] of [[`${groupId}.ingest`, TOPICS.caseFacts], [`${groupId}.ingest`, TOPICS.partyFacts], [`${groupId}.ingest`, TOPICS.srFacts], [`${groupId}.ingest`, TOPICS.workforce], [`${groupId}.route`, TOPICS.routerInbox]] as const) {
    const topic = qualify(base, namespace);
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    for (const e of ends) {
      const c = committed?.partitions.find((x) => x.partition === e.partition)?.offset ?? '-1';
      if (BigInt(c) < BigInt(e.high) - 1n) rows.push(`${base}[${e.partition}] committed ${c} of ${e.high}`);
    }
  }
  return rows.join('; ') || 'no lag';
}

export async function waitUntilRouted(admin: Admin, namespace: string, groupId: string, timeoutMs = 240_000): Promise<void> {
  // Upstream topics are written by plain producers; sr-facts by sr-events in transactions.
  const inputs = [TOPICS.caseFacts, TOPICS.partyFacts, TOPICS.workforce].map((t) => qualify(t, namespace));
  // sr-facts and orphan flags are written by our services, in transactions.
  const ingested = async (): Promise<boolean> => (await caughtUp(admin, `${groupId}.ingest`, inputs)) && (await caughtUp(admin, `${groupId}.ingest`, [qualify(TOPICS.srFacts, namespace), qualify(TOPICS.orphanFlags, namespace)], true));
  await waitFor(
    async () => (await ingested()) && (await caughtUp(admin, `${groupId}.route`, [qualify(TOPICS.routerInbox, namespace)], true)) && (await ingested()),
    'the router to process everything',
    timeoutMs,
    500,
  );
}

/** What an assignment says, without ids that depend on Kafka coordinates. */
export function placementOf(a: Assignment): string {
  return [a.subject, a.srId ?? '-', a.previousSegment ?? '-', a.segment, a.region ?? '-', a.team ?? '-', a.ownerUserId ?? '-', a.access, a.requirements.join('+'), a.handling.join('+'), a.reasons[0]?.ruleId ?? '-'].join('|');
}

/** The assignments the in-memory router produces for the same traffic, per case group, in order. */
export function expectedFromMemory(phases: readonly (readonly TrafficEvent[])[]): { byCaseGroup: Map<string, string[]>; assignments: number; rejections: number } {
  const router = createMemoryRouter(defaultRules());
  const byCaseGroup = new Map<string, string[]>();
  let assignments = 0;
  let rejections = 0;
  let n = 0;
  for (const phase of phases) {
    for (const e of phase) {
      n += 1;
      const outputs: MemoryOutput[] = router.process({ topic: e.topic, value: e.value } as never, `m${n}`, { topic: e.topic, partition: 0, offset: String(n) });
      for (const o of outputs) {
        if (o.topic === 'cms.assignments.v1') {
          assignments += 1;
          byCaseGroup.set(o.value.caseGroupId, [...(byCaseGroup.get(o.value.caseGroupId) ?? []), placementOf(o.value)]);
        } else rejections += 1;
      }
    }
  }
  return { byCaseGroup, assignments, rejections };
}

/**
 * Reads a topic from the start, read_committed, decoding every record. Call it once the producers are
 * done (the router caught up): it returns when nothing new has arrived for `quietMs`.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the topic's value type
export async function readAll<T extends Assignment | Rejection>(kafka: Kafka, serde: Serde, namespace: string, base: TopicName, quietMs = 3_000): Promise<{ key: string; value: T }[]> {
  const topic = qualify(base, namespace);
  const consumer = kafka.consumer({ groupId: `verifier-${Date.now()}-${Math.random().toString(36).slice(2)}`, readUncommitted: false, maxWaitTimeInMs: 200 });
  const seen: { partition: number; offset: string; key: string; value: T }[] = [];
  let lastArrival = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const decoded = await serde.decode(topic, m.value);
        seen.push({ partition: batch.partition, offset: m.offset, key: m.key?.toString() ?? '', value: decoded.value as T });
      }
      lastArrival = Date.now();
    },
  });
  await waitFor(() => Date.now() - lastArrival > quietMs, `reading ${topic}`, 180_000, 250);
  await consumer.disconnect();
  return seen.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset))).map(({ key, value }) => ({ key, value }));
}

export function groupByCaseGroup(assignments: readonly { value: Assignment }[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const { value } of assignments) map.set(value.caseGroupId, [...(map.get(value.caseGroupId) ?? []), placementOf(value)]);
  return map;
}

export const validAssignment = (a: unknown): boolean => {
  try {
    codecFor('cms.assignments.v1').fromJson(a);
    return true;
  } catch {
    return false;
  }
};
