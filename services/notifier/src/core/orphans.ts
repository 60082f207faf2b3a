import type { OrphanCause } from '@cms-router/events';

/**
 * Orphaned case groups (004 Work Allocation): "If a team move is complete for a user or 2012 access is
 * removed from a user who has work allocated to them, these cases will become orphaned ... To have these
 * cases recovered contact your local IT Team." The router, which holds every case group's allocation,
 * finds them and returns them to their segment's unallocated work; it reports them per partition. The
 * notifier puts the parts of a report together and tells local IT once.
 */
export interface Orphan {
  readonly caseGroupId: string;
  readonly userId: string;
  readonly cause: OrphanCause;
  readonly since: string;
  readonly segment: string;
}

/** An orphan report being put together: the parts received so far. */
export interface Digest {
  readonly reportId: string;
  readonly userId: string;
  readonly cause: OrphanCause;
  readonly since: string;
  readonly parts: number;
  readonly received: Readonly<Record<string, readonly { readonly caseGroupId: string; readonly segment: string }[]>>;
  /** Set once every part has arrived and the report was told: later copies of its parts change nothing. */
  readonly done: boolean;
}

export interface DigestPart {
  readonly reportId: string;
  readonly userId: string;
  readonly cause: OrphanCause;
  readonly since: string;
  readonly part: number;
  readonly parts: number;
  readonly caseGroups: readonly { readonly caseGroupId: string; readonly segment: string }[];
}

/** Adds a part; when the last one arrives, says which case groups the report orphaned (sorted). Pure. */
export function addPart(digest: Digest | null, part: DigestPart): { digest: Digest; complete: Orphan[] | null } {
  const base: Digest = digest ?? { reportId: part.reportId, userId: part.userId, cause: part.cause, since: part.since, parts: part.parts, received: {}, done: false };
  if (base.done || String(part.part) in base.received) return { digest: base, complete: null };
  // A part from a partition that found orphans says why; an empty part may only know the departure.
  const cause = part.caseGroups.length > 0 ? part.cause : base.cause;
  const next: Digest = { ...base, cause, since: part.caseGroups.length > 0 ? part.since : base.since, received: { ...base.received, [String(part.part)]: part.caseGroups } };
  if (Object.keys(next.received).length < next.parts) return { digest: next, complete: null };
  const complete = Object.values(next.received)
    .flat()
    .map((c) => ({ caseGroupId: c.caseGroupId, segment: c.segment, userId: next.userId, cause: next.cause, since: next.since }))
    .sort((a, b) => a.caseGroupId.localeCompare(b.caseGroupId));
  return { digest: { ...next, done: true, received: {} }, complete };
}
