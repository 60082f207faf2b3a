// Shared parts of `npm run bench`: preloading input, watching outputs, percentiles, a child's RSS.
// Kept in scripts/ (not packages/) because only the benchmarks use them; kafkajs is used raw here on
// purpose, since the baseline must be raw kafkajs.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Kafka, logLevel, type Admin, type IHeaders } from 'kafkajs';
import { HEADERS, headerString, type TopicName } from '@cms-router/events';
import { createRedis, createSchemaRegistry, type Redis, type Serde } from '@cms-router/platform';

/** One input record in the contract's value form, before encoding. */
export interface BenchRecord {
  readonly topic: TopicName;
  readonly key: string;
  readonly value: unknown;
}

export const quiet = (brokers: string, clientId: string): Kafka => new Kafka({ clientId, brokers: brokers.split(','), logLevel: logLevel.NOTHING });

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export const load1 = (): number => loadavg()[0] ?? 0;

export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/** Peak resident set of a live process, from /proc (Linux); NaN when it has gone. */
/** `node --import` this in a child to have it write its peak RSS (KiB) as the last line of its stderr on exit. */
export const PEAK_RSS_ON_EXIT = `data:text/javascript,process.on('exit',()=>process.stderr.write('\\n'+process.resourceUsage().maxRSS+'\\n'))`;

/** The peak RSS in MiB that a child run with PEAK_RSS_ON_EXIT reported. */
export const peakRssOnExitMiB = (stderr: string): number => Number(stderr.trim().split('\n').at(-1)) / 1024;

export function peakRssMiB(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** USER_HZ: Linux reports process times in hundredths of a second on every architecture Node runs on. */
const CLOCK_TICKS = 100;

/** CPU seconds (user + system) a process has used so far, from /proc; NaN once it is gone. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    // Fields 14 and 15 of /proc/PID/stat, after the command name in parentheses (which may hold spaces).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

/** Encodes with the project's serde (schema registered under the namespace) and produces in batches, idempotent, acks=all. */
export async function preload(kafka: Kafka, serde: Serde, qualify: (t: TopicName) => string, records: readonly BenchRecord[], opts: { readonly ids?: (i: number) => string } = {}): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += 500) {
      const byTopic = new Map<string, { key: string; value: Buffer; headers: IHeaders }[]>();
      for (let j = i; j < Math.min(records.length, i + 500); j += 1) {
        const r = records[j] as BenchRecord;
        const id = opts.ids?.(j) ?? `pre-${j}`;
        const list = byTopic.get(qualify(r.topic)) ?? [];
        list.push({ key: r.key, value: await serde.encode(r.topic as never, r.value as never), headers: { [HEADERS.eventId]: id, [HEADERS.correlationId]: id, [HEADERS.producer]: 'cms-bench' } });
        byTopic.set(qualify(r.topic), list);
      }
      await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
    }
  } finally {
    await producer.disconnect();
  }
}

export interface Watch {
  /** Records seen, read_committed. */
  count(): number;
  first(): number | undefined;
  last(): number | undefined;
  /** Latency of each output whose correlation id was registered with `sent`. */
  latencies(): number[];
  /** The same, by the topic of the input each output came from. */
  latenciesByInput(): ReadonlyMap<string, number[]>;
  sent(correlationId: string, at: number, inputTopic: string): void;
  stop(): Promise<void>;
}

/** Watches output topics from their beginning, read_committed, timing each record's arrival here. */
export async function watch(kafka: Kafka, topics: readonly string[], onRecord?: (topic: string, key: Buffer | null, value: Buffer | null, headers: IHeaders | undefined) => void): Promise<Watch> {
  const consumer = kafka.consumer({ groupId: `bench-watch-${Math.random().toString(36).slice(2)}`, readUncommitted: false, maxWaitTimeInMs: 20, allowAutoTopicCreation: false });
  const sentAt = new Map<string, { at: number; topic: string }>();
  const byInput = new Map<string, number[]>();
  let count = 0;
  let first: number | undefined;
  let last: number | undefined;
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        count += 1;
        first ??= now;
        last = now;
        const started = sentAt.get(headerString(m.headers, HEADERS.correlationId) ?? '');
        if (started !== undefined) {
          const list = byInput.get(started.topic);
          if (list) list.push(now - started.at);
          else byInput.set(started.topic, [now - started.at]);
        }
        onRecord?.(batch.topic, m.key, m.value, m.headers);
      }
      await Promise.resolve();
    },
  });
  return {
    count: () => count,
    first: () => first,
    last: () => last,
    latencies: () => [...byInput.values()].flat(),
    latenciesByInput: () => byInput,
    sent: (id, at, topic) => {
      sentAt.set(id, { at, topic });
    },
    stop: () => consumer.disconnect(),
  };
}

