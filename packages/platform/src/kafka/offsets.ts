import type { Admin } from 'kafkajs';

/** Low watermarks and committed offsets, cached briefly: they are asked for on every batch check. */
export interface PartitionOffsets {
  low(topic: string, partition: number): Promise<string>;
  committed(groupId: string, topic: string): Promise<Map<number, string>>;
}

export function createPartitionOffsets(admin: Admin, ttlMs = 2_000): PartitionOffsets {
  const lows = new Map<string, { at: number; value: Map<number, string> }>();
  const commits = new Map<string, { at: number; value: Map<number, string> }>();
  let connected: Promise<void> | undefined;
  const ready = (): Promise<void> => (connected ??= admin.connect());
  return {
    async low(topic, partition) {
      const cached = lows.get(topic);
      if (cached && Date.now() - cached.at < ttlMs) return cached.value.get(partition) ?? '0';
      await ready();
      const value = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p.low] as const));
      lows.set(topic, { at: Date.now(), value });
      return value.get(partition) ?? '0';
    },
    async committed(groupId, topic) {
      const k = `${groupId}|${topic}`;
      const cached = commits.get(k);
      if (cached && Date.now() - cached.at < ttlMs) return cached.value;
      await ready();
      const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
      const value = new Map((offsets?.partitions ?? []).map((p) => [p.partition, p.offset] as const));
      commits.set(k, { at: Date.now(), value });
      return value;
    },
  };
}

/**
 * Where to replay from (StateHooks.check), given the applied offset stored with the state, the batch's
 * first offset and the last offset this process persisted itself:
 * - nothing stored: the state is lost (or never existed): replay from the low watermark, if anything is there;
 * - stored == persisted here: current (a gap up to firstOffset is transaction markers);
 * - otherwise, stored + 1 < firstOffset: replay the gap (markers in it cost one empty fetch).
 */
export async function replayFrom(applied: string | null, firstOffset: string, low: () => Promise<string>, persistedHere?: string): Promise<string | undefined> {
  if (applied === null) {
    const l = await low();
    return BigInt(firstOffset) > BigInt(l) ? l : undefined;
  }
  if (persistedHere !== undefined && applied === persistedHere) return undefined;
  const next = BigInt(applied) + 1n;
  return next < BigInt(firstOffset) ? next.toString() : undefined;
}
