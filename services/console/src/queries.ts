import { ERROR_CODES, type ErrorCode } from '@cms-router/errors';
import { scopeSql, type ConsoleUser, type WorkPlace } from './access.ts';
import { TABLES, type ConsoleDb } from './db.ts';

/** The console's questions, each one SQL query kept to what the user may see. */
export interface Queries {
  backlog(user: ConsoleUser, filter: { segment?: string | undefined; region?: string | undefined; team?: string | undefined }): Promise<BacklogRow[]>;
  moves(user: ConsoleUser, o: { hours: number; segment?: string | undefined }): Promise<MoveRow[]>;
  approvals(user: ConsoleUser): Promise<ApprovalRow[]>;
  orphans(user: ConsoleUser): Promise<OrphanRow[]>;
  rejections(user: ConsoleUser): Promise<RejectionGroup[]>;
  unallocated(user: ConsoleUser): Promise<UnallocatedRow[]>;
  workOf(caseGroupId: string): Promise<WorkPlace[]>;
  caseGroup(caseGroupId: string): Promise<CaseGroupView>;
  /** Rows per table and the sink's offsets (the operator's check that the sink is whole). */
  counts(): Promise<Record<string, number>>;
}

export interface BacklogRow { segment: string; region: string | null; team: string | null; subject: string; count: number; oldestPlacedAt: string }
export interface MoveRow { hour: string; segment: string; arrived: number; left: number }
export interface ApprovalRow { caseGroupId: string; srId: string | null; team: string | null; ownerUserId: string | null; placedAt: string; ageSeconds: number }
export interface OrphanRow { caseGroupId: string; userId: string; cause: string; state: string; segment: string | null; since: string; at: string }
export interface RejectionGroup { code: string; count: number; services: string[]; meaning: string; fix: string; replay: string; latest: { caseGroupId: string | null; srId: string | null; reason: string; at: string }[] }
export interface UnallocatedRow { segment: string; underHour: number; underDay: number; underWeek: number; older: number; oldestPlacedAt: string }
export interface Reason { ruleId: string; text: string; procedure: string }
export interface CaseGroupView {
  caseGroupId: string;
  work: { subject: string; srId: string | null; segment: string; region: string | null; team: string | null; ownerUserId: string | null; allocatedTo: string | null; access: string; rulesVersion: string; reasons: Reason[]; placedAt: string }[];
  history: { at: string; subject: string; srId: string | null; previousSegment: string | null; segment: string; region: string | null; team: string | null; rulesVersion: string; ruleId: string | null; reason: string | null; input: string | null }[];
  orphans: OrphanRow[];
  emails: { inbox: string; outcome: string; at: string }[];
}

const iso = (v: unknown): string => (v instanceof Date ? v.toISOString() : String(v));

