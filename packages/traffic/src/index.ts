import type { CaseFact, PartyFact, SrLifecycleEvent, WorkforceEvent } from '@cms-router/events';

/** One upstream record: what the case and workforce systems publish. */
export type TrafficEvent =
  | { readonly topic: 'cms.case-facts.v1'; readonly key: string; readonly value: CaseFact }
  | { readonly topic: 'cms.party-facts.v1'; readonly key: string; readonly value: PartyFact }
  | { readonly topic: 'cms.sr-lifecycle.v1'; readonly key: string; readonly value: SrLifecycleEvent }
  | { readonly topic: 'cms.workforce.v1'; readonly key: string; readonly value: WorkforceEvent };

/** Mulberry32: small, fast, seeded; the same seed always gives the same traffic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Postcodes across the UK, border districts and Crown Dependencies included. */
export const POSTCODES = ['LS1 4AP', 'M1 1AE', 'B1 1BB', 'NE1 4ST', 'BS1 4DJ', 'SW1A 1AA', 'NR1 3JU', 'CF10 1AA', 'SA1 1AA', 'SY23 1AA', 'SY1 1AA', 'CH5 1AA', 'CH1 2AB', 'EH1 1YZ', 'G1 1AA', 'TD15 1AA', 'TD1 1AA', 'BT1 5GS', 'IM1 1AA'];
const INCOME = ['EMPLOYED', 'SELF_EMPLOYED', 'BENEFITS', 'NIL_INCOME'] as const;
const PI_REASONS = ['THREAT_OF_SUICIDE', 'CONFLICT_OF_INTEREST', 'EMPLOYEE_IS_CLIENT', 'NAME_OR_IDENTITY_NOT_DISCLOSED', 'TRANSGENDER', 'QUALIFYING_CHILD_DIED', 'CIFBA'] as const;
const TEAMS = ['T-1', 'T-2', 'T-3', 'T-4'];
const CASEWORKERS = 37;

export interface TrafficOptions {
  readonly seed: number;
  readonly caseGroups: number;
  /** Roughly how many events each case group gets after its application. */
  readonly changesPerCaseGroup: number;
  readonly startAt?: string;
  readonly prefix?: string;
}

/**
 * Traffic shaped like the real thing, through the whole path (cms.sr-lifecycle.v1 -> sr-events ->
 * router): applications (a receiving parent with two paying parents, a paying parent who is also a
 * receiving parent, case groups of two cases), party facts (moves across the UK and abroad, income,
 * sensitivity, known-as names, identifiers), SR lifecycles with activity plans and team-leader
 * approvals (personal interest, non standard, cessation, load-back, change of circumstances, complaints,
 * appeals, arrears, payment discrepancies, and an invalid closure now and then), and workforce facts
 * (team leaders and a change of one, allocations, absences and returns, team moves, access removal).
 *
 * Phases: 1 team leaders and applications; 2 everything else, interleaved as it happens; 3 the
 * case-owning SRs still open are completed. Business times increase through the traffic. Nothing here
 * relies on an order across topics: a run through Kafka, in whatever order its partitions are read,
 * ends where the in-memory system ends (a move waits only while case-owning work is in progress, which
 * phase 3 ends).
 */
