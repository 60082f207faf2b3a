// `npm run bench:restore [-- --case-groups 100000]`: how long the router takes to restore its state after
// Redis lost it. Builds the state of N case groups (and their people) with the routing core itself, on
// the benchmark's traffic, writes it to the route and people changelogs as the stages do (one record per
// live key, compacted), empties Redis, and times the restore of every task from the changelogs, beside a
// raw read of the same changelogs (the floor: Kafka alone).
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Partitioners } from 'kafkajs';
import { createMemorySystem } from '@cms-router/cli';
import { qualify, TOPICS } from '@cms-router/events';
import { createKafka, createLogger, createRedis, createTaskState, ensureTopics, readTopicToEnd } from '@cms-router/platform';
import { defaultRules } from '@cms-router/rules';
import { HISTORY_KEYS, toStored } from '@cms-router/routing';
import { readStackSettings, up } from '@cms-router/stack';
import { generateTraffic } from '@cms-router/traffic';
import { removeNamespace } from './bench/lib.ts';

const { values } = parseArgs({ args: process.argv.slice(2), options: { 'case-groups': { type: 'string', default: '100000' }, chunk: { type: 'string', default: '2000' } } });
const total = Number(values['case-groups']);
const chunk = Number(values.chunk);
const endpoints = (await up(readStackSettings(), (l) => { console.log(`[bench] ${l}`); })).endpoints;
const run = `restore-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
const logger = createLogger({ service: 'bench', level: 'warn' });
const kafka = createKafka({ brokers: [endpoints.KAFKA_BROKERS], clientId: 'cms-bench', ssl: false, sasl: undefined, topicNamespace: run, sessionTimeoutMs: 30_000, partitionsConsumedConcurrently: 1 }, logger);
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, [TOPICS.routerRouteState, TOPICS.routerPeopleState], run, 1);
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();

// The state, built by the routing core on the traffic, chunk by chunk (bounded memory), written as the stages write it.
const built = Date.now();
let caseGroups = 0;
let historyKeys = 0;
let people = 0;
let bytes = 0;
for (let start = 0; start < total; start += chunk) {
  const system = createMemorySystem(defaultRules());
  const events = generateTraffic({ seed: 1 + start, caseGroups: Math.min(chunk, total - start), changesPerCaseGroup: 8, prefix: `R${start}` }).flat();
  events.forEach((e, i) => system.process({ topic: e.topic, value: e.value } as never, `b${i}`, { topic: e.topic, partition: 0, offset: String(i) }));
  // As the route stage stores them: the document, and its history in the ring (packages/routing/src/stored.ts).
  const route = system.router.caseGroups().flatMap((id) => {
    const stored = toStored(undefined, system.router.state(id) ?? null);
    return [...stored.slots.map((h) => ({ key: HISTORY_KEYS.entry(id, h.slot), value: JSON.stringify(h.entry) })), { key: `cg:${id}`, value: JSON.stringify(stored.doc) }];
  });
  const persons = [...new Set(events.flatMap((e) => (e.topic === 'cms.case-facts.v1' && e.value.payload.type === 'ApplicationReceived' ? [e.value.payload.payingParent.partyId, e.value.payload.receivingParent.partyId, ...e.value.payload.qualifyingChildren.map((c) => c.partyId)] : [])))].flatMap((id) => {
    const p = system.router.person(id);
    return p ? [{ key: `person:${id}`, value: JSON.stringify(p) }] : [];
  });
  caseGroups += system.router.caseGroups().length;
  historyKeys += route.length - system.router.caseGroups().length;
  people += persons.length;
  for (const [topic, records] of [[TOPICS.routerRouteState, route], [TOPICS.routerPeopleState, persons]] as const) {
    for (let i = 0; i < records.length; i += 500) {
      const slice = records.slice(i, i + 500);
      bytes += slice.reduce((n, r) => n + r.key.length + r.value.length, 0);
      await producer.send({ topic: qualify(topic, run), messages: slice, acks: -1 });
    }
  }
  process.stdout.write(`\r[bench] state written: ${caseGroups} case groups, ${people} people`);
}
await producer.disconnect();
console.log(`\n[bench] built and written in ${((Date.now() - built) / 1000).toFixed(1)} s: ${caseGroups + historyKeys + people} live keys, ${(bytes / 1_048_576).toFixed(0)} MiB (${Math.round(bytes / (caseGroups + historyKeys + people))} bytes a key on average)`);

// The floor: the same changelogs read to the end, nothing written anywhere.
const rawStarted = Date.now();
let raw = 0;
for (const t of [TOPICS.routerRouteState, TOPICS.routerPeopleState]) raw += await readTopicToEnd(kafka, qualify(t, run), () => undefined, { timeoutMs: 1_800_000 });
const rawMs = Date.now() - rawStarted;

// Redis lost: the markers are gone, every task restores from its changelog.
const redis = createRedis(endpoints.REDIS_URL, { connectionName: 'bench-restore' });
const restoreStarted = Date.now();
for (const [stage, topic] of [['router-route', TOPICS.routerRouteState], ['router-people', TOPICS.routerPeopleState]] as const) {
  const state = createTaskState({ stage, changelogTopic: qualify(topic, run), redis, keyPrefix: run, kafka, logger, restoreTimeoutMs: 1_800_000 });
  for (let task = 0; task < 6; task += 1) await state.verify(task);
}
const restoreMs = Date.now() - restoreStarted;
// A check of a task whose state is current costs one GET and one ListOffsets.
const checkStarted = Date.now();
const current = createTaskState({ stage: 'router-route', changelogTopic: qualify(TOPICS.routerRouteState, run), redis, keyPrefix: run, kafka, logger });
for (let task = 0; task < 6; task += 1) await current.verify(task);
const checkMs = Date.now() - checkStarted;
const keys = caseGroups + historyKeys + people;
console.log(`[bench] raw read of the changelogs (the floor): ${raw} records in ${(rawMs / 1000).toFixed(1)} s = ${Math.round(raw / (rawMs / 1000))} records/s`);
console.log(`[bench] restore after Redis loss: ${keys} keys (${caseGroups} case groups, ${historyKeys} history entries, ${people} people) in ${(restoreMs / 1000).toFixed(1)} s = ${Math.round(keys / (restoreMs / 1000))} keys/s = ${Math.round(caseGroups / (restoreMs / 60_000))} case groups/min; ${((restoreMs / keys) * 1_000_000 / 1000).toFixed(0)} s per million keys; ratio to the raw read ${(restoreMs / rawMs).toFixed(2)}x`);
console.log(`[bench] check of 6 current tasks (restart, nothing lost): ${checkMs} ms`);
// Clean up: this run's topics and keys.
await removeNamespace(admin, redis, run, endpoints.SCHEMA_REGISTRY_URL).catch(() => undefined);
await redis.quit();
await admin.disconnect();
