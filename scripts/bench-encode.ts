// `npm run bench:encode [-- --inputs 400 --seconds 2 --rounds 3]`: kafkajs's record-batch encoding of one
// router transaction, per record, beside a raw baseline in the same run (the same values copied into one
// buffer: the least any client does). The transaction is shaped like the route stage's: per input, an
// output of 300 bytes with the six standard headers, and a state document of 4.6 KB (the average case
// group's, docs/benchmarks.md). patches/kafkajs+2.2.4.patch rewrites this path; to measure kafkajs as
// published, run `npx patch-package --reverse`, then this, then `npx patch-package` to apply it again.
import { randomBytes, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { HEADERS } from '@cms-router/events';

const require = createRequire(import.meta.url);
const { RecordBatch } = require('kafkajs/src/protocol/recordBatch/v0') as { RecordBatch: (o: object) => Promise<{ buffer: Buffer }> };
const encodeRecord = require('kafkajs/src/protocol/recordBatch/record/v0') as (o: object) => unknown;

const { values } = parseArgs({ args: process.argv.slice(2), options: { inputs: { type: 'string', default: '400' }, seconds: { type: 'string', default: '2' }, rounds: { type: 'string', default: '3' } } });
const inputs = Number(values.inputs);
const seconds = Number(values.seconds);

const headers = (): Record<string, string> => ({ [HEADERS.eventId]: randomUUID(), [HEADERS.causationId]: randomUUID(), [HEADERS.correlationId]: randomUUID(), [HEADERS.producedAt]: new Date().toISOString(), [HEADERS.eventType]: 'CaseGroupAssigned', [HEADERS.producer]: 'router' });
const doc = JSON.stringify({ filler: 'x'.repeat(4_600) });
const messages = Array.from({ length: inputs }, (_, i) => [
  { key: Buffer.from(`CG-${i}`), value: randomBytes(300), headers: headers() },
  { key: `cg:CG-${i}`, value: doc, headers: {} },
]).flat();

const encode = async (): Promise<number> => {
  const records = messages.map((m, i) => encodeRecord({ ...m, offsetDelta: i, timestampDelta: 0 }));
  return (await RecordBatch({ records, transactional: true, lastOffsetDelta: records.length - 1 })).buffer.length;
};
const copy = (): number => Buffer.concat(messages.map((m) => (typeof m.value === 'string' ? Buffer.from(m.value) : m.value))).length;

/** Microseconds per record of `fn`, run over the whole transaction for `seconds`. */
const perRecord = async (fn: () => number | Promise<number>): Promise<number> => {
  const started = performance.now();
  let n = 0;
  while (performance.now() - started < seconds * 1000) {
    await fn();
    n += 1;
  }
  return ((performance.now() - started) * 1000) / (n * messages.length);
};

const bytes = await encode();
console.log(`[bench:encode] ${messages.length} records (${inputs} inputs), ${bytes.toLocaleString('en-GB')} bytes per batch; load ${loadavg()[0]?.toFixed(2)}`);
for (let round = 1; round <= Number(values.rounds); round += 1) {
  const kafkajs = await perRecord(encode);
  const raw = await perRecord(copy);
  console.log(`round ${round}: kafkajs record batch ${kafkajs.toFixed(2)} µs/record; raw copy of the same values ${raw.toFixed(2)} µs/record (${(kafkajs / raw).toFixed(1)}x)`);
}
