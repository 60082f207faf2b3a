import type { Rules } from './load.ts';
import type { Place } from './schema.ts';

/** A UK-format postcode split into its parts. The inward code never leaves this module. */
export interface ParsedPostcode {
  readonly area: string;
  readonly district: string;
  readonly sector: string;
}

// Outward code A9, A99, A9A, AA9, AA99, AA9A, then the inward code 9AA. Spaces are ignored.
const POSTCODE = /^([A-Z]{1,2})(\d[A-Z\d]?)(\d)[A-Z]{2}$/;

export function parsePostcode(raw: string): ParsedPostcode | undefined {
  const match = POSTCODE.exec(raw.toUpperCase().replace(/\s+/g, ''));
  if (!match) return undefined;
  const [, area = '', districtPart = '', sectorDigit = ''] = match;
  return { area, district: `${area}${districtPart}`, sector: `${area}${districtPart} ${sectorDigit}` };
}

export type PostcodeLookup =
  | { readonly ok: true; readonly place: Place; readonly district: string; readonly matched: 'sector' | 'district' | 'area' }
  | { readonly ok: false; readonly problem: 'MALFORMED' | 'UNKNOWN_AREA'; readonly district: string | undefined };

/**
 * Where a postcode is, most specific entry first: sector override, district override, then area.
 * Malformed and unknown postcodes are errors, never a default.
 */
export function lookupPostcode(raw: string, rules: Rules): PostcodeLookup {
  let cache = lookups.get(rules);
  if (!cache) {
    cache = new Map();
    lookups.set(rules, cache);
  }
  let found = cache.get(raw);
  if (!found) {
    // Bounded: a long replay meets millions of postcodes; starting afresh costs one parse each.
    if (cache.size >= LOOKUP_CACHE_ENTRIES) cache.clear();
    found = lookupUncached(raw, rules);
    cache.set(raw, found);
  }
  return found;
}

/** A decision looks a postcode up more than once (non-UK, then postcode routing), and replays repeat them. */
const lookups = new WeakMap<Rules, Map<string, PostcodeLookup>>();
const LOOKUP_CACHE_ENTRIES = 100_000;

function lookupUncached(raw: string, rules: Rules): PostcodeLookup {
  const parsed = parsePostcode(raw);
  if (!parsed) return { ok: false, problem: 'MALFORMED', district: undefined };
  const table = rules.postcodes;
  const sector = table.sectors[parsed.sector];
  if (sector) return { ok: true, place: sector, district: parsed.district, matched: 'sector' };
  const district = table.districts[parsed.district];
  if (district) return { ok: true, place: district, district: parsed.district, matched: 'district' };
  const area = table.areas[parsed.area];
  if (area) return { ok: true, place: area, district: parsed.district, matched: 'area' };
  return { ok: false, problem: 'UNKNOWN_AREA', district: parsed.district };
}
