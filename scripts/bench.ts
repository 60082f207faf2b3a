// `npm run bench [-- --case-groups 2000 --changes 8 --rounds 2 --latency-seconds 20 --emails 500]`
// One broker, one run, the same pre-loaded input of real Avro events from the traffic generator, through:
//   Kafka's own perf tools (the ceiling), raw kafkajs passthroughs (at-least-once, transactional,
//   transactional with our serde, and that one as three hops laid out as the router's stages are),
//   sr-events, each router stage alone, the whole router, the notifier.
// Each pipeline's maximum rate is measured on pre-loaded input; then its latency (input produced ->
// output readable, read_committed) at 50% of its own maximum, on a fresh namespace, after a warm-up that
// is not timed (--latency-shares adds the router at other shares of its maximum). The rounds are
// interleaved (A B C, A B C); the table gives min and median across rounds, ratios to the passthroughs,
// peak RSS and the load average beside each figure. docs/benchmarks.md explains how to read it.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HEADERS, headerString, qualify, TOPICS, type Assignment, type TopicName } from '@cms-router/events';
import { createRedis, createSchemaRegistry, createSerde, ensureTopics, type Serde } from '@cms-router/platform';
import { kafkaRuntime, readStackSettings, REPO_ROOT, up } from '@cms-router/stack';
import { generateTraffic } from '@cms-router/traffic';
import { NOTIFIER_TOPICS } from '../services/notifier/src/app.ts';
import { ROUTER_INPUT_TOPICS, ROUTER_TOPICS } from '../services/router/src/app.ts';
import { SR_EVENTS_TOPICS } from '../services/sr-events/src/app.ts';
import type { IHeaders } from 'kafkajs';
import { cpuSeconds, load1, median, peakRssMiB, percentile, play, preload, quiet, removeNamespace, sleep, startNode, stopChild, untilDone, untilGroupsStable, watch, type BenchRecord, type GroupInput, type Watch } from './bench/lib.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    'case-groups': { type: 'string', default: '2000' },
    changes: { type: 'string', default: '8' },
    seed: { type: 'string', default: '11' },
    rounds: { type: 'string', default: '2' },
    'latency-seconds': { type: 'string', default: '20' },
    /**
     * Input played before the timed seconds, and not timed: a pipeline's first batch on each partition opens
     * its producer and checks its position (and the router's, its state), which made the router's p99 at low
     * rates a cold start's. At most a quarter of the input.
     */
    'warm-up-seconds': { type: 'string', default: '5' },
    /**
     * Shares of the router's maximum at which the router and the passthrough with serde are measured again,
     * besides the goal's 50% (e.g. 0.125,0.25): the router's latency against the load offered.
     */
    'latency-shares': { type: 'string', default: '' },
    emails: { type: 'string', default: '500' },
    only: { type: 'string' },
    /** Writes a V8 CPU profile of each pipeline process in each run (maximum rate, and latency at a rate) into this directory. */
    'cpu-prof': { type: 'string' },
    /** Extra environment for the pipeline processes (repeatable, NAME=value): to try a setting. */
    env: { type: 'string', multiple: true },
    /** Appends each pipeline process's log (stdout) to DIR/<pipeline>-<round>.log. */
    logs: { type: 'string' },
    keep: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('npm run bench [-- --case-groups 2000 --changes 8 --seed 11 --rounds 2 --latency-seconds 20 --warm-up-seconds 5 --latency-shares 0.125,0.25 --emails 500 --cpu-prof DIR --env NAME=value --logs DIR --keep --only kafka,alo,txn,txn-serde,topology,sr-events,router-ingest,router-route,router,router-split,notifier]');
  process.exit(0);
}
const rounds = Number(values.rounds);
// Each pipeline's log goes to a file there (appended per round).
if (values.logs) mkdirSync(values.logs, { recursive: true });
const latencySeconds = Number(values['latency-seconds']);
const latencyShares = values['latency-shares'].split(',').filter((x) => x.trim() !== '').map(Number);
if (latencyShares.some((x) => !(x > 0 && x < 1))) throw new Error(`--latency-shares: each share is a fraction of the router's maximum between 0 and 1, got "${values['latency-shares']}"`);
const fmtShare = (share: number): string => `${Number((share * 100).toFixed(1))}%`;
/** The router and the passthrough with serde at a share of the router's maximum (--latency-shares). */
const atShare = (share: number): { router: string; passthrough: string; topology: string } => ({
  router: `router (all stages), at ${fmtShare(share)} of its rate`,
  passthrough: `passthrough transactional + serde, at ${fmtShare(share)} of the router's rate`,
  topology: `the router's three stages as raw hops, at ${fmtShare(share)} of the router's rate`,
});
const only = values.only?.split(',');
// The two-process router is asked for by name (--only router-split): the default run keeps to the deployed shape.
const wanted = (name: string): boolean => (only === undefined ? name !== 'router-split' : only.includes(name));
const RUN_TIMEOUT_MS = 15 * 60_000;
const extraEnv = Object.fromEntries((values.env ?? []).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

const say = (l: string): void => {
  console.log(`[bench] ${l}`);
};
const settings = readStackSettings();
const endpoints = (await up(settings, say)).endpoints;
const brokers = endpoints.KAFKA_BROKERS;
const registryUrl = endpoints.SCHEMA_REGISTRY_URL;
const kafka = quiet(brokers, 'cms-bench');
const admin = kafka.admin();
await admin.connect();
const run = `bench${Date.now().toString(36)}`;
const redis = createRedis(endpoints.REDIS_URL, { connectionName: 'cms-bench' });
const serdes = new Map<string, Serde>();
const serdeFor = (ns: string): Serde => {
  let s = serdes.get(ns);
  if (!s) serdes.set(ns, (s = createSerde(createSchemaRegistry({ url: registryUrl }), ns)));
  return s;
};
const q = (ns: string) => (t: TopicName): string => qualify(t, ns);

// ------------------------------------------------------------------------------------------- the input
const traffic = generateTraffic({ seed: Number(values.seed), caseGroups: Number(values['case-groups']), changesPerCaseGroup: Number(values.changes), prefix: `B${values.seed}` }).flat();
const upstream: BenchRecord[] = traffic.map((e) => ({ topic: e.topic as TopicName, key: e.key, value: e.value }));
const srEventsInput = upstream.filter((r) => r.topic === TOPICS.srLifecycle || r.topic === TOPICS.caseFacts);
const sizes = await Promise.all(upstream.slice(0, 5000).map(async (r) => (await serdeFor(`${run}-size`).encode(r.topic as never, r.value as never)).length));
const medianSize = median(sizes);
say(`input: ${upstream.length} upstream events (${srEventsInput.length} for sr-events), median ${medianSize} B encoded; ${cpus().length} cores; load ${load1().toFixed(2)}`);

const UPSTREAM = [TOPICS.caseFacts, TOPICS.partyFacts, TOPICS.srLifecycle, TOPICS.workforce];

interface Measure {
  readonly pipeline: string;
  readonly round: number;
  readonly kind: 'max' | 'latency';
  readonly inputs: number;
  readonly eventsPerSec?: number;
  readonly rateOffered?: number;
  readonly p50?: number;
  readonly p95?: number;
  readonly p99?: number;
  readonly max?: number;
  readonly samples?: number;
  readonly rssMiB: number;
  readonly load: number;
  readonly note?: string;
}
const results: Measure[] = [];
const record = (m: Measure): void => {
  results.push(m);
  const fig = m.kind === 'max' ? `${m.eventsPerSec?.toFixed(0)} events/s over ${m.inputs} inputs` : `at ${m.rateOffered?.toFixed(0)}/s: p50 ${m.p50} ms, p95 ${m.p95} ms, p99 ${m.p99} ms, max ${m.max} ms (${m.samples} samples)`;
  say(`round ${m.round} ${m.pipeline} ${m.kind}: ${fig}; RSS ${m.rssMiB.toFixed(0)} MiB; load ${m.load.toFixed(2)}${m.note ? `; ${m.note}` : ''}`);
};
const ascending = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const latencyOf = (w: Watch): Pick<Measure, 'p50' | 'p95' | 'p99' | 'max' | 'samples'> => {
  const s = ascending(w.latencies());
  return { p50: percentile(s, 0.5), p95: percentile(s, 0.95), p99: percentile(s, 0.99), max: s.at(-1) ?? Number.NaN, samples: s.length };
};

// ------------------------------------------------------------------------------------------- pipelines
/** A pipeline run as its own process (the bench's watcher never shares its event loop). */
interface ProcessPipeline {
  readonly name: string;
  /** Topics to create before it starts (the services create the same ones themselves). */
  readonly topics: readonly TopicName[];
  readonly extraTopics?: (ns: string) => string[];
  readonly program: string;
  readonly env: (ns: string, group: string) => Record<string, string>;
  /** Several processes of the program, each with this extra environment (default: one process). */
  readonly processes?: readonly Record<string, string>[];
  /** Its consumer groups and what each reads: the run is over when they have committed the ends. */
  readonly groups: (group: string, ns: string) => GroupInput[];
  /** Watched for the maximum rate: first and last arrival over these. */
  readonly outputs: (ns: string) => string[];
  /** Watched for latency (records carrying the played correlation id). */
  readonly latencyOutputs: (ns: string) => string[];
  /** What it reads (played at a rate for the latency). */
  readonly input: () => readonly BenchRecord[];
  /** Pre-loaded for the maximum rate when part of the input is in the namespace already (a stage after another). */
  readonly preloadInput?: () => readonly BenchRecord[];
  readonly onRecord?: (topic: string, key: Buffer | null, value: Buffer | null, headers: IHeaders | undefined) => void;
}

const service = (name: string): string => join(REPO_ROOT, `services/${name}/src/main.ts`);
const passthrough = (mode: 'alo' | 'txn' | 'txn-serde'): ProcessPipeline => ({
  name: mode === 'alo' ? 'passthrough at-least-once' : mode === 'txn' ? 'passthrough transactional' : 'passthrough transactional + serde',
  topics: UPSTREAM,
  extraTopics: (ns) => [`${ns}.bench.out`],
  program: join(REPO_ROOT, 'scripts/bench/passthrough.ts'),
  env: (ns, group) => ({ BENCH_MODE: mode, BENCH_INPUTS: UPSTREAM.map(q(ns)).join(','), BENCH_OUTPUT: `${ns}.bench.out.${mode}`, BENCH_GROUP: group }),
  groups: (g, ns) => [{ groupId: g, topics: UPSTREAM.map(q(ns)) }],
  outputs: (ns) => [`${ns}.bench.out.${mode}`],
  latencyOutputs: (ns) => [`${ns}.bench.out.${mode}`],
  input: () => upstream,
});

// The router's stages as raw hops (scripts/bench/passthrough.ts, topology): its input, its topics' layout,
// nothing but the serde in each hop. The floor under the router's rate and latency with three hops.
const topology = (): ProcessPipeline => ({
  name: "passthrough transactional + serde, the router's three stages",
  topics: ROUTER_INPUT_TOPICS,
  extraTopics: (ns) => [`${ns}.bench.people`, `${ns}.bench.inbox`, `${ns}.bench.state`],
  program: join(REPO_ROOT, 'scripts/bench/passthrough.ts'),
  env: (ns, group) => ({ BENCH_MODE: 'topology', BENCH_INPUTS: ROUTER_INPUT_TOPICS.map(q(ns)).join(','), BENCH_PEOPLE: `${ns}.bench.people`, BENCH_INBOX: `${ns}.bench.inbox`, BENCH_OUTPUT: `${ns}.bench.out.topology`, BENCH_STATE: `${ns}.bench.state`, BENCH_GROUP: group }),
  groups: (g, ns) => [read(`${g}.ingest`, ns, ROUTER_INPUT_TOPICS), { groupId: `${g}.people`, topics: [`${ns}.bench.people`] }, { groupId: `${g}.route`, topics: [`${ns}.bench.inbox`] }],
  // Timed as the router is: from the first stage's first output to the last stage's last.
  outputs: (ns) => [`${ns}.bench.inbox`, `${ns}.bench.out.topology`],
  latencyOutputs: (ns) => [`${ns}.bench.out.topology`],
  input: () => routerInput,
});

// The router's input: case, party and workforce facts as generated, with each SR lifecycle event replaced
// by the sr-facts sr-events derived from it (captured in the sr-events run, placed by correlation id).
const srFactsByCorrelation = new Map<string, { key: string; value: Buffer }[]>();
let srFactsNamespace = '';
let routerInput: BenchRecord[] = [];
async function buildRouterInput(): Promise<BenchRecord[]> {
  const serde = serdeFor(srFactsNamespace);
  const out: BenchRecord[] = [];
  for (const [i, r] of upstream.entries()) {
    if (r.topic !== TOPICS.srLifecycle) out.push(r);
    // After the record that released them: usually its SR event, or the application an SR event waited for.
    for (const f of srFactsByCorrelation.get(`pre-${i}`) ?? []) out.push({ topic: TOPICS.srFacts, key: f.key, value: (await serde.decode(qualify(TOPICS.srFacts, srFactsNamespace), f.value)).value });
  }
  return out;
}
let inboxCount = 0;

const inboxes = (ns: string): Record<string, string> => ({ INBOX_SCR: `scr-${ns}@bench.test`, INBOX_ECH_GATEWAY: `ech-${ns}@bench.test`, INBOX_SCR_TEAM_LEADER: `tl-${ns}@bench.test`, INBOX_ORPHANS: `it-${ns}@bench.test` });
const scrMoves = (n: number, tag: string): BenchRecord[] =>
  Array.from({ length: n }, (_, j): BenchRecord => {
    const a: Assignment = { assignmentId: `${tag}-${j}`, caseGroupId: `B-CG-${tag}-${j}`, occurredAt: new Date().toISOString(), subject: 'CASE_GROUP', srId: null, previousSegment: 'MAINTENANCE', segment: 'SPECIAL_CLIENT_RECORDS', region: null, team: '2012 SCR Team', ownerUserId: null, access: 'OWNER', requirements: [], handling: [], rulesVersion: 'bench', reasons: [], pendingMove: null, orphan: null, basis: null };
    return { topic: TOPICS.assignments, key: a.caseGroupId, value: a };
  });

const read = (groupId: string, ns: string, topics: readonly TopicName[]): GroupInput => ({ groupId, topics: topics.map(q(ns)) });

const TOPOLOGY_AT_ROUTER_RATE = "passthrough transactional + serde, the router's three stages, at the router's rate";
const PIPELINES: Record<string, ProcessPipeline> = {
  alo: passthrough('alo'),
  txn: passthrough('txn'),
  'txn-serde': passthrough('txn-serde'),
  topology: topology(),
  'sr-events': {
    name: 'sr-events',
    topics: SR_EVENTS_TOPICS,
    program: service('sr-events'),
    env: (ns, g) => ({ SR_EVENTS_GROUP_ID: g, KAFKA_TOPIC_NAMESPACE: ns, REDIS_KEY_PREFIX: ns }),
    groups: (g, ns) => [read(`${g}.ingest`, ns, [TOPICS.srLifecycle, TOPICS.caseFacts]), read(g, ns, [TOPICS.srEventsInbox])],
    outputs: (ns) => [TOPICS.srEventsInbox, TOPICS.srFacts, TOPICS.rejections].map(q(ns)),
    latencyOutputs: (ns) => [qualify(TOPICS.srFacts, ns)],
    input: () => srEventsInput,
    onRecord: (topic, key, value, headers) => {
      if (!topic.endsWith(TOPICS.srFacts) || value === null) return;
      const correlation = headerString(headers as never, HEADERS.correlationId) ?? '';
      const list = srFactsByCorrelation.get(correlation) ?? [];
      list.push({ key: key?.toString() ?? '', value });
      srFactsByCorrelation.set(correlation, list);
    },
  },
  'router-ingest': {
    name: 'router: ingest stage alone',
    topics: ROUTER_TOPICS,
    program: service('router'),
    env: (ns, g) => ({ ROUTER_GROUP_ID: g, ROUTER_STAGES: 'ingest', KAFKA_TOPIC_NAMESPACE: ns, REDIS_KEY_PREFIX: ns, ROUTER_TICK_INTERVAL_MS: '0' }),
    groups: (g, ns) => [read(`${g}.ingest`, ns, ROUTER_INPUT_TOPICS)],
    outputs: (ns) => [TOPICS.routerInbox, TOPICS.routerPeople].map(q(ns)),
    latencyOutputs: (ns) => [TOPICS.routerInbox, TOPICS.routerPeople].map(q(ns)),
    input: () => routerInput,
    // The stage shares sr-events' namespace: case facts and sr-facts are there already.
    preloadInput: () => routerInput.filter((r) => r.topic === TOPICS.partyFacts || r.topic === TOPICS.workforce),
    onRecord: () => {
      inboxCount += 1;
    },
  },
  'router-route': {
    name: 'router: people + route stages',
    topics: ROUTER_TOPICS,
    program: service('router'),
    env: (ns, g) => ({ ROUTER_GROUP_ID: g, ROUTER_STAGES: 'people,route', KAFKA_TOPIC_NAMESPACE: ns, REDIS_KEY_PREFIX: ns, ROUTER_TICK_INTERVAL_MS: '0' }),
    groups: (g, ns) => [read(`${g}.people`, ns, [TOPICS.routerPeople]), read(`${g}.route`, ns, [TOPICS.routerInbox])],
    outputs: (ns) => [qualify(TOPICS.assignments, ns)],
    latencyOutputs: () => [],
    // It reads what the ingest stage wrote before it, in the same namespace; no latency of its own (its input is internal).
    input: () => [],
    preloadInput: () => [],
  },
  router: {
    name: 'router (all stages)',
    topics: ROUTER_TOPICS,
    program: service('router'),
    env: (ns, g) => ({ ROUTER_GROUP_ID: g, KAFKA_TOPIC_NAMESPACE: ns, REDIS_KEY_PREFIX: ns, ROUTER_TICK_INTERVAL_MS: '0' }),
    groups: (g, ns) => [read(`${g}.ingest`, ns, ROUTER_INPUT_TOPICS), read(`${g}.people`, ns, [TOPICS.routerPeople]), read(`${g}.route`, ns, [TOPICS.routerInbox])],
    outputs: (ns) => [TOPICS.routerInbox, TOPICS.assignments].map(q(ns)),
    latencyOutputs: (ns) => [qualify(TOPICS.assignments, ns)],
    input: () => routerInput,
  },
  'router-split': {
    name: 'router (ingest, then people + route: two processes)',
    topics: ROUTER_TOPICS,
    program: service('router'),
    env: (ns, g) => ({ ROUTER_GROUP_ID: g, KAFKA_TOPIC_NAMESPACE: ns, REDIS_KEY_PREFIX: ns, ROUTER_TICK_INTERVAL_MS: '0' }),
    processes: [{ ROUTER_STAGES: 'ingest' }, { ROUTER_STAGES: 'people,route' }],
    groups: (g, ns) => [read(`${g}.ingest`, ns, ROUTER_INPUT_TOPICS), read(`${g}.people`, ns, [TOPICS.routerPeople]), read(`${g}.route`, ns, [TOPICS.routerInbox])],
    outputs: (ns) => [TOPICS.routerInbox, TOPICS.assignments].map(q(ns)),
    latencyOutputs: (ns) => [qualify(TOPICS.assignments, ns)],
    input: () => routerInput,
  },
  notifier: {
    name: 'notifier (SMTP to the sink)',
    topics: NOTIFIER_TOPICS,
    program: service('notifier'),
    env: (ns, g) => ({ NOTIFIER_GROUP_ID: g, KAFKA_TOPIC_NAMESPACE: ns, REDIS_KEY_PREFIX: ns, ...inboxes(ns) }),
    groups: (g, ns) => [read(`${g}.plan`, ns, [TOPICS.assignments]), read(g, ns, [TOPICS.notifierWork])],
    outputs: (ns) => [qualify(TOPICS.notifications, ns)],
    latencyOutputs: (ns) => [qualify(TOPICS.notifications, ns)],
    input: () => scrMoves(Number(values.emails), 'max'),
  },
};

async function prepare(p: ProcessPipeline, ns: string): Promise<void> {
  await ensureTopics(admin, p.topics, ns);
  const extra = [...(p.extraTopics?.(ns) ?? []), ...p.outputs(ns).filter((t) => t.startsWith(`${ns}.bench.`))];
  const existing = new Set(await admin.listTopics());
  const missing = [...new Set(extra)].filter((t) => !existing.has(t));
  if (missing.length) await admin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions: 6 })), waitForLeaders: true });
}

