// `npm run bench:notifier [-- --emails 500 --keep]`: notifier throughput and latency on the local stack, SMTP
// included. Starts the stack and a notifier process on its own topic namespace, Redis prefix and
// inboxes, publishes N assignments that move N case groups into Special Client Records (one SCR email
// each), and reports emails/s and the time from publishing an assignment to its SENT event (the SMTP
// sink had accepted the message by then).
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { HEADERS, qualify, TOPICS, type Assignment, type Notification } from '@cms-router/events';
import { createKafka, createLogger, createSchemaRegistry, createSerde, ensureTopics } from '@cms-router/platform';
import { readStackSettings, REPO_ROOT, up } from '@cms-router/stack';
import { removeRun } from './bench/lib.ts';

const { values } = parseArgs({ args: process.argv.slice(2), options: { emails: { type: 'string', default: '500' }, keep: { type: 'boolean', default: false } } });
const n = Number(values.emails);
const endpoints = (await up(readStackSettings(), (l) => { console.log(`[bench] ${l}`); })).endpoints;
const run = `benchn-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
const logger = createLogger({ service: 'bench', level: 'warn' });
const kafka = createKafka({ brokers: [endpoints.KAFKA_BROKERS], clientId: run, ssl: false, sasl: undefined, topicNamespace: run, sessionTimeoutMs: 30_000, partitionsConsumedConcurrently: 1 }, logger);
const serde = createSerde(createSchemaRegistry({ url: endpoints.SCHEMA_REGISTRY_URL }), run);
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, [TOPICS.assignments, TOPICS.srFacts, TOPICS.workforce, TOPICS.notifierWork, TOPICS.notifications, TOPICS.orphanFlags, TOPICS.rejections, TOPICS.deadLetter], run, 1);
await admin.disconnect();
const inbox = (name: string): string => `${name}-${run}@bench.test`;
const notifier = spawn(process.execPath, [join(REPO_ROOT, 'services/notifier/src/main.ts')], {
  env: { ...process.env, ...endpoints, KAFKA_TOPIC_NAMESPACE: run, REDIS_KEY_PREFIX: run, NOTIFIER_GROUP_ID: run, LOG_LEVEL: 'warn', INBOX_SCR: inbox('scr'), INBOX_ECH_GATEWAY: inbox('ech'), INBOX_SCR_TEAM_LEADER: inbox('tl'), INBOX_ORPHANS: inbox('it') },
  stdio: ['ignore', 'ignore', 'inherit'],
});

const sentAt = new Map<string, number>();
const latencies: number[] = [];
const consumer = kafka.consumer({ groupId: `${run}-reader`, readUncommitted: false, maxWaitTimeInMs: 100 });
await consumer.connect();
await consumer.subscribe({ topics: [qualify(TOPICS.notifications, run)], fromBeginning: true });
await consumer.run({
  eachMessage: async ({ message }) => {
    const note = (await serde.decode(qualify(TOPICS.notifications, run), message.value)).value as Notification;
    const started = sentAt.get(note.caseGroupId);
    if (started !== undefined && note.outcome === 'SENT') latencies.push(Date.now() - started);
  },
});
await new Promise((r) => setTimeout(r, 8_000)); // the notifier joins its group

const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
await producer.connect();
const began = Date.now();
for (let i = 0; i < n; i += 50) {
  const messages = [];
  for (let j = i; j < Math.min(n, i + 50); j += 1) {
    const a: Assignment = { assignmentId: `${run}-${j}`, caseGroupId: `B-CG-${j}`, occurredAt: new Date().toISOString(), subject: 'CASE_GROUP', srId: null, previousSegment: 'MAINTENANCE', segment: 'SPECIAL_CLIENT_RECORDS', region: null, team: '2012 SCR Team', ownerUserId: null, access: 'OWNER', requirements: [], handling: [], rulesVersion: 'bench', reasons: [], pendingMove: null, orphan: null, basis: null };
    sentAt.set(a.caseGroupId, Date.now());
    messages.push({ key: a.caseGroupId, value: await serde.encode(TOPICS.assignments, a), headers: { [HEADERS.eventId]: a.assignmentId } });
  }
  await producer.send({ topic: qualify(TOPICS.assignments, run), messages, acks: -1 });
}
await producer.disconnect();
const deadline = Date.now() + 600_000;
while (latencies.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
const seconds = (Date.now() - began) / 1000;
await consumer.disconnect();
notifier.kill('SIGTERM');
await new Promise((r) => notifier.once('exit', r));
// This run's topics and keys, unless kept for a post-mortem (--keep): left behind, they slow every later run.
if (!values.keep) await removeRun(endpoints, run);
const sorted = [...latencies].sort((a, b) => a - b);
const pct = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
console.log(`[bench] notifier: ${latencies.length} of ${n} emails sent through SMTP in ${seconds.toFixed(1)} s = ${(latencies.length / seconds).toFixed(1)} emails/s; assignment published -> SENT event: p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, p99 ${pct(0.99)} ms, max ${sorted.at(-1) ?? 0} ms`);
process.exit(latencies.length === n ? 0 : 1);
