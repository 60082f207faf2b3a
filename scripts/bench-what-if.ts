// `npm run bench:what-if [-- --inbox-events 1000000 --events 1000000]`: what-if's pure replay, beside a raw baseline
// in the same run, each in a child process of its own (one core each: the replay is single-threaded):
//   - raw baseline: the inbox files read and JSON-parsed line by line (the floor: no routing);
//   - what-if over the inbox: the same records through two route cores per partition (active rules and a
//     candidate that moves two postcode districts), a partition at a time, each settled when read, then
//     the report; this is the path `what-if` runs over the kept inbox, without the Kafka read and the
//     Avro decode;
//   - `cms-router what-if --scenario` as an operator runs it, over upstream events (sr-events' core once and
//     each side's person registry, the inbox spooled to files, then routed a partition at a time).
// The inbox (six partition files) is recorded by running generated traffic once through the in-memory router (onInbox).
import { spawnSync, type SpawnSyncOptionsWithStringEncoding, type SpawnSyncReturns } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createInboxSpool, createMemorySystem, createWhatIf, readSpool, type SystemInput } from '@cms-router/cli';
import { defaultRules, loadRules } from '@cms-router/rules';
import { generateTraffic } from '@cms-router/traffic';
import { PEAK_RSS_ON_EXIT, peakRssOnExitMiB } from './bench/lib.ts';
import { writeScenario } from './bench/scenario.ts';

const { values, positionals } = parseArgs({
  args: process.argv.slice(2),
  allowPositionals: true,
  options: { 'inbox-events': { type: 'string', default: '1000000' }, events: { type: 'string', default: '1000000' }, child: { type: 'string' }, keep: { type: 'boolean' } },
});


/**
 * A child's run: read the inbox files, one partition after another, and replay each through what-if
 * (settling it when read, as `cms-router what-if` reads the kept inbox) unless it is the baseline.
 */
