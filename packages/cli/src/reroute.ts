import { CmsError } from '@cms-router/errors';
import { deterministicId, HEADERS, qualify, TOPICS, type Assignment } from '@cms-router/events';
import { createRecordWriter, groupBehind, readLatestByKey, topicEnds, type createKafka, type Serde } from '@cms-router/platform';
import type { Progress } from './what-if-sources.ts';

type Kafka = ReturnType<typeof createKafka>;

export interface RerouteFilter {
  readonly segment?: string;
  readonly region?: string;
  readonly team?: string;
  /** Evaluated by the router against the paying parent's current postcode (the CLI never sees addresses). */
  readonly postcodeArea?: string;
}

export const RUN_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** The case groups a re-route is sent to: their current placement (from cms.placements.v1) matches every filter given. */
export function selectCaseGroups(placements: ReadonlyMap<string, Assignment>, f: RerouteFilter): string[] {
  const out: string[] = [];
  for (const a of placements.values()) {
    if (a.subject !== 'CASE_GROUP') continue;
    if (f.segment !== undefined && a.segment !== f.segment) continue;
    if (f.region !== undefined && a.region !== f.region) continue;
    if (f.team !== undefined && a.team !== f.team) continue;
    out.push(a.caseGroupId);
  }
  return out.sort();
}

/** Every current placement, read from the compacted topic to its end (tombstones delete). */
export async function currentPlacements(kafka: Kafka, serde: Serde, namespace: string | undefined, progress?: Progress): Promise<Map<string, Assignment>> {
  const topic = qualify(TOPICS.placements, namespace);
  let n = 0;
  const latest = await readLatestByKey(kafka, topic, { onStart: (total) => progress?.start(total, 'records'), onRecord: () => { if ((n += 1) % 1_000 === 0) progress?.update(n); } });
  progress?.stop();
  return new Map(await Promise.all(latest.map(async (r) => [r.key, (await serde.decode(topic, r.value)).value as Assignment] as const)));
}

/**
 * Sends a re-route to each case group: one record on the router's inbox, keyed by the case group (so
 * it lands in its route task's order, behind every fact already there), which the route stage applies
 * in its own transaction: the case group and its open work re-decided under the rules in effect at the
 * run's start, only what moves published, each assignment naming the run. Exactly once by the route
 * stage's transactions; safe to resume: sent twice, a case group already re-decided publishes nothing.
 * Returns the inbox's ends after the last record, for `untilApplied`.
 */
export async function sendReroute(kafka: Kafka, serde: Serde, namespace: string | undefined, runId: string, caseGroups: readonly string[], at: string, postcodeArea: string | null, progress?: Progress): Promise<Map<number, bigint>> {
  if (!RUN_ID.test(runId)) throw new CmsError('CMS_CONFIG_INVALID', `--run must be 1 to 64 letters, digits or . _ : - (got ${JSON.stringify(runId)})`);
  const topic = qualify(TOPICS.routerInbox, namespace);
  const writer = await createRecordWriter(kafka);
  progress?.start(caseGroups.length, 'records');
  try {
    for (let i = 0; i < caseGroups.length; i += 500) {
      const batch = caseGroups.slice(i, i + 500);
      const records = await Promise.all(batch.map(async (caseGroupId) => {
        const eventId = deterministicId('reroute', runId, caseGroupId);
        const value = await serde.encode('cms.router-inbox.v1', { caseGroupId, occurredAt: at, source: { topic: 'cms-router reroute', partition: 0, offset: runId, eventId: null }, fact: Buffer.alloc(0), signal: { type: 'Reroute', runId, at, postcodeArea } });
        return { key: caseGroupId, value, headers: { [HEADERS.eventId]: eventId, [HEADERS.correlationId]: `reroute:${runId}`, [HEADERS.producedAt]: new Date().toISOString(), [HEADERS.eventType]: 'Reroute', [HEADERS.producer]: 'cms-router reroute' } };
      }));
      await writer.send(topic, records);
      progress?.update(i + batch.length);
    }
  } finally {
    await writer.close();
    progress?.stop();
  }
  return topicEnds(kafka, topic);
}

/** Waits until the route stage has applied and committed everything up to `targets`, reporting how far it is. */
export async function untilApplied(kafka: Kafka, routeGroupId: string, namespace: string | undefined, targets: ReadonlyMap<number, bigint>, progress?: Progress, timeoutMs = 3_600_000): Promise<void> {
  const topic = qualify(TOPICS.routerInbox, namespace);
  const started = Date.now();
  const first = await groupBehind(kafka, routeGroupId, topic, targets);
  progress?.start(first, 'records');
  for (;;) {
    const behind = await groupBehind(kafka, routeGroupId, topic, targets);
    progress?.update(first - behind);
    if (behind === 0) break;
    if (Date.now() - started > timeoutMs) throw new CmsError('CMS_STATE_REBUILDING', `the route stage (group ${routeGroupId}) is still ${behind} records short of the re-route after ${Math.round(timeoutMs / 1000)} s; is the router running?`);
    await new Promise((r) => setTimeout(r, 500));
  }
  progress?.stop();
}
