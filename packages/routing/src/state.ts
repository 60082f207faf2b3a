import type { CaseGroupFacts, CaseGroupOwner, Decision } from '@cms-router/rules';

/** Where one work item currently sits. */
export interface Placement {
  readonly subject: 'CASE_GROUP' | 'SERVICE_REQUEST' | 'APPROVAL_TASK';
  readonly srId: string | null;
  readonly decision: Decision;
}

/** One line of a case group's history, for `explain`. No personal data. */
export interface HistoryEntry {
  readonly at: string;
  readonly eventId: string;
  readonly kind: 'ASSIGNED' | 'REJECTED' | 'FACT';
  readonly subject: Placement['subject'] | null;
  readonly srId: string | null;
  readonly segment: string | null;
  readonly previousSegment: string | null;
  readonly ruleId: string | null;
  readonly text: string;
}

/** Everything the router keeps about one case group (stored as JSON in Redis). */
export interface CaseGroupState {
  readonly caseGroupId: string;
  readonly facts: CaseGroupFacts;
  readonly placement: Placement | null;
  readonly srPlacements: Readonly<Record<string, Placement>>;
  /** The caseworker it is allocated to. `available` is absent in documents written before availability existed. */
  readonly owner: (Omit<CaseGroupOwner, 'available'> & { readonly available?: boolean }) | null;
  readonly history: readonly HistoryEntry[];
}

/** History kept per case group: enough to answer "why is it here?" without unbounded growth. */
export const HISTORY_LIMIT = 100;
