import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { generateTraffic } from '@cms-router/traffic';

/**
 * Writes `target` upstream events of generated traffic to `file` as a scenario (JSON lines, the
 * contract's JSON form), in chunks of case groups, so that making a million-event scenario needs no
 * more memory than one chunk. Returns the number written.
 */
export async function writeScenario(file: string, target: number, chunk = 2_000): Promise<number> {
  const out = createWriteStream(file);
  let written = 0;
  for (let start = 0; written < target; start += chunk) {
    for (const e of generateTraffic({ seed: 1 + start, caseGroups: chunk, changesPerCaseGroup: 8, prefix: `S${start}` }).flat()) {
      if (written >= target) break;
      if (!out.write(`${JSON.stringify({ topic: e.topic, key: e.key, value: e.value })}\n`)) await once(out, 'drain');
      written += 1;
    }
  }
  out.end();
  await once(out, 'finish');
  return written;
}
