import { randomUUID } from 'node:crypto';
import { HEADERS, headerString, qualify, TOPICS, type Assignment } from '@cms-router/events';
import { createKafka, createLogger, createSchemaRegistry, createSerde, ensureTopics } from '@cms-router/platform';
import { generateTraffic } from '@cms-router/traffic';

export interface TrafficRun {
  readonly brokers: string;
  readonly registryUrl: string;
  readonly namespace: string | undefined;
  readonly seed: number;
  readonly caseGroups: number;
  readonly changesPerCaseGroup: number;
  /** Events per second; 0 = as fast as the broker takes them. */
  readonly rate: number;
  readonly summaryEveryMs: number;
  /** After producing, wait until no assignment has arrived for this long. */
  readonly settleMs: number;
  readonly out: (line: string) => void;
  readonly signal?: AbortSignal;
}

/**
 * Plays synthetic traffic into the upstream topics and prints a live per-segment summary from the
 * assignments topic, plus end-to-end latency (input produced -> assignment committed) by correlation id.
 */
export interface TrafficResult {
  readonly produced: number;
  readonly assignments: number;
  readonly latenciesMs: number[];
  /** Seconds spent producing. */
  readonly seconds: number;
  /** Seconds from the first event produced to the last assignment seen. */
  readonly endToEndSeconds: number;
}

export async function playTraffic(o: TrafficRun): Promise<TrafficResult> {
  const logger = createLogger({ service: 'traffic', level: 'warn' });
  const kafka = createKafka({ brokers: o.brokers.split(','), clientId: 'cms-traffic', ssl: false, sasl: undefined, topicNamespace: o.namespace, sessionTimeoutMs: 30_000, partitionsConsumedConcurrently: 1 }, logger);
  const serde = createSerde(createSchemaRegistry({ url: o.registryUrl }), o.namespace);
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, [TOPICS.caseFacts, TOPICS.partyFacts, TOPICS.srLifecycle, TOPICS.workforce, TOPICS.assignments], o.namespace);
  await admin.disconnect();
  const sentAt = new Map<string, number>();
  const latenciesMs: number[] = [];
  const segmentOf = new Map<string, string>();
  let assignments = 0;
  let lastAssignmentAt = 0;
  const groupId = `cms-traffic-${randomUUID()}`;
  const consumer = kafka.consumer({ groupId, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [qualify(TOPICS.assignments, o.namespace)], fromBeginning: false });
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) {
        const a = (await serde.decode(batch.topic, m.value)).value as Assignment;
        assignments += 1;
        lastAssignmentAt = Date.now();
        if (a.subject === 'CASE_GROUP') segmentOf.set(a.caseGroupId, a.segment);
        const started = sentAt.get(headerString(m.headers, HEADERS.correlationId) ?? '');
        if (started !== undefined) latenciesMs.push(Date.now() - started);
      }
    },
  });
  const summary = (): void => {
    const counts = new Map<string, number>();
    for (const s of segmentOf.values()) counts.set(s, (counts.get(s) ?? 0) + 1);
    const sorted = [...latenciesMs].sort((a, b) => a - b);
    const p = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    o.out(`[traffic] produced ${produced}, assignments ${assignments}, latency p50 ${p(0.5)} ms p99 ${p(0.99)} ms | ${[...counts].sort().map(([s, n]) => `${s} ${n}`).join(' · ')}`);
  };
  const timer = setInterval(summary, o.summaryEveryMs);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let produced = 0;
  const began = Date.now();
  try {
    for (const phase of generateTraffic({ seed: o.seed, caseGroups: o.caseGroups, changesPerCaseGroup: o.changesPerCaseGroup, prefix: `S${o.seed}` })) {
      for (let i = 0; i < phase.length && !o.signal?.aborted; i += 100) {
        const slice = phase.slice(i, i + 100);
        const byTopic = new Map<string, { key: string; value: Buffer; headers: Record<string, string> }[]>();
        for (const e of slice) {
          const id = randomUUID();
          sentAt.set(id, Date.now());
          const topic = qualify(e.topic, o.namespace);
          byTopic.set(topic, [...(byTopic.get(topic) ?? []), { key: e.key, value: await serde.encode(e.topic, e.value), headers: { [HEADERS.eventId]: id, [HEADERS.producer]: 'cms-traffic' } }]);
        }
        await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
        produced += slice.length;
        if (o.rate > 0) {
          const due = began + (produced / o.rate) * 1000;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        }
      }
    }
  } finally {
    await producer.disconnect();
  }
  const producedFor = (Date.now() - began) / 1000;
  // Let the router finish: stop when no assignment has arrived for settleMs.
  let seen = -1;
  while (seen !== assignments && !o.signal?.aborted) {
    seen = assignments;
    await new Promise((r) => setTimeout(r, o.settleMs));
  }
  clearInterval(timer);
  summary();
  await consumer.disconnect();
  // The watcher's group is this run's alone: nothing of it is left behind on the cluster.
  const cleanup = kafka.admin();
  await cleanup.connect();
  await cleanup.deleteGroups([groupId]).catch(() => undefined);
  await cleanup.disconnect();
  return { produced, assignments, latenciesMs, seconds: producedFor, endToEndSeconds: (lastAssignmentAt - began) / 1000 };
}
