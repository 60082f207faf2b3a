import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Assignment } from '@cms-router/events';
import { defaultRules } from '@cms-router/rules';
import type { UpstreamInput } from './inputs.ts';
import { createMemoryRouter, type MemoryRouter } from './memory.ts';
import { addr, allocate, application, caseInput, p2p, partyFact, partyInput, piFlag, srChange, srFact, srInput, workforce, workforceInput } from './testing.ts';

const rules = defaultRules();
const POSTCODES = ['LS1 4AP', 'CF10 1AA', 'BT1 5GS', 'EH1 1YZ', 'SY23 1AA', 'TD15 1AA', 'IM1 1AA'] as const;
const SRS = [
  ['Change of Circumstances', 'Address', 'Verify'],
  ['Payments', 'Discrepancy Log', 'Investigate'],
  ['Escalated Enquiries', 'Complaints', 'Review'],
  ['Arrears', 'Arrears Management', 'Arrears Review'],
] as const;

/** One upstream record, with the topic and key whose order producers keep. */
interface Keyed {
  readonly stream: string;
  readonly input: UpstreamInput;
}

/**
 * A small world where people are shared between case groups (a receiving parent with two paying parents,
 * a paying parent who is also a receiving parent), and where every topic has facts: applications and
 * P2P schedules, party facts, SR facts (opened and, by the end, completed), allocations, absences,
 * team leaders and departures. Business times increase in generation order.
 */
