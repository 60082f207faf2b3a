import { describe, expect, it } from 'vitest';
import { caseGroupAccess, maySeeItem, maySeeSegment, scopeSql, userFromClaims, type ConsoleUser, type WorkPlace } from './access.ts';

const RESTRICTED = new Set(['SPECIAL_CLIENT_RECORDS', 'NON_STANDARD']);
const sm = (segment: string): ConsoleUser => ({ sub: `sm-${segment}`, role: 'SEGMENT_MANAGER', segment, team: null });
const tl = (team: string, segment = 'MAINTENANCE'): ConsoleUser => ({ sub: `tl-${team}`, role: 'TEAM_LEADER', segment, team });
const ops: ConsoleUser = { sub: 'ops', role: 'OPERATIONS', segment: null, team: null };
const cg = (segment: string, team: string | null = null): WorkPlace => ({ subject: 'CASE_GROUP', segment, team });
const task = (segment: string, team: string): WorkPlace => ({ subject: 'APPROVAL_TASK', segment, team: `TEAM_LEADER:${team}` });
const sr = (segment: string, team: string | null): WorkPlace => ({ subject: 'SERVICE_REQUEST', segment, team });

describe('who may open a case group', () => {
  it.each([
    // A segment manager: their segment's case groups, and one whose SR sits in their segment.
    ['segment manager, own segment', sm('MAINTENANCE'), [cg('MAINTENANCE', 'EARNINGS')], 'allowed'],
    ['segment manager, another segment', sm('MAINTENANCE'), [cg('NEW_CASE')], 'denied'],
    ['segment manager, an SR of theirs in a case group held elsewhere', sm('SPECIALIST'), [cg('MAINTENANCE'), sr('SPECIALIST', 'CMS complaints')], 'allowed'],
    // 004 Work Allocation: SCR and ECH case groups are restricted to those segments.
    ['SCR case group to SCR', sm('SPECIAL_CLIENT_RECORDS'), [cg('SPECIAL_CLIENT_RECORDS', '2012 SCR Team')], 'allowed'],
    ['SCR case group to a maintenance manager', sm('MAINTENANCE'), [cg('SPECIAL_CLIENT_RECORDS', '2012 SCR Team')], 'denied'],
    ['SCR case group whose SR is in maintenance: still SCR only', sm('MAINTENANCE'), [cg('SPECIAL_CLIENT_RECORDS'), sr('MAINTENANCE', null)], 'denied'],
    ['ECH case group to operations', ops, [cg('NON_STANDARD', 'Exceptional Case Handling')], 'denied'],
    ['ECH case group to ECH', sm('NON_STANDARD'), [cg('NON_STANDARD', 'Exceptional Case Handling')], 'allowed'],
    ['operations, unrestricted', ops, [cg('INTERNATIONAL', 'International')], 'allowed'],
    // A team leader: the case groups behind their inbox or their team's work.
    ['team leader, own approval task', tl('T-1'), [cg('MAINTENANCE', 'GENERAL'), task('MAINTENANCE', 'T-1')], 'allowed'],
    ['team leader, another team\'s task', tl('T-1'), [cg('MAINTENANCE', 'GENERAL'), task('MAINTENANCE', 'T-2')], 'denied'],
    ['team leader, same segment but not their team', tl('T-1'), [cg('MAINTENANCE', 'EARNINGS')], 'denied'],
    ['team leader, own task in a case group held in another unrestricted segment', tl('T-1'), [cg('NEW_CASE'), task('NEW_CASE', 'T-1')], 'allowed'],
    ['team leader, own task in an SCR case group: SCR only', tl('T-1'), [cg('SPECIAL_CLIENT_RECORDS'), task('SPECIAL_CLIENT_RECORDS', 'T-1')], 'denied'],
    ['unknown case group: no hint it exists', sm('MAINTENANCE'), [], 'unknown'],
  ] as const)('%s', (_what, user, items, expected) => {
    expect(caseGroupAccess(user, items, RESTRICTED)).toBe(expected);
  });
});

