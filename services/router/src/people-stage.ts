import { deterministicId, qualify, TOPICS, type RouterInboxRecord, type TopicName } from '@cms-router/events';
import type { HandlerContext, InboundRecord, OutboundRecord, Serde } from '@cms-router/platform';
import { applyPeopleInput, peopleInputOf, type PersonState, type UpstreamInput } from '@cms-router/routing';
import type { Rules } from '@cms-router/rules';
import { STATE_KEYS } from './state-keys.ts';

export interface PeopleStageDeps {
  readonly serde: Serde;
  readonly namespace: string | undefined;
  /** The postcode table: an address work cannot be routed by is refused at the registry. */
  readonly rulesAt: (occurredAt: string) => Rules;
}

/** The original upstream record an internal record carries (its bytes, decoded with the source topic's schema). */
export async function decodeCarried(serde: Serde, namespace: string | undefined, source: { topic: string }, fact: Buffer): Promise<UpstreamInput> {
  const decoded = await serde.decode(qualify(source.topic as TopicName, namespace), fact);
  return { topic: decoded.topic, value: decoded.value } as UpstreamInput;
}

/** The registry's document an input reads, named before it is handled (read ahead per transaction). */
export const personKeyOf = (record: InboundRecord): readonly string[] => (record.topic === 'cms.router-people.v1' ? [STATE_KEYS.person(record.value.partyId)] : []);

/**
 * Stage two of the router: the person registry, one task per partition of cms.router-people.v1 (keyed by
 * party). Applies every fact about a person (party facts, the person joining a case group, flags derived
 * from SRs) and tells each case group the person is in their current facts, through the inbox.
 */
export function createPeopleStage(deps: PeopleStageDeps): { handler: (r: InboundRecord, ctx: HandlerContext) => Promise<OutboundRecord[]> } {
  const handler = async (record: InboundRecord, { store }: HandlerContext): Promise<OutboundRecord[]> => {
    if (record.topic !== 'cms.router-people.v1') return [];
    const v = record.value;
    const input = peopleInputOf(await decodeCarried(deps.serde, deps.namespace, v.source, v.fact), v.partyId);
    if (!input) return [];
    const key = STATE_KEYS.person(v.partyId);
    const result = applyPeopleInput((await store.get<PersonState>(key)) ?? null, input, deps.rulesAt(input.occurredAt));
    if (result.rejection) {
      return [
        {
          topic: TOPICS.rejections,
          key: v.partyId,
          value: { rejectionId: deterministicId('router', 'people', record.partition, record.offset), service: 'router', occurredAt: v.occurredAt, source: v.source, code: result.rejection.code, reason: result.rejection.reason, caseGroupId: null, srId: null },
          eventType: result.rejection.code,
        },
      ];
    }
    if (result.state) store.put(key, result.state);
    const source = { topic: record.topic, partition: record.partition, offset: record.offset, eventId: record.headers.eventId };
    return result.snapshots.map(({ caseGroupId, snapshot }): OutboundRecord => {
      const value: RouterInboxRecord = { caseGroupId, occurredAt: snapshot.updatedAt, source, fact: Buffer.alloc(0), signal: snapshot };
      return { topic: TOPICS.routerInbox, key: caseGroupId, value, eventType: 'PersonSnapshot', eventId: deterministicId('router-people', record.topic, record.partition, record.offset, caseGroupId) };
    });
  };
  return { handler };
}
