import { srKey, type Rules } from './load.ts';
import type { Place, SrCatalogueEntry } from './schema.ts';

/** One change between two rules files, in words, under the part of the file it is in. */
export interface RulesChange {
  readonly section: 'version' | 'hierarchy' | 'segments' | 'incomeSourceTeams' | 'escalations' | 'serviceRequests' | 'postcodes';
  readonly text: string;
}

const placeText = (p: Place): string => (p.region && p.region !== p.country ? `${p.region} (${p.country})` : p.country);
const json = (v: unknown): string => JSON.stringify(v);

/** Added, removed and changed entries of two records, with a way to say each in words. */
function records<T>(section: RulesChange['section'], what: string, a: Readonly<Record<string, T>>, b: Readonly<Record<string, T>>, say: (v: T) => string, out: RulesChange[]): void {
  for (const key of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
    const x = a[key];
    const y = b[key];
    if (x === undefined && y !== undefined) out.push({ section, text: `${what} ${key} added: ${say(y)}` });
    else if (x !== undefined && y === undefined) out.push({ section, text: `${what} ${key} removed (was ${say(x)})` });
    else if (x !== undefined && y !== undefined && json(x) !== json(y)) out.push({ section, text: say(x) === say(y) ? `${what} ${key}: ${say(y)}, its note or wording changed` : `${what} ${key}: ${say(x)} -> ${say(y)}` });
  }
}

const SR_FIELDS = ['kind', 'team', 'escalation', 'movesCaseGroup', 'needsApproval', 'teamLeaderMaySelfAuthorise', 'aliases', 'procedure'] as const satisfies readonly (keyof SrCatalogueEntry)[];

/**
 * What changed from rules file `a` to `b`, in words a rules author or an operator reads before a
 * release: the version and date, the hierarchy's order, segments, income-source teams, escalations,
 * each SR type (matched as routing matches them: case and spacing do not matter), and each postcode
 * area, district and sector. Pure; `rules diff` prints it, and `what-if` says what it would move.
 */
export function diffRules(a: Rules, b: Rules): RulesChange[] {
  const out: RulesChange[] = [];
  if (a.version !== b.version) out.push({ section: 'version', text: `version ${a.version} -> ${b.version}` });
  if (a.effectiveFrom !== b.effectiveFrom) out.push({ section: 'version', text: `effective from ${a.effectiveFrom} -> ${b.effectiveFrom}` });
  if (a.effectiveTo !== b.effectiveTo) out.push({ section: 'version', text: `effective to ${a.effectiveTo ?? '(open)'} -> ${b.effectiveTo ?? '(open)'}` });

  const before = a.hierarchy.map((h) => h.rule);
  const after = b.hierarchy.map((h) => h.rule);
  if (json(before) !== json(after)) out.push({ section: 'hierarchy', text: `order ${before.join(' > ')} -> ${after.join(' > ')}` });
  for (const h of b.hierarchy) {
    const was = a.hierarchy.find((x) => x.rule === h.rule);
    if (was && was.why !== h.why) out.push({ section: 'hierarchy', text: `rule ${h.rule}: its reason is reworded` });
  }

  records('segments', 'segment', a.segments, b.segments, (s) => `${s.name}, team ${s.team ?? 'none'}${s.restricted ? ', restricted' : ''}`, out);
  records('incomeSourceTeams', 'income source', a.incomeSourceTeams, b.incomeSourceTeams, (t) => `team ${t}`, out);
  const esc = (r: Rules): Record<string, string> => Object.fromEntries(r.escalations.map((e) => [e.segment, e.procedure]));
  records('escalations', 'escalation to', esc(a), esc(b), (procedure) => `procedure ${procedure}`, out);

  const catalogue = (r: Rules): Map<string, SrCatalogueEntry> => new Map(r.serviceRequests.map((sr) => [srKey(sr.process, sr.area, sr.subArea), sr]));
  const ca = catalogue(a);
  const cb = catalogue(b);
  const name = (sr: SrCatalogueEntry): string => `${sr.process} / ${sr.area} / ${sr.subArea}`;
  const kind = (sr: SrCatalogueEntry): string => `${sr.kind === 'CASE_OWNING' ? 'case owning' : 'functionally unique'}${sr.team ? `, team ${sr.team}` : ''}${sr.escalation ? `, escalation ${sr.escalation}` : ''}`;
  for (const key of [...new Set([...ca.keys(), ...cb.keys()])].sort()) {
    const x = ca.get(key);
    const y = cb.get(key);
    if (!x && y) out.push({ section: 'serviceRequests', text: `SR type ${name(y)} added (${kind(y)})` });
    else if (x && !y) out.push({ section: 'serviceRequests', text: `SR type ${name(x)} removed (was ${kind(x)}): its SRs will be refused as not in the catalogue` });
    else if (x && y) {
      for (const field of SR_FIELDS) {
        if (json(x[field]) !== json(y[field])) out.push({ section: 'serviceRequests', text: `SR type ${name(y)}: ${field} ${json(x[field] ?? null)} -> ${json(y[field] ?? null)}` });
      }
    }
  }

  records('postcodes', 'postcode area', a.postcodes.areas, b.postcodes.areas, placeText, out);
  records('postcodes', 'postcode district', a.postcodes.districts, b.postcodes.districts, placeText, out);
  records('postcodes', 'postcode sector', a.postcodes.sectors, b.postcodes.sectors, placeText, out);
  return out;
}