/** Node's arguments for a CPU profile of a pipeline's i-th process in a run, with --cpu-prof DIR; none without. */
const profileArgs = (run: string, i: number): string[] => (values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`, `--cpu-prof-name=${run}${i === 0 ? '' : `-${i}`}.cpuprofile`] : []);

/** The maximum rate: input pre-loaded, then the pipeline started; from its first output to its last. */
async function maxRate(key: string, p: ProcessPipeline, round: number, ns: string): Promise<number> {
  await prepare(p, ns);
  const input = (p.preloadInput ?? p.input)();
  if (input.length > 0) await preload(kafka, serdeFor(ns), q(ns), input);
  const inputs = key === 'router-route' ? inboxCount : p.input().length;
  const w = await watch(kafka, p.outputs(ns), p.onRecord);
  const loadBefore = load1();
  const children = (p.processes ?? [{}]).map((extra, i) =>
    startNode(p.program, { ...endpoints, KAFKA_TOPIC_NAMESPACE: ns, ...extraEnv, ...p.env(ns, `${ns}.${key}`), ...extra }, profileArgs(`${key}-r${round}`, i), values.logs ? join(values.logs, `${key}-r${round}${i === 0 ? '' : `-${i}`}.log`) : undefined),
  );
  const finished = await untilDone(kafka, admin, p.groups(`${ns}.${key}`, ns), w, RUN_TIMEOUT_MS);
  // Several processes: the sum of their peaks (what the pipeline needs at most).
  const rssMiB = children.reduce((n, c) => n + peakRssMiB(c.pid), 0);
  for (const c of children) await stopChild(c);
  await w.stop();
  if (!finished) throw new Error(`${p.name}: no end within ${RUN_TIMEOUT_MS / 60_000} min (${w.count()} outputs); its last output:\n${children.map((c) => c.tail()).join('\n')}`);
  const seconds = Math.max(0.001, ((w.last() ?? 0) - (w.first() ?? 0)) / 1000);
  const eventsPerSec = inputs / seconds;
  record({ pipeline: p.name, round, kind: 'max', inputs, eventsPerSec, rssMiB, load: (loadBefore + load1()) / 2, note: `${w.count()} outputs read by the watcher when the groups had finished; first to last in ${seconds.toFixed(1)} s` });
  return eventsPerSec;
}

/** Latency at a given rate: the pipeline running and caught up on a fresh namespace, input played at `rate`. */
async function latencyAt(key: string, p: ProcessPipeline, round: number, ns: string, rate: number, label = p.name): Promise<void> {
  const input = p.input();
  if (input.length === 0 || p.latencyOutputs(ns).length === 0) return;
  await prepare(p, ns);
  const w = await watch(kafka, p.latencyOutputs(ns));
  const children = (p.processes ?? [{}]).map((extra, i) => startNode(p.program, { ...endpoints, KAFKA_TOPIC_NAMESPACE: ns, ...extraEnv, ...p.env(ns, `${ns}.${key}`), ...extra }, profileArgs(`${key}-r${round}-at-${Math.round(rate)}`, i), values.logs ? join(values.logs, `${key}-r${round}${i === 0 ? '' : `-${i}`}-latency.log`) : undefined));
  try {
    await untilGroupsStable(admin, [...new Set(p.groups(`${ns}.${key}`, ns).map((g) => g.groupId))]);
    await sleep(1_000); // partitions assigned: the first fetch is under way
    const loadBefore = load1();
    const cpuBefore = children.reduce((n, c) => n + cpuSeconds(c.pid), 0);
    const playStarted = performance.now();
    const sent = await play(kafka, serdeFor(ns), q(ns), input, rate, latencySeconds, w, `${ns}-lat`, Number(values['warm-up-seconds']));
    // How busy the pipeline was while the input was played: near one core, it was at its limit at this rate.
    const busy = (children.reduce((n, c) => n + cpuSeconds(c.pid), 0) - cpuBefore) / ((performance.now() - playStarted) / 1000);
    await untilDone(kafka, admin, p.groups(`${ns}.${key}`, ns), w, RUN_TIMEOUT_MS);
    // Where inputs of several topics are played, each topic's p99: which inputs make the tail.
    const byInput = [...w.latenciesByInput()].map(([topic, l]) => ({ topic, samples: l.length, p99: percentile(ascending(l), 0.99) }));
    const byTopic = byInput.length > 1 ? `; p99 by input topic: ${byInput.map((t) => `${t.topic} ${t.p99} ms (${t.samples})`).join(', ')}` : '';
    record({ pipeline: label, round, kind: 'latency', inputs: sent, rateOffered: rate, ...latencyOf(w), rssMiB: children.reduce((n, c) => n + peakRssMiB(c.pid), 0), load: (loadBefore + load1()) / 2, note: `CPU ${busy.toFixed(2)} of a core while played${byTopic}` });
  } finally {
    for (const c of children) await stopChild(c);
    await w.stop();
  }
}

// ------------------------------------------------------------------------------------------- Kafka's tools
const tools = wanted('kafka') ? kafkaRuntime(settings, say, { tools: true }) : undefined;
function java(cls: string, args: string[]): string {
  if (!tools) throw new Error('Kafka tools not prepared');
  const r = spawnSync(tools.java, ['-Xmx512m', ...tools.logArgs(join(settings.dir, 'config', 'bench-tools')), '-cp', tools.classpath, cls, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cls} failed: ${(r.stderr || r.stdout).slice(-2000)}`);
  return r.stdout;
}
/** The last summary line of ProducerPerformance: "N records sent, R records/sec (..), A ms avg latency, M ms max latency, p50 ms 50th, ...". */
function producerPerf(topic: string, records: number, throughput: number): { rate: number; avg: number; max: number; p50: number; p95: number; p99: number } {
  const out = java('org.apache.kafka.tools.ProducerPerformance', ['--topic', topic, '--num-records', String(records), '--record-size', String(Math.round(medianSize)), '--throughput', String(Math.round(throughput)), '--producer-props', `bootstrap.servers=${brokers}`, 'acks=all', 'enable.idempotence=true']);
  const line = out.trim().split('\n').filter((l) => l.includes('records sent')).at(-1) ?? '';
  const n = (re: RegExp): number => Number(re.exec(line)?.[1] ?? Number.NaN);
  return { rate: n(/([\d.]+) records\/sec/), avg: n(/([\d.]+) ms avg latency/), max: n(/([\d.]+) ms max latency/), p50: n(/(\d+) ms 50th/), p95: n(/(\d+) ms 95th/), p99: n(/(\d+) ms 99th/) };
}
function consumerPerf(topic: string, records: number): number {
  const out = java('org.apache.kafka.tools.ConsumerPerformance', ['--bootstrap-server', brokers, '--topic', topic, '--num-records', String(records), '--group', `${topic}-perf`, '--timeout', '60000']);
  // CSV: start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec.
  // fetch.nMsg.sec leaves out the group join, as the other pipelines' figures do.
  const row = out.trim().split('\n').map((l) => l.split(',').map((c) => c.trim())).filter((r) => r.length >= 10 && /^\d/.test(r[0] ?? '')).at(-1) ?? [];
  if (Number(row[4]) < records) throw new Error(`ConsumerPerformance read ${row[4] ?? 0} of ${records} records`);
  return Number(row[9]);
}
async function kafkaTools(round: number, ns: string): Promise<void> {
  const topic = `${ns}.bench.perf`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  const n = upstream.length;
  let load = load1();
  const p = producerPerf(topic, n, -1);
  record({ pipeline: 'Kafka producer perf tool (Java, acks=all)', round, kind: 'max', inputs: n, eventsPerSec: p.rate, rssMiB: Number.NaN, load: (load + load1()) / 2 });
  load = load1();
  const c = consumerPerf(topic, n);
  record({ pipeline: 'Kafka consumer perf tool (Java)', round, kind: 'max', inputs: n, eventsPerSec: c, rssMiB: Number.NaN, load: (load + load1()) / 2 });
  const rate = p.rate / 2;
  load = load1();
  const l = producerPerf(`${topic}`, Math.ceil(rate * latencySeconds), rate);
  record({ pipeline: 'Kafka producer perf tool (Java, acks=all)', round, kind: 'latency', inputs: Math.ceil(rate * latencySeconds), rateOffered: rate, p50: l.p50, p95: l.p95, p99: l.p99, max: l.max, samples: Math.ceil(rate * latencySeconds), rssMiB: Number.NaN, load: (load + load1()) / 2, note: 'send -> ack, not end to end' });
}

