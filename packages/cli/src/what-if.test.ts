import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRules, loadRules, type Rules } from '@cms-router/rules';
import { isPartitionInput, type InboxInput } from '@cms-router/routing';
import { generateTraffic, type TrafficEvent } from '@cms-router/traffic';
import { streamScenarioFile } from './simulate.ts';
import { createMemorySystem, type SystemInput } from './system.ts';
import { spoolPartition, whatIfFromScenario } from './what-if-sources.ts';
import { createWhatIf, whatIfCsv, whatIfHtml, whatIfText, WHAT_IF_CSV_HEADER, type WhatIfReport } from './what-if.ts';

/** The shipped rules with some postcode districts placed in another region, as a rules release would. */
export function movedDistricts(districts: Readonly<Record<string, string>>, version = '2027.1.0'): Rules {
  const base = JSON.parse(JSON.stringify(defaultRules())) as { version: string; postcodes: { districts: Record<string, unknown> } };
  base.version = version;
  for (const [district, region] of Object.entries(districts)) base.postcodes.districts[district] = { country: 'ENGLAND', region };
  return loadRules(base, 'candidate');
}

const run = (events: readonly TrafficEvent[], active: Rules, candidate: Rules): WhatIfReport => {
  const w = createWhatIf(active, candidate);
  events.forEach((e, i) => { w.upstream({ topic: e.topic, value: e.value } as SystemInput, `e-${i}`, { topic: e.topic, partition: 0, offset: String(i) }); });
  return w.report();
};

/**
 * What the test expects without asking what-if: the case groups whose paying parent lives (now) in one
 * of the districts and whose placement is by location (it has a region), from the plain in-memory system.
 */
function locatedIn(events: readonly TrafficEvent[], districts: readonly string[]): string[] {
  const system = createMemorySystem(defaultRules());
  events.forEach((e, i) => system.process({ topic: e.topic, value: e.value } as SystemInput, `e-${i}`, { topic: e.topic, partition: 0, offset: String(i) }));
  return system.router.caseGroups().filter((cg) => {
    const s = system.router.state(cg);
    const pp = s?.payingParentId ? s.persons[s.payingParentId] : undefined;
    const district = pp?.residence?.ukPostcode?.split(' ')[0] ?? '';
    return s?.placement?.decision.region != null && districts.includes(district);
  });
}

