import { createStagedStore, redisCall, type Redis, type RedisKeys } from '@cms-router/platform';
import type { CaseGroupState } from '@cms-router/routing';

/** The router's case-group documents: a staged store (written after commit) plus the applied offsets. */
export interface CaseGroupStore {
  load(tp: string, caseGroupId: string): Promise<CaseGroupState | null>;
  stage(tp: string, state: CaseGroupState): void;
  persist(stage: string, topic: string, partition: number, lastOffset: string): Promise<void>;
  discard(tp: string): void;
  appliedOffset(stage: string, topic: string, partition: number): Promise<string | null>;
  read(caseGroupId: string): Promise<CaseGroupState | null>;
}

export function createCaseGroupStore(redis: Redis, keys: RedisKeys): CaseGroupStore {
  const docs = createStagedStore<CaseGroupState>(redis, keys.caseGroup);
  return {
    load: (tp, id) => docs.load(tp, id),
    stage: (tp, state) => {
      docs.stage(tp, state.caseGroupId, state);
    },
    persist: (stage, topic, partition, lastOffset) => docs.persist(keys.appliedOffset(stage, topic, partition), `${topic}:${partition}`, lastOffset),
    discard: (tp) => {
      docs.discard(tp);
    },
    appliedOffset: (stage, topic, partition) => redisCall('get applied offset', () => redis.get(keys.appliedOffset(stage, topic, partition))),
    read: (id) => docs.read(id),
  };
}
