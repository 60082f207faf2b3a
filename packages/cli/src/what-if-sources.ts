import { closeSync, createReadStream, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { deterministicId, qualify, readStandardHeaders, TOPICS, type RouterInboxRecord, type TopicName } from '@cms-router/events';
import { readTopicToEnd, topicEnds, type createKafka, type Serde } from '@cms-router/platform';
import { inboxInputOf, isPartitionInput, type InboxInput, type UpstreamInput } from '@cms-router/routing';
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

/**
 * A scenario file through both rules, checked whole before anything runs. YAML is read whole and run in
 * memory. JSON lines are streamed in two passes, so that the route cores hold one partition's state at a
 * time (sr-events' and the registries' state is still the whole scenario's): the stages before the route
 * stage run once (`WhatIf.front`), writing each side's inbox
 * to spool files in `spoolDir` (default the system's temporary directory; removed at the end), one per
 * partition of case groups; then each partition is routed under both rules and settled, as the kept
 * inbox is (whatIfFromInbox).
 */
export async function whatIfFromScenario(path: string, whatIf: WhatIf, progress: Progress = silent, o: { readonly spoolDir?: string; readonly partitions?: number } = {}): Promise<number> {
  const source = (line: number, topic: string): { topic: string; partition: number; offset: string } => ({ topic, partition: 0, offset: String(line) });
  if (isYamlScenario(path)) {
    const events = parseScenario(readFileSync(path, 'utf8'), path);
    for (const { line, event } of events) whatIf.upstream({ topic: event.topic, value: event.value } as SystemInput, event.eventId, source(line, event.topic));
    return events.length;
  }
  const partitions = o.partitions ?? SPOOL_PARTITIONS;
  const base = o.spoolDir ?? tmpdir();
  let dir: string;
  try {
    dir = mkdtempSync(join(base, 'cms-what-if-spool-'));
  } catch (err) {
    throw new Error(`what-if spools a scenario's router inbox to files in ${base} (TMPDIR), and cannot write there: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  try {
    const spool = createInboxSpool(dir, partitions, 2);
    const front = whatIf.front((side, input, eventId, src, arrivedAt) => { spool.write(side, input, eventId, src, arrivedAt); });
    progress.start(statSync(path).size, 'bytes');
    let count: number;
    try {
      count = await streamScenarioFile(path, (event, line) => {
        front({ topic: event.topic, value: event.value } as SystemInput, event.eventId, source(line, event.topic));
      }, (bytes) => { progress.update(bytes); });
    } finally {
      spool.close();
      progress.stop();
    }
    progress.start(spool.records, 'records');
    let done = 0;
    try {
      for (let p = 0; p < partitions; p += 1) {
        for (const side of [0, 1] as const) {
          for await (const r of readSpool(spool.file(side, p))) {
            whatIf.inbox(p, r.i, r.e, r.s, r.a, side);
            if ((done += 1) % 1_000 === 0) progress.update(done);
          }
        }
        whatIf.settle(p);
      }
    } finally {
      progress.update(done);
      progress.stop();
    }
    return count;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Partitions of a spooled scenario: more than the inbox's six, so each holds less of the state. */
const SPOOL_PARTITIONS = 16;

/** One inbox record as a line of a spool file. */
export interface SpooledRecord {
  readonly i: InboxInput;
  readonly e: string;
  readonly s: { topic: string; partition: number; offset: string };
  readonly a: string;
}

/** A case group's spool partition: any stable spread will do, as long as a case group has one. */
export function spoolPartition(caseGroupId: string, partitions: number): number {
  let h = 7;
  for (let i = 0; i < caseGroupId.length; i += 1) h = (h * 31 + caseGroupId.charCodeAt(i)) >>> 0;
  return h % partitions;
}

interface SpoolFile {
  readonly fd: number;
  buffer: string[];
  bytes: number;
}

/**
 * A router inbox written to JSON-lines files, one per side (a rules version) and partition of case
 * groups, as the service's inbox keeps it: a case group's records in its partition, a user's or team's
 * fact and a tick in every partition. Written synchronously through a buffer per file (the front runs
 * inside a synchronous visit of the scenario's lines). what-if spools a scenario with it; the what-if
 * bench records an inbox with it.
 */
export function createInboxSpool(dir: string, partitions: number, sides: 1 | 2): {
  write(side: 0 | 1, input: InboxInput, eventId: string, source: { topic: string; partition: number; offset: string }, arrivedAt: string): void;
  close(): void;
  file(side: 0 | 1, partition: number): string;
  readonly records: number;
} {
  const file = (side: 0 | 1, partition: number): string => join(dir, `side${side}-p${partition}.jsonl`);
  const files: SpoolFile[][] = [];
  try {
    for (let side = 0; side < sides; side += 1) files.push(Array.from({ length: partitions }, (_, p) => ({ fd: openSync(file(side as 0 | 1, p), 'w'), buffer: [], bytes: 0 })));
  } catch (err) {
    for (const f of files.flat()) closeSync(f.fd);
    throw err;
  }
  let records = 0;
  const flush = (f: SpoolFile): void => {
    if (f.buffer.length === 0) return;
    writeSync(f.fd, `${f.buffer.join('\n')}\n`);
    f.buffer = [];
    f.bytes = 0;
  };
  const put = (f: SpoolFile | undefined, line: string): void => {
    if (!f) return;
    f.buffer.push(line);
    f.bytes += line.length;
    records += 1;
    if (f.bytes >= 256 * 1024) flush(f);
  };
  return {
    write(side, input, eventId, source, arrivedAt) {
      const mine = files[side] ?? [];
      const line = JSON.stringify({ i: input, e: eventId, s: source, a: arrivedAt } satisfies SpooledRecord);
      if (isPartitionInput(input)) for (const f of mine) put(f, line);
      else put(mine[spoolPartition(input.caseGroupId, partitions)], line);
    },
    close() {
      for (const f of files.flat()) {
        flush(f);
        closeSync(f.fd);
      }
    },
    file,
    get records() {
      return records;
    },
  };
}

/** The records of one spool file, in order. */
export async function* readSpool(file: string): AsyncGenerator<SpooledRecord> {
  for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
    if (line !== '') yield JSON.parse(line) as SpooledRecord;
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
