import { deterministicId, qualify, type TopicName } from '@cms-router/events';
import { redisCall, replayFrom, type InboundRecord, type PartitionOffsets, type OutboundRecord, type Redis, type RedisKeys, type Serde, type StateHooks } from '@cms-router/platform';
import type { Rules } from '@cms-router/rules';
import { fromCaseFact, fromOrphanFlag, fromPartyFact, fromSrFact, fromWorkforce, route, type RouteResult, type RouterInput } from '@cms-router/routing';
import type { CaseGroupStore } from './store.ts';

export const ROUTE_STAGE = 'router-route';

export interface RouteStageDeps {
  readonly redis: Redis;
  readonly keys: RedisKeys;
  readonly serde: Serde;
  readonly store: CaseGroupStore;
  readonly rules: Rules;
  readonly offsets: PartitionOffsets;
  readonly namespace: string | undefined;
}

/**
 * Stage two of the router: one ordered stream per case group (the inbox). Loads the case group,
 * applies the fact with the pure routing core, stages the new state and returns the assignments and
 * rejections to publish in the same transaction as the inbox offset.
 */
export function createRouteStage(deps: RouteStageDeps): { handler: (r: InboundRecord) => Promise<OutboundRecord[]>; hooks: StateHooks } {
  let teamLeaders = new Map<string, string>();

  const toInput = async (record: InboundRecord): Promise<{ input: RouterInput | undefined; source: { topic: string; partition: number; offset: string; eventId: string | null } } | undefined> => {
    if (record.topic !== 'cms.router-inbox.v1') return undefined;
    const inbox = record.value;
    const inner = await deps.serde.decode(qualify(inbox.source.topic as TopicName, deps.namespace), inbox.fact);
    const v = inner.value;
    let input: RouterInput | undefined;
    switch (inner.topic) {
      case 'cms.case-facts.v1':
        input = fromCaseFact(v as Parameters<typeof fromCaseFact>[0]);
        break;
      case 'cms.party-facts.v1':
        input = fromPartyFact(v as Parameters<typeof fromPartyFact>[0], inbox.caseGroupId);
        break;
      case 'cms.sr-facts.v1':
        input = fromSrFact(v as Parameters<typeof fromSrFact>[0]);
        break;
      case 'cms.workforce.v1':
        input = fromWorkforce(v as Parameters<typeof fromWorkforce>[0], inbox.caseGroupId);
        break;
      case 'cms.orphan-flags.v1':
        input = fromOrphanFlag(v as Parameters<typeof fromOrphanFlag>[0]);
        break;
      default:
        input = undefined;
    }
    return { input, source: inbox.source };
  };

  const apply = async (record: InboundRecord): Promise<{ result: RouteResult; source: { topic: string; partition: number; offset: string; eventId: string | null }; caseGroupId: string } | undefined> => {
    const converted = await toInput(record);
    if (!converted?.input) return undefined;
    // The staging key must match the runner's (the topic's full name on the wire), or persist misses it.
    const tp = `${qualify(record.topic, deps.namespace)}:${record.partition}`;
    const { input } = converted;
    const state = await deps.store.load(tp, input.caseGroupId);
    const result = route(state, input, { rules: deps.rules, teamLeaderOf: (t) => teamLeaders.get(t) ?? null, eventId: record.headers.eventId });
    if (result.state && result.state !== state) deps.store.stage(tp, result.state);
    return { result, source: converted.source, caseGroupId: input.caseGroupId };
  };

  const handler = async (record: InboundRecord): Promise<OutboundRecord[]> => {
    const applied = await apply(record);
    if (!applied) return [];
    const { result, source, caseGroupId } = applied;
    return result.outputs.map((o, i): OutboundRecord => {
      if (o.kind === 'assignment') return { topic: 'cms.assignments.v1', key: caseGroupId, value: o.value, eventType: o.value.subject };
      return {
        topic: 'cms.rejections.v1',
        key: caseGroupId,
        value: { rejectionId: deterministicId('router', record.headers.eventId, i), service: 'router', occurredAt: record.value.occurredAt, source, code: o.code, reason: o.reason, caseGroupId, srId: o.srId },
        eventType: o.code,
      };
    });
  };

  const hooks: StateHooks = {
    async check(topic, partition, firstOffset, persistedHere) {
      // Reference data for approval tasks, read once per batch.
      teamLeaders = new Map(Object.entries(await redisCall('read team leaders', () => deps.redis.hgetall(deps.keys.teamLeaders()))));
      const applied = await deps.store.appliedOffset(ROUTE_STAGE, topic, partition);
      return replayFrom(applied, firstOffset, () => deps.offsets.low(topic, partition), persistedHere);
    },
    async replay(record) {
      await apply(record);
    },
    persist: (topic, partition, lastOffset) => deps.store.persist(ROUTE_STAGE, topic, partition, lastOffset),
    discard: (topic, partition) => {
      deps.store.discard(`${topic}:${partition}`);
    },
  };
  return { handler, hooks };
}
