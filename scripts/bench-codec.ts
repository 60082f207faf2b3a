// `npm run bench:codec [-- --case-groups 2000 --changes 8 --rounds 5]`: the Avro codec every service
// runs on each record it reads and writes, one core, no I/O, over the traffic generator's upstream
// events. Side by side in each round: avsc's own encode and decode of the same values (the raw
// baseline), and the codec's (the JSON form converted, checked with its path, then encoded; decoded,
// then converted back). The difference is what our conversion and validation cost.
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { codecFor, type ValueCodec } from '@cms-router/events';
import { generateTraffic } from '@cms-router/traffic';

const { values } = parseArgs({ args: process.argv.slice(2), options: { 'case-groups': { type: 'string', default: '2000' }, changes: { type: 'string', default: '8' }, seed: { type: 'string', default: '11' }, rounds: { type: 'string', default: '5' } } });
const events = generateTraffic({ seed: Number(values.seed), caseGroups: Number(values['case-groups']), changesPerCaseGroup: Number(values.changes), prefix: 'K' }).flat();
const items = events.map((e) => {
  const codec = codecFor(e.topic as never) as unknown as ValueCodec<unknown>;
  const body = codec.toAvroBuffer(e.value);
  // avsc's own form of the value (unions wrapped), which its encoder takes as it is.
  return { codec, value: e.value, body, avro: codec.type.fromBuffer(body) as unknown };
});
const rate = (ms: number): string => Math.round((items.length * 1000) / ms).toLocaleString('en-GB').padStart(9);
const timed = (run: (item: (typeof items)[number]) => unknown): number => {
  const started = performance.now();
  for (const item of items) run(item);
  return performance.now() - started;
};
console.log(`[bench:codec] ${items.length.toLocaleString('en-GB')} upstream events; ${cpus()[0]?.model ?? 'cpu'}; load ${loadavg()[0]?.toFixed(2)}`);
console.log('round  raw encode/s  codec encode/s  raw decode/s  codec decode/s');
for (let round = 1; round <= Number(values.rounds); round += 1) {
  const rawEncode = timed((i) => i.codec.type.toBuffer(i.avro));
  const encode = timed((i) => i.codec.toAvroBuffer(i.value));
  const rawDecode = timed((i) => i.codec.type.fromBuffer(i.body));
  const decode = timed((i) => i.codec.fromAvroBuffer(i.body));
  console.log(`${String(round).padStart(5)} ${rate(rawEncode)}    ${rate(encode)}     ${rate(rawDecode)}      ${rate(decode)}`);
}