const world = fc
  .record({
    groups: fc.array(fc.record({ rp: fc.integer({ min: 0, max: 3 }), secondCase: fc.boolean(), ppPostcode: fc.constantFrom(...POSTCODES), existing: fc.boolean() }), { minLength: 2, maxLength: 3 }),
    facts: fc.array(
      fc.oneof(
        fc.record({ kind: fc.constant('address' as const), who: fc.integer({ min: 0, max: 6 }), postcode: fc.constantFrom(...POSTCODES) }),
        fc.record({ kind: fc.constant('sensitive' as const), who: fc.integer({ min: 0, max: 6 }), on: fc.boolean() }),
        fc.record({ kind: fc.constant('knownAs' as const), who: fc.integer({ min: 0, max: 6 }), on: fc.boolean() }),
        fc.record({ kind: fc.constant('income' as const), who: fc.integer({ min: 0, max: 6 }), income: fc.constantFrom('EMPLOYED', 'BENEFITS') }),
        fc.record({ kind: fc.constant('p2p' as const), g: fc.nat() }),
        fc.record({ kind: fc.constant('sr' as const), g: fc.nat(), type: fc.integer({ min: 0, max: 3 }), against: fc.integer({ min: 0, max: 6 }), team: fc.constantFrom('T-1', 'T-2') }),
        fc.record({ kind: fc.constant('approval' as const), g: fc.nat(), team: fc.constantFrom('T-1', 'T-2') }),
        fc.record({ kind: fc.constant('pi' as const), g: fc.nat(), who: fc.integer({ min: 0, max: 6 }), on: fc.boolean() }),
        fc.record({ kind: fc.constant('special' as const), g: fc.nat(), on: fc.boolean() }),
        fc.record({ kind: fc.constant('allocate' as const), g: fc.nat(), user: fc.integer({ min: 0, max: 2 }), team: fc.constantFrom('T-1', 'T-2') }),
        fc.record({ kind: fc.constant('away' as const), user: fc.integer({ min: 0, max: 2 }), on: fc.boolean() }),
        fc.record({ kind: fc.constant('leader' as const), user: fc.integer({ min: 3, max: 4 }), team: fc.constantFrom('T-1', 'T-2') }),
        fc.record({ kind: fc.constant('depart' as const), user: fc.integer({ min: 0, max: 2 }), move: fc.boolean() }),
      ),
      { minLength: 5, maxLength: 30 },
    ),
  })
  .map(({ groups, facts }) => {
    let clock = Date.parse('2026-03-01T09:00:00.000Z');
    const at = (): string => new Date((clock += 60_000)).toISOString();
    const records: Keyed[] = [];
    // People: P0..P2 are paying parents of the case groups, P3..P6 receiving parents (shared).
    const person = (i: number): string => `P${i}`;
    const cg = (g: number): string => `CG${g % groups.length}`;
    const open = new Map<string, { cg: string; srId: string; sr: readonly [string, string, string]; against: string; team: string }>();
    let srs = 0;
    groups.forEach((g, i) => {
      const c = `CG${i}`;
      records.push({ stream: `case:${c}`, input: caseInput(application(c, `${c}-C1`, person(i), person(3 + g.rp), g.ppPostcode, { existing: g.existing, at: at(), qc: `${c}-QC1` })) });
      if (g.secondCase) records.push({ stream: `case:${c}`, input: caseInput(application(c, `${c}-C2`, person(i), person(3 + ((g.rp + 1) % 4)), g.ppPostcode, { existing: true, at: at(), qc: `${c}-QC2` })) });
    });
    for (const f of facts) {
      switch (f.kind) {
        case 'address':
          records.push({ stream: `party:${person(f.who)}`, input: partyInput(partyFact(person(f.who), { type: 'PartyAddressChanged', address: addr(f.postcode) }, at())) });
          break;
        case 'sensitive':
          records.push({ stream: `party:${person(f.who)}`, input: partyInput(partyFact(person(f.who), { type: 'NationallySensitiveChanged', nationallySensitive: f.on }, at())) });
          break;
        case 'knownAs':
          records.push({ stream: `party:${person(f.who)}`, input: partyInput(partyFact(person(f.who), { type: 'PartyKnownAsChanged', knownAsRecorded: f.on }, at())) });
          break;
        case 'income':
          records.push({ stream: `party:${person(f.who)}`, input: partyInput(partyFact(person(f.who), { type: 'PartyIncomeSourceChanged', incomeSource: f.income }, at())) });
          break;
        case 'p2p':
          records.push({ stream: `case:${cg(f.g)}`, input: caseInput(p2p(cg(f.g), `${cg(f.g)}-C1`, at())) });
          break;
        case 'sr': {
          const srId = `SR${(srs += 1)}`;
          const sr = SRS[f.type] ?? SRS[0];
          const against = person(f.against);
          open.set(srId, { cg: cg(f.g), srId, sr, against, team: f.team });
          records.push({ stream: `sr:${cg(f.g)}`, input: srInput(srFact(cg(f.g), srId, srChange('OPENED', sr[0], sr[1], sr[2], f.type === 1 || f.type === 2 ? against : null, f.team), at())) });
          break;
        }
        case 'approval': {
          const srId = `SR${(srs += 1)}`;
          const sr = ['Special case management', 'Personal Interest', 'Referral'] as const;
          open.set(srId, { cg: cg(f.g), srId, sr, against: '', team: f.team });
          records.push({ stream: `sr:${cg(f.g)}`, input: srInput(srFact(cg(f.g), srId, srChange('OPENED', ...sr, null, f.team), at())) });
          records.push({ stream: `sr:${cg(f.g)}`, input: srInput(srFact(cg(f.g), srId, srChange('PENDING_APPROVAL', ...sr, null, f.team), at())) });
          break;
        }
        case 'pi':
          records.push({ stream: `sr:${cg(f.g)}`, input: srInput(srFact(cg(f.g), `SR-PI-${f.who}`, piFlag(person(f.who), f.on), at())) });
          break;
        case 'special':
          records.push({ stream: `sr:${cg(f.g)}`, input: srInput(srFact(cg(f.g), 'SR-NS', f.on ? { type: 'CaseGroupMarkedSpecial', referringUserId: 'U', exceptionalType: 'TYPE_TWO' } : { type: 'CaseGroupLoadedBack', fix: 'SYSTEM_FIX_RECORDED' }, at())) });
          break;
        case 'allocate':
          records.push({ stream: `user:U${f.user}`, input: workforceInput(allocate(`U${f.user}`, cg(f.g), f.team, 'MAINTENANCE', at())) });
          break;
        case 'away':
          records.push({ stream: `user:U${f.user}`, input: workforceInput(workforce(`U${f.user}`, { type: 'UserAvailabilityChanged', available: !f.on, reasonCode: f.on ? 'ANNUAL_LEAVE' : 'RETURNED' }, at())) });
          break;
        case 'leader':
          records.push({ stream: `user:U${f.user}`, input: workforceInput(workforce(`U${f.user}`, { type: 'TeamLeadershipAssigned', teamId: f.team, segment: 'MAINTENANCE' }, at())) });
          break;
        case 'depart':
          records.push({ stream: `user:U${f.user}`, input: workforceInput(workforce(`U${f.user}`, f.move ? { type: 'TeamMoveCompleted', fromTeamId: 'T-1', toTeamId: 'T-2' } : { type: 'SystemAccessRemoved', reasonCode: 'LEFT' }, at())) });
          break;
      }
    }
    // By the end every SR is completed: a held move only waits for work in progress (004).
    for (const s of open.values()) records.push({ stream: `sr:${s.cg}`, input: srInput(srFact(s.cg, s.srId, srChange('COMPLETED', s.sr[0], s.sr[1], s.sr[2], null, s.team), at())) });
    return records;
  });

