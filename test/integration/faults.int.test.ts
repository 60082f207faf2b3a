import { afterAll, describe, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import { Redis } from 'ioredis';
import { qualify, TOPICS, type Assignment, type OrphanReport, type Rejection, type TopicName } from '@cms-router/events';
import { topicConfig } from '@cms-router/platform';
import { ROUTER_TOPICS } from '@cms-router/router/app';
import { SR_EVENTS_TOPICS } from '@cms-router/sr-events/app';
import { readStackSettings, restart } from '@cms-router/stack';
import { generateTraffic, type TrafficEvent } from '@cms-router/traffic';
import { endpoints, testPlatform, uniqueName, waitFor, type TestPlatform } from '../harness/index.ts';
import { actualFinals, expectedFromMemory, lagReport, produceTraffic, readAll, rejectionKey, startServiceProcess, waitForStarted, waitUntilSettled, warnings, type ServiceProcess } from '../harness/system.ts';

const TOPICS_USED: TopicName[] = [...new Set([...ROUTER_TOPICS, ...SR_EVENTS_TOPICS])];

interface Run {
  readonly p: TestPlatform;
  readonly admin: Admin;
  readonly groups: { router: string; srEvents: string };
  readonly env: Record<string, string>;
  readonly prefix: string;
  routers: ServiceProcess[];
  srEvents: ServiceProcess;
}

async function newRun(label: string, o: { routers?: number; beforeStart?: (p: TestPlatform, admin: Admin) => Promise<void> } = {}): Promise<Run> {
  const p = await testPlatform(label);
  const admin = p.kafka.admin();
  await admin.connect();
  await o.beforeStart?.(p, admin);
  await p.createTopics(TOPICS_USED);
  const prefix = uniqueName('fm').replace(/[^a-zA-Z0-9_-]/g, '');
  const groups = { router: uniqueName('router'), srEvents: uniqueName('sr') };
  const env = { KAFKA_TOPIC_NAMESPACE: p.namespace, REDIS_KEY_PREFIX: prefix, ROUTER_GROUP_ID: groups.router, SR_EVENTS_GROUP_ID: groups.srEvents, ROUTER_TICK_INTERVAL_MS: '0', SR_EVENTS_TICK_INTERVAL_MS: '0' };
  const routers = Array.from({ length: o.routers ?? 1 }, () => startServiceProcess('router', env));
  const srEvents = startServiceProcess('sr-events', env);
  const run = { p, admin, groups, env, prefix, routers, srEvents };
  try {
    await Promise.all([...routers, srEvents].map((s) => waitForStarted(s)));
  } catch (err) {
    await endRun(run);
    throw err;
  }
  return run;
}

async function endRun(r: Run): Promise<void> {
  await Promise.all([...r.routers, r.srEvents].map((s) => s.kill('SIGTERM')));
  await r.admin.disconnect();
  await r.p.cleanup();
}

/** Traffic for one row: the setup phase, the activity phase in chunks (faults go between them), the settle phase. */
function traffic(seed: number, caseGroups = 250): { phases: TrafficEvent[][]; all: TrafficEvent[] } {
  const phases = generateTraffic({ seed, caseGroups, changesPerCaseGroup: 8, prefix: `F${seed}` });
  return { phases, all: phases.flat() };
}

const chunks = <T>(xs: readonly T[], n: number): T[][] => Array.from({ length: n }, (_, i) => xs.slice(Math.floor((i * xs.length) / n), Math.floor(((i + 1) * xs.length) / n)));

/**
 * Plays the traffic with `faults` between chunks of the activity phase, waits for every stage to
 * finish, then checks with a read_committed verifier: the final placement of every case group and open
 * SR equals the in-memory system's on the same input; no assignment twice; no rejection a clean run
 * does not have; nothing dead-lettered.
 */
async function play(r: Run, t: ReturnType<typeof traffic>, faults: Record<number, () => Promise<void>> = {}, chunkCount = 6): Promise<{ assignments: number }> {
  const [setup = [], activity = [], settle = []] = t.phases;
  await produceTraffic(r.p.kafka, r.p.serde, r.p.namespace, setup);
  for (const [i, chunk] of chunks(activity, chunkCount).entries()) {
    await produceTraffic(r.p.kafka, r.p.serde, r.p.namespace, chunk);
    await faults[i]?.();
  }
  await produceTraffic(r.p.kafka, r.p.serde, r.p.namespace, settle);
  try {
    await waitUntilSettled(r.admin, r.p.namespace, r.groups, 420_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; lag: ${await lagReport(r.admin, r.p.namespace, r.groups)}; router: ${r.routers.map((x) => warnings(x)).join(' || ')}; sr-events: ${warnings(r.srEvents)}`);
  }
  const expected = expectedFromMemory(t.all);
  const assignments = await readAll<Assignment>(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.assignments);
  const ids = assignments.map((a) => a.value.assignmentId);
  expect(new Set(ids).size, 'no assignment published twice').toBe(ids.length);
  const actual = actualFinals(assignments, expected.finals.keys());
  const differ = [...expected.finals].filter(([k, v]) => actual.get(k) !== v).map(([k, v]) => `${k}: expected ${v}, got ${actual.get(k) ?? '?'}`);
  if (differ.length > 0) console.log(`[fault matrix] ${differ.length} differ; namespace ${r.p.namespace}, Redis prefix ${r.prefix}\n${await diagnose(r, assignments, differ)}`);
  expect(differ.slice(0, 10), `${differ.length} of ${expected.finals.size} final placements differ from the in-memory system`).toEqual([]);
  const rejections = (await readAll<Rejection>(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.rejections, 1_500)).map((x) => rejectionKey(x.value)).sort();
  expect(rejections, 'the same rejections as the in-memory system').toEqual(expected.rejections);
  // Every case group returned from a caseworker who left is in the router's orphan reports, and nothing else is.
  const reported = (await readAll<OrphanReport>(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.routerOrphans, 1_500)).flatMap((x) => x.value.caseGroups.map((c) => c.caseGroupId)).sort();
  const recovered = assignments.filter((a) => a.value.orphan !== null).map((a) => a.value.caseGroupId).sort();
  expect(reported, 'orphan reports agree with the orphan-recovered assignments').toEqual(recovered);
  expect(recovered.length, 'the traffic orphans some case groups').toBeGreaterThan(0);
  const dead = await r.admin.fetchTopicOffsets(qualify(TOPICS.deadLetter, r.p.namespace));
  expect(dead.reduce((n, o) => n + Number(o.high), 0), 'nothing dead-lettered').toBe(0);
  expect(expected.finals.size).toBeGreaterThan(200);
  return { assignments: assignments.length };
}

/**
 * What a failed comparison needs to be explained after the run's topics are gone: where each differing
 * case group lives, every route partition's copies of the teams, the workforce facts each inbox partition
 * carried, the route group's committed offsets and state markers, rejections by code and what the
 * router logged at warn or above. Staff and case ids are synthetic here; no person's data is printed.
 */
async function diagnose(r: Run, assignments: readonly { key: string; partition: number }[], differ: readonly string[]): Promise<string> {
  const lines: string[] = [];
  const partitionOf = new Map(assignments.map((a) => [a.key, a.partition]));
  lines.push(`partitions of the differing case groups: ${[...new Set(differ.map((d) => d.split('|')[0] ?? ''))].map((cg) => `${cg}@p${partitionOf.get(cg) ?? '?'}`).join(' ')}`);
  const teamKeys: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${r.prefix}:router-route:p*:team:*`, 'COUNT', 1000);
    cursor = next;
    teamKeys.push(...keys);
  } while (cursor !== '0');
  for (const k of teamKeys.sort()) lines.push(`${k.slice(r.prefix.length + 1)} = ${(await redis.get(k)) ?? 'null'}`);
  const markers = await Promise.all(Array.from({ length: 6 }, (_, t) => redis.get(`${r.prefix}:router-route:changelog-offset:${t}`)));
  lines.push(`route state markers: ${markers.join(' ')}`);
  const [committed] = await r.admin.fetchOffsets({ groupId: `${r.groups.router}.route`, topics: [qualify(TOPICS.routerInbox, r.p.namespace)] });
  lines.push(`route group committed: ${(committed?.partitions ?? []).map((x) => `p${x.partition}=${x.offset}`).join(' ')}`);
  const inbox = await readAll<{ caseGroupId: string; source: { topic: string; partition: number; offset: string; eventId: string | null } }>(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.routerInbox, 1_500);
  const broadcasts = inbox.filter((x) => x.value.caseGroupId === '' && x.value.source.topic === 'cms.workforce.v1');
  const first = new Map<number, string>();
  for (const b of broadcasts) if (!first.has(b.partition)) first.set(b.partition, b.offset);
  lines.push(`inbox: ${inbox.length} records; workforce broadcasts per partition: ${[0, 1, 2, 3, 4, 5].map((p) => `p${p}=${broadcasts.filter((b) => b.partition === p).length} (first at ${first.get(p) ?? '-'})`).join(' ')}`);
  const rejections = await readAll<Rejection>(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.rejections, 1_500);
  const byCode = new Map<string, number>();
  for (const x of rejections) byCode.set(`${x.value.service}:${x.value.code}`, (byCode.get(`${x.value.service}:${x.value.code}`) ?? 0) + 1);
  lines.push(`rejections: ${[...byCode].map(([c, n]) => `${c}=${n}`).join(' ')}`);
  lines.push(`router warnings: ${r.routers.map((x) => warnings(x, 30)).join(' || ')}`);
  return lines.join('\n');
}

/** Waits until the route stage has committed more inbox records than `than` (so a kill lands mid-stream). */
async function routedMoreThan(r: Run, than: bigint): Promise<bigint> {
  const progress = async (): Promise<bigint> => {
    const [c] = await r.admin.fetchOffsets({ groupId: `${r.groups.router}.route`, topics: [qualify(TOPICS.routerInbox, r.p.namespace)] });
    return (c?.partitions ?? []).reduce((sum, x) => sum + (BigInt(x.offset) > 0n ? BigInt(x.offset) : 0n), 0n);
  };
  return waitFor(async () => {
    const now = await progress();
    return now > than ? now : false;
  }, 'the router to make progress', 180_000, 50);
}

const redis = new Redis(endpoints().REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
afterAll(async () => {
  await redis.quit().catch(() => undefined);
});

describe('the fault matrix: the full path (sr-lifecycle -> sr-events -> router) under faults ends where the in-memory system does', () => {
  it('clean', { timeout: 600_000 }, async () => {
    const r = await newRun('fm-clean');
    try {
      const t = traffic(101);
      const { assignments } = await play(r, t);
      console.log(`[fault matrix] clean: ${t.all.length} events, ${assignments} assignments`);
    } finally {
      await endRun(r);
    }
  });

  it('router kill -9 three times mid-stream', { timeout: 600_000 }, async () => {
    const r = await newRun('fm-kill');
    try {
      let seen = 0n;
      const kill = async (): Promise<void> => {
        seen = await routedMoreThan(r, seen);
        const [router] = r.routers;
        await router?.kill('SIGKILL');
        r.routers = [startServiceProcess('router', r.env)];
      };
      const t = traffic(102);
      await play(r, t, { 0: kill, 2: kill, 4: kill });
    } finally {
      await endRun(r);
    }
  });

  it('sr-events kill -9 twice mid-stream', { timeout: 600_000 }, async () => {
    const r = await newRun('fm-srkill');
    try {
      const kill = async (): Promise<void> => {
        await waitFor(async () => {
          const [c] = await r.admin.fetchOffsets({ groupId: r.groups.srEvents, topics: [qualify(TOPICS.srEventsInbox, r.p.namespace)] });
          return (c?.partitions ?? []).some((x) => BigInt(x.offset) > 0n);
        }, 'sr-events to make progress', 120_000, 50);
        await r.srEvents.kill('SIGKILL');
        r.srEvents = startServiceProcess('sr-events', r.env);
      };
      await play(r, traffic(103), { 1: kill, 3: kill });
    } finally {
      await endRun(r);
    }
  });

  it('broker restart mid-stream', { timeout: 600_000 }, async (ctx) => {
    if (endpoints().source !== 'local-stack') ctx.skip();
    const r = await newRun('fm-broker');
    try {
      const settings = readStackSettings();
      await play(r, traffic(104), {
        2: async () => {
          await restart(settings, 'kafka', (line) => {
            console.log(`[fault matrix] ${line}`);
          });
        },
      });
      // The services rode it out: none of them exited.
      for (const s of [...r.routers, r.srEvents]) expect(s.child.exitCode).toBeNull();
    } finally {
      await endRun(r);
    }
  });

  it('Redis FLUSHALL mid-stream', { timeout: 600_000 }, async () => {
    const r = await newRun('fm-flush');
    try {
      await play(r, traffic(105), {
        2: async () => {
          await routedMoreThan(r, 0n);
          await redis.flushall();
        },
      });
      expect(r.routers.flatMap((x) => x.output).join('')).toContain('restoring from the changelog');
    } finally {
      await endRun(r);
    }
  });

  it('two router instances, a third joining and one leaving mid-stream', { timeout: 600_000 }, async () => {
    const r = await newRun('fm-scale', { routers: 2 });
    try {
      await play(r, traffic(106), {
        1: async () => {
          const third = startServiceProcess('router', r.env);
          r.routers.push(third);
          await waitForStarted(third);
        },
        3: async () => {
          const leaving = r.routers.shift();
          expect(await leaving?.kill('SIGTERM')).toBe(0);
        },
      });
      // The partitions moved: some instance restored a task it took over.
      expect(r.routers.flatMap((x) => x.output).join('')).toMatch(/joined group/);
    } finally {
      await endRun(r);
    }
  });

  it('upstream topics with one-minute retention expired, then Redis flushed: state comes back from the changelogs', { timeout: 900_000 }, async () => {
    const short: TopicName[] = [TOPICS.caseFacts, TOPICS.partyFacts, TOPICS.srLifecycle, TOPICS.workforce];
    const r = await newRun('fm-expired', {
      beforeStart: async (p, admin) => {
        await admin.createTopics({
          topics: short.map((t) => ({ topic: p.topic(t), numPartitions: 6, replicationFactor: 1, configEntries: [...topicConfig(t).filter((c) => c.name !== 'retention.ms'), { name: 'retention.ms', value: '60000' }, { name: 'segment.ms', value: '5000' }] })),
          waitForLeaders: true,
        });
      },
    });
    try {
      const t = traffic(107);
      const [setup = [], activity = [], settle = []] = t.phases;
      const [first = [], second = []] = chunks(activity, 2);
      await produceTraffic(r.p.kafka, r.p.serde, r.p.namespace, [...setup, ...first]);
      await waitUntilSettled(r.admin, r.p.namespace, r.groups);
      // Let the upstream records age past their retention, roll the segments with the second half, and
      // wait until the broker has deleted what the first half wrote: the applications are gone upstream.
      await new Promise((res) => setTimeout(res, 65_000));
      await produceTraffic(r.p.kafka, r.p.serde, r.p.namespace, second);
      await waitFor(async () => {
        const lows = await r.admin.fetchTopicOffsets(r.p.topic(TOPICS.caseFacts));
        return lows.every((o) => BigInt(o.high) === 0n || BigInt(o.low) > 0n);
      }, 'the broker to delete the expired case facts', 240_000, 1_000);
      await waitUntilSettled(r.admin, r.p.namespace, r.groups);
      // Redis loses everything; the services go on with what the changelogs hold.
      await redis.flushall();
      for (const s of [...r.routers, r.srEvents]) await s.kill('SIGKILL');
      r.routers = [startServiceProcess('router', r.env)];
      r.srEvents = startServiceProcess('sr-events', r.env);
      await Promise.all([...r.routers, r.srEvents].map((s) => waitForStarted(s)));
      await produceTraffic(r.p.kafka, r.p.serde, r.p.namespace, settle);
      await waitUntilSettled(r.admin, r.p.namespace, r.groups, 420_000);
      const expected = expectedFromMemory(t.all);
      const assignments = await readAll<Assignment>(r.p.kafka, r.p.serde, r.p.namespace, TOPICS.assignments);
      const ids = assignments.map((a) => a.value.assignmentId);
      const twice = assignments.filter((a, i) => ids.indexOf(a.value.assignmentId) !== i).map((a) => a.value.assignmentId);
      if (twice.length > 0) console.log('[fault matrix] published twice:', JSON.stringify(assignments.filter((a) => twice.includes(a.value.assignmentId)).map((a) => ({ p: a.partition, o: a.offset, id: a.value.assignmentId, cg: a.value.caseGroupId, s: a.value.subject, sr: a.value.srId, seg: a.value.segment }))), r.routers.map((x) => x.output.join('').split('\n').filter((l) => /warn|error|restored|joined/.test(l)).slice(-30).join('\n')).join('\n----\n'));
      expect(new Set(ids).size).toBe(ids.length);
      const actual = actualFinals(assignments, expected.finals.keys());
      const differ = [...expected.finals].filter(([k, v]) => actual.get(k) !== v).map(([k, v]) => `${k}: expected ${v}, got ${actual.get(k) ?? '?'}`);
      expect(differ.slice(0, 10), `${differ.length} of ${expected.finals.size} differ`).toEqual([]);
      expect(r.routers[0]?.output.join('')).toContain('task state restored from its changelog');
    } finally {
      await endRun(r);
    }
  });
});
