// `npm run bench:simulate [-- --events 1000000]`: `cms-router simulate` over a generated scenario of that
// many upstream events (JSON lines, the contract's JSON form), its events/s and peak RSS, beside a raw
// baseline in the same run: reading and JSON-parsing the same file line by line (the floor: no routing).
// The scenario is written in chunks of case groups so that making it needs no more memory than running it.
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { PEAK_RSS_ON_EXIT, peakRssOnExitMiB } from './bench/lib.ts';
import { writeScenario } from './bench/scenario.ts';

const { values } = parseArgs({ args: process.argv.slice(2), options: { events: { type: 'string', default: '1000000' }, chunk: { type: 'string', default: '2000' }, keep: { type: 'boolean' } } });
const target = Number(values.events);
const dir = mkdtempSync(join(tmpdir(), 'cms-bench-sim-'));
const file = join(dir, 'scenario.jsonl');
const written = await writeScenario(file, target, Number(values.chunk));
console.log(`[bench:simulate] ${written.toLocaleString('en-GB')} events, ${(statSync(file).size / 2 ** 20).toFixed(0)} MiB of JSON lines; ${cpus()[0]?.model ?? 'cpu'}; load ${loadavg()[0]?.toFixed(2)}`);

// Raw baseline: the same file read and parsed line by line, nothing else.
{
  const started = performance.now();
  let n = 0;
  for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) if (line !== '') n += (JSON.parse(line) as object) ? 1 : 0;
  const s = (performance.now() - started) / 1000;
  console.log(`raw baseline (read + JSON.parse per line)   ${n.toLocaleString('en-GB')} events in ${s.toFixed(1)} s = ${Math.round(n / s).toLocaleString('en-GB')} events/s`);
}

// The CLI as an operator runs it, output to /dev/null: as shipped (the heap may grow by half the live
// state between full collections), and with V8's own heap sizing (--heap-growth 0), which lets the heap
// grow well past the live state.
const bin = resolve(import.meta.dirname, '../packages/cli/src/bin.ts');
for (const [growth, label] of [[undefined, 'as shipped: --heap-growth 50'], ['0', "V8's own sizing: --heap-growth 0"]] as const) {
  const started = performance.now();
  const r = spawnSync(process.execPath, ['--import', PEAK_RSS_ON_EXIT, bin, 'simulate', file, ...(growth === undefined ? [] : ['--heap-growth', growth])], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 1 << 20 });
  const s = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`simulate failed (${r.status}): ${r.stderr.slice(-400)}`);
  console.log(`cms-router simulate (check, run; ${label})`.padEnd(68) + `${written.toLocaleString('en-GB')} events in ${s.toFixed(1)} s = ${Math.round(written / s).toLocaleString('en-GB')} events/s; peak RSS ${peakRssOnExitMiB(r.stderr).toFixed(0)} MiB`);
}
if (!values.keep) rmSync(dir, { recursive: true, force: true });
