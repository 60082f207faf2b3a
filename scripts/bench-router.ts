// `npm run bench:router [-- --case-groups 2000 --changes 8 --rate 0 --keep]` (rate 0 = as fast as possible): router throughput and end-to-end latency on
// the local stack. Starts the stack, a router process on its own topic namespace and Redis prefix,
// plays seeded traffic as fast as the broker takes it, and reports events/s and latency percentiles.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { playTraffic } from '@cms-router/cli';
import { readStackSettings, REPO_ROOT, up } from '@cms-router/stack';
import { removeRun } from './bench/lib.ts';

const { values } = parseArgs({ args: process.argv.slice(2), options: { 'case-groups': { type: 'string', default: '2000' }, changes: { type: 'string', default: '8' }, seed: { type: 'string', default: '11' }, rate: { type: 'string', default: '0' }, keep: { type: 'boolean', default: false } } });
const endpoints = (await up(readStackSettings(), (l) => { console.log(`[bench] ${l}`); })).endpoints;
const run = `bench-${Date.now().toString(36)}-${randomBytes(2).toString('hex')}`;
const router = spawn(process.execPath, [join(REPO_ROOT, 'services/router/src/main.ts')], {
  env: { ...process.env, ...endpoints, KAFKA_TOPIC_NAMESPACE: run, REDIS_KEY_PREFIX: run, ROUTER_GROUP_ID: run, LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((r) => setTimeout(r, 8_000)); // group joins; the traffic tool waits for assignments anyway
const result = await playTraffic({
  brokers: endpoints.KAFKA_BROKERS,
  registryUrl: endpoints.SCHEMA_REGISTRY_URL,
  namespace: run,
  seed: Number(values.seed),
  caseGroups: Number(values['case-groups']),
  changesPerCaseGroup: Number(values.changes),
  rate: Number(values.rate),
  summaryEveryMs: 5_000,
  settleMs: 5_000,
  out: (l) => {
    console.log(l);
  },
});
router.kill('SIGTERM');
await new Promise((r) => router.once('exit', r));
// This run's topics and keys, unless kept for a post-mortem (--keep): left behind, they slow every later run.
if (!values.keep) await removeRun(endpoints, run);
const sorted = [...result.latenciesMs].sort((a, b) => a - b);
const pct = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
console.log(
  `[bench] router: ${result.produced} input events -> ${result.assignments} assignments in ${result.endToEndSeconds.toFixed(1)} s end to end = ${(result.produced / result.endToEndSeconds).toFixed(0)} events/s ` +
    `(produced in ${result.seconds.toFixed(1)} s); latency input->assignment p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, p99 ${pct(0.99)} ms, max ${sorted.at(-1) ?? 0} ms (${sorted.length} samples)`,
);