export function generateTraffic(o: TrafficOptions): TrafficEvent[][] {
  const rand = prng(o.seed);
  const chance = (p: number): boolean => rand() < p;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const p = o.prefix ?? 'T';
  let clock = Date.parse(o.startAt ?? '2026-01-05T09:00:00.000Z');
  const at = (): string => new Date((clock += 1000)).toISOString();
  const addr = (abroad = 0.03): { ukPostcode: string | null; nonUkCountry: string | null } => (chance(abroad) ? { ukPostcode: null, nonUkCountry: pick(['ES', 'FR', 'PL', 'US']) } : { ukPostcode: pick(POSTCODES), nonUkCountry: null });
  const tl = (team: string): string => `${p}-TL-${TEAMS.indexOf(team)}`;
  const cw = (g: number): string => `${p}-U-${g % CASEWORKERS}`;
  const teamOf = (g: number): string => TEAMS[(g % CASEWORKERS) % TEAMS.length] ?? 'T-1';

  const setup: TrafficEvent[] = TEAMS.map((teamId) => ({ topic: 'cms.workforce.v1', key: tl(teamId), value: { userId: tl(teamId), occurredAt: at(), payload: { type: 'TeamLeadershipAssigned', teamId, segment: 'MAINTENANCE' } } }));
  const activity: { readonly key: string; readonly events: TrafficEvent[] }[] = [];
  const settle: TrafficEvent[] = [];
  const stream = (key: string): TrafficEvent[] => {
    const s = { key, events: [] as TrafficEvent[] };
    activity.push(s);
    return s.events;
  };

  for (let g = 0; g < o.caseGroups; g += 1) {
    const cg = `${p}-CG-${g}`;
    const pp = `${p}-PP-${g}`;
    // People in more than one case group (004): a receiving parent with two paying parents, a paying parent who is also a receiving parent.
    const rp = g > 0 && chance(0.12) ? `${p}-RP-${g - 1}` : g > 0 && chance(0.05) ? `${p}-PP-${g - 1}` : `${p}-RP-${g}`;
    const c1 = `${p}-C-${g}`;
    const qc = `${p}-QC-${g}`;
    const qcKnown = chance(0.85);
    const newApp = chance(0.6);
    const party = (partyId: string, identifierKnown = true) => ({ partyId, address: addr(), identifierKnown });
    setup.push({
      topic: 'cms.case-facts.v1',
      key: cg,
      value: { caseGroupId: cg, caseId: c1, occurredAt: at(), payload: { type: 'ApplicationReceived', payingParent: party(pp), receivingParent: party(rp), qualifyingChildren: [party(qc, qcKnown)], incomeSource: pick(INCOME), partiesHaveExistingCase: !newApp } },
    });
    const cases = [{ caseId: c1, rp, qc }];
    if (chance(0.15)) {
      // A second case: the paying parent with another receiving parent. Its child has a CRN, so only the first
      // case decides a type-one load-back, whichever application is read first.
      const c2 = `${p}-C2-${g}`;
      setup.push({ topic: 'cms.case-facts.v1', key: cg, value: { caseGroupId: cg, caseId: c2, occurredAt: at(), payload: { type: 'ApplicationReceived', payingParent: party(pp), receivingParent: party(`${p}-RP2-${g}`), qualifyingChildren: [party(`${p}-QC2-${g}`)], incomeSource: pick(INCOME), partiesHaveExistingCase: true } } });
      cases.push({ caseId: c2, rp: `${p}-RP2-${g}`, qc: `${p}-QC2-${g}` });
    }
    const caseStream = stream(`case:${cg}`);
    if (newApp && chance(0.7)) caseStream.push({ topic: 'cms.case-facts.v1', key: cg, value: { caseGroupId: cg, caseId: c1, occurredAt: at(), payload: { type: 'PromiseToPayScheduleIssued', scheduleId: `S-${g}` } } });

    // Party facts about the paying parent, and now and then about the receiving parent.
    const ppStream = stream(`party:${pp}`);
    const half = Math.max(1, Math.floor(o.changesPerCaseGroup / 2));
    for (let i = 0; i < half; i += 1) {
      const r = rand();
      const payload: PartyFact['payload'] =
        r < 0.5 ? { type: 'PartyAddressChanged', address: addr(0.05) } : r < 0.7 ? { type: 'PartyIncomeSourceChanged', incomeSource: pick(INCOME) } : r < 0.85 ? { type: 'NationallySensitiveChanged', nationallySensitive: chance(0.5) } : { type: 'PartyKnownAsChanged', knownAsRecorded: chance(0.5) };
      ppStream.push({ topic: 'cms.party-facts.v1', key: pp, value: { partyId: pp, occurredAt: at(), payload } });
    }
    if (chance(0.3)) {
      const rpStream = stream(`party:${rp}`);
      rpStream.push({ topic: 'cms.party-facts.v1', key: rp, value: { partyId: rp, occurredAt: at(), payload: chance(0.6) ? { type: 'PartyAddressChanged', address: addr() } : { type: 'NationallySensitiveChanged', nationallySensitive: chance(0.5) } } });
    }

    // SR lifecycles on the case group's key (cms.sr-lifecycle.v1), as the case system publishes them.
    const srs = stream(`sr:${cg}`);
    let n = 0;
    const caseworker = { userId: cw(g), role: 'CASEWORKER' as const, teamId: teamOf(g) };
    const leader = { userId: tl(teamOf(g)), role: 'TEAM_LEADER' as const, teamId: teamOf(g) };
    const ev = (srId: string, payload: SrLifecycleEvent['payload'], actor: SrLifecycleEvent['actor'] = caseworker, caseId = c1, into = srs): void => {
      into.push({ topic: 'cms.sr-lifecycle.v1', key: cg, value: { srId, caseGroupId: cg, caseId, occurredAt: at(), actor, payload } });
    };
    const create = (srId: string, process: string, area: string, subArea: string, over: Partial<Extract<SrLifecycleEvent['payload'], { type: 'SrCreated' }>> = {}, actor: SrLifecycleEvent['actor'] = caseworker, caseId = c1): void => { ev(srId, { type: 'SrCreated', process, area, subArea, reason: null, sourceOfReferral: null, raisedAgainstPartyId: null, lockAssignment: false, ...over }, actor, caseId); };
    const status = (srId: string, s: 'IN_PROGRESS' | 'PENDING_APPROVAL' | 'CLOSED', subStatus: string | null = null, resolutionCode: string | null = null, actor: SrLifecycleEvent['actor'] = caseworker, into = srs): void => { ev(srId, { type: 'SrStatusChanged', status: s, subStatus, resolutionCode }, actor, c1, into); };
    const plan = (srId: string, actor: SrLifecycleEvent['actor'] = caseworker): void => { ev(srId, { type: 'ActivityPlanGenerated', activities: [{ activityId: 'A1', name: 'Check' }] }, actor); };
    const activityDone = (srId: string, actor: SrLifecycleEvent['actor'] = caseworker, into = srs): void => { ev(srId, { type: 'ActivityCompleted', activityId: 'A1' }, actor, c1, into); };
    let piFlagged: string | null = null;
    const flows = Math.max(1, o.changesPerCaseGroup - half);
    for (let i = 0; i < flows; i += 1) {
      const srId = `${p}-SR-${g}-${(n += 1)}`;
      const r = rand();
      if (r < 0.22) {
        // Change of circumstances: case-owning; completed in phase 3, so moves meanwhile wait for it (004).
        create(srId, 'Change of Circumstances', 'Address', 'Verify');
        status(srId, 'IN_PROGRESS');
        plan(srId);
        activityDone(srId, caseworker, settle);
        status(srId, 'CLOSED', 'Complete', null, caseworker, settle);
      } else if (r < 0.32) {
        create(srId, 'Payments', 'Discrepancy Log', 'Investigate', { raisedAgainstPartyId: chance(0.5) ? pp : rp });
        status(srId, 'IN_PROGRESS');
      } else if (r < 0.44) {
        const [process, area, sub] = pick([
          ['Escalated enquires', 'Complaints', 'Review'],
          ['Escalated Enquiries', 'Appeals', 'Appeal Against Decision'],
          ['Arrears', 'Arrears Management', 'Arrears Review'],
        ] as const);
        create(srId, process, area, sub, { raisedAgainstPartyId: chance(0.6) ? rp : null });
        status(srId, 'IN_PROGRESS');
        if (chance(0.5)) status(srId, 'CLOSED', 'Complete');
      } else if (r < 0.62) {
        // Personal interest (003): caseworker referral, team-leader decision in the approval inbox, closure.
        const client = chance(0.7) ? rp : pp;
        const reason = pick(PI_REASONS);
        create(srId, 'Special case management', 'Personal Interest', 'Referral', { reason, raisedAgainstPartyId: client });
        status(srId, 'IN_PROGRESS');
        plan(srId);
        status(srId, 'PENDING_APPROVAL', 'Pending approval - TL');
        const d = rand();
        if (d < 0.15) {
          // Left in the team leader's approval inbox; a change of team leader moves it.
        } else if (d < 0.7) {
          ev(srId, { type: 'ApprovalDecided', decision: 'APPROVED' }, leader);
          activityDone(srId);
          status(srId, 'CLOSED', 'Complete', 'Personal Interest Approved');
          piFlagged = client;
        } else {
          ev(srId, { type: 'ApprovalDecided', decision: 'REJECTED' }, leader);
          activityDone(srId);
          status(srId, 'CLOSED', 'Rejected', 'Personal Interest Not Valid');
        }
      } else if (r < 0.7 && piFlagged) {
        // Cessation (003 steps 23-26): the flag is removed and the case group returns to business as usual.
        create(srId, 'Special case management', 'Personal Interest', 'Cessation', { raisedAgainstPartyId: piFlagged });
        status(srId, 'IN_PROGRESS');
        status(srId, 'CLOSED', 'Complete');
        piFlagged = null;
      } else if (r < 0.8) {
        // Non standard (000): referral, approval, Complex Case Approved -> the whole case group is special.
        const typeOne = !qcKnown;
        create(srId, 'Special case management', 'Non Standard', 'Referral', { reason: typeOne ? 'NO_NINO_OR_CRN' : 'CANNOT_REACH_ACCURATE_OUTCOME', sourceOfReferral: 'CLIENT' });
        status(srId, 'IN_PROGRESS');
        plan(srId);
        status(srId, 'PENDING_APPROVAL', 'Pending approval - TL');
        ev(srId, { type: 'ApprovalDecided', decision: 'APPROVED' }, leader);
        activityDone(srId);
        status(srId, 'CLOSED', 'Complete', 'Complex Case Approved');
        if (typeOne && chance(0.6)) {
          // 001: exceptional until the NINO/CRN is allocated.
          stream(`party:${qc}`).push({ topic: 'cms.party-facts.v1', key: qc, value: { partyId: qc, occurredAt: at(), payload: { type: 'PartyIdentifierAllocated', identifier: 'CRN' } } });
        } else if (!typeOne && chance(0.5)) {
          const lb = `${p}-SR-${g}-${(n += 1)}`;
          create(lb, 'Special case management', 'Non Standard', 'Load Back');
          status(lb, 'IN_PROGRESS');
          status(lb, 'CLOSED', 'Complete');
        }
      } else if (r < 0.85) {
        // 004: "The SR cannot be closed with open activities": refused, then done properly.
        create(srId, 'Change of Circumstances', 'Address', 'Verify');
        status(srId, 'IN_PROGRESS');
        plan(srId);
        status(srId, 'CLOSED', 'Complete');
        activityDone(srId);
        status(srId, 'CLOSED', 'Complete');
      } else if (r < 0.9 && cases.length > 1) {
        // A referral on the second case: associated contacts are that case's parties only (003).
        const second = cases[1];
        if (second) {
          create(srId, 'Special case management', 'Personal Interest', 'Referral', { reason: 'TRANSGENDER', raisedAgainstPartyId: second.rp }, leader, second.caseId);
          ev(srId, { type: 'SrStatusChanged', status: 'IN_PROGRESS', subStatus: null, resolutionCode: null }, leader, second.caseId);
          ev(srId, { type: 'SrStatusChanged', status: 'CLOSED', subStatus: 'Complete', resolutionCode: 'Personal Interest Approved' }, leader, second.caseId);
        }
      } else {
        create(srId, 'Payments', 'Discrepancy Log', 'Investigate', { raisedAgainstPartyId: pp });
        status(srId, 'IN_PROGRESS');
        status(srId, 'CLOSED', 'Complete');
      }
    }

    // Caseworkers: most case groups are allocated in maintenance (it holds while the case group is there).
    if (chance(0.8)) {
      stream(`user:${cw(g)}`).push({ topic: 'cms.workforce.v1', key: cw(g), value: { userId: cw(g), occurredAt: at(), payload: { type: 'CaseGroupAllocated', caseGroupId: cg, teamId: teamOf(g), segment: 'MAINTENANCE' } } });
    }
  }
  // Absences and returns; a team move and an access removal (orphans, 004); a new team leader for one team.
  for (let u = 0; u < CASEWORKERS; u += 5) {
    const user = `${p}-U-${u}`;
    const s = stream(`user:${user}`);
    s.push({ topic: 'cms.workforce.v1', key: user, value: { userId: user, occurredAt: at(), payload: { type: 'UserAvailabilityChanged', available: false, reasonCode: pick(['ANNUAL_LEAVE', 'SICKNESS_ABSENCE']) } } });
    if (u % 2 === 0) s.push({ topic: 'cms.workforce.v1', key: user, value: { userId: user, occurredAt: at(), payload: { type: 'UserAvailabilityChanged', available: true, reasonCode: 'RETURNED' } } });
  }
  const mover = `${p}-U-3`;
  stream(`user:${mover}`).push({ topic: 'cms.workforce.v1', key: mover, value: { userId: mover, occurredAt: at(), payload: { type: 'TeamMoveCompleted', fromTeamId: teamOf(3), toTeamId: 'T-9' } } });
  const leaver = `${p}-U-7`;
  stream(`user:${leaver}`).push({ topic: 'cms.workforce.v1', key: leaver, value: { userId: leaver, occurredAt: at(), payload: { type: 'SystemAccessRemoved', reasonCode: 'LEFT_THE_DEPARTMENT' } } });
  const newLeader = `${p}-TL-NEW`;
  stream(`user:${newLeader}`).push({ topic: 'cms.workforce.v1', key: newLeader, value: { userId: newLeader, occurredAt: at(), payload: { type: 'TeamLeadershipAssigned', teamId: 'T-2', segment: 'MAINTENANCE' } } });

  // Phase 2 interleaves the streams as the world would: each stream keeps its own order, business time rises.
  const interleaved: TrafficEvent[] = [];
  const queues = activity.filter((s) => s.events.length > 0).map((s) => [...s.events]);
  while (queues.length > 0) {
    const i = Math.floor(rand() * queues.length);
    const q = queues[i];
    const next = q?.shift();
    if (next) interleaved.push(next);
    if (!q || q.length === 0) queues.splice(i, 1);
  }
  // Business time follows the order of the interleaving (the streams were generated one case group at a time).
  let t = clock;
  const retimed = interleaved.map((e) => ({ ...e, value: { ...e.value, occurredAt: new Date((t += 1000)).toISOString() } }) as TrafficEvent);
  const finals = settle.map((e) => ({ ...e, value: { ...e.value, occurredAt: new Date((t += 1000)).toISOString() } }) as TrafficEvent);
  return [setup, retimed, finals];
}

/** Every event of the traffic, in order. */
export const allEvents = (phases: readonly (readonly TrafficEvent[])[]): TrafficEvent[] => phases.flat();
