import { describe, expect, it } from 'vitest';
import { defaultRules } from '@cms-router/rules';
import { generateTraffic, prng, type TrafficEvent } from '@cms-router/traffic';
import { createMemorySystem, type MemorySystem, type SystemOutput } from './system.ts';

const rules = defaultRules();

/** Final placements: each case group, its pending move, and each open SR and approval task. */
function finals(system: MemorySystem): Record<string, string> {
  const out: Record<string, string> = {};
  for (const id of system.router.caseGroups()) {
    const s = system.router.state(id);
    const d = s?.placement?.decision;
    out[id] = d ? [d.segment, d.region, d.team, d.ownerUserId, d.access, d.requirements.join('+'), d.handling.join('+'), s.pendingMove ? 'pending' : '-'].join('|') : 'unplaced';
    for (const [srId, p] of Object.entries(s?.srPlacements ?? {})) out[`${id}/${srId}`] = [p.subject, p.decision.segment, p.decision.region, p.decision.team, p.decision.ownerUserId, p.decision.access].join('|');
  }
  return out;
}

function run(events: readonly TrafficEvent[]): { system: MemorySystem; outputs: SystemOutput[] } {
  const system = createMemorySystem(rules);
  const outputs: SystemOutput[] = [];
  events.forEach((e, i) => outputs.push(...system.process({ topic: e.topic, value: e.value } as never, `e${i}`, { topic: e.topic, partition: 0, offset: String(i) })));
  return { system, outputs };
}

/** Another order the partitions could be read in: each topic and key keeps its own order. */
function shuffleKeepingKeys(events: readonly TrafficEvent[], seed: number): TrafficEvent[] {
  const rand = prng(seed);
  const queues = new Map<string, TrafficEvent[]>();
  for (const e of events) queues.set(`${e.topic}|${e.key}`, [...(queues.get(`${e.topic}|${e.key}`) ?? []), e]);
  const lists = [...queues.values()];
  const out: TrafficEvent[] = [];
  while (lists.length > 0) {
    const i = Math.floor(rand() * lists.length);
    const q = lists[i];
    const next = q?.shift();
    if (next) out.push(next);
    if (!q || q.length === 0) lists.splice(i, 1);
  }
  return out;
}

describe('the traffic generator on the in-memory system (sr-events + router)', () => {
  const events = generateTraffic({ seed: 11, caseGroups: 150, changesPerCaseGroup: 8, prefix: 'M' }).flat();
  const reference = run(events);

  it('exercises every part of the path it claims to', () => {
    const assignments = reference.outputs.flatMap((o) => (o.topic === 'cms.assignments.v1' ? [o.value] : []));
    const segments = new Set(assignments.filter((a) => a.subject === 'CASE_GROUP').map((a) => a.segment));
    for (const s of ['NEW_CASE', 'MAINTENANCE', 'SPECIAL_CLIENT_RECORDS', 'NON_STANDARD', 'INTERNATIONAL']) expect(segments).toContain(s);
    expect(new Set(assignments.filter((a) => a.subject === 'SERVICE_REQUEST').map((a) => a.segment))).toEqual(expect.objectContaining({}));
    expect(assignments.some((a) => a.subject === 'SERVICE_REQUEST' && a.segment === 'COMPLAINTS' && a.access === 'READ_ONLY')).toBe(true);
    expect(assignments.some((a) => a.subject === 'APPROVAL_TASK')).toBe(true);
    expect(assignments.some((a) => a.pendingMove !== null)).toBe(true);
    expect(assignments.some((a) => a.orphan !== null)).toBe(true);
    expect(assignments.some((a) => a.reasons.some((r) => r.ruleId === 'owner-unavailable'))).toBe(true);
    expect(assignments.some((a) => a.reasons.some((r) => r.ruleId === 'caseworker-allocation'))).toBe(true);
    expect(reference.outputs.some((o) => o.topic === 'cms.router-orphans.v1' && o.value.caseGroups.length > 0)).toBe(true);
    const facts = reference.outputs.flatMap((o) => (o.topic === 'cms.sr-facts.v1' ? [o.value.payload.type] : []));
    for (const t of ['CaseGroupMarkedSpecial', 'PersonalInterestFlagChanged', 'ReferralRejected', 'ServiceRequestChanged']) expect(facts).toContain(t);
    // The deliberate invalid closures, and nothing else, are rejected.
    const rejected = reference.outputs.flatMap((o) => (o.topic === 'cms.rejections.v1' ? [o.value.code] : []));
    expect(rejected.length).toBeGreaterThan(0);
    expect(new Set(rejected)).toEqual(new Set(['CMS_SR_INVALID_TRANSITION']));
    // Nothing is still waiting, and nothing held at the end (the case-owning work was completed).
    for (const id of reference.system.router.caseGroups()) {
      expect(reference.system.router.state(id)?.waiting).toEqual([]);
      expect(reference.system.router.state(id)?.pendingMove).toBeNull();
    }
  });

  it.each([1, 2, 3, 4, 5])('ends with the same placements when its partitions are read in another order (seed %i)', (seed) => {
    const other = run(shuffleKeepingKeys(events, seed));
    expect(finals(other.system)).toEqual(finals(reference.system));
    const codes = (r: typeof reference) => r.outputs.flatMap((o) => (o.topic === 'cms.rejections.v1' ? [`${o.value.service}|${o.value.code}|${o.value.caseGroupId ?? ''}|${o.value.srId ?? ''}`] : [])).sort();
    expect(codes(other)).toEqual(codes(reference));
  });

  it('without its route stage (routeInbox: false) hands on every inbox record in the order the whole system routes them, and holds no case group', () => {
    const inboxOf = (routeInbox: boolean): { system: MemorySystem; records: string[] } => {
      const records: string[] = [];
      const system = createMemorySystem(rules, { routeInbox, onInbox: (input, eventId, source, arrivedAt) => records.push(JSON.stringify([input, eventId, source, arrivedAt])) });
      events.forEach((e, i) => system.process({ topic: e.topic, value: e.value } as never, `e${i}`, { topic: e.topic, partition: 0, offset: String(i) }));
      return { system, records };
    };
    const whole = inboxOf(true);
    const front = inboxOf(false);
    expect(whole.records.length).toBeGreaterThan(1_000);
    expect(front.records).toEqual(whole.records);
    expect(front.system.router.caseGroups()).toEqual([]);
    expect(whole.system.router.caseGroups().length).toBeGreaterThan(100);
  });
});