describe('figures and lists', () => {
  it('a segment manager or team leader asks for their own segment only; operations for any unrestricted one', () => {
    expect(maySeeSegment(sm('MAINTENANCE'), 'MAINTENANCE', RESTRICTED)).toBe(true);
    expect(maySeeSegment(sm('MAINTENANCE'), 'NEW_CASE', RESTRICTED)).toBe(false);
    expect(maySeeSegment(tl('T-1'), 'MAINTENANCE', RESTRICTED)).toBe(true);
    expect(maySeeSegment(ops, 'NEW_CASE', RESTRICTED)).toBe(true);
    expect(maySeeSegment(ops, 'SPECIAL_CLIENT_RECORDS', RESTRICTED)).toBe(false);
  });
  it('a team leader\'s list holds their inbox and their team\'s work, in their segment', () => {
    expect(maySeeItem(tl('T-1'), task('MAINTENANCE', 'T-1'), RESTRICTED)).toBe(true);
    // Their inbox wherever the case group is held (the referring caseworker's team leader approves), but not in a restricted segment.
    expect(maySeeItem(tl('T-1'), task('NEW_CASE', 'T-1'), RESTRICTED)).toBe(true);
    expect(maySeeItem(tl('T-1'), task('SPECIAL_CLIENT_RECORDS', 'T-1'), RESTRICTED)).toBe(false);
    expect(maySeeItem(tl('T-1', 'SPECIAL_CLIENT_RECORDS'), task('SPECIAL_CLIENT_RECORDS', 'T-1'), RESTRICTED)).toBe(true);
    expect(maySeeItem(tl('T-1'), cg('NEW_CASE', 'T-1'), RESTRICTED)).toBe(false);
    expect(maySeeItem(tl('T-1'), cg('MAINTENANCE', 'T-1'), RESTRICTED)).toBe(true);
    expect(maySeeItem(tl('T-1'), task('MAINTENANCE', 'T-10'), RESTRICTED)).toBe(false);
  });
  it('the SQL scope says the same, with numbered parameters', () => {
    expect(scopeSql(sm('MAINTENANCE'), RESTRICTED, 3)).toEqual({ sql: 'p.segment = $3', params: ['MAINTENANCE'] });
    expect(scopeSql(tl('T-1'), RESTRICTED, 1)).toEqual({ sql: '((p.team = $3 AND (p.segment = $1 OR NOT (p.segment = ANY($4::text[])))) OR (p.segment = $1 AND p.team = $2))', params: ['MAINTENANCE', 'T-1', 'TEAM_LEADER:T-1', ['SPECIAL_CLIENT_RECORDS', 'NON_STANDARD']] });
    expect(scopeSql(ops, RESTRICTED, 1).params).toEqual([['SPECIAL_CLIENT_RECORDS', 'NON_STANDARD']]);
  });
});

describe('the user from the sign-in claims', () => {
  it.each([
    [{ sub: 'a', cms_role: 'SEGMENT_MANAGER', cms_segment: 'MAINTENANCE' }, { sub: 'a', role: 'SEGMENT_MANAGER', segment: 'MAINTENANCE', team: null }],
    [{ sub: 'b', cms_role: 'TEAM_LEADER', cms_segment: 'MAINTENANCE', cms_team: 'T-1' }, { sub: 'b', role: 'TEAM_LEADER', segment: 'MAINTENANCE', team: 'T-1' }],
    [{ sub: 'c', cms_role: 'OPERATIONS', cms_segment: 'MAINTENANCE' }, { sub: 'c', role: 'OPERATIONS', segment: null, team: null }],
    [{ sub: 'd', cms_role: 'SEGMENT_MANAGER' }, null],
    [{ sub: 'e', cms_role: 'TEAM_LEADER', cms_segment: 'MAINTENANCE' }, null],
    [{ sub: 'f', cms_role: 'ADMIN', cms_segment: 'MAINTENANCE' }, null],
    [{ cms_role: 'OPERATIONS' }, null],
  ])('%j', (claims, expected) => {
    expect(userFromClaims(claims)).toEqual(expected);
  });
});
