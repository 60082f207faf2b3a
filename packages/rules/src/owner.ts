import { PROCEDURES } from './decide.ts';
import type { Decision, Reason } from './decision.ts';

/** The caseworker a case group is allocated to (workforce events), as the router keeps it. */
export interface CaseGroupOwner {
  readonly userId: string;
  readonly teamId: string;
  /** Segment the case group was allocated in: the allocation holds only while the case group is there. */
  readonly segment: string;
  /** False while the caseworker is away (leave, sickness absence). */
  readonly available: boolean;
}

/** Orphan recovery (004 Work Allocation), as published by the notifier. */
export interface OrphanRecovery {
  readonly userId: string;
  readonly cause: 'TEAM_MOVE_COMPLETED' | 'SYSTEM_ACCESS_REMOVED' | 'OWNER_WITHOUT_ACCESS';
  readonly since: string;
}

const CAUSE_WORDS: Record<OrphanRecovery['cause'], string> = {
  TEAM_MOVE_COMPLETED: 'completed a move to another team',
  SYSTEM_ACCESS_REMOVED: 'had their CMS 2012 access removed',
  OWNER_WITHOUT_ACCESS: 'no longer has access to it',
};

/**
 * Who works a case group inside the segment the hierarchy chose. Pure.
 * - No allocation, or an allocation made in another segment: the segment's unallocated work (owner null).
 * - Allocated and available: the caseworker.
 * - Allocated but away: 002 "where the CMS owning caseworker is unavailable e.g. due to leave or sickness
 *   absence ... contact the CMS caseworker's team leader": the work goes to the team leader of the
 *   caseworker's team (the team's approval inbox when no team leader is recorded), until they are back.
 */
export function allocateWithinSegment(decision: Decision, owner: CaseGroupOwner | null, teamLeaderOf: (teamId: string) => string | null): Decision {
  if (!owner || owner.segment !== decision.segment) return decision;
  if (owner.available) {
    const reason: Reason = {
      ruleId: 'caseworker-allocation',
      text: `The case group is allocated to caseworker ${owner.userId} (team ${owner.teamId}) in this segment.`,
      procedure: `${PROCEDURES.workAllocation} ("When a caseworker has been allocated a case group they will be responsible for completing all work on all cases within the case group")`,
    };
    return { ...decision, ownerUserId: owner.userId, reasons: [...decision.reasons, reason] };
  }
  const leader = teamLeaderOf(owner.teamId);
  const reason: Reason = {
    ruleId: 'owner-unavailable',
    text: leader
      ? `The owning caseworker ${owner.userId} is unavailable (leave or absence), so the case group's work goes to their team leader ${leader} (team ${owner.teamId}) until they are back.`
      : `The owning caseworker ${owner.userId} is unavailable (leave or absence) and no team leader is recorded for team ${owner.teamId}, so the work waits in that team's leader inbox.`,
    procedure: `${PROCEDURES.csaTransition} ("where the CMS owning caseworker is unavailable e.g. due to leave or sickness absence ... contact the CMS caseworker's team leader")`,
  };
  return { ...decision, ownerUserId: leader, team: `TEAM_LEADER:${owner.teamId}`, reasons: [...decision.reasons, reason] };
}

/** The reason on the assignment that returns an orphaned case group to its segment's unallocated work. */
export function orphanRecoveredReason(recovery: OrphanRecovery, segment: string): Reason {
  return {
    ruleId: 'orphan-recovered',
    text: `The case group was orphaned: it was allocated to caseworker ${recovery.userId}, who ${CAUSE_WORDS[recovery.cause]} (since ${recovery.since.slice(0, 10)}), so no caseworker, team leader or segment manager could see it. It is returned to the unallocated work of the ${segment} segment.`,
    procedure: `${PROCEDURES.workAllocation} ("If a team move is complete for a user or 2012 access is removed from a user who has work allocated to them, these cases will become orphaned")`,
  };
}
