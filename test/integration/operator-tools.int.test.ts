import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import { DEAD_LETTER_HEADERS, headerString, placementKey, qualify, TOPICS, type Assignment, type RecordHeaders, type Rejection, type TopicName } from '@cms-router/events';
import { createTickWriter, groupBehind, readTopicToEnd, topicEnds } from '@cms-router/platform';
import { createMemorySystem, createWhatIf, REBUILDABLE, type SystemInput, type WhatIfMove, type WhatIfReport } from '@cms-router/cli';
import { ROUTER_INPUT_TOPICS, ROUTER_TOPICS } from '@cms-router/router/app';
import { defaultRules, loadRules } from '@cms-router/rules';
import { SR_EVENTS_INPUTS, SR_EVENTS_TOPICS } from '@cms-router/sr-events/app';
import { generateTraffic, type TrafficEvent } from '@cms-router/traffic';
import { application, endpoints, testPlatform, uniqueName, waitFor, type TestPlatform } from '../harness/index.ts';
import { lagReport, produceTraffic, readAll, startServiceProcess, waitForStarted, waitUntilSettled, warnings, type ServiceProcess } from '../harness/system.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const TOPICS_USED: TopicName[] = [...new Set([...ROUTER_TOPICS, ...SR_EVENTS_TOPICS])];
const run = promisify(execFile);

interface System {
  readonly p: TestPlatform;
  readonly admin: Admin;
  readonly groups: { router: string; srEvents: string };
  readonly env: Record<string, string>;
  readonly services: ServiceProcess[];
}

/** The router and sr-events on the real stack, in a topic namespace of their own. */
async function startSystem(label: string, extra: Record<string, string> = {}): Promise<System> {
  const p = await testPlatform(label);
  const admin = p.kafka.admin();
  await admin.connect();
  await p.createTopics(TOPICS_USED);
  const groups = { router: uniqueName('router'), srEvents: uniqueName('sr') };
  const env = { KAFKA_TOPIC_NAMESPACE: p.namespace, REDIS_KEY_PREFIX: uniqueName('op').replace(/[^a-zA-Z0-9_-]/g, ''), ROUTER_GROUP_ID: groups.router, SR_EVENTS_GROUP_ID: groups.srEvents, ROUTER_TICK_INTERVAL_MS: '0', SR_EVENTS_TICK_INTERVAL_MS: '0', ...extra };
  const services = [startServiceProcess('router', env), startServiceProcess('sr-events', env)];
  await Promise.all(services.map((s) => waitForStarted(s)));
  return { p, admin, groups, env, services };
}

async function settle(s: System): Promise<void> {
  try {
    await waitUntilSettled(s.admin, s.p.namespace, s.groups, 420_000);
  } catch (err) {
    throw new Error(`${(err as Error).message}; lag: ${await lagReport(s.admin, s.p.namespace, s.groups)}; ${s.services.map((x) => warnings(x)).join(' || ')}`);
  }
}

