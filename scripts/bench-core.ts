// `npm run bench:core [-- --case-groups 20000 --changes 8 --seconds 3]`: the pure core, no I/O, one core.
// Side by side in one run:
//   - a raw baseline: each event's key looked up and its state object replaced in a Map (the least any
//     stateful processor does per event);
//   - the in-memory system (sr-events' core + the router's three stages) over the generated upstream
//     events: the what-if and replay path;
//   - the router's core alone over the router's inputs (sr-facts derived beforehand), as the service keeps it
//     and as what-if replays it;
//   - decideCaseGroup alone over the case groups' final facts, and route() for one fact.
// Memory per live case group is the heap after a full GC, over the case groups held. Run with
// --expose-gc (the npm script does).
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { createMemorySystem, type SystemInput } from '@cms-router/cli';
import { createMemoryRouter, factsOf } from '@cms-router/routing';
import { decideCaseGroup, defaultRules } from '@cms-router/rules';
import { generateTraffic } from '@cms-router/traffic';

const { values } = parseArgs({ args: process.argv.slice(2), options: { 'case-groups': { type: 'string', default: '20000' }, changes: { type: 'string', default: '8' }, seed: { type: 'string', default: '7' }, seconds: { type: 'string', default: '3' } } });
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const heapMiB = (): number => {
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const rules = defaultRules();
const caseGroups = Number(values['case-groups']);
const seconds = Number(values.seconds);
const events = generateTraffic({ seed: Number(values.seed), caseGroups, changesPerCaseGroup: Number(values.changes), prefix: 'C' }).flat();
const source = (i: number) => ({ topic: 'bench', partition: 0, offset: String(i) });
const line = (name: string, n: number, ms: number, unit = 'events'): string => `${name.padEnd(44)} ${n.toLocaleString('en-GB').padStart(10)} ${unit} in ${(ms / 1000).toFixed(2)} s = ${Math.round((n * 1000) / ms).toLocaleString('en-GB').padStart(10)} ${unit}/s`;
console.log(`[bench:core] ${events.length.toLocaleString('en-GB')} upstream events for ${caseGroups.toLocaleString('en-GB')} case groups; ${cpus()[0]?.model ?? 'cpu'}; load ${loadavg()[0]?.toFixed(2)}`);

// Raw baseline: a Map get and set per event (its key), with a small new state object each time.
{
  const started = performance.now();
  const m = new Map<string, { n: number; at: string }>();
  for (const e of events) m.set(e.key, { n: (m.get(e.key)?.n ?? 0) + 1, at: e.value.occurredAt });
  console.log(line('raw baseline (Map get + set per event)', events.length, performance.now() - started));
}

// The whole in-memory system: sr-events + ingest + person registry + route. Its heap is measured with
// nothing else kept: the router's inputs are collected in a second, untimed pass (counted in the first,
// they had added about 4 KiB per case group to the figure).
{
  const heapBefore = heapMiB();
  let system = createMemorySystem(rules);
  const started = performance.now();
  let outputs = 0;
  for (const [i, e] of events.entries()) outputs += system.process({ topic: e.topic, value: e.value } as SystemInput, `e-${i}`, source(i)).length;
  const ms = performance.now() - started;
  console.log(`${line('in-memory system (sr-events + router)', events.length, ms)}  (${outputs.toLocaleString('en-GB')} outputs)`);
  const heapAfter = heapMiB();
  // The system is read after the measurement, so that it is surely still held when the heap is measured.
  const held = system.router.caseGroups().length;
  const perCaseGroupKiB = ((heapAfter - heapBefore) * 1024) / held;
  console.log(`memory: ${held.toLocaleString('en-GB')} live case groups, ${perCaseGroupKiB.toFixed(1)} KiB of heap each (people, users and sr state included); 1M events would hold about ${((perCaseGroupKiB * held * (1_000_000 / events.length)) / 1024).toFixed(0)} MiB`);
  system = undefined as never;
}
const routerInputs: { input: SystemInput; eventId: string }[] = [];
let system = createMemorySystem(rules);
for (const [i, e] of events.entries()) {
  const out = system.process({ topic: e.topic, value: e.value } as SystemInput, `e-${i}`, source(i));
  if (e.topic !== 'cms.sr-lifecycle.v1') routerInputs.push({ input: { topic: e.topic, value: e.value } as SystemInput, eventId: `e-${i}` });
  else out.forEach((o, j) => o.topic === 'cms.sr-facts.v1' && routerInputs.push({ input: { topic: 'cms.sr-facts.v1', value: o.value }, eventId: `e-${i}/${j}` }));
}
const finalStates = system.router.caseGroups().map((id) => system.router.state(id)).filter((s) => s !== undefined);
system = undefined as never;

// The router's core alone, on its own inputs: as the service's route stage keeps it (history and assignment
// records), and as what-if replays it (no history, placements only: what-if compares where work ends up).
for (const [name, options] of [
  ['router core (ingest + people + route)', {}],
  ['router core, as what-if replays it', { historyLimit: 0, placementsOnly: true }],
] as const) {
  const router = createMemoryRouter(rules, options);
  const started = performance.now();
  for (const [i, r] of routerInputs.entries()) router.process(r.input as never, r.eventId, source(i));
  console.log(line(name, routerInputs.length, performance.now() - started));
}

// decideCaseGroup over realistic final states, repeated for `seconds`.
{
  const facts = finalStates.map((s) => factsOf(s)).filter((f) => f !== undefined);
  let n = 0;
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    for (const f of facts) decideCaseGroup(f, rules);
    n += facts.length;
  }
  console.log(line(`decideCaseGroup (${facts.length.toLocaleString('en-GB')} final states)`, n, performance.now() - started, 'decisions'));
  let built = 0;
  const t = performance.now();
  while (performance.now() - t < seconds * 1000) {
    for (const s of finalStates) factsOf(s);
    built += finalStates.length;
  }
  console.log(line('factsOf (state -> decision facts)', built, performance.now() - t, 'states'));
}
