import { describe, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import { createRedis } from '@cms-router/platform';
import { qualify, TOPICS, type Assignment, type CaseFact, type Rejection } from '@cms-router/events';
import { generateTraffic, type TrafficEvent } from '@cms-router/traffic';
import { endpoints, testPlatform, uniqueName, waitFor, type TestPlatform } from '../harness/index.ts';
import { expectedFromMemory, groupByCaseGroup, lagReport, produceTraffic, readAll, startRouterProcess, waitForRouterStarted, waitUntilRouted, type RouterProcess } from '../harness/router.ts';

const ALL = [TOPICS.caseFacts, TOPICS.partyFacts, TOPICS.srFacts, TOPICS.workforce, TOPICS.orphanFlags, TOPICS.routerInbox, TOPICS.assignments, TOPICS.rejections, TOPICS.deadLetter];

interface Run {
  p: TestPlatform;
  admin: Admin;
  group: string;
  prefix: string;
  env: Record<string, string>;
}

async function newRun(label: string): Promise<Run> {
  const p = await testPlatform(label);
  await p.createTopics(ALL);
  const admin = p.kafka.admin();
  await admin.connect();
  const group = uniqueName('router');
  const prefix = uniqueName('rt').replace(/[^a-zA-Z0-9_-]/g, '');
  return { p, admin, group, prefix, env: { KAFKA_TOPIC_NAMESPACE: p.namespace, REDIS_KEY_PREFIX: prefix, ROUTER_GROUP_ID: group } };
}

async function endRun(r: Run): Promise<void> {
  await r.admin.disconnect();
  await r.p.cleanup();
}

describe('router on the real stack', () => {
  it('routes a scenario: assignments out of Kafka, with reasons; poison dead-lettered; invalid facts rejected; the partition keeps flowing', async () => {
    const r = await newRun('route');
    const router = startRouterProcess(r.env);
    try {
      await waitForRouterStarted(router);
      const app: CaseFact = {
        caseGroupId: 'CG-1',
        caseId: 'C-1',
        occurredAt: '2026-01-05T09:00:00.000Z',
        payload: {
          type: 'ApplicationReceived',
          payingParent: { partyId: 'PP-1', address: { ukPostcode: 'CF10 1AA', nonUkCountry: null }, identifierKnown: true },
          receivingParent: { partyId: 'RP-1', address: { ukPostcode: 'LS1 4AP', nonUkCountry: null }, identifierKnown: true },
          qualifyingChildren: [{ partyId: 'QC-1', address: { ukPostcode: 'LS1 4AP', nonUkCountry: null }, identifierKnown: true }],
          incomeSource: 'EMPLOYED',
          partiesHaveExistingCase: false,
        },
      };
      const events: TrafficEvent[] = [
        { topic: 'cms.case-facts.v1', key: 'CG-1', value: app },
        { topic: 'cms.case-facts.v1', key: 'CG-404', value: { caseGroupId: 'CG-404', caseId: 'C-9', occurredAt: '2026-01-05T10:00:00.000Z', payload: { type: 'PromiseToPayScheduleIssued', scheduleId: 'S' } } },
        { topic: 'cms.case-facts.v1', key: 'CG-1', value: { caseGroupId: 'CG-1', caseId: 'C-1', occurredAt: '2026-01-06T10:00:00.000Z', payload: { type: 'PromiseToPayScheduleIssued', scheduleId: 'S' } } },
      ];
      await produceTraffic(r.p.kafka, r.p.serde, r.p.namespace, events.slice(0, 2));
      // Poison between two good records on the same partition as CG-1.
      const producer = r.p.kafka.producer();
      await producer.connect();
      await producer.send({ topic: qualify(TOPICS.caseFacts, r.p.namespace), messages: [{ key: 'CG-1', value: Buffer.from('not avro at all') }] });
      await producer.disconnect();
      await produceTraffic(r.p.kafka, r.p.serde, r.p.namespace, events.slice(2));
      // Facts on different topics have no common order (docs/contract.md): let the P2P be routed before
      // the paying parent's move, or the move may overtake it.
      await waitUntilRouted(r.admin, r.p.namespace, r.group);
      await produceTraffic(r.p.kafka, r.p.serde, r.p.namespace, [{ topic: 'cms.party-facts.v1', key: 'PP-1', value: { partyId: 'PP-1', occurredAt: '2026-01-07T10:00:00.000Z', payload: { type: 'PartyAddressChanged', address: { ukPostcode: 'ZZ99 9ZZ', nonUkCountry: null } } } }]);
      await waitUntilRouted(r.admin, r.p.namespace, r.group);

      const assignments = await readAll<Assignment>(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.assignments, 1_500);
      if (assignments.length !== 2) {
        const rej = await readAll<Rejection>(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.rejections, 1_500);
        const inbox = await readAll(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.routerInbox, 1_500);
        const order = inbox.map((x) => (x.value as unknown as { source: { topic: string; offset: string } }).source);
        console.log('[route debug] rejections', JSON.stringify(rej.map((x) => [x.value.code, x.value.source])), 'inbox order', JSON.stringify(order));
      }
      expect(assignments.map((a) => [a.key, a.value.segment, a.value.previousSegment, a.value.region])).toEqual([
        ['CG-1', 'NEW_CASE', null, 'WALES'],
        ['CG-1', 'MAINTENANCE', 'NEW_CASE', 'WALES'],
      ]);
      expect(assignments[1]?.value.reasons[0]).toMatchObject({ ruleId: 'paying-parent-postcode', procedure: expect.stringContaining('004 Work Allocation') as unknown });
      const rejections = await readAll<Rejection>(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.rejections, 1_500);
      expect(rejections.map((x) => x.value.code).sort()).toEqual(['CMS_POSTCODE_UNKNOWN', 'CMS_UNKNOWN_CASE_GROUP']);
      expect(rejections.find((x) => x.value.code === 'CMS_UNKNOWN_CASE_GROUP')?.value).toMatchObject({ service: 'router', caseGroupId: 'CG-404', source: { topic: 'cms.case-facts.v1' } });
      const dead = await readAll(r.p.kafka, { decode: (_t: string, v: Buffer | null) => Promise.resolve({ topic: 'cms.dead-letter.v1', value: { bytes: v?.toString() } }) } as never, r.p.namespace, TOPICS.deadLetter, 1_500);
      expect(dead.map((d) => (d.value as unknown as { bytes: string }).bytes)).toEqual(['not avro at all']);
      // Ordered shutdown on SIGTERM ends with exit code 0 and leaves no live-looking process.
      expect(await router.kill('SIGTERM')).toBe(0);
      expect(router.output.join('')).toContain('"msg":"shutting down"');
    } finally {
      await router.kill('SIGTERM');
      await endRun(r);
    }
  });

  it('exactly once under SIGKILL: killed three times in a ~10k-event run, a read_committed verifier sees every expected assignment once', async () => {
    const r = await newRun('kill9');
    const phases = generateTraffic({ seed: 42, caseGroups: 1000, changesPerCaseGroup: 8, prefix: 'K' });
    const total = phases.reduce((n, ph) => n + ph.length, 0);
    expect(total).toBeGreaterThanOrEqual(9_000);
    const expected = expectedFromMemory(phases);
    let router: RouterProcess = startRouterProcess(r.env);
    const kills: string[] = [];
    const inboxProgress = async (): Promise<bigint> => {
      const [c] = await r.admin.fetchOffsets({ groupId: `${r.group}.route`, topics: [qualify(TOPICS.routerInbox, r.p.namespace)] });
      return (c?.partitions ?? []).reduce((sum, p) => sum + (BigInt(p.offset) > 0n ? BigInt(p.offset) : 0n), 0n);
    };
    const routed = async (): Promise<void> => {
      try {
        await waitUntilRouted(r.admin, r.p.namespace, r.group);
      } catch (err) {
        const warnings = router.output.join('').split('\n').filter((l) => /"level":"(warn|error|fatal)"/.test(l) && !/EoS|partitioner/.test(l));
        throw new Error(`${(err as Error).message}; lag: ${await lagReport(r.admin, r.p.namespace, r.group)}; router warnings: ${warnings.slice(-8).join(' | ')}`);
      }
    };
    const killAfter = async (inboxRecords: bigint): Promise<void> => {
      await waitFor(async () => (await inboxProgress()) >= inboxRecords, `the router to pass ${inboxRecords} inbox records`, 180_000, 50);
      const code = await router.kill('SIGKILL');
      kills.push(`after ${inboxRecords} inbox records (exit ${code})`);
      router = startRouterProcess(r.env);
    };
    try {
      await waitForRouterStarted(router);
      // One SIGKILL in the applications, the party changes and the SR work phases.
      const killIn = new Set([0, 1, phases.length - 1]);
      for (const [i, phase] of phases.entries()) {
        const before = await inboxProgress();
        await produceTraffic(r.p.kafka, r.p.serde, r.p.namespace, phase);
        if (killIn.has(i)) await killAfter(before + BigInt(Math.floor(phase.length / (i === 0 ? 3 : 2))));
        await routed();
      }

      expect(kills).toHaveLength(3);
      const assignments = await readAll<Assignment>(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.assignments);
      if (assignments.length !== expected.assignments) {
        const rej = await readAll<Rejection>(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.rejections);
        const codes = new Map<string, number>();
        for (const x of rej) codes.set(x.value.code, (codes.get(x.value.code) ?? 0) + 1);
        console.log('[kill9 debug]', JSON.stringify([...codes]), expected.rejections, kills, router.output.join('').split('\n').filter((l) => /warn|error|fatal/.test(l)).slice(-15).join('\n'));
      }
      const ids = assignments.map((a) => a.value.assignmentId);
      expect(new Set(ids).size).toBe(ids.length); // nothing doubled
      expect(assignments.length).toBe(expected.assignments); // nothing lost
      expect(groupByCaseGroup(assignments)).toEqual(expected.byCaseGroup); // the same outcomes, in order, per case group
      const rejections = await readAll<Rejection>(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.rejections);
      expect(rejections.length).toBe(expected.rejections);
      console.log(`[kill9] ${total} events, ${assignments.length} assignments, ${rejections.length} rejections; SIGKILL ${kills.join('; ')}`);
    } finally {
      await router.kill('SIGTERM');
      await endRun(r);
    }
  }, 600_000);

  it('rebuilds its state from Kafka when Redis loses it mid-run: outputs identical to a clean run', { timeout: 300_000 }, async () => {
    const r = await newRun('redisloss');
    const phases = generateTraffic({ seed: 7, caseGroups: 200, changesPerCaseGroup: 8, prefix: 'R' });
    const expected = expectedFromMemory(phases);
    // The traffic exercises caseworkers: some case groups are allocated, some go to a team leader while their caseworker is away (002).
    const caseGroupPlacements = [...expected.byCaseGroup.values()].flat().filter((x) => x.startsWith('CASE_GROUP|'));
    expect(caseGroupPlacements.some((x) => x.includes('|TEAM_LEADER:'))).toBe(true);
    expect(caseGroupPlacements.some((x) => /\|R-U-\d+\|/.test(x))).toBe(true);
    const router = startRouterProcess(r.env);
    const redis = createRedis(endpoints().REDIS_URL, { connectionName: 'test-redis-loss' });
    try {
      await waitForRouterStarted(router);
      for (const [i, phase] of phases.entries()) {
        await produceTraffic(r.p.kafka, r.p.serde, r.p.namespace, phase);
        await waitUntilRouted(r.admin, r.p.namespace, r.group);
        if (i === 0) {
          // Redis loses everything the router keeps (only this run's keys: other tests share the server).
          const keys = await redis.keys(`${r.prefix}:*`);
          expect(keys.length).toBeGreaterThan(200);
          await redis.del(...keys);
        }
      }
      const assignments = await readAll<Assignment>(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.assignments);
      expect(assignments.length).toBe(expected.assignments);
      expect(groupByCaseGroup(assignments)).toEqual(expected.byCaseGroup);
      expect(router.output.join('')).toContain('replaying the partition');
    } finally {
      await redis.quit();
      await router.kill('SIGTERM');
      await endRun(r);
    }
  });
});

