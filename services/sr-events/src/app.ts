import type { Kafka } from 'kafkajs';
import { CmsError } from '@cms-router/errors';
import { deterministicId, qualify, TOPICS, type TopicName } from '@cms-router/events';
import {
  createKafkaRunner,
  createPartitionOffsets,
  createStagedStore,
  ensureContract,
  redisCall,
  runnerDefaults,
  redisKeys,
  replayFrom,
  type InboundRecord,
  type KafkaRunner,
  type Logger,
  type OutboundRecord,
  type Redis,
  type Serde,
  type StateHooks,
} from '@cms-router/platform';
import { applySrEvent, emptyState, type CaseGroupSrState, type Party } from '@cms-router/sr-lifecycle';
import type { SrEventsConfig } from './config.ts';

export const SR_EVENTS_INPUTS: readonly TopicName[] = [TOPICS.srLifecycle, TOPICS.caseFacts];
export const SR_EVENTS_OUTPUTS: readonly TopicName[] = [TOPICS.srFacts, TOPICS.rejections, TOPICS.deadLetter];
const STAGE = 'sr-events';

export interface SrEventsDeps {
  readonly config: SrEventsConfig;
  readonly kafka: Kafka;
  readonly serde: Serde;
  readonly redis: Redis;
  readonly logger: Logger;
  readonly onFatal: (err: CmsError) => void;
}

/**
 * sr-events: validates SR lifecycle events against the procedures' state machine and publishes the
 * routing facts they derive, exactly once (Kafka transactions; SR state in Redis written after commit
 * and rebuilt by replay). Applications on cms.case-facts.v1 give it each case group's parties.
 */
export function createSrEventsApp(deps: SrEventsDeps): { start(): Promise<void>; stop(): Promise<void>; runner: KafkaRunner } {
  const { config, redis, serde } = deps;
  const ns = config.platform.kafka.topicNamespace;
  const keys = redisKeys(config.platform.redis.keyPrefix);
  const admin = deps.kafka.admin();
  const offsets = createPartitionOffsets(admin);
  const docs = createStagedStore<CaseGroupSrState>(redis, keys.srCaseGroup);
  const caseFactsTopic = qualify(TOPICS.caseFacts, ns);

  const partiesOf = async (caseGroupId: string): Promise<Party[]> =>
    (await redisCall('read parties', () => redis.smembers(keys.srParties(caseGroupId))))
      .map((x) => {
        const [partyId = '', role = 'RECEIVING_PARENT'] = x.split('|');
        return { partyId, role: role as Party['role'] };
      })
      .sort((a, b) => a.partyId.localeCompare(b.partyId));

  const applyApplication = async (record: InboundRecord): Promise<void> => {
    if (record.topic !== 'cms.case-facts.v1' || record.value.payload.type !== 'ApplicationReceived') return;
    const a = record.value.payload;
    const members = [`${a.payingParent.partyId}|PAYING_PARENT`, `${a.receivingParent.partyId}|RECEIVING_PARENT`, ...a.qualifyingChildren.map((c) => `${c.partyId}|QUALIFYING_CHILD`)];
    await redisCall('add parties', () => redis.sadd(keys.srParties(record.value.caseGroupId), ...members));
  };

  const applyLifecycle = async (record: InboundRecord, produce: boolean): Promise<OutboundRecord[]> => {
    if (record.topic !== 'cms.sr-lifecycle.v1') return [];
    const event = record.value;
    const tp = `${qualify(TOPICS.srLifecycle, ns)}:${record.partition}`;
    const state = (await docs.load(tp, event.caseGroupId)) ?? emptyState(event.caseGroupId);
    // Parties matter only when a personal-interest referral closes; skip the Redis read otherwise.
    const parties = event.payload.type === 'SrStatusChanged' && event.payload.status === 'CLOSED' ? await partiesOf(event.caseGroupId) : [];
    const outcome = applySrEvent(state, event, { eventId: record.headers.eventId, parties });
    if (outcome.kind === 'applied') {
      const needsParties = outcome.facts.some((f) => f.payload.type === 'PersonalInterestFlagChanged' && f.payload.flagged);
      if (needsParties && parties.length === 0) {
        // The parties come from the application; if Redis lost them, rebuild before flagging anyone.
        for (const partition of (await admin.fetchTopicMetadata({ topics: [caseFactsTopic] })).topics[0]?.partitions ?? []) await runner.rebuild(TOPICS.caseFacts, partition.partitionId);
        throw new CmsError('CMS_STATE_REBUILDING', `the parties of case group ${event.caseGroupId} are not known (yet); waiting for the application`, { context: { caseGroupId: event.caseGroupId } });
      }
    }
    docs.stage(tp, event.caseGroupId, outcome.state);
    if (!produce) return [];
    if (outcome.kind === 'applied') return outcome.facts.map((value) => ({ topic: 'cms.sr-facts.v1', key: event.caseGroupId, value }));
    if (outcome.kind === 'rejected') {
      return [
        {
          topic: 'cms.rejections.v1',
          key: event.caseGroupId,
          value: {
            rejectionId: deterministicId('sr-events', record.topic, record.partition, record.offset),
            service: 'sr-events',
            occurredAt: event.occurredAt,
            source: { topic: record.topic, partition: record.partition, offset: record.offset, eventId: record.headers.eventId },
            code: outcome.code,
            reason: outcome.reason,
            caseGroupId: event.caseGroupId,
            srId: event.srId,
          },
          eventType: outcome.code,
        },
      ];
    }
    return [];
  };

  const hooks: StateHooks = {
    async check(topic, partition, firstOffset, persistedHere) {
      const applied = await redisCall('get applied offset', () => redis.get(keys.appliedOffset(STAGE, topic, partition)));
      return replayFrom(applied, firstOffset, () => offsets.low(topic, partition), persistedHere);
    },
    async replay(record) {
      await applyApplication(record);
      await applyLifecycle(record, false);
    },
    persist: (topic, partition, lastOffset) => docs.persist(keys.appliedOffset(STAGE, topic, partition), `${topic}:${partition}`, lastOffset),
    discard: (topic, partition) => {
      docs.discard(`${topic}:${partition}`);
    },
  };

  // Handlers call `runner` only while it runs, after this line.
  const runner: KafkaRunner = createKafkaRunner({
    ...runnerDefaults(config.platform),
    service: 'sr-events',
    kafka: deps.kafka,
    serde,
    logger: deps.logger,
    groupId: config.groupId,
    topics: SR_EVENTS_INPUTS,
    onFatal: deps.onFatal,
    state: hooks,
    handler: async (record) => {
      await applyApplication(record);
      return applyLifecycle(record, true);
    },
  });
  let stopping: Promise<void> | undefined;
  return {
    runner,
    async start() {
      await admin.connect();
      await ensureContract(admin, serde, [...SR_EVENTS_INPUTS, ...SR_EVENTS_OUTPUTS], ns);
      await runner.start();
      deps.logger.info('sr-events started');
    },
    stop() {
      stopping ??= (async () => {
        await runner.stop();
        await admin.disconnect().catch(() => undefined);
      })();
      return stopping;
    },
  };
}
