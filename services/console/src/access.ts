/**
 * Who may see what on the console (pure; docs/console.md explains each choice):
 * - a segment manager sees their segment's work, figures and case groups;
 * - a team leader sees their team's approval inbox (`TEAM_LEADER:<team>`) wherever the case group is
 *   held, except in a restricted segment, and the work placed with their team in their segment, and the
 *   case groups behind them (a referral waits for the referring caseworker's team leader: 003, 000);
 * - operations see every segment's figures and case groups, except the restricted segments' (Special
 *   Client Records, Exceptional Case Handling): "access to these cases is restricted" (004 Work
 *   Allocation), so their case groups and lists are shown only to users of those segments.
 */
export type Role = 'SEGMENT_MANAGER' | 'TEAM_LEADER' | 'OPERATIONS';

export interface ConsoleUser {
  readonly sub: string;
  readonly role: Role;
  readonly segment: string | null;
  readonly team: string | null;
}

/** A work item as access sees it. */
export interface WorkPlace {
  readonly subject: string;
  readonly segment: string;
  readonly team: string | null;
}

export const teamInbox = (team: string): string => `TEAM_LEADER:${team}`;

/** The user from the sign-in's claims; null when the claims do not make a user the console knows. */
export function userFromClaims(claims: Readonly<Record<string, unknown>>): ConsoleUser | null {
  const sub = typeof claims['sub'] === 'string' ? claims['sub'] : null;
  const role = claims['cms_role'];
  const segment = typeof claims['cms_segment'] === 'string' && claims['cms_segment'] !== '' ? claims['cms_segment'] : null;
  const team = typeof claims['cms_team'] === 'string' && claims['cms_team'] !== '' ? claims['cms_team'] : null;
  if (!sub) return null;
  if (role === 'OPERATIONS') return { sub, role, segment: null, team: null };
  if (role === 'SEGMENT_MANAGER' && segment) return { sub, role, segment, team: null };
  if (role === 'TEAM_LEADER' && segment && team) return { sub, role, segment, team };
  return null;
}

/** Whether a user may see one work item in a list. */
export function maySeeItem(user: ConsoleUser, item: WorkPlace, restricted: ReadonlySet<string>): boolean {
  switch (user.role) {
    case 'OPERATIONS':
      return !restricted.has(item.segment);
    case 'SEGMENT_MANAGER':
      return item.segment === user.segment;
    case 'TEAM_LEADER':
      if (item.team === teamInbox(user.team ?? '')) return item.segment === user.segment || !restricted.has(item.segment);
      return item.segment === user.segment && item.team === user.team;
  }
}

/**
 * Whether a user may open a case group, from its current work items. A case group held in a restricted
 * segment is seen only by that segment's users, whatever else of it they hold; otherwise one visible
 * work item is enough. A case group with no current work is 'unknown' (404), never a hint that it exists.
 */
export function caseGroupAccess(user: ConsoleUser, items: readonly WorkPlace[], restricted: ReadonlySet<string>): 'allowed' | 'denied' | 'unknown' {
  if (items.length === 0) return 'unknown';
  const held = items.find((i) => i.subject === 'CASE_GROUP')?.segment;
  if (held !== undefined && restricted.has(held)) return user.segment === held && user.role !== 'OPERATIONS' ? 'allowed' : 'denied';
  return items.some((i) => maySeeItem(user, i, restricted)) ? 'allowed' : 'denied';
}

/** Whether a user may ask for a segment's figures (a segment manager or team leader: their own only). */
export function maySeeSegment(user: ConsoleUser, segment: string, restricted: ReadonlySet<string>): boolean {
  if (user.role === 'OPERATIONS') return !restricted.has(segment);
  return user.segment === segment;
}

/**
 * The SQL condition that keeps a list of work items (alias `p`) to what the user may see, with its
 * parameters numbered from `first`.
 */
export function scopeSql(user: ConsoleUser, restricted: ReadonlySet<string>, first: number): { readonly sql: string; readonly params: readonly unknown[] } {
  switch (user.role) {
    case 'OPERATIONS':
      return { sql: `NOT (p.segment = ANY($${first}::text[]))`, params: [[...restricted]] };
    case 'SEGMENT_MANAGER':
      return { sql: `p.segment = $${first}`, params: [user.segment] };
    case 'TEAM_LEADER':
      return {
        sql: `((p.team = $${first + 2} AND (p.segment = $${first} OR NOT (p.segment = ANY($${first + 3}::text[])))) OR (p.segment = $${first} AND p.team = $${first + 1}))`,
        params: [user.segment, user.team, teamInbox(user.team ?? ''), [...restricted]],
      };
  }
}