/** Waits until every group has members and is Stable, so played traffic meets a running consumer. */
export async function untilGroupsStable(admin: Admin, groups: readonly string[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { groups: described } = await admin.describeGroups([...groups]).catch(() => ({ groups: [] as { state: string; members: unknown[] }[] }));
    if (described.length === groups.length && described.every((g) => g.state === 'Stable' && g.members.length > 0)) return;
    if (Date.now() > deadline) throw new Error(`consumer groups not stable after ${timeoutMs} ms: ${groups.join(', ')}`);
    await sleep(250);
  }
}

/**
 * Plays records at `rate` per second (in slices of ~20 ms) for `warmUpSeconds` and then `seconds`,
 * registering with the watch the correlation id of each record played after the warm-up: only those are timed.
 * Returns how many were timed.
 */
export async function play(kafka: Kafka, serde: Serde, qualify: (t: TopicName) => string, records: readonly BenchRecord[], rate: number, seconds: number, w: Watch, idPrefix: string, warmUpSeconds = 0): Promise<number> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const encoded: { topic: string; inputTopic: string; key: string; value: Buffer }[] = [];
  for (const r of records) encoded.push({ topic: qualify(r.topic), inputTopic: r.topic, key: r.key, value: await serde.encode(r.topic as never, r.value as never) });
  // At most a quarter of the input, so that a fast pipeline's short input still leaves most of it timed.
  const warmUp = Math.min(Math.floor(encoded.length / 4), Math.ceil(rate * warmUpSeconds));
  const limit = Math.min(encoded.length, warmUp + Math.ceil(rate * seconds));
  const slice = Math.max(1, Math.round(rate / 50));
  const began = Date.now();
  let sent = 0;
  try {
    while (sent < limit) {
      const byTopic = new Map<string, { key: string; value: Buffer; headers: IHeaders }[]>();
      const now = Date.now();
      for (let j = sent; j < Math.min(limit, sent + slice); j += 1) {
        const e = encoded[j] as (typeof encoded)[number];
        const id = `${idPrefix}-${j}`;
        if (j >= warmUp) w.sent(id, now, e.inputTopic);
        const list = byTopic.get(e.topic) ?? [];
        list.push({ key: e.key, value: e.value, headers: { [HEADERS.eventId]: id, [HEADERS.correlationId]: id, [HEADERS.producer]: 'cms-bench' } });
        byTopic.set(e.topic, list);
      }
      await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
      sent = Math.min(limit, sent + slice);
      const due = began + (sent / rate) * 1000;
      if (due > Date.now()) await sleep(due - Date.now());
    }
  } finally {
    await producer.disconnect();
  }
  return sent - warmUp;
}

