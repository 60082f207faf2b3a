import { describe, expect, it } from 'vitest';
import { qualify, TOPICS, type Assignment, type CaseFact, type Rejection } from '@cms-router/events';
import { createTickWriter } from '@cms-router/platform';
import { ROUTER_TOPICS } from '@cms-router/router/app';
import type { TrafficEvent } from '@cms-router/traffic';
import { testPlatform, uniqueName } from '../harness/index.ts';
import { produceTraffic, readAll, startServiceProcess, waitForStarted, waitUntilSettled } from '../harness/system.ts';

const app = (caseGroupId: string, ppPostcode: string, at = '2026-01-05T09:00:00.000Z'): CaseFact => ({
  caseGroupId,
  caseId: `${caseGroupId}-C`,
  occurredAt: at,
  payload: {
    type: 'ApplicationReceived',
    payingParent: { partyId: `${caseGroupId}-PP`, address: { ukPostcode: ppPostcode, nonUkCountry: null }, identifierKnown: true },
    receivingParent: { partyId: `${caseGroupId}-RP`, address: { ukPostcode: 'LS1 4AP', nonUkCountry: null }, identifierKnown: true },
    qualifyingChildren: [{ partyId: `${caseGroupId}-QC`, address: { ukPostcode: 'LS1 4AP', nonUkCountry: null }, identifierKnown: true }],
    incomeSource: 'EMPLOYED',
    partiesHaveExistingCase: false,
  },
});

/** One test's router: its topics, an admin client, a consumer group and the service's environment (no timer ticks). */
async function routerRun(label: string, extra: Record<string, string> = {}) {
  const p = await testPlatform(label);
  await p.createTopics(ROUTER_TOPICS);
  const admin = p.kafka.admin();
  await admin.connect();
  const group = uniqueName('router');
  const env = { KAFKA_TOPIC_NAMESPACE: p.namespace, REDIS_KEY_PREFIX: uniqueName(label.slice(0, 2)).replace(/[^a-zA-Z0-9_-]/g, ''), ROUTER_GROUP_ID: group, ROUTER_TICK_INTERVAL_MS: '0', ...extra };
  return { p, admin, group, env };
}

