import type { Kafka } from 'kafkajs';
import type { CmsError } from '@cms-router/errors';
import { deterministicId, invalidIds, qualify, TOPICS, type SrEventsInboxRecord, type TopicName } from '@cms-router/events';
import { createKafkaRunner, createTickWriter, ensureContract, runnerDefaults, watchWaiting, type HandlerContext, type InboundRecord, type KafkaRunner, type Logger, type ServiceMetrics, type OutboundRecord, type Redis, type Serde, type TaskStore } from '@cms-router/platform';
import { applySrEventsInput, expireSrWaiting, oldestSrWaiting, partiesOfApplication, type CaseGroupSrState, type SrStep } from '@cms-router/sr-lifecycle';
import type { SrEventsConfig } from './config.ts';

export const SR_EVENTS_INPUTS: readonly TopicName[] = [TOPICS.srLifecycle, TOPICS.caseFacts];
export const SR_EVENTS_TOPICS: readonly TopicName[] = [...SR_EVENTS_INPUTS, TOPICS.srEventsInbox, TOPICS.srEventsState, TOPICS.srFacts, TOPICS.rejections, TOPICS.deadLetter];
export const SR_EVENTS_STAGE = 'sr-events';

/** sr-events' state keys (Redis `<prefix>:sr-events:<key>`, and the changelog). */
export const SR_STATE_KEYS = {
  caseGroup: (caseGroupId: string) => `cg:${caseGroupId}`,
  /** Case groups of a partition with SR events waiting, and the oldest arrival of each. */
  waiting: (task: number) => `p${task}:waiting`,
} as const;

export interface SrEventsDeps {
  readonly config: SrEventsConfig;
  readonly kafka: Kafka;
  readonly serde: Serde;
  readonly redis: Redis;
  readonly logger: Logger;
  readonly onFatal: (err: CmsError) => void;
  /** The service's /metrics registry (runService's); absent in tests that build the app alone. */
  readonly metrics?: ServiceMetrics;
  readonly now?: () => Date;
}

export interface SrEventsApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  tick(): Promise<void>;
  readonly runners: { readonly ingest: KafkaRunner; readonly core: KafkaRunner };
}

/**
 * sr-events: validates SR lifecycle events against the procedures' state machine and publishes the
 * routing facts they derive, exactly once. Two stages: ingest re-keys SR events and applications (which
 * give each case its parties) into one ordered stream per case group; the core applies them, one task
 * per partition, its state in a compacted changelog. An SR event that arrives before its case's
 * application, or before its SR's creation, waits for it.
 */
