import { HISTORY_LIMIT, type CaseGroupState, type HistoryEntry } from './state.ts';

/**
 * How the route stage stores a case group: the state without its history, and the history as a ring of
 * HISTORY_LIMIT entries, each under its own key. Without the split every fact rewrote the whole history
 * (59% of an average 11 KiB document) to the changelog and to Redis; now a fact writes the document and
 * only the entries it adds. Pure: the stage and `explain` do the reads and writes.
 */
export type StoredCaseGroup = Omit<CaseGroupState, 'history'> & {
  /** History entries ever appended; entry n is in ring slot n mod HISTORY_LIMIT. */
  readonly historyCount?: number;
  /** Documents written before the split carry their history inline; it moves to the ring on the next save. */
  readonly history?: readonly HistoryEntry[];
};

export const HISTORY_KEYS = {
  /** One slot of a case group's history ring (its own prefix, so a scan of `cg:` finds documents only). */
  entry: (caseGroupId: string, slot: number) => `hist:${caseGroupId}:${slot}`,
} as const;

/** A loaded case group as the core works on it: no history (route appends what it adds), and where the ring stands. */
export interface Loaded {
  readonly state: CaseGroupState;
  readonly historyCount: number;
  /** Inline history of a document written before the split, still to move to the ring. */
  readonly legacy: readonly HistoryEntry[];
}

export function fromStored(doc: StoredCaseGroup): Loaded {
  const { historyCount, history, ...rest } = doc;
  return { state: { ...rest, history: [] }, historyCount: historyCount ?? 0, legacy: historyCount === undefined ? (history ?? []) : [] };
}

/** What stores `after` (loaded as `before`): the document (undefined: deleted), and the ring slots the added entries take. */
export function toStored(before: Loaded | undefined, after: CaseGroupState | null): { doc: StoredCaseGroup | undefined; slots: { slot: number; entry: HistoryEntry | undefined }[] } {
  const count = before?.historyCount ?? 0;
  if (after === null) {
    return { doc: undefined, slots: Array.from({ length: Math.min(count, HISTORY_LIMIT) }, (_, slot) => ({ slot, entry: undefined })) };
  }
  const { history: added, ...rest } = after;
  const appended = [...(before?.legacy ?? []), ...added];
  // More than the ring holds in one go: the oldest fall out, as they would one by one.
  const skipped = Math.max(0, appended.length - HISTORY_LIMIT);
  const slots = appended.slice(skipped).map((entry, i) => ({ slot: (count + skipped + i) % HISTORY_LIMIT, entry }));
  return { doc: { ...rest, historyCount: count + appended.length }, slots };
}

/** The ring slots holding a stored case group's history, oldest first. */
export function historySlots(doc: StoredCaseGroup): number[] {
  const count = doc.historyCount ?? 0;
  const first = Math.max(0, count - HISTORY_LIMIT);
  return Array.from({ length: count - first }, (_, i) => (first + i) % HISTORY_LIMIT);
}

/** The whole state (for explain): the document with its history read back from the ring. */
export function withStoredHistory(doc: StoredCaseGroup, ring: readonly (HistoryEntry | null)[]): CaseGroupState {
  const { historyCount, history, ...rest } = doc;
  return { ...rest, history: historyCount === undefined ? (history ?? []) : ring.filter((e): e is HistoryEntry => e !== null) };
}
