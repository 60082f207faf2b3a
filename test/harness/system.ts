import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { createMemorySystem } from '@cms-router/cli';
import { codecFor, qualify, TOPICS, type Assignment, type Rejection, type SrFact, type TopicName } from '@cms-router/events';
import { readTopicToEnd, type Serde } from '@cms-router/platform';
import { defaultRules } from '@cms-router/rules';
import type { TrafficEvent } from '@cms-router/traffic';
import { endpoints, testKafka, waitFor } from './index.ts';

const REPO = resolve(import.meta.dirname, '..', '..');

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly output: string[];
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
}

export type ServiceName = 'router' | 'sr-events' | 'notifier' | 'console';

/** Starts `node services/<name>/src/main.ts` as its own process, pointed at the test stack, as an operator would. */
export function startServiceProcess(name: ServiceName, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [resolve(REPO, `services/${name}/src/main.ts`)], {
    env: { ...process.env, KAFKA_BROKERS: endpoints().KAFKA_BROKERS, SCHEMA_REGISTRY_URL: endpoints().SCHEMA_REGISTRY_URL, REDIS_URL: endpoints().REDIS_URL, DATABASE_URL: endpoints().DATABASE_URL, OIDC_ISSUER_URL: endpoints().OIDC_ISSUER_URL, LOG_LEVEL: 'info', RETRY_INITIAL_MS: '100', RETRY_MAX_MS: '2000', KAFKA_SESSION_TIMEOUT_MS: '6000', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  // For a post-mortem: CMS_TEST_LOG_DIR keeps every service process's whole output in a file.
  const logDir = process.env['CMS_TEST_LOG_DIR'];
  const file = logDir ? `${logDir}/${name}-${String(child.pid)}.log` : undefined;
  if (logDir) mkdirSync(logDir, { recursive: true });
  const keep = (d: Buffer): void => {
    output.push(d.toString());
    if (file) appendFileSync(file, d);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => { r(code); }));
  return {
    name,
    child,
    output,
    exited,
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Back-compatible name for the router. */
export const startRouterProcess = (env: Record<string, string>): ServiceProcess => startServiceProcess('router', env);

export async function waitForStarted(p: ServiceProcess, timeoutMs = 180_000): Promise<void> {
  try {
    await waitFor(() => p.output.join('').includes(`"msg":"${p.name} started"`) || (p.child.exitCode !== null ? Promise.reject(new Error(`${p.name} exited with ${p.child.exitCode}: ${p.output.join('').slice(-800)}`)) : false), `${p.name} to start`, timeoutMs, 100);
  } catch (err) {
    throw new Error(`${(err as Error).message}; its last lines: ${p.output.join('').split('\n').slice(-6).join(' | ').slice(-1500)}`);
  }
}
export const waitForRouterStarted = (p: ServiceProcess): Promise<void> => waitForStarted(p);

/** Warnings and errors a service logged (for a failure message). */
export function warnings(p: ServiceProcess, last = 8): string {
  return p.output
    .join('')
    .split('\n')
    .filter((l) => /"level":"(warn|error|fatal)"/.test(l) && !/EoS|partitioner/.test(l))
    .slice(-last)
    .join(' | ');
}

/** What a test publishes: upstream traffic, or SR facts as sr-events would (for tests without sr-events). */
export type TestEvent = TrafficEvent | { readonly topic: 'cms.sr-facts.v1'; readonly key: string; readonly value: SrFact };

/** Produces traffic in the contract's Avro form, in order, in batches. */
export async function produceTraffic(kafka: Kafka, serde: Serde, namespace: string, events: readonly TestEvent[], batchSize = 500): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < events.length; i += batchSize) {
    const slice = events.slice(i, i + batchSize);
    const byTopic = new Map<string, { key: string; value: Buffer }[]>();
    for (const e of slice) {
      const topic = qualify(e.topic, namespace);
      const list = byTopic.get(topic) ?? [];
      list.push({ key: e.key, value: await serde.encode(e.topic, e.value) });
      byTopic.set(topic, list);
    }
    await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
  }
  await producer.disconnect();
}

/**
 * True when a group has committed everything on the given topics. A topic written transactionally ends
 * with transaction markers, which take offsets but are never consumed, so the committed offset stops
 * short of the high watermark by one or more; a peek then decides whether any data record is left.
 */
export async function caughtUp(admin: Admin, groupId: string, topics: readonly string[]): Promise<boolean> {
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const unsure = new Map<number, { from: bigint; high: bigint }>();
    for (const end of ends) {
      if (BigInt(end.high) <= BigInt(end.low)) continue;
      const c = BigInt(committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1');
      const high = BigInt(end.high);
      if (c >= high) continue;
      if (c < BigInt(end.low)) return false;
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
  await readTopicToEnd(testKafka('cms-test-peek'), topic, () => { data += 1; }, { from, timeoutMs: 15_000 });
  return data === 0;
}

/** The consumer groups of the services run under `group`, and the topics each consumes. */
export function groupsOf(namespace: string, groups: { router?: string; srEvents?: string; notifier?: string }): { group: string; topics: string[] }[] {
  const q = (t: TopicName): string => qualify(t, namespace);
  const out: { group: string; topics: string[] }[] = [];
  if (groups.srEvents) {
    out.push({ group: `${groups.srEvents}.ingest`, topics: [q(TOPICS.srLifecycle), q(TOPICS.caseFacts)] });
    out.push({ group: groups.srEvents, topics: [q(TOPICS.srEventsInbox)] });
  }
  if (groups.router) {
    out.push({ group: `${groups.router}.ingest`, topics: [q(TOPICS.caseFacts), q(TOPICS.partyFacts), q(TOPICS.srFacts), q(TOPICS.workforce)] });
    out.push({ group: `${groups.router}.people`, topics: [q(TOPICS.routerPeople)] });
    out.push({ group: `${groups.router}.route`, topics: [q(TOPICS.routerInbox)] });
  }
  if (groups.notifier) {
    out.push({ group: `${groups.notifier}.plan`, topics: [q(TOPICS.assignments), q(TOPICS.srFacts), q(TOPICS.routerOrphans)] });
    out.push({ group: groups.notifier, topics: [q(TOPICS.notifierWork)] });
  }
  return out;
}

/** Lag per group and partition, for a failure message. */
export async function lagReport(admin: Admin, namespace: string, groups: { router?: string; srEvents?: string; notifier?: string }): Promise<string> {
  const rows: string[] = [];
  for (const { group, topics } of groupsOf(namespace, groups)) {
    for (const topic of topics) {
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      for (const e of ends) {
        const c = committed?.partitions.find((x) => x.partition === e.partition)?.offset ?? '-1';
        if (BigInt(c) < BigInt(e.high) - 1n) rows.push(`${group} ${topic.slice(namespace.length + 1)}[${e.partition}] ${c}/${e.high}`);
      }
    }
  }
  return rows.join('; ') || 'no lag';
}

/**
 * Waits until every stage of the services named has consumed everything on its inputs, twice in a row
 * (a stage catching up writes to the next one's input).
 */
export async function waitUntilSettled(admin: Admin, namespace: string, groups: { router?: string; srEvents?: string; notifier?: string }, timeoutMs = 300_000): Promise<void> {
  const all = groupsOf(namespace, groups);
  const done = async (): Promise<boolean> => {
    for (const { group, topics } of all) if (!(await caughtUp(admin, group, topics))) return false;
    return true;
  };
  await waitFor(async () => (await done()) && (await done()), 'every stage to consume everything', timeoutMs, 500);
}

/** What an assignment says, without ids that depend on Kafka coordinates. */
export function placementOf(a: Pick<Assignment, 'subject' | 'srId' | 'segment' | 'region' | 'team' | 'ownerUserId' | 'access' | 'requirements' | 'handling'> & { pendingMove?: Assignment['pendingMove'] }): string {
  return [a.subject, a.srId ?? '-', a.segment, a.region ?? '-', a.team ?? '-', a.ownerUserId ?? '-', a.access, a.requirements.join('+'), a.handling.join('+'), a.pendingMove ? `pending:${a.pendingMove.segment}` : '-'].join('|');
}

/** The in-memory system's view of the same traffic: final placements of every case group and open SR, and the rejections. */
export function expectedFromMemory(events: readonly TrafficEvent[]): { finals: Map<string, string>; rejections: string[]; assignments: number } {
  const system = createMemorySystem(defaultRules());
  const rejections: string[] = [];
  let assignments = 0;
  events.forEach((e, i) => {
    for (const o of system.process({ topic: e.topic, value: e.value } as never, `m${i}`, { topic: e.topic, partition: 0, offset: String(i) })) {
      if (o.topic === 'cms.rejections.v1') rejections.push(rejectionKey(o.value));
      if (o.topic === 'cms.assignments.v1') assignments += 1;
    }
  });
  const finals = new Map<string, string>();
  for (const id of system.router.caseGroups()) {
    const s = system.router.state(id);
    if (!s?.placement) continue;
    const d = s.placement.decision;
    finals.set(`${id}|CASE_GROUP`, placementOf({ subject: 'CASE_GROUP', srId: null, ...d, pendingMove: s.pendingMove ? { segment: s.pendingMove.decision.segment, region: null, team: null, heldBySrIds: [], ruleId: '' } : null }));
    for (const [srId, p] of Object.entries(s.srPlacements)) finals.set(`${id}|${srId}`, placementOf({ subject: p.subject, srId, ...p.decision }));
  }
  return { finals, rejections: rejections.sort(), assignments };
}

export const rejectionKey = (r: Rejection): string => `${r.service}|${r.code}|${r.caseGroupId ?? '-'}|${r.srId ?? '-'}`;

/** The last assignment of every case group and SR in the topic, restricted to the keys the reference has. */
export function actualFinals(assignments: readonly { value: Assignment }[], keys: Iterable<string>): Map<string, string> {
  const last = new Map<string, string>();
  for (const { value } of assignments) last.set(`${value.caseGroupId}|${value.subject === 'CASE_GROUP' ? 'CASE_GROUP' : (value.srId ?? '')}`, placementOf(value));
  return new Map([...keys].map((k) => [k, last.get(k) ?? 'MISSING']));
}

/**
 * Reads a topic from the start, read_committed, decoding every record. Call it once the producers are
 * done (the system settled): it returns when nothing new has arrived for `quietMs`.
 */
// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the caller names the topic's value type
export async function readAll<T>(kafka: Kafka, serde: Serde, namespace: string, base: TopicName, quietMs = 3_000): Promise<{ key: string; value: T; partition: number; offset: string }[]> {
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
  return seen.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
}

export const validAssignment = (a: unknown): boolean => {
  try {
    codecFor('cms.assignments.v1').fromJson(a);
    return true;
  } catch {
    return false;
  }
};
