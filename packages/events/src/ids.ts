import type { SchemaTopic, TopicValue } from './generated/contract.ts';

/**
 * What an identifier may contain (docs/contract.md): 1-64 letters, digits, '-', '_' or '.', starting with a
 * letter or digit. Ids become Kafka keys, Redis keys, email headers and page text, so nothing else (no
 * CR/LF, spaces, markup or separators) is accepted at the contract boundary.
 */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const ID_FIELDS = new Set(['caseGroupId', 'caseId', 'srId', 'partyId', 'userId', 'teamId', 'activityId', 'referringUserId', 'raisedAgainstPartyId', 'ownerUserId', 'ownerTeamId', 'fromTeamId', 'toTeamId', 'recordedByUserId']);

/**
 * The id fields of an upstream event that break ID_PATTERN, by path. The values themselves are never
 * repeated (they may hold anything, including header injections), only where they are and why.
 */
export function invalidIds<T extends SchemaTopic>(_topic: T, value: TopicValue[T]): string[] {
  const problems: string[] = [];
  const visit = (node: unknown, path: string): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => {
        visit(item, `${path}[${i}]`);
      });
      return;
    }
    if (typeof node !== 'object' || node === null) return;
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      const at = path ? `${path}.${k}` : k;
      if (ID_FIELDS.has(k) && typeof v === 'string' && !ID_PATTERN.test(v)) problems.push(`${at} (${v.length} characters) is not an id: use 1-64 letters, digits, '-', '_' or '.'`);
      else if (k === 'blockPortalForPartyIds' && Array.isArray(v)) v.forEach((x, i) => (typeof x === 'string' && !ID_PATTERN.test(x) ? problems.push(`${at}[${i}] is not an id`) : undefined));
      else visit(v, at);
    }
  };
  visit(value, '');
  return problems;
}