// ------------------------------------------------------------------------------------------- rounds
for (let round = 1; round <= rounds; round += 1) {
  const ns = `${run}r${round}`;
  say(`round ${round} of ${rounds} (namespace ${ns})`);
  if (wanted('kafka')) await kafkaTools(round, ns);
  const maxima = new Map<string, number>();
  const routers = ['topology', 'router-ingest', 'router-route', 'router', 'router-split'];
  // Those that read the router's input (the route stages alone read what ingest wrote).
  const readRouterInput = routers.filter((k) => k !== 'router-route');
  for (const key of ['alo', 'txn', 'txn-serde', 'sr-events', ...routers, 'notifier']) {
    const p = PIPELINES[key] as ProcessPipeline;
    // The router reads sr-facts: sr-events runs whenever a router pipeline does; the route stages after ingest.
    if (!wanted(key) && !(key === 'sr-events' && routers.some(wanted))) continue;
    if (routers.includes(key) && !maxima.has('sr-events')) continue;
    if (key === 'router-route' && !maxima.has('router-ingest')) continue;
    // Stages alone share the sr-events namespace (each reads what the one before wrote); the others get their own.
    const where = key === 'sr-events' || key === 'router-ingest' || key === 'router-route' ? `${ns}s` : `${ns}${key.replace(/[^a-z]/g, '')}`;
    if (key === 'sr-events') {
      srFactsByCorrelation.clear();
      srFactsNamespace = where;
    }
    if (key === 'router-ingest') inboxCount = 0;
    if (readRouterInput.includes(key)) routerInput = await buildRouterInput();
    maxima.set(key, await maxRate(key, p, round, where));
  }
  for (const [key, max] of maxima) {
    if (!wanted(key)) continue;
    await latencyAt(key, PIPELINES[key] as ProcessPipeline, round, `${ns}l${key.replace(/[^a-z]/g, '')}`, max / 2);
  }
  // The goal compares the router's p99 with the passthrough's at the same rate: the router's rate.
  const routerMax = maxima.get('router');
  if (routerMax !== undefined && wanted('txn-serde')) await latencyAt('txn-serde', PIPELINES['txn-serde'] as ProcessPipeline, round, `${ns}lptr`, routerMax / 2, 'passthrough transactional + serde, at the router\'s rate');
  if (routerMax !== undefined && wanted('txn')) await latencyAt('txn', PIPELINES.txn as ProcessPipeline, round, `${ns}lptrt`, routerMax / 2, 'passthrough transactional, at the router\'s rate');
  if (routerMax !== undefined && wanted('topology')) await latencyAt('topology', PIPELINES.topology as ProcessPipeline, round, `${ns}lptopo`, routerMax / 2, TOPOLOGY_AT_ROUTER_RATE);
  // The router's latency against the load offered, each share beside the passthrough at the same rate.
  for (const [i, share] of latencyShares.entries()) {
    if (routerMax === undefined) break;
    await latencyAt('router', PIPELINES.router as ProcessPipeline, round, `${ns}lrs${i}`, routerMax * share, atShare(share).router);
    if (wanted('txn-serde')) await latencyAt('txn-serde', PIPELINES['txn-serde'] as ProcessPipeline, round, `${ns}lptrs${i}`, routerMax * share, atShare(share).passthrough);
    if (wanted('topology')) await latencyAt('topology', PIPELINES.topology as ProcessPipeline, round, `${ns}lptopos${i}`, routerMax * share, atShare(share).topology);
  }
  // The round's topics and state go (--keep leaves them for a post-mortem): the next round meets the broker as this one did.
  if (!values.keep) {
    const removed = await removeNamespace(admin, redis, ns, registryUrl);
    say(`round ${round}: removed ${removed.topics} topics, ${removed.keys} Redis keys and ${removed.subjects} registry subjects`);
  }
}
// What no round owns: the subjects registered to measure the input's encoded size.
if (!values.keep) await removeNamespace(admin, redis, run, registryUrl);
await admin.disconnect();
await redis.quit();

