import type { Rules } from './load.ts';

/**
 * Every rules version the router holds, and which one decides a fact: the version in effect on the fact's
 * business date (UTC), so a version released ahead of its `effectiveFrom` changes nothing before that day
 * and everything on and after it, with no restart. On a given day the version in effect is the one with
 * the latest `effectiveFrom` on or before it whose `effectiveTo` (inclusive) has not passed; equal dates go
 * to the greater version id, so every instance chooses the same whatever order it heard of them. A fact
 * dated before every version is decided by the earliest (history older than the rules); one in a gap
 * after an `effectiveTo`, by the last version that had started. docs/rules.md.
 */
export interface RulesBook {
  /** By effectiveFrom, then version. */
  readonly versions: readonly Rules[];
  at(occurredAt: string): Rules;
  /** The book with `rules` added, or replacing the version of the same id. */
  with(rules: Rules): RulesBook;
  /** The book without that version; the last version is never removed (something must decide). */
  without(version: string): RulesBook;
}

const order = (a: Rules, b: Rules): number => (a.effectiveFrom < b.effectiveFrom ? -1 : a.effectiveFrom > b.effectiveFrom ? 1 : a.version < b.version ? -1 : a.version > b.version ? 1 : 0);

export function createRulesBook(given: readonly Rules[]): RulesBook {
  if (given.length === 0) throw new Error('a rules book needs at least one version');
  const byId = new Map<string, Rules>();
  for (const r of given) byId.set(r.version, r);
  const versions = [...byId.values()].sort(order);
  const first = versions[0] as Rules;
  // One answer per business day: facts come in their thousands per day, versions in their few.
  const days = new Map<string, Rules>();
  const decide = (day: string): Rules => {
    let started: Rules | undefined;
    let inEffect: Rules | undefined;
    for (const r of versions) {
      if (r.effectiveFrom > day) break;
      started = r;
      if (r.effectiveTo === undefined || day <= r.effectiveTo) inEffect = r;
    }
    return inEffect ?? started ?? first;
  };
  return {
    versions,
    at(occurredAt) {
      const day = occurredAt.slice(0, 10);
      let r = days.get(day);
      if (!r) {
        if (days.size > 10_000) days.clear();
        days.set(day, (r = decide(day)));
      }
      return r;
    },
    with: (rules) => createRulesBook([...versions.filter((r) => r.version !== rules.version), rules]),
    without(version) {
      const rest = versions.filter((r) => r.version !== version);
      return rest.length === 0 ? this : createRulesBook(rest);
    },
  };
}
