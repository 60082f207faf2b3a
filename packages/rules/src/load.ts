import { CmsError } from '@cms-router/errors';
import { RULE_IDS, rulesFileSchema, type RulesFile } from './schema.ts';

/** Validated, frozen rules. */
export type Rules = Readonly<RulesFile>;

/**
 * Validates a parsed rules file: its shape (zod) and its cross-references (every rule once in the
 * hierarchy, every segment named exists, SR catalogue entries unique). Every problem is reported.
 */
export function loadRules(data: unknown, source = 'rules file'): Rules {
  const checked = validateRules(data);
  if (!checked.ok) throw new CmsError('CMS_RULES_INVALID', `${source}: ${checked.problems.join('; ')}`, { context: { problems: checked.problems.length } });
  return checked.rules;
}

/**
 * Every problem of a rules file, each naming where it is (`serviceRequests[3].team: ...`): all shape
 * problems at once, and when the shape is right, all cross-reference problems at once (they need the
 * shape to be read). `rules validate` prints them one per line.
 */
export function validateRules(data: unknown): { readonly ok: true; readonly rules: Rules } | { readonly ok: false; readonly problems: readonly string[] } {
  const parsed = rulesFileSchema.safeParse(data);
  if (!parsed.success) return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
  const rules = parsed.data;
  const problems: string[] = [];
  if (rules.effectiveTo !== undefined && rules.effectiveTo < rules.effectiveFrom) problems.push(`effectiveTo: ${rules.effectiveTo} is before effectiveFrom ${rules.effectiveFrom}`);
  const order = rules.hierarchy.map((h) => h.rule);
  for (const id of RULE_IDS) if (!order.includes(id)) problems.push(`hierarchy: rule ${id} is missing`);
  if (new Set(order).size !== order.length) problems.push('hierarchy: a rule appears twice');
  const segments = new Set(Object.keys(rules.segments));
  for (const required of ['NON_STANDARD', 'SPECIAL_CLIENT_RECORDS', 'INTERNATIONAL', 'NEW_CASE', 'MAINTENANCE', 'SPECIALIST']) {
    if (!segments.has(required)) problems.push(`segments: ${required} is required by the hierarchy`);
  }
  rules.escalations.forEach((e, i) => { if (!segments.has(e.segment)) problems.push(`escalations[${i}]: unknown segment ${e.segment}`); });
  const seen = new Set<string>();
  rules.serviceRequests.forEach((sr, i) => {
    const key = srKey(sr.process, sr.area, sr.subArea);
    if (seen.has(key)) problems.push(`serviceRequests[${i}]: ${sr.process} / ${sr.area} / ${sr.subArea} is listed twice`);
    seen.add(key);
    if (sr.escalation && !rules.escalations.some((e) => e.segment === sr.escalation)) problems.push(`serviceRequests[${i}]: escalation ${sr.escalation} is not in escalations`);
    if (sr.kind === 'FUNCTIONALLY_UNIQUE' && !sr.team && !sr.escalation) problems.push(`serviceRequests[${i}]: a functionally unique SR needs a team (or an escalation segment whose team works it)`);
    if (sr.movesCaseGroup === true && !sr.escalation) problems.push(`serviceRequests[${i}]: movesCaseGroup needs an escalation segment to move the case group to`);
    if (sr.movesCaseGroup === true && sr.kind === 'FUNCTIONALLY_UNIQUE') problems.push(`serviceRequests[${i}]: a functionally unique SR never moves the case group (004: "The casegroup remains with the caseworker in the case owning segment"); make it CASE_OWNING or drop movesCaseGroup`);
  });
  for (const [district] of Object.entries(rules.postcodes.districts)) {
    const area = /^[A-Z]+/.exec(district)?.[0] ?? '';
    if (!(area in rules.postcodes.areas)) problems.push(`postcodes.districts.${district}: area ${area} is not in areas`);
  }
  for (const [sector] of Object.entries(rules.postcodes.sectors)) {
    const area = /^[A-Z]+/.exec(sector)?.[0] ?? '';
    if (!(area in rules.postcodes.areas)) problems.push(`postcodes.sectors.${sector}: area ${area} is not in areas`);
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, rules: deepFreeze(rules) };
}

/** Catalogue key: case, spacing and the procedures' "enquires" spelling do not matter. */
export function srKey(process: string, area: string, subArea: string): string {
  return [process, area, subArea].map((s) => s.trim().replace(/\s+/g, ' ').toLowerCase()).join(' / ');
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