export function createQueries(db: ConsoleDb, restricted: ReadonlySet<string>): Queries {
  const scope = (user: ConsoleUser, first: number): { sql: string; params: readonly unknown[] } => scopeSql(user, restricted, first);
  /** Case groups (of other tables) the user may see: through a visible current work item. */
  const visibleCaseGroup = (user: ConsoleUser, column: string, first: number): { sql: string; params: readonly unknown[] } => {
    const s = scope(user, first);
    return { sql: `EXISTS (SELECT 1 FROM $schema.${TABLES.placements} p WHERE p.case_group_id = ${column} AND ${s.sql})`, params: s.params };
  };
  return {
    async backlog(user, f) {
      const s = scope(user, 1);
      const params: unknown[] = [...s.params];
      const extra: string[] = [];
      for (const [col, v] of [['segment', f.segment], ['region', f.region], ['team', f.team]] as const) {
        if (v === undefined) continue;
        params.push(v);
        extra.push(`p.${col} = $${params.length}`);
      }
      const rows = await db.query<{ segment: string; region: string | null; team: string | null; subject: string; count: string; oldest: Date }>(
        `SELECT p.segment, p.region, p.team, p.subject, count(*) AS count, min(p.placed_at) AS oldest FROM $schema.${TABLES.placements} p WHERE ${[s.sql, ...extra].join(' AND ')} GROUP BY 1, 2, 3, 4 ORDER BY 1, 2 NULLS FIRST, 3 NULLS FIRST, 4`,
        params,
      );
      return rows.map((r) => ({ segment: r.segment, region: r.region, team: r.team, subject: r.subject, count: Number(r.count), oldestPlacedAt: iso(r.oldest) }));
    },
    async moves(user, o) {
      // Case groups only: an SR or task arriving is work, not a move of the case group.
      const params: unknown[] = [o.hours, user.role === 'OPERATIONS' ? [...restricted] : user.segment];
      let only = '';
      if (o.segment !== undefined) {
        params.push(o.segment);
        only = 'AND m.seg = $3';
      }
      const rows = await db.query<{ hour: Date; segment: string; arrived: string; left: string }>(
        `WITH m AS (
           SELECT date_trunc('hour', recorded_at) AS hour, segment AS seg, 1 AS arrived, 0 AS left FROM $schema.${TABLES.assignments}
             WHERE subject = 'CASE_GROUP' AND recorded_at > now() - make_interval(hours => $1) AND previous_segment IS DISTINCT FROM segment
           UNION ALL
           SELECT date_trunc('hour', recorded_at), previous_segment, 0, 1 FROM $schema.${TABLES.assignments}
             WHERE subject = 'CASE_GROUP' AND recorded_at > now() - make_interval(hours => $1) AND previous_segment IS NOT NULL AND previous_segment <> segment)
         SELECT m.hour, m.seg AS segment, sum(m.arrived) AS arrived, sum(m.left) AS left FROM m
         WHERE ${user.role === 'OPERATIONS' ? 'NOT (m.seg = ANY($2::text[]))' : 'm.seg = $2'} ${only} GROUP BY 1, 2 ORDER BY 1, 2`,
        params,
      );
      return rows.map((r) => ({ hour: iso(r.hour), segment: r.segment, arrived: Number(r.arrived), left: Number(r.left) }));
    },
    async approvals(user) {
      const s = scope(user, 1);
      const rows = await db.query<{ case_group_id: string; sr_id: string | null; team: string | null; owner_user_id: string | null; placed_at: Date; age: string }>(
        `SELECT p.case_group_id, p.sr_id, p.team, p.owner_user_id, p.placed_at, extract(epoch FROM now() - p.placed_at)::bigint AS age FROM $schema.${TABLES.placements} p WHERE p.subject = 'APPROVAL_TASK' AND ${s.sql} ORDER BY p.placed_at, p.work_key LIMIT 500`,
        s.params,
      );
      return rows.map((r) => ({ caseGroupId: r.case_group_id, srId: r.sr_id, team: r.team, ownerUserId: r.owner_user_id, placedAt: iso(r.placed_at), ageSeconds: Number(r.age) }));
    },
    async orphans(user) {
      const v = visibleCaseGroup(user, 'o.case_group_id', 1);
      const rows = await db.query<{ case_group_id: string; user_id: string; cause: string; state: string; segment: string | null; since: Date; recorded_at: Date }>(
        `SELECT DISTINCT ON (o.case_group_id, o.user_id) o.case_group_id, o.user_id, o.cause, o.state, o.segment, o.since, o.recorded_at FROM $schema.${TABLES.orphanFlags} o
         WHERE ${v.sql} ORDER BY o.case_group_id, o.user_id, o.recorded_at DESC, o.topic_offset DESC LIMIT 500`,
        v.params,
      );
      return rows.map((r) => ({ caseGroupId: r.case_group_id, userId: r.user_id, cause: r.cause, state: r.state, segment: r.segment, since: iso(r.since), at: iso(r.recorded_at) }));
    },
    async rejections(user) {
      // Operations see every rejection that names no case group or one they may see; others theirs only.
      const v = visibleCaseGroup(user, 'r.case_group_id', 1);
      const where = user.role === 'OPERATIONS' ? `(r.case_group_id IS NULL OR ${v.sql})` : v.sql;
      const rows = await db.query<{ code: string; service: string; reason: string; case_group_id: string | null; sr_id: string | null; recorded_at: Date; n: string; rank: string }>(
        `SELECT * FROM (SELECT r.code, r.service, r.reason, r.case_group_id, r.sr_id, r.recorded_at, count(*) OVER (PARTITION BY r.code) AS n,
           row_number() OVER (PARTITION BY r.code ORDER BY r.recorded_at DESC, r.topic_offset DESC) AS rank FROM $schema.${TABLES.rejections} r WHERE ${where}) x WHERE rank <= 5 ORDER BY n DESC, code, rank`,
        v.params,
      );
      const groups = new Map<string, RejectionGroup>();
      for (const r of rows) {
        let g = groups.get(r.code);
        if (!g) {
          const known = (ERROR_CODES as Record<string, { meaning: string; fix: string } | undefined>)[r.code];
          g = { code: r.code, count: Number(r.n), services: [], meaning: known?.meaning ?? 'Not a code of this release.', fix: known?.fix ?? 'See docs/errors.md.', replay: `npm run cli -- replay --from cms.rejections.v1 --code ${r.code as ErrorCode}`, latest: [] };
          groups.set(r.code, g);
        }
        if (!g.services.includes(r.service)) g.services.push(r.service);
        g.latest.push({ caseGroupId: r.case_group_id, srId: r.sr_id, reason: r.reason, at: iso(r.recorded_at) });
      }
      return [...groups.values()];
    },
    async unallocated(user) {
      const s = scope(user, 1);
      const rows = await db.query<{ segment: string; h: string; d: string; w: string; o: string; oldest: Date }>(
        `SELECT p.segment, count(*) FILTER (WHERE p.placed_at > now() - interval '1 hour') AS h,
           count(*) FILTER (WHERE p.placed_at <= now() - interval '1 hour' AND p.placed_at > now() - interval '1 day') AS d,
           count(*) FILTER (WHERE p.placed_at <= now() - interval '1 day' AND p.placed_at > now() - interval '7 days') AS w,
           count(*) FILTER (WHERE p.placed_at <= now() - interval '7 days') AS o, min(p.placed_at) AS oldest
         FROM $schema.${TABLES.placements} p WHERE p.subject = 'CASE_GROUP' AND p.allocated_to IS NULL AND ${s.sql} GROUP BY 1 ORDER BY 1`,
        s.params,
      );
      return rows.map((r) => ({ segment: r.segment, underHour: Number(r.h), underDay: Number(r.d), underWeek: Number(r.w), older: Number(r.o), oldestPlacedAt: iso(r.oldest) }));
    },
    async workOf(caseGroupId) {
      return db.query<WorkPlace>(`SELECT subject, segment, team FROM $schema.${TABLES.placements} WHERE case_group_id = $1`, [caseGroupId]);
    },
    async caseGroup(caseGroupId) {
      const [work, history, orphans, emails] = await Promise.all([
        db.query<{ subject: string; sr_id: string | null; segment: string; region: string | null; team: string | null; owner_user_id: string | null; allocated_to: string | null; access: string; rules_version: string; reasons: Reason[]; placed_at: Date }>(
          `SELECT subject, sr_id, segment, region, team, owner_user_id, allocated_to, access, rules_version, reasons, placed_at FROM $schema.${TABLES.placements} WHERE case_group_id = $1 ORDER BY subject = 'CASE_GROUP' DESC, sr_id`, [caseGroupId]),
        db.query<{ recorded_at: Date; subject: string; sr_id: string | null; previous_segment: string | null; segment: string; region: string | null; team: string | null; rules_version: string; reasons: Reason[]; basis_input: string | null }>(
          `SELECT recorded_at, subject, sr_id, previous_segment, segment, region, team, rules_version, reasons, basis_input FROM $schema.${TABLES.assignments} WHERE case_group_id = $1 ORDER BY recorded_at, topic_offset`, [caseGroupId]),
        db.query<{ case_group_id: string; user_id: string; cause: string; state: string; segment: string | null; since: Date; recorded_at: Date }>(
          `SELECT case_group_id, user_id, cause, state, segment, since, recorded_at FROM $schema.${TABLES.orphanFlags} WHERE case_group_id = $1 ORDER BY recorded_at, topic_offset`, [caseGroupId]),
        db.query<{ inbox: string; outcome: string; recorded_at: Date }>(`SELECT inbox, outcome, recorded_at FROM $schema.${TABLES.notifications} WHERE case_group_id = $1 ORDER BY recorded_at, topic_offset`, [caseGroupId]),
      ]);
      return {
        caseGroupId,
        work: work.map((w) => ({ subject: w.subject, srId: w.sr_id, segment: w.segment, region: w.region, team: w.team, ownerUserId: w.owner_user_id, allocatedTo: w.allocated_to, access: w.access, rulesVersion: w.rules_version, reasons: w.reasons, placedAt: iso(w.placed_at) })),
        history: history.map((h) => ({ at: iso(h.recorded_at), subject: h.subject, srId: h.sr_id, previousSegment: h.previous_segment, segment: h.segment, region: h.region, team: h.team, rulesVersion: h.rules_version, ruleId: h.reasons[0]?.ruleId ?? null, reason: h.reasons[0]?.text ?? null, input: h.basis_input })),
        orphans: orphans.map((r) => ({ caseGroupId: r.case_group_id, userId: r.user_id, cause: r.cause, state: r.state, segment: r.segment, since: iso(r.since), at: iso(r.recorded_at) })),
        emails: emails.map((e) => ({ inbox: e.inbox, outcome: e.outcome, at: iso(e.recorded_at) })),
      };
    },
    async counts() {
      const out: Record<string, number> = {};
      for (const table of Object.values(TABLES).filter((t) => t !== TABLES.offsets)) {
        const [row] = await db.query<{ n: string }>(`SELECT count(*) AS n FROM $schema.${table}`);
        out[table] = Number(row?.n ?? 0);
      }
      return out;
    },
  };
}