// ------------------------------------------------------------------------------------------- the table
const names = [...new Set(results.map((r) => r.pipeline))];
const maxOf = (name: string): number[] => results.filter((r) => r.pipeline === name && r.kind === 'max').map((r) => r.eventsPerSec ?? Number.NaN);
const base = (name: string): number => median(maxOf(name));
const fmt = (n: number | undefined, d = 0): string => (n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-GB', { maximumFractionDigits: d, minimumFractionDigits: d }));
const txnMedian = base('passthrough transactional');
const serdeMedian = base('passthrough transactional + serde');
const lines = [
  '| pipeline | events/s min | events/s median | vs txn passthrough | vs txn + serde | rate offered | p50 ms | p95 ms | p99 ms | max ms | peak RSS MiB | load avg |',
  '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
];
for (const name of names) {
  const maxes = maxOf(name);
  const lat = results.filter((r) => r.pipeline === name && r.kind === 'latency');
  const all = results.filter((r) => r.pipeline === name);
  const m = median(maxes);
  const med = (f: (r: Measure) => number | undefined): number => median(lat.map((r) => f(r) ?? Number.NaN).filter((x) => !Number.isNaN(x)));
  lines.push(
    `| ${name} | ${maxes.length ? fmt(Math.min(...maxes)) : '-'} | ${fmt(m)} | ${maxes.length ? `${fmt((100 * m) / txnMedian)}%` : '-'} | ${maxes.length ? `${fmt((100 * m) / serdeMedian)}%` : '-'} | ${fmt(med((r) => r.rateOffered))} | ${fmt(med((r) => r.p50))} | ${fmt(med((r) => r.p95))} | ${fmt(med((r) => r.p99))} | ${fmt(med((r) => r.max))} | ${fmt(Math.max(...all.map((r) => r.rssMiB).filter((x) => !Number.isNaN(x))))} | ${fmt(Math.min(...all.map((r) => r.load)), 2)}–${fmt(Math.max(...all.map((r) => r.load)), 2)} |`,
  );
}
const topologyName = (PIPELINES.topology as ProcessPipeline).name;
const p99 = (name: string): number => median(results.filter((r) => r.pipeline === name && r.kind === 'latency').map((r) => r.p99 ?? Number.NaN));
const summary = [
  `${rounds} round(s), interleaved; ${upstream.length} upstream events, ${routerInput.length} router inputs; latency at 50% of each pipeline's own maximum, ${latencySeconds} s of input each; medians across rounds.`,
  ...lines,
  '',
  `router / transactional passthrough + serde: ${fmt((100 * base('router (all stages)')) / serdeMedian)}% (goal >= 50%); router / transactional passthrough: ${fmt((100 * base('router (all stages)')) / txnMedian)}% (goal >= 25%)`,
  `router p99 / transactional + serde passthrough p99 at the router's rate: ${fmt(p99('router (all stages)') / p99("passthrough transactional + serde, at the router's rate"), 1)}x (goal <= 2x); / transactional passthrough p99 at that rate: ${fmt(p99('router (all stages)') / p99("passthrough transactional, at the router's rate"), 1)}x`,
  ...latencyShares.map((share) => `router p99 / transactional + serde passthrough p99 at ${fmtShare(share)} of the router's rate: ${fmt(p99(atShare(share).router) / p99(atShare(share).passthrough), 1)}x (${fmt(p99(atShare(share).router))} against ${fmt(p99(atShare(share).passthrough))} ms${wanted('topology') ? `; the three raw hops ${fmt(p99(atShare(share).topology))} ms` : ''})`),
  `the router's three stages as raw hops (no goal; the floor under the router's shape): ${fmt(base(topologyName))} events/s, ${fmt((100 * base(topologyName)) / serdeMedian)}% of the one-hop passthrough with serde; the router is ${fmt((100 * base('router (all stages)')) / base(topologyName))}% of it, and its p99 ${fmt(p99('router (all stages)') / p99(TOPOLOGY_AT_ROUTER_RATE), 1)}x the hops' p99 at the router's rate`,
];
console.log(`\n${summary.join('\n')}`);
mkdirSync(join(REPO_ROOT, '.bench'), { recursive: true });
const file = join(REPO_ROOT, '.bench', `${run}.json`);
writeFileSync(file, JSON.stringify({ run, args: values, cores: cpus().length, inputs: upstream.length, medianSize, results }, null, 2));
say(`results: ${file}`);
process.exit(0);
