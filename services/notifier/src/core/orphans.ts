/**
 * Orphaned case groups (004 Work Allocation): "If a team move is complete for a user or 2012 access is
 * removed from a user who has work allocated to them, these cases will become orphaned, the cases will
 * not be visible to any case worker, team leader or segment manager." Pure: the index is passed in.
 */
export type OrphanCause = 'TEAM_MOVE_COMPLETED' | 'SYSTEM_ACCESS_REMOVED' | 'OWNER_WITHOUT_ACCESS';

/** One allocation: who holds the case group, in which team, since when (the allocation's time). */
export interface Allocation {
  /** Empty once the notifier saw the case group recovered (a tombstone that later allocations replace). */
  readonly userId: string;
  readonly teamId: string;
  readonly segment: string;
  readonly at: string;
}

/** What happened to a user: the latest team move or access removal. */
export interface Departure {
  readonly cause: 'TEAM_MOVE_COMPLETED' | 'SYSTEM_ACCESS_REMOVED';
  readonly since: string;
  /** The team joined, for a team move: allocations in that team are not orphaned. */
  readonly toTeamId: string | null;
}

export interface Orphan {
  readonly caseGroupId: string;
  readonly userId: string;
  readonly cause: OrphanCause;
  readonly since: string;
}

/**
 * Why an allocation is orphaned by its user's departure, or null when it is not.
 * - Access removed: every allocation of theirs is orphaned.
 * - Team move: allocations in any team but the one joined are orphaned (work left in the old team);
 *   an allocation in the new team is ordinary work.
 * An allocation made after the departure (facts out of order, or allocated to someone who already left)
 * is orphaned with OWNER_WITHOUT_ACCESS.
 */
export function orphanCause(allocation: Allocation, departure: Departure | undefined): OrphanCause | null {
  if (!departure) return null;
  if (departure.cause === 'TEAM_MOVE_COMPLETED' && allocation.teamId === departure.toTeamId) return null;
  return allocation.at <= departure.since ? departure.cause : 'OWNER_WITHOUT_ACCESS';
}

/** Case groups a user's departure orphans, among those allocated to them, sorted. */
export function orphansOf(userId: string, departure: Departure, allocations: Readonly<Record<string, Allocation>>): Orphan[] {
  return Object.entries(allocations)
    .flatMap(([caseGroupId, a]) => {
      const cause = a.userId === userId ? orphanCause(a, departure) : null;
      return cause ? [{ caseGroupId, userId, cause, since: departure.since }] : [];
    })
    .sort((a, b) => a.caseGroupId.localeCompare(b.caseGroupId));
}

/**
 * The periodic sweep: case groups held by users whose departure orphans them and that are not flagged
 * yet. Catches what arriving facts could not (a reallocation and a departure read by two instances at once).
 */
export function sweep(allocations: Readonly<Record<string, Allocation>>, departures: Readonly<Record<string, Departure>>, flagged: ReadonlySet<string>): Orphan[] {
  return Object.entries(allocations)
    .flatMap(([caseGroupId, a]) => {
      const departure = departures[a.userId];
      const cause = flagged.has(caseGroupId) || !departure ? null : orphanCause(a, departure);
      return cause && departure ? [{ caseGroupId, userId: a.userId, cause, since: departure.since }] : [];
    })
    .sort((a, b) => a.caseGroupId.localeCompare(b.caseGroupId));
}