/** Starts a Node program of the repo with extra environment; its stderr goes to ours on failure only. */
export function startNode(file: string, env: Record<string, string>, nodeArgs: readonly string[] = [], logFile?: string): ChildProcess & { tail: () => string } {
  const child = spawn(process.execPath, [...nodeArgs, file], { env: { ...process.env, LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', logFile ? openSync(logFile, 'a') : 'ignore', 'pipe'] });
  let tail = '';
  child.stderr?.on('data', (d: Buffer) => {
    tail = (tail + d.toString()).slice(-4000);
  });
  return Object.assign(child, { tail: () => tail });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => { r(); }));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** A consumer group of a pipeline and the topics it reads (full names). */
export interface GroupInput {
  readonly groupId: string;
  readonly topics: readonly string[];
}

/**
 * The offset after the last data record of each partition of some topics, read_committed, as they
 * grow. A topic written in transactions ends in commit markers (several, when several producers'
 * transactions interleave), so "committed = high watermark" never holds there; "committed = after the
 * last record" does.
 */
export async function watchEnds(kafka: Kafka, topics: readonly string[]): Promise<{ ends: ReadonlyMap<string, bigint>; stop: () => Promise<void> }> {
  const ends = new Map<string, bigint>();
  const consumer = kafka.consumer({ groupId: `bench-ends-${Math.random().toString(36).slice(2)}`, readUncommitted: false, maxWaitTimeInMs: 50, allowAutoTopicCreation: false });
  await consumer.connect();
  await consumer.subscribe({ topics: [...topics], fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const last = batch.messages.at(-1);
      if (last) ends.set(`${batch.topic}:${batch.partition}`, BigInt(last.offset) + 1n);
      await Promise.resolve();
    },
  });
  return { ends, stop: () => consumer.disconnect() };
}

/** True when every group has committed, on every partition it reads, the offset after its last record. */
export async function caughtUp(admin: Admin, groups: readonly GroupInput[], ends: ReadonlyMap<string, bigint>): Promise<boolean> {
  for (const g of groups) {
    const committed = await admin.fetchOffsets({ groupId: g.groupId, topics: [...g.topics] });
    for (const t of committed) {
      for (const p of t.partitions) {
        const end = ends.get(`${t.topic}:${p.partition}`);
        if (end !== undefined && (p.offset === '-1' || BigInt(p.offset) < end)) return false;
      }
    }
  }
  return true;
}

/**
 * Waits until the pipeline has committed every input it was given and nothing new has arrived on its
 * outputs for a second; false after `timeoutMs`.
 */
export async function untilDone(kafka: Kafka, admin: Admin, groups: readonly GroupInput[], w: Watch, timeoutMs: number): Promise<boolean> {
  const inputs = await watchEnds(kafka, [...new Set(groups.flatMap((g) => g.topics))]);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      await sleep(500);
      const last = w.last();
      if (last !== undefined && Date.now() - last >= 1_000 && (await caughtUp(admin, groups, inputs.ends))) return true;
      if (Date.now() > deadline) return false;
    }
  } finally {
    await inputs.stop();
  }
}

/**
 * Deletes every topic, Redis key and registry subject of a namespace (`prefix`): what a round wrote. Left
 * behind, they piled up: 2,472 bench topics on a long-lived local broker kept it at 90% of a core while
 * idle, and every later run was measured against that; the registry held 2,895 bench subjects.
 */
export async function removeNamespace(admin: Admin, redis: Redis, prefix: string, registryUrl?: string): Promise<{ topics: number; keys: number; subjects: number }> {
  const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
  for (let i = 0; i < topics.length; i += 100) await admin.deleteTopics({ topics: topics.slice(i, i + 100), timeout: 60_000 });
  let keys = 0;
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (found.length > 0) keys += await redis.unlink(...found);
  } while (cursor !== '0');
  let subjects = 0;
  if (registryUrl) {
    const registry = createSchemaRegistry({ url: registryUrl });
    for (const subject of (await registry.subjects()).filter((x) => x.startsWith(prefix))) {
      await registry.deleteSubject(subject);
      subjects += 1;
    }
  }
  return { topics: topics.length, keys, subjects };
}

/** removeNamespace for a bench script that holds no admin or Redis client of its own: connects, removes, closes. */
export async function removeRun(endpoints: { KAFKA_BROKERS: string; REDIS_URL: string; SCHEMA_REGISTRY_URL: string }, prefix: string): Promise<{ topics: number; keys: number; subjects: number }> {
  const admin = quiet(endpoints.KAFKA_BROKERS, 'cms-bench-cleanup').admin();
  const redis = createRedis(endpoints.REDIS_URL, { connectionName: 'cms-bench-cleanup' });
  try {
    await admin.connect();
    return await removeNamespace(admin, redis, prefix, endpoints.SCHEMA_REGISTRY_URL);
  } finally {
    await admin.disconnect();
    await redis.quit();
  }
}
