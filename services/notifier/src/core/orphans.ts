/**
 * Orphaned case groups (004 Work Allocation): "If a team move is complete for a user or 2012 access is
 * removed from a user who has work allocated to them, these cases will become orphaned." Pure: the
 * ownership index is passed in and returned.
 */
export type OrphanCause = 'TEAM_MOVE_COMPLETED' | 'SYSTEM_ACCESS_REMOVED' | 'OWNER_WITHOUT_ACCESS';

export interface Ownership {
  /** case group -> the caseworker it is allocated to. */
  readonly owners: Readonly<Record<string, string>>;
  /** Users who moved team or lost access, and since when. */
  readonly gone: Readonly<Record<string, { readonly cause: OrphanCause; readonly since: string }>>;
}

export interface Orphan {
  readonly caseGroupId: string;
  readonly userId: string;
  readonly cause: OrphanCause;
  readonly since: string;
}

export const emptyOwnership: Ownership = { owners: {}, gone: {} };

/** A case group allocated to a user. Allocated to someone already gone: orphaned at once (facts out of order). */
export function allocated(o: Ownership, caseGroupId: string, userId: string): { ownership: Ownership; orphans: Orphan[] } {
  const ownership = { ...o, owners: { ...o.owners, [caseGroupId]: userId } };
  const gone = o.gone[userId];
  return { ownership, orphans: gone ? [{ caseGroupId, userId, cause: 'OWNER_WITHOUT_ACCESS', since: gone.since }] : [] };
}

/** A user moved team or lost access: every case group still allocated to them is orphaned. */
export function userGone(o: Ownership, userId: string, cause: OrphanCause, at: string): { ownership: Ownership; orphans: Orphan[] } {
  const orphans = Object.entries(o.owners)
    .filter(([, owner]) => owner === userId)
    .map(([caseGroupId]) => ({ caseGroupId, userId, cause, since: at }))
    .sort((a, b) => a.caseGroupId.localeCompare(b.caseGroupId));
  return { ownership: { ...o, gone: { ...o.gone, [userId]: { cause, since: at } } }, orphans };
}

/** After recovery the case group is unallocated (back to its segment's unallocated work). */
export function recovered(o: Ownership, caseGroupId: string): Ownership {
  return { ...o, owners: Object.fromEntries(Object.entries(o.owners).filter(([id]) => id !== caseGroupId)) };
}

/** The periodic sweep: case groups owned by users without access (catches facts that arrived out of order). */
export function sweep(o: Ownership): Orphan[] {
  return Object.entries(o.owners)
    .flatMap(([caseGroupId, userId]) => {
      const gone = o.gone[userId];
      return gone ? [{ caseGroupId, userId, cause: 'OWNER_WITHOUT_ACCESS' as const, since: gone.since }] : [];
    })
    .sort((a, b) => a.caseGroupId.localeCompare(b.caseGroupId));
}
