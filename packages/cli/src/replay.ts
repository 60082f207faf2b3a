import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { CmsError } from '@cms-router/errors';
import { DEAD_LETTER_HEADERS, headerString, isSchemaTopic, qualify, readStandardHeaders, REPLAY_HEADERS, TOPICS, unqualify, deterministicId, type RecordHeaders, type Rejection, type TopicName } from '@cms-router/events';
import { createRecordWriter, offsetsAtTime, readTopicToEnd, type createKafka, type Serde, type TopicRecord } from '@cms-router/platform';
import type { Progress } from './what-if-sources.ts';

type Kafka = ReturnType<typeof createKafka>;

export interface ReplayOptions {
  /** The topic to read, by its contract name (cms.dead-letter.v1, cms.rejections.v1, an input topic). */
  readonly from: TopicName;
  readonly partitions?: readonly number[];
  /** Offsets, inclusive: with one partition, or the same range in each. */
  readonly fromOffset?: bigint;
  readonly toOffset?: bigint;
  /** Record times (ISO-8601): from `since`, before `until`. */
  readonly since?: string;
  readonly until?: string;
  /** Only dead letters or rejections with this code. */
  readonly code?: string;
  /** Republish here instead of where each record came from. */
  readonly to?: TopicName;
  /** Write JSON lines (the contract's JSON form, a scenario simulate reads) instead of republishing. */
  readonly toFile?: string;
  readonly dryRun?: boolean;
}

export interface ReplayResult {
  /** Records of the range read (after the filters). */
  readonly read: number;
  /** Records written, by target. */
  readonly replayed: Readonly<Record<string, number>>;
  /** Records of the range that could not be replayed, with where and why. */
  readonly skipped: readonly { readonly where: string; readonly why: string }[];
}

/** One record to republish: the original bytes, key and headers (its event id with them). */
interface Candidate {
  readonly where: string;
  readonly target: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: RecordHeaders;
}

const DLQ_HEADER_NAMES = new Set<string>(Object.values(DEAD_LETTER_HEADERS));

/**
 * Replays a range of a topic. What is republished depends on what was read:
 * - a dead letter: its original bytes, key and headers, to the topic named in its headers (a reference to a
 *   record too large to carry is skipped: its headers say where the original is);
 * - a rejection: the original record at the coordinates it names, read again from its source topic, to that
 *   topic (skipped, with why, when retention has removed it);
 * - any other record: itself, to the same topic or `to`.
 * Each keeps its original event id, so services that already applied it recognise it (docs/operations.md
 * says how far back); the same source record is replayed once per run however many copies name it. It is
 * deterministic: the same range gives the same records, so running it twice is safe.
 */
export async function replay(kafka: Kafka, serde: Serde, namespace: string | undefined, o: ReplayOptions, progress?: Progress): Promise<ReplayResult> {
  const fromTopic = qualify(o.from, namespace);
  const skipped: { where: string; why: string }[] = [];
  const start = await startOffsets(kafka, fromTopic, o);
  const untilMs = o.until ? Date.parse(o.until) : undefined;
  const inRange = (partition: number, m: TopicRecord): boolean =>
    (o.partitions === undefined || o.partitions.includes(partition)) && (o.toOffset === undefined || BigInt(m.offset) <= o.toOffset) && (untilMs === undefined || Number(m.timestamp) < untilMs);

  const candidates: Candidate[] = [];
  const seen = new Set<string>();
  const add = (c: Candidate, sourceKey: string): void => {
    if (seen.has(sourceKey)) return; // several services dead-lettered or rejected the same record: once
    seen.add(sourceKey);
    candidates.push(c);
  };
  const wanted: { readonly where: string; readonly topic: string; readonly partition: number; readonly offset: string }[] = [];
  let read = 0;
  await readTopicToEnd(kafka, fromTopic, async (partition, m) => {
    if (!inRange(partition, m)) return;
    const where = `${o.from}/${partition}/${m.offset}`;
    if (o.from === TOPICS.deadLetter) {
      if (o.code !== undefined && headerString(m.headers, DEAD_LETTER_HEADERS.errorCode) !== o.code) return;
      read += 1;
      const sourceTopic = headerString(m.headers, DEAD_LETTER_HEADERS.sourceTopic);
      const sourceKey = `${sourceTopic ?? '?'}/${headerString(m.headers, DEAD_LETTER_HEADERS.sourcePartition) ?? '?'}/${headerString(m.headers, DEAD_LETTER_HEADERS.sourceOffset) ?? '?'}`;
      if (!sourceTopic) return void skipped.push({ where, why: `no ${DEAD_LETTER_HEADERS.sourceTopic} header` });
      if (headerString(m.headers, DEAD_LETTER_HEADERS.reference) === 'true') return void skipped.push({ where, why: `a reference to a record too large to carry on (${headerString(m.headers, DEAD_LETTER_HEADERS.originalBytes) ?? '?'} bytes): replay the original from ${sourceKey} with --from and --offset` });
      const headers = Object.fromEntries(Object.entries(m.headers ?? {}).filter(([name]) => !DLQ_HEADER_NAMES.has(name)));
      add({ where, target: o.to ? qualify(o.to, namespace) : sourceTopic, key: m.key, value: m.value, headers: { ...headers, [REPLAY_HEADERS.replayedFrom]: sourceKey } }, sourceKey);
      return;
    }
    if (o.from === TOPICS.rejections) {
      const r = (await serde.decode(fromTopic, m.value)).value as Rejection;
      if (o.code !== undefined && r.code !== o.code) return;
      read += 1;
      wanted.push({ where, topic: r.source.topic, partition: r.source.partition, offset: r.source.offset });
      return;
    }
    read += 1;
    add({ where, target: qualify(o.to ?? o.from, namespace), key: m.key, value: m.value, headers: { ...(m.headers ?? {}), [REPLAY_HEADERS.replayedFrom]: `${fromTopic}/${partition}/${m.offset}` } }, where);
  }, { ...(start ? { from: start } : {}), timeoutMs: 600_000, onStart: (total) => progress?.start(total, 'records') });
  progress?.stop();

  if (wanted.length > 0) await originalsOf(kafka, namespace, wanted, o.to, add, skipped);

  const replayed: Record<string, number> = {};
  for (const c of candidates) replayed[c.target] = (replayed[c.target] ?? 0) + 1;
  if (o.dryRun) return { read, replayed, skipped };
  if (o.toFile) return { read, replayed: { [o.toFile]: await toFile(serde, namespace, o.toFile, candidates, skipped) }, skipped };
  const writer = await createRecordWriter(kafka);
  try {
    // In source order per target, so records of one key go back in the order they came.
    const byTarget = new Map<string, Candidate[]>();
    for (const c of candidates) byTarget.set(c.target, [...(byTarget.get(c.target) ?? []), c]);
    for (const [target, list] of byTarget) for (let i = 0; i < list.length; i += 500) await writer.send(target, list.slice(i, i + 500).map((c) => ({ key: c.key?.toString('utf8') ?? null, value: c.value, headers: c.headers })));
  } finally {
    await writer.close();
  }
  return { read, replayed, skipped };
}