export function createSrEventsApp(deps: SrEventsDeps): SrEventsApp {
  const { config, serde, logger } = deps;
  const ns = config.platform.kafka.topicNamespace;
  const now = deps.now ?? (() => new Date());
  const admin = deps.kafka.admin();
  const common = { ...runnerDefaults(config.platform), service: 'sr-events', kafka: deps.kafka, serde, logger, onFatal: deps.onFatal, ...(deps.metrics ? { metrics: deps.metrics } : {}) };

  const ingest = (record: InboundRecord): Promise<OutboundRecord[]> => {
    if (record.topic !== 'cms.sr-lifecycle.v1' && record.topic !== 'cms.case-facts.v1') return Promise.resolve([]);
    // Only applications matter here: they give each case its parties.
    if (record.topic === 'cms.case-facts.v1' && record.value.payload.type !== 'ApplicationReceived') return Promise.resolve([]);
    const source = { topic: record.topic, partition: record.partition, offset: record.offset, eventId: record.headers.eventId };
    const bad = invalidIds(record.topic, record.value);
    if (bad.length > 0) {
      // A case-facts record is the router's to reject too; sr-events rejects only its own input.
      if (record.topic !== 'cms.sr-lifecycle.v1') return Promise.resolve([]);
      return Promise.resolve([
        {
          topic: TOPICS.rejections,
          key: deterministicId(record.topic, record.partition, record.offset),
          value: { rejectionId: deterministicId('sr-events', record.topic, record.partition, record.offset), service: 'sr-events', occurredAt: record.value.occurredAt, source, code: 'CMS_EVENT_INVALID', reason: `${record.topic} record: ${bad.join('; ')}`, caseGroupId: null, srId: null },
          eventType: 'CMS_EVENT_INVALID',
        },
      ]);
    }
    const value: SrEventsInboxRecord = { caseGroupId: record.value.caseGroupId, occurredAt: record.value.occurredAt, source, fact: record.raw, signal: null };
    return Promise.resolve([{ topic: TOPICS.srEventsInbox, key: record.value.caseGroupId, value, eventType: record.value.payload.type }]);
  };

  const core = async (record: InboundRecord, { store }: HandlerContext): Promise<OutboundRecord[]> => {
    if (record.topic !== 'cms.sr-events-inbox.v1') return [];
    const v = record.value;
    const task = record.partition;
    const out: OutboundRecord[] = [];
    const reject = (caseGroupId: string, srId: string | null, source: SrEventsInboxRecord['source'], occurredAt: string, code: string, reason: string): void => {
      out.push({
        topic: TOPICS.rejections,
        key: caseGroupId,
        value: { rejectionId: deterministicId('sr-events', source.topic, source.partition, source.offset), service: 'sr-events', occurredAt, source, code, reason, caseGroupId, srId },
        eventType: code,
      });
    };
    const emit = (steps: readonly SrStep[]): void => {
      for (const s of steps) {
        if (s.outcome.kind === 'applied') out.push(...s.outcome.facts.map((value): OutboundRecord => ({ topic: TOPICS.srFacts, key: s.event.caseGroupId, value })));
        if (s.outcome.kind === 'rejected') reject(s.event.caseGroupId, s.event.srId, s.source, s.event.occurredAt, s.outcome.code, s.outcome.reason);
      }
    };
    const save = async (s: TaskStore, caseGroupId: string, before: CaseGroupSrState | undefined, after: CaseGroupSrState): Promise<void> => {
      s.put(SR_STATE_KEYS.caseGroup(caseGroupId), after);
      const was = oldestSrWaiting(before ?? null);
      const is = oldestSrWaiting(after);
      if (was === is) return;
      const k = SR_STATE_KEYS.waiting(task);
      const others = Object.entries((await s.get<Record<string, string>>(k)) ?? {}).filter(([id]) => id !== caseGroupId);
      const waiting = Object.fromEntries(is === null ? others : [...others, [caseGroupId, is]]);
      s.put(k, Object.keys(waiting).length === 0 ? undefined : waiting);
    };
    if (v.signal?.type === 'Tick') {
      const cutoff = new Date(Date.parse(v.signal.at) - config.waitExpiryMs).toISOString();
      const waiting = (await store.get<Record<string, string>>(SR_STATE_KEYS.waiting(task))) ?? {};
      for (const caseGroupId of Object.keys(waiting).filter((id) => (waiting[id] ?? '') <= cutoff).sort()) {
        const before = await store.get<CaseGroupSrState>(SR_STATE_KEYS.caseGroup(caseGroupId));
        if (!before) continue;
        const { state, expired } = expireSrWaiting(before, cutoff, config.waitExpiryMs);
        for (const w of expired) reject(caseGroupId, w.event.srId, w.source, w.event.occurredAt, 'CMS_WAIT_EXPIRED', w.reason);
        await save(store, caseGroupId, before, state);
      }
      return out;
    }
    const decoded = await serde.decode(qualify(v.source.topic as TopicName, ns), v.fact);
    const before = await store.get<CaseGroupSrState>(SR_STATE_KEYS.caseGroup(v.caseGroupId));
    let result;
    if (decoded.topic === 'cms.case-facts.v1') {
      const fact = decoded.value as Extract<InboundRecord, { topic: 'cms.case-facts.v1' }>['value'];
      if (fact.payload.type !== 'ApplicationReceived') return [];
      result = applySrEventsInput(before ?? null, { kind: 'application', caseId: fact.caseId, parties: partiesOfApplication(fact.payload) }, v.caseGroupId);
    } else if (decoded.topic === 'cms.sr-lifecycle.v1') {
      const event = decoded.value as Extract<InboundRecord, { topic: 'cms.sr-lifecycle.v1' }>['value'];
      // The upstream event id: a record sent twice upstream is the same event, whatever offset it landed on.
      const eventId = v.source.eventId ?? record.headers.eventId;
      result = applySrEventsInput(before ?? null, { kind: 'lifecycle', event, eventId, arrivedAt: new Date(Number(record.timestamp)).toISOString(), source: { ...v.source, eventId } }, v.caseGroupId);
    } else return [];
    await save(store, v.caseGroupId, before, result.state);
    emit(result.steps);
    return out;
  };

  /** The case group's document an inbox record reads (read ahead per transaction); a tick names none. */
  const caseGroupKeyOf = (r: InboundRecord): readonly string[] => (r.topic === 'cms.sr-events-inbox.v1' && !r.value.signal ? [SR_STATE_KEYS.caseGroup(r.value.caseGroupId)] : []);
  const runners = {
    ingest: createKafkaRunner({ ...common, groupId: `${config.groupId}.ingest`, topics: SR_EVENTS_INPUTS, handler: ingest }),
    core: createKafkaRunner({ ...common, groupId: config.groupId, topics: [TOPICS.srEventsInbox], handler: core, state: { stage: SR_EVENTS_STAGE, changelog: TOPICS.srEventsState, redis: deps.redis, keyPrefix: config.platform.redis.keyPrefix, keysOf: caseGroupKeyOf } }),
  };

  // /metrics: the SR events waiting in each restored partition, read from its waiting index at scrape time.
  watchWaiting(deps.metrics, config.groupId, runners.core, (task) => [SR_STATE_KEYS.waiting(task)]);

  // Ticks on the core's own inbox: review dates and waiting events fall due on them.
  const ticks = createTickWriter({
    kafka: deps.kafka, admin, serde, topic: TOPICS.srEventsInbox, namespace: ns, service: 'sr-events',
    record: (at): SrEventsInboxRecord => ({ caseGroupId: '', occurredAt: at, source: { topic: 'sr-events-timer', partition: 0, offset: at, eventId: null }, fact: Buffer.alloc(0), signal: { type: 'Tick', at } }),
  });
  const tick = (): Promise<void> => ticks.write(now().toISOString());

  let timer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  return {
    runners,
    tick,
    async start() {
      await ensureContract(admin, serde, SR_EVENTS_TOPICS, ns, -1, { log: (line) => { logger.info(line); } });
      await runners.core.start();
      await runners.ingest.start();
      if (config.tickIntervalMs > 0) {
        timer = setInterval(() => {
          tick().catch((err: unknown) => {
            logger.warn({ err }, 'tick not written; the next one follows at its interval');
          });
        }, config.tickIntervalMs);
        timer.unref();
      }
      logger.info('sr-events started');
    },
    stop() {
      stopping ??= (async () => {
        if (timer) clearInterval(timer);
        await runners.ingest.stop();
        await runners.core.stop();
        await ticks.close();
        await admin.disconnect().catch(() => undefined);
      })();
      return stopping;
    },
  };
}