async function child(mode: string, dir: string, candidateFile: string): Promise<void> {
  const whatIf = mode === 'replay' ? createWhatIf(defaultRules(), loadRules(JSON.parse(await readText(candidateFile)), candidateFile)) : undefined;
  const started = performance.now();
  let n = 0;
  for (let p = 0; p < PARTITIONS; p += 1) {
    for await (const r of readSpool(inboxFile(dir, p))) {
      n += 1;
      whatIf?.inbox(p, r.i, r.e, r.s, r.a);
    }
    whatIf?.settle(p);
  }
  const report = whatIf?.report();
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`${JSON.stringify({ n, seconds, moves: report?.moves.length ?? null, workItems: report?.workItems ?? null, rssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

async function readText(path: string): Promise<string> {
  let text = '';
  for await (const chunk of createReadStream(path, 'utf8')) text += chunk as string;
  return text;
}

const candidateRules = (): object => {
  const rules = JSON.parse(JSON.stringify(defaultRules())) as { version: string; postcodes: { districts: Record<string, unknown> } };
  rules.version = 'bench-candidate';
  rules.postcodes.districts['LS1'] = { country: 'ENGLAND', region: 'NORTH_WEST' };
  rules.postcodes.districts['NE1'] = { country: 'ENGLAND', region: 'SCOTLAND' };
  return rules;
};

/** The inbox's partitions, as the router's inbox topic has them by default. */
const PARTITIONS = 6;
/** A partition's file of the recorded inbox (what-if's spool, one side). */
const inboxFile = (dir: string, partition: number): string => join(dir, `side0-p${partition}.jsonl`);

/**
 * Records `target` inbox records: generated traffic through the in-memory router once, each record its
 * route core runs written to its partition's file as the service's inbox keeps them (what-if's spool).
 */
function recordInbox(dir: string, target: number): { inbox: number; upstream: number; bytes: number } {
  const spool = createInboxSpool(dir, PARTITIONS, 1);
  let inbox = 0;
  let upstream = 0;
  const system = createMemorySystem(defaultRules(), {
    historyLimit: 0,
    onInbox: (i, e, s, a) => {
      if (inbox >= target) return;
      spool.write(0, i, e, s, a);
      inbox += 1;
    },
  });
  try {
    for (let start = 0; inbox < target; start += 2_000) {
      for (const e of generateTraffic({ seed: 1 + start, caseGroups: 2_000, changesPerCaseGroup: 8, prefix: `S${start}` }).flat()) {
        if (inbox >= target) break;
        system.process({ topic: e.topic, value: e.value } as SystemInput, `u-${upstream}`, { topic: e.topic, partition: 0, offset: String(upstream) });
        upstream += 1;
      }
    }
  } finally {
    spool.close();
  }
  return { inbox, upstream, bytes: Array.from({ length: PARTITIONS }, (_, p) => statSync(inboxFile(dir, p)).size).reduce((a, b) => a + b, 0) };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-GB');

if (values.child) {
  await child(values.child, positionals[0] ?? '', positionals[1] ?? '');
} else {
  const dir = mkdtempSync(join(tmpdir(), 'cms-bench-what-if-'));
  const candidate = join(dir, 'candidate.json');
  writeFileSync(candidate, JSON.stringify(candidateRules()));
  const recorded = recordInbox(dir, Number(values['inbox-events']));
  console.log(`[bench:what-if] ${fmt(recorded.inbox)} inbox records (from ${fmt(recorded.upstream)} upstream events) in ${PARTITIONS} partitions, ${(recorded.bytes / 2 ** 20).toFixed(0)} MiB; ${cpus()[0]?.model ?? 'cpu'}; load ${loadavg()[0]?.toFixed(2)}`);
  const self = resolve(import.meta.dirname, 'bench-what-if.ts');
  // "On one core": each child is pinned to CPU 0 where taskset exists, so the collector's helper threads
  // share the replay's core instead of using a second one.
  const pinned = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  const run = (args: readonly string[], opts: SpawnSyncOptionsWithStringEncoding): SpawnSyncReturns<string> => (pinned ? spawnSync('taskset', ['-c', '0', process.execPath, ...args], opts) : spawnSync(process.execPath, args, opts));
  console.log(pinned ? '(each run pinned to one core: taskset -c 0)' : '(not pinned to one core: taskset not found; the collector may use a second core)');
  for (const [mode, label] of [['baseline', 'raw baseline (read + JSON.parse per line)'], ['replay', 'what-if over the inbox (two route cores + report)']] as const) {
    const r = run([self, '--child', mode, dir, candidate], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    if (r.status !== 0) throw new Error(`${mode} failed (${r.status})`);
    const x = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { n: number; seconds: number; moves: number | null; workItems: number | null; rssMiB: number };
    console.log(`${label.padEnd(60)}${fmt(x.n)} records in ${x.seconds.toFixed(1)} s = ${fmt(x.n / x.seconds)} records/s; peak RSS ${fmt(x.rssMiB)} MiB${x.moves === null ? '' : `; ${fmt(x.moves)} of ${fmt(x.workItems ?? 0)} work items move`}`);
  }
  // The operator's command over upstream events: sr-events' core once, each side's registry, the inbox spooled and routed a partition at a time.
  const scenario = join(dir, 'scenario.jsonl');
  const events = await writeScenario(scenario, Number(values.events));
  // As shipped (the heap may grow by half the live state between full collections), and with V8's own sizing.
  for (const [growth, label] of [[undefined, '--heap-growth 50, as shipped'], ['0', "--heap-growth 0, V8's own sizing"]] as const) {
    const started = performance.now();
    const r = run(['--import', PEAK_RSS_ON_EXIT, resolve(import.meta.dirname, '../packages/cli/src/bin.ts'), 'what-if', '--rules', candidate, '--scenario', scenario, '--limit', '0', ...(growth === undefined ? [] : ['--heap-growth', growth])], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 20 });
    const s = (performance.now() - started) / 1000;
    if (r.status !== 0) throw new Error(`what-if failed (${r.status}): ${r.stderr.slice(-400)}`);
    console.log(`${`cms-router what-if --scenario (${label})`.padEnd(68)}${fmt(events)} upstream events in ${s.toFixed(1)} s = ${fmt(events / s)} events/s; peak RSS ${fmt(peakRssOnExitMiB(r.stderr))} MiB`);
  }
  if (!values.keep) rmSync(dir, { recursive: true, force: true });
}