// CPU work on a few thousand events, twice: generous on a busy machine (nothing here is timed).
describe('what-if', { timeout: 120_000 }, () => {
  const events = generateTraffic({ seed: 7, caseGroups: 300, changesPerCaseGroup: 8, prefix: 'W' }).flat();

  it('reports exactly the case groups whose paying parent lives in the changed districts, with both reasons', () => {
    const report = run(events, defaultRules(), movedDistricts({ LS1: 'NORTH_WEST', NE1: 'SCOTLAND' }));
    const moved = report.moves.filter((m) => m.subject === 'CASE_GROUP');
    const expected = locatedIn(events, ['LS1', 'NE1']);
    expect(expected.length).toBeGreaterThan(10);
    expect(moved.map((m) => m.caseGroupId).sort()).toEqual(expected.sort());
    for (const m of moved) {
      expect([m.from?.region, m.to?.region]).toSatisfy(([from, to]: string[]) => (from === 'YORKSHIRE_AND_THE_HUMBER' && to === 'NORTH_WEST') || (from === 'NORTH_EAST' && to === 'SCOTLAND'));
      expect(m.from?.segment).toBe(m.to?.segment);
      expect(m.reasonsFrom[0]?.text).not.toBe(m.reasonsTo[0]?.text);
    }
    expect(report.activeVersion).toBe(defaultRules().version);
    expect(report.candidateVersion).toBe('2027.1.0');
    expect(report.events).toBe(events.length);
    // The flows add up to the moves, and each segment's leavers and arrivals to the flows.
    expect(report.flows.reduce((n, f) => n + f.count, 0)).toBe(report.moves.length);
    expect(report.bySegment.reduce((n, s) => n + s.out, 0)).toBe(report.moves.length);
    expect(report.rejections.every((r) => r.added === 0 && r.active === r.candidate)).toBe(true);
  });

  it('decides the active side by the rules book when given one: a book already holding the candidate for every date moves nothing', () => {
    const candidate = movedDistricts({ LS1: 'NORTH_WEST', NE1: 'SCOTLAND' });
    const w = createWhatIf(defaultRules(), candidate, { activeAt: () => candidate, activeLabel: 'book' });
    events.forEach((e, i) => { w.upstream({ topic: e.topic, value: e.value } as SystemInput, `e-${i}`, { topic: e.topic, partition: 0, offset: String(i) }); });
    const report = w.report();
    expect(report.activeVersion).toBe('book');
    expect(report.moves).toEqual([]);
  });

  it('over a partitioned inbox read a partition at a time, each settled when read, reports what the whole inbox at once reports', () => {
    // The inbox as the service's route tasks keep it: case groups' records by a hash of the case group,
    // users' and teams' facts and ticks broadcast to every partition.
    const records: { input: InboxInput; eventId: string; source: { topic: string; partition: number; offset: string }; arrivedAt: string }[] = [];
    const system = createMemorySystem(defaultRules(), { historyLimit: 0, onInbox: (input, eventId, source, arrivedAt) => records.push({ input, eventId, source, arrivedAt }) });
    events.forEach((e, i) => system.process({ topic: e.topic, value: e.value } as SystemInput, `e-${i}`, { topic: e.topic, partition: 0, offset: String(i) }));
    const partitions = 4;
    const partitionOf = (caseGroupId: string): number => spoolPartition(caseGroupId, partitions);
    const candidate = movedDistricts({ LS1: 'NORTH_WEST', NE1: 'SCOTLAND' });

    const whole = createWhatIf(defaultRules(), candidate);
    for (const r of records) whole.inbox(0, r.input, r.eventId, r.source, r.arrivedAt);
    const expected = whole.report();

    const split = createWhatIf(defaultRules(), candidate);
    for (let p = 0; p < partitions; p += 1) {
      for (const r of records) if (isPartitionInput(r.input) || partitionOf(r.input.caseGroupId) === p) split.inbox(p, r.input, r.eventId, r.source, r.arrivedAt);
      split.settle(p);
    }
    const report = split.report();
    expect(expected.moves.length).toBeGreaterThan(10);
    expect(report.moves).toEqual(expected.moves);
    expect(report.flows).toEqual(expected.flows);
    expect(report.workItems).toBe(expected.workItems);
    expect(report.rejections.map((r) => [r.code, r.added])).toEqual(expected.rejections.map((r) => [r.code, r.added]));
  });

  it('over a JSON-lines scenario, spooled and routed a partition at a time, reports exactly what the scenario run whole in memory reports', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cms-what-if-test-'));
    const path = join(dir, 'traffic.jsonl');
    writeFileSync(path, `${events.map((e) => JSON.stringify({ topic: e.topic, key: e.key, value: e.value })).join('\n')}\n`);
    // Districts moved, and an area dropped: the sides' person registries then differ (each side has its own spool).
    const base = JSON.parse(JSON.stringify(movedDistricts({ LS1: 'NORTH_WEST', NE1: 'SCOTLAND' }))) as { postcodes: { areas: Record<string, unknown> } };
    delete base.postcodes.areas['BT'];
    const candidate = loadRules(base, 'candidate');

    const whole = createWhatIf(defaultRules(), candidate);
    await streamScenarioFile(path, (event, line) => { whole.upstream({ topic: event.topic, value: event.value } as SystemInput, event.eventId, { topic: event.topic, partition: 0, offset: String(line) }); });
    const expected = whole.report();

    try {
      const spooled = createWhatIf(defaultRules(), candidate);
      expect(await whatIfFromScenario(path, spooled, undefined, { spoolDir: dir, partitions: 5 })).toBe(events.length);
      const report = spooled.report();
      expect(expected.moves.length).toBeGreaterThan(10);
      expect(expected.rejections.find((r) => r.code === 'CMS_POSTCODE_UNKNOWN')?.added).toBeGreaterThan(0);
      expect(report).toEqual(expected);
      // The spool files are gone.
      expect(readdirSync(dir)).toEqual(['traffic.jsonl']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('moves nothing when the candidate decides as the active rules do', () => {
    const report = run(events, defaultRules(), movedDistricts({}, 'same-again'));
    expect(report.moves).toEqual([]);
    expect(report.workItems).toBeGreaterThan(300);
  });

  it('counts the rejections only the candidate makes: a postcode area dropped from the table', () => {
    const base = JSON.parse(JSON.stringify(defaultRules())) as { version: string; postcodes: { areas: Record<string, unknown> } };
    base.version = 'no-belfast';
    delete base.postcodes.areas['BT'];
    const report = run(events, defaultRules(), loadRules(base, 'candidate'));
    const unknown = report.rejections.find((r) => r.code === 'CMS_POSTCODE_UNKNOWN');
    expect(unknown?.added).toBeGreaterThan(0);
    expect(unknown?.candidate).toBe((unknown?.active ?? 0) + (unknown?.added ?? 0));
  });

  it('renders CSV with quoting, HTML escaped with a chart, and a text summary', () => {
    const report: WhatIfReport = {
      activeVersion: 'a<1>',
      candidateVersion: 'b',
      events: 3,
      workItems: 2,
      moves: [{ caseGroupId: 'CG-1', subject: 'CASE_GROUP', srId: null, from: { segment: 'MAINTENANCE', region: 'WALES', team: 'T "x", y' }, to: { segment: 'MAINTENANCE', region: 'SCOTLAND', team: null }, reasonsFrom: [{ ruleId: 'paying-parent-postcode', text: 'Now, here', procedure: '004' }], reasonsTo: [] }],
      flows: [{ subject: 'CASE_GROUP', from: 'MAINTENANCE / WALES', to: 'MAINTENANCE / SCOTLAND', count: 1 }],
      bySegment: [{ segment: 'MAINTENANCE', out: 1, in: 1 }],
      rejections: [{ code: 'CMS_POSTCODE_UNKNOWN', active: 1, candidate: 2, added: 1 }],
    };
    const csv = whatIfCsv(report).split('\r\n');
    expect(csv[0]).toBe(WHAT_IF_CSV_HEADER.join(','));
    expect(csv[1]).toBe('CG-1,CASE_GROUP,,MAINTENANCE,WALES,"T ""x"", y",MAINTENANCE,SCOTLAND,,paying-parent-postcode,"Now, here",,');
    const page = whatIfHtml(report);
    expect(page).toContain('a&lt;1&gt;');
    expect(page).not.toContain('a<1>');
    expect(page).toContain('<svg role="img"');
    expect(page).not.toMatch(/<script|https?:\/\//);
    const text = whatIfText(report);
    expect(text).toContain('1 work item would move (1 case groups)');
    expect(text).toMatch(/CMS_POSTCODE_UNKNOWN\s+1\s+2\s+1/);
  });
});
