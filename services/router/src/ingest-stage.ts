import { CmsError } from '@cms-router/errors';
import { deterministicId, TOPICS, unqualify, type RouterInboxRecord } from '@cms-router/events';
import { redisCall, replayFrom, type InboundRecord, type PartitionOffsets, type KafkaRunner, type OutboundRecord, type Redis, type RedisKeys, type StateHooks } from '@cms-router/platform';
import { ingest, type IngestEffects, type IngestInput } from '@cms-router/routing';

export const INGEST_STAGE = 'router-ingest';

const NO_INDEX = { caseGroupsOfParty: () => [], caseGroupsOfUser: () => [] };

/** Topics whose records build the ingest stage's reference data (party index, user index, team leaders). */
const STATEFUL = new Set<string>([TOPICS.caseFacts, TOPICS.workforce]);

export interface IngestStageDeps {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly offsets: PartitionOffsets;
  readonly groupId: string;
  readonly qualify: (topic: (typeof TOPICS)[keyof typeof TOPICS]) => string;
  readonly namespace: string | undefined;
  /** The ingest runner, once built: used to rebuild the party index when Redis lost it. */
  readonly runner: () => KafkaRunner | undefined;
  readonly partitionsOf: (topic: string) => Promise<number[]>;
}

function asIngestInput(record: InboundRecord): IngestInput | undefined {
  switch (record.topic) {
    case 'cms.case-facts.v1':
    case 'cms.party-facts.v1':
    case 'cms.sr-facts.v1':
    case 'cms.workforce.v1':
    case 'cms.orphan-flags.v1':
      return { topic: record.topic, value: record.value } as IngestInput;
    default:
      return undefined;
  }
}

/**
 * Stage one of the router: re-keys every routing fact by case group onto the router inbox, fanning
 * party facts out to each case group holding the party. It keeps the party -> case groups index and
 * the team leaders in Redis (idempotent writes), rebuilt by replay when Redis loses them.
 */
export function createIngestStage(deps: IngestStageDeps): { handler: (r: InboundRecord) => Promise<OutboundRecord[]>; hooks: StateHooks } {
  const { redis, keys } = deps;

  const applyEffects = async (effects: IngestEffects): Promise<void> => {
    if (effects.partyJoined.length === 0 && !effects.teamLeader && !effects.userHolds) return;
    const multi = redis.multi();
    for (const { partyId, caseGroupId } of effects.partyJoined) multi.sadd(keys.partyCaseGroups(partyId), caseGroupId);
    if (effects.userHolds) multi.sadd(keys.userCaseGroups(effects.userHolds.userId), effects.userHolds.caseGroupId);
    if (effects.teamLeader) multi.hset(keys.teamLeaders(), effects.teamLeader.teamId, effects.teamLeader.userId);
    await redisCall('apply ingest effects', () => multi.exec());
  };

  /**
   * Reference data (party index, team leaders) is complete when every case-facts and workforce partition
   * that has been consumed has its state persisted. After Redis lost it, the partitions are replayed and
   * the records that need it wait (retryably) until then.
   */
  const ensureReferenceComplete = async (): Promise<void> => {
    const missing: string[] = [];
    for (const base of [TOPICS.caseFacts, TOPICS.workforce] as const) {
      const topic = deps.qualify(base);
      const committed = await deps.offsets.committed(deps.groupId, topic);
      const consumed: number[] = [];
      for (const partition of await deps.partitionsOf(topic)) {
        if (BigInt(committed.get(partition) ?? '-1') > BigInt(await deps.offsets.low(topic, partition))) consumed.push(partition);
      }
      if (consumed.length === 0) continue;
      const applied = await redisCall('get applied offsets', () => redis.mget(consumed.map((p) => keys.appliedOffset(INGEST_STAGE, topic, p))));
      for (const [i, value] of applied.entries()) {
        const partition = consumed[i];
        if (value !== null || partition === undefined) continue;
        missing.push(`${base}[${partition}]`);
        await deps.runner()?.rebuild(base, partition);
      }
    }
    if (missing.length > 0) throw new CmsError('CMS_STATE_REBUILDING', `reference data is being rebuilt from ${missing.join(', ')}`, { context: { partitions: missing.length } });
  };

  const handler = async (record: InboundRecord): Promise<OutboundRecord[]> => {
    const input = asIngestInput(record);
    if (!input) return [];
    if (input.topic === 'cms.party-facts.v1' || input.topic === 'cms.sr-facts.v1') await ensureReferenceComplete();
    // The index a fact fans out through. A user's allocations come before their availability changes on
    // the same workforce partition, so the user index is complete whenever an availability change is read.
    const result = await (async () => {
      if (input.topic === 'cms.party-facts.v1') {
        const groups = await redisCall('read party index', () => redis.smembers(keys.partyCaseGroups(input.value.partyId)));
        return ingest(input, { caseGroupsOfParty: () => groups, caseGroupsOfUser: () => [] });
      }
      if (input.topic === 'cms.workforce.v1' && input.value.payload.type === 'UserAvailabilityChanged') {
        const groups = await redisCall('read user index', () => redis.smembers(keys.userCaseGroups(input.value.userId)));
        return ingest(input, { caseGroupsOfParty: () => [], caseGroupsOfUser: () => groups });
      }
      return ingest(input, NO_INDEX);
    })();
    const source = { topic: record.topic, partition: record.partition, offset: record.offset, eventId: record.headers.eventId };
    if (!result.ok) {
      return [
        {
          topic: 'cms.rejections.v1',
          key: record.key ?? result.caseGroupId ?? record.offset,
          value: { rejectionId: deterministicId('router', source.topic, source.partition, source.offset), service: 'router', occurredAt: input.value.occurredAt, source, code: result.code, reason: result.reason, caseGroupId: result.caseGroupId, srId: null },
        },
      ];
    }
    await applyEffects(result.effects);
    return result.inputs.map((routed): OutboundRecord => {
      const value: RouterInboxRecord = { caseGroupId: routed.caseGroupId, occurredAt: routed.occurredAt, source, fact: record.raw };
      return { topic: TOPICS.routerInbox, key: routed.caseGroupId, value, eventType: 'payload' in input.value ? input.value.payload.type : `OrphanFlag${input.value.state}` };
    });
  };

  const hooks: StateHooks = {
    async check(topic, partition, firstOffset, persistedHere) {
      if (!STATEFUL.has(unqualify(topic, deps.namespace) ?? topic)) return undefined;
      const applied = await redisCall('get applied offset', () => redis.get(keys.appliedOffset(INGEST_STAGE, topic, partition)));
      return replayFrom(applied, firstOffset, () => deps.offsets.low(topic, partition), persistedHere);
    },
    async replay(record) {
      const input = asIngestInput(record);
      if (!input || input.topic === 'cms.party-facts.v1') return;
      const result = ingest(input, NO_INDEX);
      if (result.ok) await applyEffects(result.effects);
    },
    async persist(topic, partition, lastOffset) {
      if (!STATEFUL.has(unqualify(topic, deps.namespace) ?? topic)) return;
      await redisCall('persist applied offset', () => redis.set(keys.appliedOffset(INGEST_STAGE, topic, partition), lastOffset));
    },
    discard() {
      // Effects are idempotent set additions written as they happen; nothing is staged.
    },
  };
  return { handler, hooks };
}

