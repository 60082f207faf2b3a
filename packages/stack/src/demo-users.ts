/**
 * The demo users of the local OpenID Connect issuer: staff ids and roles only, no names (the console
 * shows ids and nothing else). In production the DWP's own identity provider issues the same claims.
 * - `cms_role`: SEGMENT_MANAGER (their segment's work), TEAM_LEADER (their team's approval inbox and
 *   backlog) or OPERATIONS (every segment's figures; restricted segments' case groups stay hidden);
 * - `cms_segment`: a segment id of the rules file; `cms_team`: a workforce team id (approval tasks go to
 *   `TEAM_LEADER:<team>`).
 */
export interface DemoUser {
  readonly sub: string;
  readonly cms_role: 'SEGMENT_MANAGER' | 'TEAM_LEADER' | 'OPERATIONS';
  readonly cms_segment: string | null;
  readonly cms_team: string | null;
}

/** Every demo user signs in with this password: the issuer is a local stand-in, never a real one. */
export const DEMO_PASSWORD = 'demo';

export const DEMO_USERS: readonly DemoUser[] = [
  { sub: 'sm-maintenance', cms_role: 'SEGMENT_MANAGER', cms_segment: 'MAINTENANCE', cms_team: null },
  { sub: 'sm-new-case', cms_role: 'SEGMENT_MANAGER', cms_segment: 'NEW_CASE', cms_team: null },
  { sub: 'sm-scr', cms_role: 'SEGMENT_MANAGER', cms_segment: 'SPECIAL_CLIENT_RECORDS', cms_team: null },
  { sub: 'sm-ech', cms_role: 'SEGMENT_MANAGER', cms_segment: 'NON_STANDARD', cms_team: null },
  { sub: 'sm-international', cms_role: 'SEGMENT_MANAGER', cms_segment: 'INTERNATIONAL', cms_team: null },
  { sub: 'tl-t1', cms_role: 'TEAM_LEADER', cms_segment: 'MAINTENANCE', cms_team: 'T-1' },
  { sub: 'tl-t2', cms_role: 'TEAM_LEADER', cms_segment: 'MAINTENANCE', cms_team: 'T-2' },
  { sub: 'ops', cms_role: 'OPERATIONS', cms_segment: null, cms_team: null },
];