/** The CLI as an operator runs it, against this system's topics. */
async function cli(s: System, args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const e = endpoints();
  try {
    const { stdout, stderr } = await run(process.execPath, [resolve(REPO, 'packages/cli/src/bin.ts'), ...args], { env: { ...process.env, KAFKA_BROKERS: e.KAFKA_BROKERS, SCHEMA_REGISTRY_URL: e.SCHEMA_REGISTRY_URL, KAFKA_TOPIC_NAMESPACE: s.p.namespace, REDIS_URL: e.REDIS_URL, REDIS_KEY_PREFIX: s.env['REDIS_KEY_PREFIX'] ?? '', ROUTER_GROUP_ID: s.env['ROUTER_GROUP_ID'] ?? '' }, maxBuffer: 256 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const x = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof x.code === 'number' ? x.code : 1, stdout: x.stdout ?? '', stderr: x.stderr ?? '' };
  }
}

/** Every topic's end offsets in the namespace: what-if must leave them all where they were. */
async function ends(s: System): Promise<string> {
  const topics = (await s.admin.listTopics()).filter((t) => t.startsWith(`${s.p.namespace}.`)).sort();
  const all = await Promise.all(topics.map(async (t) => `${t}:${(await s.admin.fetchTopicOffsets(t)).map((o) => `${o.partition}=${o.high}`).sort().join(',')}`));
  return all.join(' ');
}

/** The shipped rules with some postcode districts placed in another English region (a rules release). */
function candidateFile(dir: string, districts: Readonly<Record<string, string>>, effectiveFrom?: string): string {
  const rules = JSON.parse(JSON.stringify(defaultRules())) as { version: string; effectiveFrom: string; postcodes: { districts: Record<string, unknown> } };
  rules.version = '2027.1.0';
  if (effectiveFrom) rules.effectiveFrom = effectiveFrom;
  for (const [district, region] of Object.entries(districts)) rules.postcodes.districts[district] = { country: 'ENGLAND', region };
  const path = join(dir, 'candidate.json');
  writeFileSync(path, JSON.stringify(rules, null, 2));
  return path;
}

const whereKey = (w: { segment: string; region: string | null; team: string | null } | null): string => (w ? `${w.segment}|${w.region ?? ''}|${w.team ?? ''}` : '-');
const moveKey = (m: WhatIfMove): string => `${m.caseGroupId}|${m.subject}|${m.srId ?? ''}|${JSON.stringify(m.from)}|${JSON.stringify(m.to)}`;

describe('operator tools on the real stack', () => {
  const systems: System[] = [];
  afterAll(async () => {
    for (const s of systems) {
      await Promise.all(s.services.map((x) => x.kill('SIGTERM')));
      await s.admin.disconnect();
      await s.p.cleanup();
    }
  });

  // A few thousand case groups of traffic through the running system, played once for the tests that read its history.
  let played: Promise<{ s: System; traffic: TrafficEvent[] }> | undefined;
  const trafficSystem = (): Promise<{ s: System; traffic: TrafficEvent[] }> => (played ??= (async () => {
    const s = await startSystem('history');
    systems.push(s);
    const traffic: TrafficEvent[] = generateTraffic({ seed: 11, caseGroups: 2_000, changesPerCaseGroup: 6, prefix: 'WI' }).flat();
    await produceTraffic(s.p.kafka, s.p.serde, s.p.namespace, traffic);
    await settle(s);
    return { s, traffic };
  })());

  it('a dashboard that starts late bootstraps every current placement from the compacted topic: the work in progress, where the in-memory system has it', { timeout: 600_000 }, async () => {
    const { s, traffic } = await trafficSystem();
    const memory = createMemorySystem(defaultRules());
    traffic.forEach((e, i) => memory.process({ topic: e.topic, value: e.value } as SystemInput, `e-${i}`, { topic: e.topic, partition: 0, offset: String(i) }));
    const expected = new Map<string, string>();
    for (const cg of memory.router.caseGroups()) {
      const st = memory.router.state(cg);
      for (const p of [...(st?.placement ? [st.placement] : []), ...Object.values(st?.srPlacements ?? {})]) expected.set(placementKey({ caseGroupId: cg, srId: p.srId }), `${p.subject}|${p.decision.segment}|${p.decision.region ?? ''}|${p.decision.team ?? ''}|${p.decision.ownerUserId ?? ''}`);
    }
    // The consumer a dashboard would run: the topic from its start, later records replacing earlier ones per key, tombstones deleting.
    const current = new Map<string, string>();
    let tombstones = 0;
    const topic = s.p.topic(TOPICS.placements);
    await readTopicToEnd(s.p.kafka, topic, async (_partition, m) => {
      const key = m.key?.toString('utf8') ?? '';
      if (m.value === null) {
        tombstones += 1;
        current.delete(key);
        return;
      }
      const a = (await s.p.serde.decode(topic, m.value)).value as Assignment;
      expect(placementKey(a)).toBe(key);
      current.set(key, `${a.subject}|${a.segment}|${a.region ?? ''}|${a.team ?? ''}|${a.ownerUserId ?? ''}`);
    });
    expect(tombstones).toBeGreaterThan(100); // SRs closed: their work items left the view
    expect(expected.size).toBeGreaterThan(2_000);
    expect(Object.fromEntries([...current].sort())).toEqual(Object.fromEntries([...expected].sort()));
  });

  it('what-if over the kept inbox reports exactly the case groups whose paying parent lives in the changed districts, and writes nothing', { timeout: 600_000 }, async () => {
    const { s, traffic } = await trafficSystem();

    // What the test expects, without what-if: the plain in-memory system's final state, by where each paying parent lives now.
    const memory = createMemorySystem(defaultRules());
    traffic.forEach((e, i) => memory.process({ topic: e.topic, value: e.value } as SystemInput, `e-${i}`, { topic: e.topic, partition: 0, offset: String(i) }));
    const changed = ['LS1', 'NE1'];
    const expected = memory.router.caseGroups().filter((cg) => {
      const st = memory.router.state(cg);
      const pp = st?.payingParentId ? st.persons[st.payingParentId] : undefined;
      return st?.placement?.decision.region != null && changed.includes(pp?.residence?.ukPostcode?.split(' ')[0] ?? '');
    });
    expect(expected.length).toBeGreaterThan(40);

    const dir = mkdtempSync(join(tmpdir(), 'cms-what-if-'));
    const candidate = candidateFile(dir, { LS1: 'NORTH_WEST', NE1: 'SCOTLAND' });
    const before = await ends(s);
    const out = await cli(s, ['what-if', '--rules', candidate, '--json', '--csv', join(dir, 'moves.csv'), '--html', join(dir, 'report.html'), '--exit-code']);
    expect(out.stderr).not.toMatch(/at .+\.ts:\d+/); // no stack trace
    expect(out.code).toBe(4); // --exit-code: something moves
    const report = JSON.parse(out.stdout) as WhatIfReport;
    expect(report.moves.filter((m) => m.subject === 'CASE_GROUP').map((m) => m.caseGroupId).sort()).toEqual(expected.sort());
    expect(await ends(s)).toBe(before);

    // The kept inbox and the upstream history give the same moves of every work item (case groups, SRs, approvals).
    const reference = createWhatIf(defaultRules(), loadRules(JSON.parse(readFileSync(candidate, 'utf8')), candidate));
    traffic.forEach((e, i) => { reference.upstream({ topic: e.topic, value: e.value } as SystemInput, `e-${i}`, { topic: e.topic, partition: 0, offset: String(i) }); });
    expect(report.moves.map(moveKey).sort()).toEqual(reference.report().moves.map(moveKey).sort());
    expect(report.rejections.every((r) => r.added === 0)).toBe(true);

    const csv = readFileSync(join(dir, 'moves.csv'), 'utf8').trim().split('\r\n');
    expect(csv).toHaveLength(report.moves.length + 1);
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<svg role="img"');
    expect(html).toContain(`${report.moves.length} would move`);

    // An invalid candidate: every problem at once, exit 1, no stack trace.
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...defaultRules(), version: '', escalations: [{ segment: 'NOPE', procedure: 'x' }] }));
    const bad = await cli(s, ['what-if', '--rules', join(dir, 'bad.json')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/CMS_RULES_INVALID/);
    expect(bad.stderr).not.toMatch(/at .+\.ts:\d+/);
  });

  it('a released rules version with a future effectiveFrom decides facts on and after that date, with no restart, and after a kill -9', { timeout: 300_000 }, async () => {
    const s = await startSystem('rulesv');
    systems.push(s);
    const dir = mkdtempSync(join(tmpdir(), 'cms-rules-'));
    const released = await cli(s, ['rules', 'release', candidateFile(dir, { LS1: 'NORTH_WEST' }, '2027-01-01')]);
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toMatch(/released rules 2027\.1\.0: it decides facts dated from 2027-01-01/);
    // Safe to run twice; a version id reused for other content is refused.
    expect((await cli(s, ['rules', 'release', candidateFile(dir, { LS1: 'NORTH_WEST' }, '2027-01-01')])).stdout).toMatch(/already released/);
    const reused = await cli(s, ['rules', 'release', candidateFile(dir, { LS1: 'LONDON' }, '2027-01-01')]);
    expect(reused.code).toBe(1);
    expect(reused.stderr).toMatch(/CMS_RULES_INVALID: rules version 2027\.1\.0 is already released with other content/);
    const router = s.services[0] as ServiceProcess;
    await waitFor(() => router.output.join('').includes('"msg":"rules version released"'), 'the running router to take up the release', 30_000);

    const at = (cg: string, occurredAt: string) => ({ topic: 'cms.case-facts.v1' as const, key: cg, value: { ...application(cg, 'LS1 4AP'), occurredAt } });
    const moveHome = (partyId: string, occurredAt: string) => ({ topic: 'cms.party-facts.v1' as const, key: partyId, value: { partyId, occurredAt, payload: { type: 'PartyAddressChanged' as const, address: { ukPostcode: 'LS1 5AB', nonUkCountry: null } } } });
    await produceTraffic(s.p.kafka, s.p.serde, s.p.namespace, [at('CG-DEC', '2026-12-31T23:00:00.000Z'), at('CG-JAN', '2027-01-01T00:00:00.000Z')]);
    await settle(s);
    // A later fact about the December case group's paying parent, dated after the release's date: decided under it.
    await produceTraffic(s.p.kafka, s.p.serde, s.p.namespace, [moveHome('CG-DEC-PP', '2027-01-04T10:00:00.000Z')]);
    await settle(s);
    // After a kill -9, the restarted router holds the released version again before it decides anything.
    await router.kill('SIGKILL');
    const restarted = startServiceProcess('router', s.env);
    s.services[0] = restarted;
    await waitForStarted(restarted);
    expect(restarted.output.join('')).toMatch(/"rulesVersions":\["2026\.12\.1","2027\.1\.0"\]/);
    await produceTraffic(s.p.kafka, s.p.serde, s.p.namespace, [at('CG-FEB', '2027-02-01T09:00:00.000Z'), at('CG-NOV', '2026-11-30T09:00:00.000Z')]);
    await settle(s);

    const placed = (await readAll<Assignment>(s.p.kafka, s.p.serde, s.p.namespace, TOPICS.assignments, 1_500)).filter((a) => a.value.subject === 'CASE_GROUP').map((a) => [a.key, a.value.region, a.value.rulesVersion]);
    expect(placed).toEqual(expect.arrayContaining([
      ['CG-DEC', 'YORKSHIRE_AND_THE_HUMBER', '2026.12.1'],
      ['CG-JAN', 'NORTH_WEST', '2027.1.0'],
      ['CG-DEC', 'NORTH_WEST', '2027.1.0'],
      ['CG-FEB', 'NORTH_WEST', '2027.1.0'],
      ['CG-NOV', 'YORKSHIRE_AND_THE_HUMBER', '2026.12.1'],
    ]));
    expect(placed.filter(([cg]) => cg === 'CG-JAN' || cg === 'CG-FEB' || cg === 'CG-NOV')).toHaveLength(3);
    // explain names the version that decided.
    const explained = await cli(s, ['explain', 'CG-DEC']);
    expect(explained.stdout).toMatch(/NORTH_WEST.*\(rules 2027\.1\.0\)/);
    // The whole history, past the state's 100 entries: 120 moves more, and explain --history all lists every assignment.
    const moves = Array.from({ length: 120 }, (_, i) => ({ topic: 'cms.party-facts.v1' as const, key: 'CG-DEC-PP', value: { partyId: 'CG-DEC-PP', occurredAt: new Date(Date.parse('2027-02-01T00:00:00.000Z') + i * 60_000).toISOString(), payload: { type: 'PartyAddressChanged' as const, address: { ukPostcode: i % 2 === 0 ? 'CF10 1AA' : 'LS1 5AB', nonUkCountry: null } } } }));
    await produceTraffic(s.p.kafka, s.p.serde, s.p.namespace, moves);
    await settle(s);
    const all = await cli(s, ['explain', 'CG-DEC', '--history', 'all']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/every assignment \(cms\.assignments\.v1, 122\):/);
    expect(all.stdout).toMatch(/-> MAINTENANCE \/ YORKSHIRE_AND_THE_HUMBER .*\(rules 2026\.12\.1\)[\s\S]*-> MAINTENANCE \/ NORTH_WEST .*\(rules 2027\.1\.0\)[\s\S]*-> MAINTENANCE \/ WALES /);
    // rules list shows both, and which decides today's facts.
    const listed = await cli(s, ['rules', 'list', '--json']);
    expect((JSON.parse(listed.stdout) as { version: string; source: string }[]).map((r) => `${r.version}:${r.source}`)).toEqual(['2026.12.1:rules file', '2027.1.0:released']);
  });

  it('a reroute after a rules release moves exactly what what-if said, once each, naming the run, across a kill -9 of the router mid-run; run again, it moves nothing more', { timeout: 600_000 }, async () => {
    const { s } = await trafficSystem();
    const dir = mkdtempSync(join(tmpdir(), 'cms-reroute-'));
    const today = new Date().toISOString().slice(0, 10);
    const rules = JSON.parse(JSON.stringify(defaultRules())) as { version: string; effectiveFrom: string; postcodes: { districts: Record<string, unknown> } };
    rules.version = 'reroute-test.1';
    rules.effectiveFrom = today;
    rules.postcodes.districts['LS1'] = { country: 'ENGLAND', region: 'NORTH_WEST' };
    rules.postcodes.districts['NE1'] = { country: 'ENGLAND', region: 'SCOTLAND' };
    const file = join(dir, 'release.json');
    writeFileSync(file, JSON.stringify(rules));
    // What the release would move, asked before it is released.
    const whatIf = await cli(s, ['what-if', '--rules', file, '--json']);
    expect(whatIf.code, whatIf.stderr).toBe(0);
    const expected = new Map((JSON.parse(whatIf.stdout) as WhatIfReport).moves.map((m) => [placementKey(m), whereKey(m.to)]));
    expect(expected.size).toBeGreaterThan(40);
    expect((await cli(s, ['rules', 'release', file])).code).toBe(0);
    const router = s.services[0] as ServiceProcess;
    await waitFor(() => router.output.join('').includes('"rulesVersion":"reroute-test.1"'), 'the router to take up the release', 30_000);

    // The run is sent while the router is down, then the router is killed -9 once it has applied part of it.
    await router.kill('SIGKILL');
    const sent = await cli(s, ['reroute', '--run', 'merge-2026-12', '--json']);
    expect(sent.code, sent.stderr).toBe(0);
    expect((JSON.parse(sent.stdout) as { caseGroups: number }).caseGroups).toBeGreaterThan(1_500);
    const inbox = s.p.topic(TOPICS.routerInbox);
    const targets = await topicEnds(s.p.kafka, inbox);
    const routeGroup = `${s.env['ROUTER_GROUP_ID'] ?? ''}.route`;
    const total = await groupBehind(s.p.kafka, routeGroup, inbox, targets);
    let restarted = startServiceProcess('router', s.env);
    s.services[0] = restarted;
    const behindAtKill = await waitFor(async () => {
      const behind = await groupBehind(s.p.kafka, routeGroup, inbox, targets);
      return behind < total ? { behind } : false;
    }, 'the route stage to commit part of the run', 180_000, 25);
    await restarted.kill('SIGKILL');
    expect(behindAtKill.behind, 'the kill -9 landed after part of the run was applied, before the rest').toBeGreaterThan(0);
    restarted = startServiceProcess('router', s.env);
    s.services[0] = restarted;
    await waitForStarted(restarted);
    await settle(s);

    const rerouted = (await readAll<Assignment>(s.p.kafka, s.p.serde, s.p.namespace, TOPICS.assignments, 1_500)).filter((a) => a.value.reasons.some((r) => r.ruleId === 'reroute' && r.text.includes('merge-2026-12')));
    expect(new Set(rerouted.map((a) => a.value.assignmentId)).size).toBe(rerouted.length); // nothing twice
    expect(Object.fromEntries(rerouted.map((a) => [placementKey(a.value), whereKey(a.value)]).sort())).toEqual(Object.fromEntries([...expected].sort()));
    expect(rerouted).toHaveLength(expected.size); // once each
    expect(rerouted.every((a) => a.value.rulesVersion === 'reroute-test.1')).toBe(true);

    // The same run again (a resumed or repeated run): every case group re-decided, nothing moves.
    const again = await cli(s, ['reroute', '--run', 'merge-2026-12', '--wait']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/the route stage has applied it/);
    const after = (await readAll<Assignment>(s.p.kafka, s.p.serde, s.p.namespace, TOPICS.assignments, 1_500)).filter((a) => a.value.reasons.some((r) => r.ruleId === 'reroute'));
    expect(after).toHaveLength(rerouted.length);
  });

  it('replay: a poison burst of dead letters, replayed to the right topic after the fix, and facts rejected after waiting for an application that came late, replayed after it, give each expected output once, however often replayed', { timeout: 300_000 }, async () => {
    // A one-hour wait, and a tick two hours on: a fact whose application has not come is rejected.
    const s = await startSystem('replay', { ROUTER_WAIT_EXPIRY_MS: '3600000' });
    systems.push(s);
    const ticks = createTickWriter({
      kafka: s.p.kafka, admin: s.admin, serde: s.p.serde, topic: TOPICS.routerInbox, namespace: s.p.namespace, service: 'test',
      record: (at) => ({ caseGroupId: '', occurredAt: at, source: { topic: 'router-timer', partition: 0, offset: at, eventId: null }, fact: Buffer.alloc(0), signal: { type: 'Tick' as const, at } }),
    });
    // The poison burst: a producer that publishes applications to the party-facts topic by mistake. Nothing can decode them there.
    const burst = Array.from({ length: 20 }, (_, i) => `CG-P${i}`);
    const producer = s.p.kafka.producer();
    await producer.connect();
    await producer.send({ topic: qualify(TOPICS.partyFacts, s.p.namespace), messages: await Promise.all(burst.map(async (cg) => ({ key: cg, value: await s.p.serde.encode('cms.case-facts.v1', application(cg, 'CF10 1AA')), headers: { 'cms-event-id': `poison-${cg}` } }))) });
    await producer.disconnect();
    // Promise-to-pay schedules for case groups whose applications have not come: they wait, then expire.
    const late = ['CG-L1', 'CG-L2', 'CG-L3'];
    await produceTraffic(s.p.kafka, s.p.serde, s.p.namespace, late.map((cg) => ({ topic: 'cms.case-facts.v1' as const, key: cg, value: { caseGroupId: cg, caseId: `${cg}-C`, occurredAt: '2026-01-07T10:00:00.000Z', payload: { type: 'PromiseToPayScheduleIssued' as const, scheduleId: 'S' } } })));
    await settle(s);
    await ticks.write(new Date(Date.now() + 2 * 3_600_000).toISOString());
    await ticks.close();
    await settle(s);

    const deadLetters = await readRaw(s, TOPICS.deadLetter);
    expect(deadLetters.filter((m) => headerString(m.headers, DEAD_LETTER_HEADERS.errorCode) === 'CMS_DECODE_FAILED')).toHaveLength(20);
    const rejections = await readAll<Rejection>(s.p.kafka, s.p.serde, s.p.namespace, TOPICS.rejections, 1_000);
    expect(rejections.map((r) => r.value.code)).toEqual(['CMS_WAIT_EXPIRED', 'CMS_WAIT_EXPIRED', 'CMS_WAIT_EXPIRED']);

    // The fixes: the producer is pointed at the right topic (the replay's --to), and the applications are published (new applications: new case segment).
    await produceTraffic(s.p.kafka, s.p.serde, s.p.namespace, late.map((cg) => ({ topic: 'cms.case-facts.v1' as const, key: cg, value: { ...application(cg, 'CF10 1AA'), payload: { ...(application(cg, 'CF10 1AA').payload as Extract<ReturnType<typeof application>['payload'], { type: 'ApplicationReceived' }>), partiesHaveExistingCase: false } } })));
    await settle(s);
    const newCase = (await readAll<Assignment>(s.p.kafka, s.p.serde, s.p.namespace, TOPICS.assignments, 1_000)).filter((a) => late.includes(a.key));
    expect(newCase.map((a) => a.value.segment)).toEqual(['NEW_CASE', 'NEW_CASE', 'NEW_CASE']);

    const dry = await cli(s, ['replay', '--from', 'cms.dead-letter.v1', '--code', 'CMS_DECODE_FAILED', '--to', 'cms.case-facts.v1', '--dry-run']);
    expect(dry.stdout).toMatch(/would replay 20 of 20 records/);
    for (let round = 1; round <= 2; round += 1) {
      const dl = await cli(s, ['replay', '--from', 'cms.dead-letter.v1', '--code', 'CMS_DECODE_FAILED', '--to', 'cms.case-facts.v1', '--json']);
      expect(dl.code, dl.stderr).toBe(0);
      expect((JSON.parse(dl.stdout) as { replayed: Record<string, number> }).replayed).toEqual({ [qualify(TOPICS.caseFacts, s.p.namespace)]: 20 });
      const rj = await cli(s, ['replay', '--from', 'cms.rejections.v1', '--code', 'CMS_WAIT_EXPIRED']);
      expect(rj.code, rj.stdout + rj.stderr).toBe(0);
      expect(rj.stdout).toMatch(/replayed 3 of 3 records: 3 to .*cms\.case-facts\.v1/);
      await settle(s);
      const placed = (await readAll<Assignment>(s.p.kafka, s.p.serde, s.p.namespace, TOPICS.assignments, 1_000)).filter((a) => a.value.subject === 'CASE_GROUP');
      // Each case group of the burst placed once, replayed once or twice.
      expect(placed.filter((a) => burst.includes(a.key)).map((a) => a.key).sort(), `round ${round}`).toEqual([...burst].sort());
      expect(placed.filter((a) => burst.includes(a.key)).every((a) => a.value.segment === 'MAINTENANCE' && a.value.region === 'WALES')).toBe(true);
      // Each late case group moved to maintenance by its replayed schedule, once.
      expect(placed.filter((a) => late.includes(a.key)).map((a) => `${a.key}:${a.value.segment}`).sort(), `round ${round}`).toEqual(late.flatMap((cg) => [`${cg}:MAINTENANCE`, `${cg}:NEW_CASE`]).sort());
      expect((await readAll<Rejection>(s.p.kafka, s.p.serde, s.p.namespace, TOPICS.rejections, 1_000)).length).toBe(3);
    }
    // To a file: the rejected facts in the contract's JSON form, a scenario simulate reads.
    const file = join(mkdtempSync(join(tmpdir(), 'cms-replay-')), 'rejected.jsonl');
    expect((await cli(s, ['replay', '--from', 'cms.rejections.v1', '--to-file', file])).code).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { topic: string; key: string; value: { payload: { type: string } } });
    expect(lines.map((l) => [l.topic, l.key, l.value.payload.type]).sort()).toEqual(late.map((cg) => ['cms.case-facts.v1', cg, 'PromiseToPayScheduleIssued']));
    expect((await cli(s, ['simulate', file])).code).toBe(0);
  });
  it('rebuild: a stopped router rewound to the beginning of its kept inboxes with its state emptied replays to the same placements, publishing the same assignment ids again; refused while it runs', { timeout: 600_000 }, async () => {
    // The CLI's view of the stages is the services' own.
    expect(REBUILDABLE.router.stages.find((x) => x.stage === 'ingest')?.inputs).toEqual(ROUTER_INPUT_TOPICS);
    expect(REBUILDABLE['sr-events'].stages.find((x) => x.stage === 'ingest')?.inputs).toEqual(SR_EVENTS_INPUTS);
    const s = await startSystem('rebuild');
    systems.push(s);
    await produceTraffic(s.p.kafka, s.p.serde, s.p.namespace, generateTraffic({ seed: 5, caseGroups: 300, changesPerCaseGroup: 6, prefix: 'RB' }).flat());
    await settle(s);
    const before = await readAll<Assignment>(s.p.kafka, s.p.serde, s.p.namespace, TOPICS.assignments, 1_500);
    const finals = (): Promise<Map<string, string>> => currentPlaces(s);
    const placedBefore = await finals();

    const refused = await cli(s, ['rebuild', 'router', '--yes']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/stop router first: its consumer groups (?=.*\.people \(1 member\))(?=.*\.route \(1 member\)).* have running instances/);
    expect(await (s.services[0] as ServiceProcess).kill('SIGTERM')).toBe(0);
    const rebuilt = await cli(s, ['rebuild', 'router', '--yes', '--json']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const stages = (JSON.parse(rebuilt.stdout) as { stages: { stage: string; stateKeysCleared: number }[] }).stages;
    expect(stages.map((x) => x.stage)).toEqual(['people', 'route']);
    expect(stages.every((x) => x.stateKeysCleared > 300)).toBe(true);
    s.services[0] = startServiceProcess('router', s.env);
    await waitForStarted(s.services[0]);
    await settle(s);

    const after = await readAll<Assignment>(s.p.kafka, s.p.serde, s.p.namespace, TOPICS.assignments, 1_500);
    // Replayed from an empty state: every assignment published again, with the same id; nothing new.
    const count = (xs: typeof before): Map<string, number> => xs.reduce((m, a) => m.set(a.value.assignmentId, (m.get(a.value.assignmentId) ?? 0) + 1), new Map<string, number>());
    const was = count(before);
    const now = count(after);
    expect([...now.keys()].sort()).toEqual([...was.keys()].sort());
    const times = (m: Map<string, number>): Record<string, number> => [...m.values()].reduce<Record<string, number>>((h, n) => ({ ...h, [String(n)]: (h[String(n)] ?? 0) + 1 }), {});
    expect(times(was)).toEqual({ '1': was.size });
    expect(times(now)).toEqual({ '2': was.size });
    expect(Object.fromEntries([...(await finals())].sort())).toEqual(Object.fromEntries([...placedBefore].sort()));
    const explained = await cli(s, ['explain', 'RB-CG-1']);
    expect(explained.code).toBe(0);
  });
  it('rebuild --since: a stopped router rebuilt to a time has its state as of then and publishes again only what followed, once; the placements end the same', { timeout: 900_000 }, async () => {
    const s = await startSystem('rebuild-since');
    systems.push(s);
    // One day's traffic in two halves: the second half's facts are about the first half's case groups too.
    const events = generateTraffic({ seed: 11, caseGroups: 250, changesPerCaseGroup: 8, prefix: 'RS' }).flat();
    const half = Math.floor(events.length * 0.6);
    await produceTraffic(s.p.kafka, s.p.serde, s.p.namespace, events.slice(0, half));
    await settle(s);
    await new Promise((r) => setTimeout(r, 1_500));
    const since = new Date().toISOString();
    await new Promise((r) => setTimeout(r, 1_500));
    await produceTraffic(s.p.kafka, s.p.serde, s.p.namespace, events.slice(half));
    await settle(s);

    const assignments = async (): Promise<{ id: string; at: number; partition: number; offset: bigint }[]> => {
      const out: { id: string; at: number; partition: number; offset: bigint }[] = [];
      const topic = s.p.topic(TOPICS.assignments);
      await readTopicToEnd(s.p.kafka, topic, async (partition, r) => {
        out.push({ id: ((await s.p.serde.decode(topic, r.value)).value as Assignment).assignmentId, at: Number(r.timestamp), partition, offset: BigInt(r.offset) });
      });
      return out;
    };
    const finals = async (): Promise<Record<string, string>> => Object.fromEntries([...(await currentPlaces(s))].sort());
    const before = await assignments();
    const placedBefore = await finals();
    const caused = (xs: typeof before, after: boolean): string[] => xs.filter((a) => (a.at >= Date.parse(since)) === after).map((a) => a.id).sort();
    const firstHalf = new Set(caused(before, false));
    const secondHalf = caused(before, true);
    expect(firstHalf.size).toBeGreaterThan(500);
    expect(secondHalf.length).toBeGreaterThan(200);

    expect(await (s.services[0] as ServiceProcess).kill('SIGTERM')).toBe(0);
    const rebuilt = await cli(s, ['rebuild', 'router', '--yes', '--since', since, '--json']);
    expect(rebuilt.code, rebuilt.stderr).toBe(0);
    const stages = (JSON.parse(rebuilt.stdout) as { stages: { stage: string; stateKeysCleared: number; quietUntil?: Record<string, string> }[] }).stages;
    expect(stages.map((x) => x.stage)).toEqual(['people', 'route']);
    expect(Object.keys(stages.find((x) => x.stage === 'route')?.quietUntil ?? {}).length).toBeGreaterThan(0);
    s.services[0] = startServiceProcess('router', s.env);
    await waitForStarted(s.services[0]);
    await settle(s);

    // Published again: exactly what the second half caused, each once; nothing the first half caused.
    const ends = new Map<number, bigint>();
    for (const a of before) ends.set(a.partition, a.offset > (ends.get(a.partition) ?? -1n) ? a.offset : (ends.get(a.partition) ?? -1n));
    const again = (await assignments()).filter((a) => a.offset > (ends.get(a.partition) ?? -1n)).map((a) => a.id).sort();
    expect(again.filter((id) => firstHalf.has(id))).toEqual([]);
    expect(again).toEqual(secondHalf);
    // The state came back as it was: the same placements, and explain reads it.
    expect(await finals()).toEqual(placedBefore);
    expect((await cli(s, ['explain', 'RS-CG-1'])).code).toBe(0);
  });
});

/** Where each work item is now, by its placement key: the compacted placements read to their end. */
async function currentPlaces(s: System): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  const topic = s.p.topic(TOPICS.placements);
  await readTopicToEnd(s.p.kafka, topic, async (_p, r) => {
    const key = r.key?.toString('utf8') ?? '';
    if (r.value === null) m.delete(key);
    else m.set(key, whereKey((await s.p.serde.decode(topic, r.value)).value as Assignment));
  });
  return m;
}

/** Every record of a topic as bytes and headers (the dead-letter topic has no schema). */
async function readRaw(s: System, base: TopicName): Promise<{ key: string; headers: RecordHeaders | undefined }[]> {
  const out: { key: string; headers: RecordHeaders | undefined }[] = [];
  await readTopicToEnd(s.p.kafka, s.p.topic(base), (_partition, m) => { out.push({ key: m.key?.toString('utf8') ?? '', headers: m.headers }); });
  return out;
}