describe('router on the real stack', () => {
  it('routes a scenario with reasons; an early fact waits and is applied; poison is dead-lettered; wrong facts are rejected; the partition keeps flowing; SIGTERM exits 0', { timeout: 300_000 }, async () => {
    const { p, admin, group, env } = await routerRun('route');
    const router = startServiceProcess('router', env);
    try {
      await waitForStarted(router);
      const events: TrafficEvent[] = [
        // A P2P schedule before the application (same topic and key, so in that order): it waits (no rejection) and applies when the application comes.
        { topic: 'cms.case-facts.v1', key: 'CG-1', value: { caseGroupId: 'CG-1', caseId: 'CG-1-C', occurredAt: '2026-01-06T10:00:00.000Z', payload: { type: 'PromiseToPayScheduleIssued', scheduleId: 'S' } } },
        { topic: 'cms.case-facts.v1', key: 'CG-1', value: app('CG-1', 'CF10 1AA') },
        { topic: 'cms.case-facts.v1', key: 'CG-2', value: app('CG-2', 'EH1 1YZ') },
        // An id with a CR/LF and a header in it: refused at the contract boundary, with where and why.
        { topic: 'cms.case-facts.v1', key: 'CG-X', value: app('CG-X\r\nBcc: victim@example.test', 'LS1 4AP') },
      ];
      // The flag is read before the application: settled first, because across topics the router may read
      // them in either order (and then places the case group outside SCR until the flag comes, as it should).
      await produceTraffic(p.kafka, p.serde, p.namespace, [{ topic: 'cms.party-facts.v1', key: 'CG-2-RP', value: { partyId: 'CG-2-RP', occurredAt: '2026-01-01T09:00:00.000Z', payload: { type: 'NationallySensitiveChanged', nationallySensitive: true } } }]);
      await waitUntilSettled(admin, p.namespace, { router: group });
      await produceTraffic(p.kafka, p.serde, p.namespace, events);
      // Poison between two good records on the same partition as CG-1.
      const producer = p.kafka.producer();
      await producer.connect();
      await producer.send({ topic: qualify(TOPICS.caseFacts, p.namespace), messages: [{ key: 'CG-1', value: Buffer.from('not avro at all') }] });
      await producer.disconnect();
      await produceTraffic(p.kafka, p.serde, p.namespace, [{ topic: 'cms.party-facts.v1', key: 'CG-1-PP', value: { partyId: 'CG-1-PP', occurredAt: '2026-01-07T10:00:00.000Z', payload: { type: 'PartyAddressChanged', address: { ukPostcode: 'ZZ99 9ZZ', nonUkCountry: null } } } }]);
      await waitUntilSettled(admin, p.namespace, { router: group });

      const assignments = await readAll<Assignment>(p.kafka, p.serde, p.namespace, TOPICS.assignments, 1_500);
      expect(assignments.map((a) => [a.key, a.value.segment, a.value.previousSegment, a.value.region])).toEqual(
        expect.arrayContaining([
          // The waiting P2P applied with the application: straight to maintenance, never "rejected, unknown case group".
          ['CG-1', 'MAINTENANCE', null, 'WALES'],
          // The person flagged before the application: the case group goes straight to SCR (004).
          ['CG-2', 'SPECIAL_CLIENT_RECORDS', null, null],
        ]),
      );
      expect(assignments).toHaveLength(2);
      expect(assignments.find((a) => a.key === 'CG-1')?.value.reasons[0]).toMatchObject({ ruleId: 'paying-parent-postcode', procedure: expect.stringContaining('004 Work Allocation') as unknown });
      const rejections = await readAll<Rejection>(p.kafka, p.serde, p.namespace, TOPICS.rejections, 1_500);
      expect(rejections.map((x) => x.value.code).sort()).toEqual(['CMS_EVENT_INVALID', 'CMS_POSTCODE_UNKNOWN']);
      const invalid = rejections.find((x) => x.value.code === 'CMS_EVENT_INVALID')?.value;
      expect(invalid?.reason).toMatch(/caseGroupId \(\d+ characters\) is not an id/);
      expect(invalid?.reason).not.toMatch(/Bcc|victim|\r|\n/);
      // Refused at the person registry, whatever the order it met the application in: CG-1 keeps its placement.
      expect(rejections.find((x) => x.value.code === 'CMS_POSTCODE_UNKNOWN')?.value).toMatchObject({ service: 'router', caseGroupId: null, reason: expect.stringContaining('party CG-1-PP') as unknown });
      expect(rejections.find((x) => x.value.code === 'CMS_POSTCODE_UNKNOWN')?.value.reason).not.toMatch(/ZZ99 9ZZ/);
      const dead = await readAll(p.kafka, { decode: (_t: string, v: Buffer | null) => Promise.resolve({ topic: 'cms.dead-letter.v1', value: { bytes: v?.toString() } }) } as never, p.namespace, TOPICS.deadLetter, 1_500);
      expect(dead.map((d) => (d.value as { bytes: string }).bytes)).toEqual(['not avro at all']);
      // Ordered shutdown on SIGTERM ends with exit code 0 and leaves no live-looking process.
      expect(await router.kill('SIGTERM')).toBe(0);
      expect(router.output.join('')).toContain('"msg":"shutting down"');
    } finally {
      await router.kill('SIGTERM');
      await admin.disconnect();
      await p.cleanup();
    }
  });

  it('facts waiting for an application that never comes are rejected once, on the first tick past the expiry; one whose application came is applied instead; across the waiting index shares and a restart', { timeout: 300_000 }, async () => {
    const { p, admin, group, env } = await routerRun('expiry', { ROUTER_WAIT_EXPIRY_MS: '3600000' });
    let router = startServiceProcess('router', env);
    const ticks = createTickWriter({
      kafka: p.kafka, admin, serde: p.serde, topic: TOPICS.routerInbox, namespace: p.namespace, service: 'test',
      record: (at) => ({ caseGroupId: '', occurredAt: at, source: { topic: 'router-timer', partition: 0, offset: at, eventId: null }, fact: Buffer.alloc(0), signal: { type: 'Tick' as const, at } }),
    });
    try {
      await waitForStarted(router);
      // Forty case groups with a fact and no application (they spread over the index shares); one more gets its application.
      const orphans = Array.from({ length: 40 }, (_, i) => `CG-W${i}`);
      const p2p = (id: string) => ({ topic: 'cms.case-facts.v1' as const, key: id, value: { caseGroupId: id, caseId: `${id}-C`, occurredAt: '2026-01-06T10:00:00.000Z', payload: { type: 'PromiseToPayScheduleIssued' as const, scheduleId: 'S' } } });
      await produceTraffic(p.kafka, p.serde, p.namespace, [...orphans.map(p2p), p2p('CG-LATE')]);
      await waitUntilSettled(admin, p.namespace, { router: group });
      await produceTraffic(p.kafka, p.serde, p.namespace, [{ topic: 'cms.case-facts.v1', key: 'CG-LATE', value: app('CG-LATE', 'CF10 1AA') }]);
      await waitUntilSettled(admin, p.namespace, { router: group });
      expect(await readAll<Rejection>(p.kafka, p.serde, p.namespace, TOPICS.rejections, 1_000)).toHaveLength(0); // early, not wrong
      // A tick before the expiry changes nothing; the router restarts (its index comes back); a tick past it rejects each once.
      await ticks.write(new Date(Date.now() + 60_000).toISOString());
      await waitUntilSettled(admin, p.namespace, { router: group });
      expect(await readAll<Rejection>(p.kafka, p.serde, p.namespace, TOPICS.rejections, 1_000)).toHaveLength(0);
      expect(await router.kill('SIGTERM')).toBe(0);
      router = startServiceProcess('router', env);
      await waitForStarted(router);
      const later = new Date(Date.now() + 2 * 3_600_000).toISOString();
      await ticks.write(later);
      await ticks.write(later); // the same tick twice (two instances' timers): nothing more
      await waitUntilSettled(admin, p.namespace, { router: group });
      const rejected = await readAll<Rejection>(p.kafka, p.serde, p.namespace, TOPICS.rejections, 1_500);
      expect(rejected.every((r) => r.value.code === 'CMS_WAIT_EXPIRED')).toBe(true);
      expect(rejected.map((r) => r.value.caseGroupId).sort()).toEqual([...orphans].sort());
      const assignments = await readAll<Assignment>(p.kafka, p.serde, p.namespace, TOPICS.assignments, 1_000);
      expect(assignments.map((a) => [a.key, a.value.segment])).toEqual([['CG-LATE', 'MAINTENANCE']]);
      expect(await router.kill('SIGTERM')).toBe(0);
    } finally {
      await router.kill('SIGTERM');
      await ticks.close();
      await admin.disconnect();
      await p.cleanup();
    }
  });
});