/** An interleaving of the records that keeps each stream's order (what producers guarantee), from a seed. */
function interleave(records: readonly Keyed[], seed: number): Keyed[] {
  const queues = new Map<string, Keyed[]>();
  for (const r of records) queues.set(r.stream, [...(queues.get(r.stream) ?? []), r]);
  let a = seed >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out: Keyed[] = [];
  while (queues.size > 0) {
    const keys = [...queues.keys()];
    const key = keys[Math.floor(rand() * keys.length)] ?? '';
    const q = queues.get(key) ?? [];
    const next = q.shift();
    if (next) out.push(next);
    if (q.length === 0) queues.delete(key);
  }
  return out;
}

const placementOf = (p: { subject: string; srId: string | null; decision: { segment: string; region: string | null; team: string | null; ownerUserId: string | null; access: string; requirements: readonly string[]; handling: readonly string[] } } | null | undefined): string =>
  p ? [p.subject, p.srId ?? '-', p.decision.segment, p.decision.region ?? '-', p.decision.team ?? '-', p.decision.ownerUserId ?? '-', p.decision.access, p.decision.requirements.join('+'), p.decision.handling.join('+')].join('|') : 'unplaced';

function finalPlacements(router: MemoryRouter): Record<string, string[]> {
  return Object.fromEntries(
    router.caseGroups().map((id) => {
      const s = router.state(id);
      return [id, [placementOf(s?.placement), `pending:${s?.pendingMove ? s.pendingMove.decision.segment : '-'}`, ...Object.values(s?.srPlacements ?? {}).map(placementOf).sort()]];
    }),
  );
}

function run(records: readonly Keyed[], pickSeed?: number): { router: MemoryRouter; assignments: Assignment[] } {
  let a = (pickSeed ?? 0) >>> 0;
  const router = createMemoryRouter(rules, pickSeed === undefined ? {} : { pick: () => ((a = (Math.imul(a, 1103515245) + 12345) >>> 0) & 0x10000 ? 'inbox' : 'people') });
  const assignments: Assignment[] = [];
  records.forEach((r, i) => {
    for (const o of router.process(r.input, `e${i}`, { topic: r.input.topic, partition: 0, offset: String(i) })) if (o.topic === 'cms.assignments.v1') assignments.push(o.value);
  });
  for (const o of router.drain()) if (o.topic === 'cms.assignments.v1') assignments.push(o.value);
  return { router, assignments };
}

describe('properties of the routing core under any arrival order', () => {
  it('any interleaving of the same facts across topics, each topic keeping its per-key order, gives the same final placements', () => {
    fc.assert(
      fc.property(world, fc.integer(), (records, seed) => {
        const reference = finalPlacements(run(records).router);
        expect(finalPlacements(run(interleave(records, seed)).router)).toEqual(reference);
      }),
      { numRuns: 300 },
    );
  });

  it('the same holds when the person registry and the route stage run at their own pace (snapshots overtaken by other facts)', () => {
    fc.assert(
      fc.property(world, fc.integer(), fc.integer(), (records, seed, pickSeed) => {
        const reference = finalPlacements(run(records).router);
        expect(finalPlacements(run(interleave(records, seed), pickSeed).router)).toEqual(reference);
      }),
      { numRuns: 300 },
    );
  });

  it('no case group with a nationally sensitive or PI-flagged person is placed outside SCR or ECH, not even for one assignment', () => {
    fc.assert(
      fc.property(world, fc.integer(), (records, seed) => {
        const router = createMemoryRouter(rules);
        interleave(records, seed).forEach((r, i) => {
          for (const o of router.process(r.input, `e${i}`, { topic: r.input.topic, partition: 0, offset: String(i) })) {
            if (o.topic !== 'cms.assignments.v1' || o.value.subject !== 'CASE_GROUP') continue;
            const state = router.state(o.value.caseGroupId);
            const people = new Set(Object.values(state?.cases ?? {}).flatMap((c) => c.parties.map((p) => p.partyId)));
            const flagged = [...people].filter((id) => {
              const p = router.person(id);
              return p?.nationallySensitive?.v === true || p?.personalInterest?.v.flagged === true;
            });
            if (flagged.length > 0) expect([o.value.caseGroupId, flagged, o.value.segment]).toEqual([o.value.caseGroupId, flagged, expect.stringMatching(/^(SPECIAL_CLIENT_RECORDS|NON_STANDARD)$/)]);
          }
        });
      }),
      { numRuns: 300 },
    );
  });
});
