import { deterministicId, invalidIds, TOPICS, type RouterInboxRecord, type RouterPeopleRecord } from '@cms-router/events';
import type { InboundRecord, OutboundRecord } from '@cms-router/platform';
import { ingestRoutes, type UpstreamInput } from '@cms-router/routing';

export const INGEST_STAGE = 'router-ingest';

function asUpstream(record: InboundRecord): UpstreamInput | undefined {
  switch (record.topic) {
    case 'cms.case-facts.v1':
    case 'cms.party-facts.v1':
    case 'cms.sr-facts.v1':
    case 'cms.workforce.v1':
      return { topic: record.topic, value: record.value } as UpstreamInput;
    default:
      return undefined;
  }
}

/**
 * Stage one of the router, stateless: checks an upstream record's ids at the contract boundary and
 * re-keys it, with its original bytes, to the stages that apply it: the person registry (by party), the
 * route stage (by case group), or every route partition (a user's or a team's fact). Re-keying with our
 * own partitioner also means no stage ever depends on how upstream producers partition their topics.
 */
export function createIngestStage(): { handler: (r: InboundRecord) => Promise<OutboundRecord[]> } {
  const handler = (record: InboundRecord): Promise<OutboundRecord[]> => {
    const input = asUpstream(record);
    if (!input) return Promise.resolve([]);
    const source = { topic: record.topic, partition: record.partition, offset: record.offset, eventId: record.headers.eventId };
    const bad = invalidIds(input.topic, input.value);
    if (bad.length > 0) {
      const caseGroupId = 'caseGroupId' in input.value && typeof input.value.caseGroupId === 'string' && bad.every((b) => !b.startsWith('caseGroupId')) ? input.value.caseGroupId : null;
      return Promise.resolve([
        {
          topic: TOPICS.rejections,
          key: caseGroupId ?? deterministicId(record.topic, record.partition, record.offset),
          value: { rejectionId: deterministicId('router', record.topic, record.partition, record.offset), service: 'router', occurredAt: input.value.occurredAt, source, code: 'CMS_EVENT_INVALID', reason: `${record.topic} record: ${bad.join('; ')}`, caseGroupId, srId: null },
          eventType: 'CMS_EVENT_INVALID',
        },
      ]);
    }
    const routes = ingestRoutes(input);
    const eventType = input.value.payload.type;
    const out: OutboundRecord[] = [];
    for (const partyId of routes.people) {
      const value: RouterPeopleRecord = { partyId, occurredAt: input.value.occurredAt, source, fact: record.raw };
      out.push({ topic: TOPICS.routerPeople, key: partyId, value, eventType });
    }
    for (const caseGroupId of routes.inbox) {
      const value: RouterInboxRecord = { caseGroupId, occurredAt: input.value.occurredAt, source, fact: record.raw, signal: null };
      out.push({ topic: TOPICS.routerInbox, key: caseGroupId, value, eventType });
    }
    if (routes.broadcast) {
      const value: RouterInboxRecord = { caseGroupId: '', occurredAt: input.value.occurredAt, source, fact: record.raw, signal: null };
      out.push({ topic: TOPICS.routerInbox, key: '', value, eventType, broadcast: true });
    }
    return Promise.resolve(out);
  };
  return { handler };
}
