import type { Assignment, Notification, OrphanFlag, Rejection, SrFact } from '@cms-router/events';
import type { SinkRecord } from '@cms-router/platform';

/**
 * The console's core: what each consumed record does to the database, as plain rows (no SQL, no I/O).
 * Every record of a history topic is one row keyed by its coordinates, so the row count of a table
 * equals the records of its topic; the compacted placements become the current work per work item.
 * Only ids, codes and places are kept: the topics hold no personal data, and nothing here adds any.
 */
export type RowOp =
  | { readonly kind: 'placement'; readonly workKey: string; readonly row: PlacementRow | null }
  | { readonly kind: 'insert'; readonly table: HistoryTable; readonly row: Readonly<Record<string, unknown>> };

export type HistoryTable = 'assignments' | 'notifications' | 'orphan_flags' | 'rejections' | 'sr_facts' | 'sink_skipped';

export interface PlacementRow {
  readonly work_key: string;
  readonly case_group_id: string;
  readonly subject: Assignment['subject'];
  readonly sr_id: string | null;
  readonly segment: string;
  readonly region: string | null;
  readonly team: string | null;
  readonly owner_user_id: string | null;
  readonly allocated_to: string | null;
  readonly access: string;
  readonly rules_version: string;
  readonly reasons: string;
  readonly assignment_id: string;
  readonly occurred_at: string;
  /** When the router published it (the record's time): the age of the work in its place. */
  readonly placed_at: string;
}

const at = (r: SinkRecord): Record<string, unknown> => ({ topic_partition: r.partition, topic_offset: r.offset, event_id: r.eventId, recorded_at: new Date(r.timestamp).toISOString() });

export function placementRow(workKey: string, a: Assignment, timestamp: number): PlacementRow {
  return {
    work_key: workKey,
    case_group_id: a.caseGroupId,
    subject: a.subject,
    sr_id: a.srId,
    segment: a.segment,
    region: a.region,
    team: a.team,
    owner_user_id: a.ownerUserId,
    allocated_to: a.basis?.allocatedTo ?? null,
    access: a.access,
    rules_version: a.rulesVersion,
    reasons: JSON.stringify(a.reasons),
    assignment_id: a.assignmentId,
    occurred_at: a.occurredAt,
    placed_at: new Date(timestamp).toISOString(),
  };
}

/** The rows one record writes. */
export function rowsOf(r: SinkRecord): RowOp[] {
  if (r.failure) return [{ kind: 'insert', table: 'sink_skipped', row: { ...at(r), topic: r.topic, code: r.failure } }];
  switch (r.topic) {
    case 'cms.placements.v1': {
      const workKey = r.key ?? '';
      return [{ kind: 'placement', workKey, row: r.value === null ? null : placementRow(workKey, r.value as Assignment, r.timestamp) }];
    }
    case 'cms.assignments.v1': {
      const a = r.value as Assignment;
      return [{
        kind: 'insert',
        table: 'assignments',
        row: { ...at(r), assignment_id: a.assignmentId, case_group_id: a.caseGroupId, subject: a.subject, sr_id: a.srId, previous_segment: a.previousSegment, segment: a.segment, region: a.region, team: a.team, owner_user_id: a.ownerUserId, rules_version: a.rulesVersion, reasons: JSON.stringify(a.reasons), basis_input: a.basis?.input ?? null, basis_event_id: a.basis?.eventId ?? null, orphan_cause: a.orphan?.cause ?? null, occurred_at: a.occurredAt },
      }];
    }
    case 'cms.notifications.v1': {
      const n = r.value as Notification;
      return [{ kind: 'insert', table: 'notifications', row: { ...at(r), idempotency_key: n.idempotencyKey, case_group_id: n.caseGroupId, inbox: n.inbox, template: n.template, outcome: n.outcome, attempts: n.attempts, error_code: n.errorCode, occurred_at: n.occurredAt } }];
    }
    case 'cms.orphan-flags.v1': {
      const o = r.value as OrphanFlag;
      return [{ kind: 'insert', table: 'orphan_flags', row: { ...at(r), case_group_id: o.caseGroupId, user_id: o.userId, cause: o.cause, state: o.state, segment: o.segment, since: o.since, occurred_at: o.occurredAt } }];
    }
    case 'cms.rejections.v1': {
      const x = r.value as Rejection;
      return [{ kind: 'insert', table: 'rejections', row: { ...at(r), rejection_id: x.rejectionId, service: x.service, code: x.code, reason: x.reason, case_group_id: x.caseGroupId, sr_id: x.srId, source_topic: x.source.topic, source_partition: x.source.partition, source_offset: x.source.offset, occurred_at: x.occurredAt } }];
    }
    case 'cms.sr-facts.v1': {
      const f = r.value as SrFact;
      const change = f.payload.type === 'ServiceRequestChanged' ? f.payload.change : null;
      return [{ kind: 'insert', table: 'sr_facts', row: { ...at(r), case_group_id: f.caseGroupId, sr_id: f.srId, fact: f.payload.type, change, occurred_at: f.occurredAt } }];
    }
    default:
      return [{ kind: 'insert', table: 'sink_skipped', row: { ...at(r), topic: r.topic, code: 'CMS_EVENT_INVALID' } }];
  }
}

/** The topics the console consumes, in the order a reader would name them. */
export const CONSOLE_TOPICS = ['cms.placements.v1', 'cms.assignments.v1', 'cms.notifications.v1', 'cms.orphan-flags.v1', 'cms.rejections.v1', 'cms.sr-facts.v1'] as const;
