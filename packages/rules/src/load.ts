import { CmsError } from '@cms-router/errors';
import { RULE_IDS, rulesFileSchema, type RulesFile } from './schema.ts';

/** Validated, frozen rules. */
export type Rules = Readonly<RulesFile>;

/**
 * Validates a parsed rules file: its shape (zod) and its cross-references (every rule once in the
 * hierarchy, every segment named exists, SR catalogue entries unique). Every problem is reported.
 */
export function loadRules(data: unknown, source = 'rules file'): Rules {
  const parsed = rulesFileSchema.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new CmsError('CMS_RULES_INVALID', `${source}: ${problems.join('; ')}`);
  }
  const rules = parsed.data;
  const problems: string[] = [];
  const order = rules.hierarchy.map((h) => h.rule);
  for (const id of RULE_IDS) if (!order.includes(id)) problems.push(`hierarchy: rule ${id} is missing`);
  if (new Set(order).size !== order.length) problems.push('hierarchy: a rule appears twice');
  const segments = new Set(Object.keys(rules.segments));
  for (const required of ['NON_STANDARD', 'SPECIAL_CLIENT_RECORDS', 'INTERNATIONAL', 'NEW_CASE', 'MAINTENANCE', 'SPECIALIST']) {
    if (!segments.has(required)) problems.push(`segments: ${required} is required by the hierarchy`);
  }
  for (const e of rules.escalations) if (!segments.has(e.segment)) problems.push(`escalations: unknown segment ${e.segment}`);
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
  if (problems.length > 0) throw new CmsError('CMS_RULES_INVALID', `${source}: ${problems.join('; ')}`);
  return deepFreeze(rules);
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