/** Where the read begins in each partition: by time, by offset, or (undefined) each partition's start. */
async function startOffsets(kafka: Kafka, topic: string, o: ReplayOptions): Promise<Map<number, string> | undefined> {
  if (o.since !== undefined) {
    const ms = Date.parse(o.since);
    if (Number.isNaN(ms)) throw new CmsError('CMS_CONFIG_INVALID', `--since ${o.since} is not an ISO-8601 time`);
    const at = await offsetsAtTime(kafka, topic, ms);
    return o.partitions ? new Map([...at].filter(([p]) => o.partitions?.includes(p))) : at;
  }
  if (o.fromOffset !== undefined) {
    if (!o.partitions || o.partitions.length === 0) throw new CmsError('CMS_CONFIG_INVALID', '--offset needs --partition');
    return new Map(o.partitions.map((p) => [p, String(o.fromOffset)]));
  }
  return o.partitions ? new Map(o.partitions.map((p) => [p, '0'])) : undefined;
}

/** The original records rejections name, read again from their source topics (one read per source partition). */
async function originalsOf(kafka: Kafka, namespace: string | undefined, wanted: readonly { where: string; topic: string; partition: number; offset: string }[], to: TopicName | undefined, add: (c: Candidate, sourceKey: string) => void, skipped: { where: string; why: string }[]): Promise<void> {
  const bySource = new Map<string, typeof wanted[number][]>();
  for (const w of wanted) bySource.set(w.topic, [...(bySource.get(w.topic) ?? []), w]);
  for (const [sourceTopic, list] of bySource) {
    const full = qualify(sourceTopic as TopicName, namespace);
    const from = new Map<number, string>();
    for (const w of list) if (!from.has(w.partition) || BigInt(w.offset) < BigInt(from.get(w.partition) ?? '0')) from.set(w.partition, w.offset);
    const need = new Map(list.map((w) => [`${w.partition}/${w.offset}`, w]));
    const found = new Set<string>();
    await readTopicToEnd(kafka, full, (partition, m) => {
      const w = need.get(`${partition}/${m.offset}`);
      if (!w) return;
      found.add(`${partition}/${m.offset}`);
      add({ where: w.where, target: to ? qualify(to, namespace) : full, key: m.key, value: m.value, headers: { ...(m.headers ?? {}), [REPLAY_HEADERS.replayedFrom]: `${full}/${partition}/${m.offset}` } }, `${full}/${partition}/${m.offset}`);
    }, { from, timeoutMs: 600_000 }).catch((err: unknown) => {
      for (const w of list) skipped.push({ where: w.where, why: `its source ${sourceTopic} could not be read: ${err instanceof Error ? err.message : String(err)}` });
    });
    for (const w of list) if (!found.has(`${w.partition}/${w.offset}`)) skipped.push({ where: w.where, why: `its source record ${sourceTopic}/${w.partition}/${w.offset} is no longer in the topic (retention)` });
  }
}

/** The records as JSON lines in the contract's JSON form (a scenario): those a schema can decode; the rest skipped with why. */
async function toFile(serde: Serde, namespace: string | undefined, path: string, candidates: readonly Candidate[], skipped: { where: string; why: string }[]): Promise<number> {
  const out = createWriteStream(path);
  let n = 0;
  for (const c of candidates) {
    const topic = unqualify(c.target, namespace);
    if (!topic || !isSchemaTopic(topic)) {
      skipped.push({ where: c.where, why: `${c.target} has no schema, so it has no JSON form` });
      continue;
    }
    let value: unknown;
    try {
      value = (await serde.decode(c.target, c.value)).value;
    } catch (err) {
      skipped.push({ where: c.where, why: `not decodable as ${topic}: ${err instanceof Error ? err.message : String(err)}` });
      continue;
    }
    const h = readStandardHeaders(c.headers, () => deterministicId(c.where));
    if (!out.write(`${JSON.stringify({ topic, key: c.key?.toString('utf8') ?? '', eventId: h.eventId, ...(h.correlationId ? { correlationId: h.correlationId } : {}), value })}\n`)) await once(out, 'drain');
    n += 1;
  }
  out.end();
  await once(out, 'finish');
  return n;
}
