import type { Redis } from 'ioredis';
import { redisCall } from './redis.ts';

/**
 * JSON documents in Redis with a staging overlay per input partition: changes made while a batch is
 * handled are visible to later records of that batch, and written (with the partition's applied
 * offset, in one MULTI) only after the batch's Kafka transaction commits. The storage half of
 * StateHooks for services that keep one document per key.
 */
export interface StagedStore<T> {
  load(tp: string, id: string): Promise<T | null>;
  stage(tp: string, id: string, doc: T): void;
  persist(appliedOffsetKey: string, tp: string, lastOffset: string): Promise<void>;
  discard(tp: string): void;
  read(id: string): Promise<T | null>;
}

export function createStagedStore<T>(redis: Redis, keyOf: (id: string) => string): StagedStore<T> {
  const overlays = new Map<string, Map<string, T>>();
  const read = async (id: string): Promise<T | null> => {
    const raw = await redisCall('get document', () => redis.get(keyOf(id)));
    return raw === null ? null : (JSON.parse(raw) as T);
  };
  return {
    async load(tp, id) {
      const staged = overlays.get(tp)?.get(id);
      return staged ?? (await read(id));
    },
    stage(tp, id, doc) {
      let overlay = overlays.get(tp);
      if (!overlay) overlays.set(tp, (overlay = new Map<string, T>()));
      overlay.set(id, doc);
    },
    async persist(appliedOffsetKey, tp, lastOffset) {
      const multi = redis.multi();
      for (const [id, doc] of overlays.get(tp) ?? []) multi.set(keyOf(id), JSON.stringify(doc));
      multi.set(appliedOffsetKey, lastOffset);
      await redisCall('persist documents', () => multi.exec());
      overlays.delete(tp);
    },
    discard(tp) {
      overlays.delete(tp);
    },
    read,
  };
}
