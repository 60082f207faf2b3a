// `node scripts/profile-summary.ts FILE.cpuprofile [--top 25] [--by function|package]`: where a V8 CPU
// profile (node --cpu-prof) spends its time, by self time, as a share of busy (non-idle) time. Used for
// the profile tables in docs/benchmarks.md. Chrome DevTools reads the same files; this prints text.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
const { values, positionals } = parseArgs({ args: process.argv.slice(2), allowPositionals: true, options: { top: { type: 'string', default: '25' }, by: { type: 'string', default: 'function' } } });
const file = positionals[0];
if (!file) {
  console.error('usage: node scripts/profile-summary.ts FILE.cpuprofile [--top 25] [--by function|package]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map<number, number>();
profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

/** A package-level area: node_modules package, our workspace package, or Node's own. */
const area = (url: string): string => {
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  const ours = /\/(packages|services)\/([^/]+)\/src\/(.*)$/.exec(url);
  if (ours) return `${ours[1]}/${ours[2]}`;
  if (url.startsWith('node:')) return 'node (core modules)';
  return url === '' ? '(native / V8)' : url.replace(/^.*\//, '');
};
const totals = new Map<string, number>();
let busy = 0;
for (const [id, us] of self) {
  const n = byId.get(id);
  if (!n) continue;
  const name = n.callFrame.functionName;
  if (name === '(idle)' || name === '(program)') continue;
  busy += us;
  const key = values.by === 'package' ? area(n.callFrame.url) : `${name || '(anonymous)'} ${area(n.callFrame.url)}:${n.callFrame.lineNumber + 1}${name === '(garbage collector)' ? '' : ''}`;
  totals.set(key, (totals.get(key) ?? 0) + us);
}
const wall = profile.timeDeltas.reduce((a, b) => a + b, 0);
console.log(`busy ${(busy / 1e6).toFixed(2)} s of ${(wall / 1e6).toFixed(2)} s sampled (${((100 * busy) / wall).toFixed(0)}%)`);
for (const [key, us] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) console.log(`${((100 * us) / busy).toFixed(1).padStart(5)}%  ${key}`);
