import { placementKey, type Assignment } from '@cms-router/events';
import type { RouterOutput } from './route.ts';
import type { CaseGroupState } from './state.ts';

/** A record of cms.placements.v1: a work item's current placement, or a tombstone when it is done. */
export interface PlacementRecord {
  readonly key: string;
  readonly value: Assignment | null;
}

/**
 * What the compacted current-placement topic hears from one routing step: every assignment (the work
 * item is now there), and a tombstone for each SR that left the case group's work in progress (closed)
 * and for a case group that is no longer placed. A consumer that reads the topic from the start ends
 * with exactly the work in progress and where it sits, whenever it starts.
 */
export function placementRecords(caseGroupId: string, before: CaseGroupState | null, after: CaseGroupState | null, outputs: readonly RouterOutput[]): PlacementRecord[] {
  const out: PlacementRecord[] = [];
  for (const o of outputs) if (o.kind === 'assignment') out.push({ key: placementKey(o.value), value: o.value });
  const open = after?.srPlacements ?? {};
  for (const srId of Object.keys(before?.srPlacements ?? {}).sort()) if (!(srId in open)) out.push({ key: placementKey({ caseGroupId, srId }), value: null });
  if (before?.placement && !after?.placement) out.push({ key: caseGroupId, value: null });
  return out;
}
