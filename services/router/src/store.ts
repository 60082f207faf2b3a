import { redisCall, type Redis, type RedisKeys } from '@cms-router/platform';
import type { CaseGroupState } from '@cms-router/routing';

/**
 * Case-group state in Redis, with a staging overlay per input partition: changes made while a batch is
 * handled are visible to later records of the batch, and written (with the partition's applied offset,
 * in one MULTI) only after the batch's Kafka transaction commits.
 */
export interface CaseGroupStore {
  load(tp: string, caseGroupId: string): Promise<CaseGroupState | null>;
  stage(tp: string, state: CaseGroupState): void;
  persist(stage: string, topic: string, partition: number, lastOffset: string): Promise<void>;
  discard(tp: string): void;
  appliedOffset(stage: string, topic: string, partition: number): Promise<string | null>;
  read(caseGroupId: string): Promise<CaseGroupState | null>;
}

export function createCaseGroupStore(redis: Redis, keys: RedisKeys): CaseGroupStore {
  const overlays = new Map<string, Map<string, CaseGroupState>>();
  const read = async (caseGroupId: string): Promise<CaseGroupState | null> => {
    const raw = await redisCall('get case group', () => redis.get(keys.caseGroup(caseGroupId)));
    return raw === null ? null : (JSON.parse(raw) as CaseGroupState);
  };
  return {
    async load(tp, caseGroupId) {
      const staged = overlays.get(tp)?.get(caseGroupId);
      return staged ?? (await read(caseGroupId));
    },
    stage(tp, state) {
      let overlay = overlays.get(tp);
      if (!overlay) overlays.set(tp, (overlay = new Map<string, CaseGroupState>()));
      overlay.set(state.caseGroupId, state);
    },
    async persist(stage, topic, partition, lastOffset) {
      const tp = `${topic}:${partition}`;
      const overlay = overlays.get(tp);
      const multi = redis.multi();
      for (const state of overlay?.values() ?? []) multi.set(keys.caseGroup(state.caseGroupId), JSON.stringify(state));
      multi.set(keys.appliedOffset(stage, topic, partition), lastOffset);
      await redisCall('persist case groups', () => multi.exec());
      overlays.delete(tp);
    },
    discard(tp) {
      overlays.delete(tp);
    },
    appliedOffset: (stage, topic, partition) => redisCall('get applied offset', () => redis.get(keys.appliedOffset(stage, topic, partition))),
    read,
  };
}
