import type { Redis } from '@cms-router/platform';
import { redisKeys } from '@cms-router/platform';
import { HISTORY_KEYS, historySlots, withStoredHistory, type CaseGroupState, type HistoryEntry, type StoredCaseGroup } from '@cms-router/routing';

/** The route stage's name for its state (services/router/src/state-keys.ts: stage router-route, key cg:<id>). */
const ROUTE_STAGE = 'router-route';

/** A case group as the route stage last committed it, with its history read back from the ring; null if unknown. */
export async function readCaseGroup(redis: Redis, keyPrefix: string, caseGroupId: string): Promise<CaseGroupState | null> {
  const keys = redisKeys(keyPrefix);
  const raw = await redis.get(keys.stateDoc(ROUTE_STAGE, `cg:${caseGroupId}`));
  if (raw === null) return null;
  const doc = JSON.parse(raw) as StoredCaseGroup;
  const slots = historySlots(doc);
  const ring = slots.length === 0 ? [] : await redis.mget(...slots.map((slot) => keys.stateDoc(ROUTE_STAGE, HISTORY_KEYS.entry(caseGroupId, slot))));
  return withStoredHistory(doc, ring.map((r) => (r === null ? null : (JSON.parse(r) as HistoryEntry))));
}
