import type { CaseFact, PartyFact, SrFact, WorkforceEvent } from '@cms-router/events';

export type TrafficEvent =
  | { readonly topic: 'cms.case-facts.v1'; readonly key: string; readonly value: CaseFact }
  | { readonly topic: 'cms.party-facts.v1'; readonly key: string; readonly value: PartyFact }
  | { readonly topic: 'cms.sr-facts.v1'; readonly key: string; readonly value: SrFact }
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

export interface TrafficOptions {
  readonly seed: number;
  readonly caseGroups: number;
  /** Events per case group after its application, spread over the phases below. */
  readonly changesPerCaseGroup: number;
  readonly startAt?: string;
  readonly prefix?: string;
}

/**
 * Traffic in phases. Within a phase each case group's facts come from one upstream topic and key (its
 * own key, or its paying parent's), so their order is the same however the topics are partitioned:
 * a run through Kafka can be compared record for record with a run in memory.
 * 1. applications (cms.case-facts.v1) and team leaders (cms.workforce.v1);
 * 2. paying-parent changes: moves across the UK and abroad, income source, sensitivity (cms.party-facts.v1);
 * 3. caseworkers (cms.workforce.v1): allocations, absences and returns (002), team moves. Own phase:
 *    an allocation's effect depends on where the case group is, so it must not race phase 2;
 * 4. SR work: P2P is on case facts, so here: SRs opening and closing, escalations, approvals,
 *    personal-interest flags set and removed, exceptional handling and load-back (cms.sr-facts.v1).
 */
export function generateTraffic(o: TrafficOptions): TrafficEvent[][] {
  const rand = prng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const p = o.prefix ?? 'T';
  let clock = Date.parse(o.startAt ?? '2026-01-05T09:00:00.000Z');
  const at = (): string => new Date((clock += 1000)).toISOString();
  const addr = (): { ukPostcode: string | null; nonUkCountry: string | null } => (rand() < 0.03 ? { ukPostcode: null, nonUkCountry: pick(['ES', 'FR', 'PL', 'US']) } : { ukPostcode: pick(POSTCODES), nonUkCountry: null });
  const teams = ['T-1', 'T-2', 'T-3', 'T-4'];
  const applications: TrafficEvent[] = teams.map((teamId, i) => ({ topic: 'cms.workforce.v1', key: `${p}-TL-${i}`, value: { userId: `${p}-TL-${i}`, occurredAt: at(), payload: { type: 'TeamLeadershipAssigned', teamId, segment: 'MAINTENANCE' } } }));
  const partyChanges: TrafficEvent[] = [];
  const caseworkers: TrafficEvent[] = [];
  const srWork: TrafficEvent[] = [];
  for (let g = 0; g < o.caseGroups; g += 1) {
    const cg = `${p}-CG-${g}`;
    const pp = `${p}-PP-${g}`;
    const caseId = `${p}-C-${g}`;
    const newApp = rand() < 0.6;
    applications.push({
      topic: 'cms.case-facts.v1',
      key: cg,
      value: {
        caseGroupId: cg,
        caseId,
        occurredAt: at(),
        payload: {
          type: 'ApplicationReceived',
          payingParent: { partyId: pp, address: addr(), identifierKnown: true },
          receivingParent: { partyId: `${p}-RP-${g}`, address: addr(), identifierKnown: true },
          qualifyingChildren: [{ partyId: `${p}-QC-${g}`, address: { ukPostcode: pick(POSTCODES), nonUkCountry: null }, identifierKnown: rand() < 0.9 }],
          incomeSource: pick(INCOME),
          partiesHaveExistingCase: !newApp,
        },
      },
    });
    if (newApp && rand() < 0.7) applications.push({ topic: 'cms.case-facts.v1', key: cg, value: { caseGroupId: cg, caseId, occurredAt: at(), payload: { type: 'PromiseToPayScheduleIssued', scheduleId: `S-${g}` } } });
    // Caseworkers: most case groups are allocated to someone in maintenance (the allocation holds once the
    // case group is there); now and then a caseworker is away and comes back, or moves team.
    if (rand() < 0.8) {
      const user = `${p}-U-${g % 37}`;
      caseworkers.push({ topic: 'cms.workforce.v1', key: user, value: { userId: user, occurredAt: at(), payload: { type: 'CaseGroupAllocated', caseGroupId: cg, teamId: teams[g % 37 % teams.length] ?? 'T-1', segment: 'MAINTENANCE' } } });
    }
    if (g % 50 === 49) {
      const user = `${p}-U-${g % 37}`;
      caseworkers.push({ topic: 'cms.workforce.v1', key: user, value: { userId: user, occurredAt: at(), payload: { type: 'TeamMoveCompleted', fromTeamId: pick(teams), toTeamId: pick(teams) } } });
    }
    const half = Math.floor(o.changesPerCaseGroup / 2);
    for (let i = 0; i < half; i += 1) {
      const r = rand();
      const payload: PartyFact['payload'] =
        r < 0.6 ? { type: 'PartyAddressChanged', address: addr() } : r < 0.85 ? { type: 'PartyIncomeSourceChanged', incomeSource: pick(INCOME) } : { type: 'NationallySensitiveChanged', nationallySensitive: rand() < 0.5 };
      partyChanges.push({ topic: 'cms.party-facts.v1', key: pp, value: { partyId: pp, occurredAt: at(), payload } });
    }
    const open: string[] = [];
    for (let i = 0; i < o.changesPerCaseGroup - half; i += 1) {
      const srId = `${p}-SR-${g}-${i}`;
      const r = rand();
      const fact = (payload: SrFact['payload'], id = srId): TrafficEvent => ({ topic: 'cms.sr-facts.v1', key: cg, value: { caseGroupId: cg, caseId, srId: id, occurredAt: at(), payload } });
      const change = (kind: 'OPENED' | 'PENDING_APPROVAL' | 'COMPLETED', process: string, area: string, subArea: string, id = srId, against: string | null = null): TrafficEvent =>
        fact({ type: 'ServiceRequestChanged', process, area, subArea, raisedAgainstPartyId: against, change: kind, ownerUserId: `${p}-U-${g % 7}`, ownerTeamId: pick(teams) }, id);
      if (r < 0.2) {
        srWork.push(change('OPENED', 'Change of Circumstances', 'Address', 'Verify'));
        open.push(srId);
      } else if (r < 0.3) srWork.push(change('OPENED', 'Payments', 'Discrepancy Log', 'Investigate', srId, rand() < 0.5 ? pp : `${p}-RP-${g}`));
      else if (r < 0.4) {
        const [process, area, sub] = pick([
          ['Escalated Enquiries', 'Complaints', 'Review'],
          ['Escalated Enquiries', 'Appeals', 'Appeal Against Decision'],
          ['Arrears', 'Arrears Management', 'Arrears Review'],
        ] as const);
        srWork.push(change('OPENED', process, area, sub));
        if (rand() < 0.6) srWork.push(change('COMPLETED', process, area, sub));
      } else if (r < 0.55) {
        srWork.push(change('OPENED', 'Special case management', 'Personal Interest', 'Referral'));
        srWork.push(change('PENDING_APPROVAL', 'Special case management', 'Personal Interest', 'Referral'));
        if (rand() < 0.6) {
          const reason = pick(['THREAT_OF_SUICIDE', 'COMMISSION_DEFINED', 'CONFLICT_OF_INTEREST']);
          srWork.push(fact({ type: 'PersonalInterestFlagChanged', partyId: `${p}-RP-${g}`, flagged: true, reason, reviewDueAt: null, warmHandoverRequired: false, suppressCorrespondence: false, blockPortalForPartyIds: [] }));
        } else srWork.push(fact({ type: 'ReferralRejected', referringUserId: `${p}-U-${g % 7}`, referralArea: 'Personal Interest' }));
        srWork.push(change('COMPLETED', 'Special case management', 'Personal Interest', 'Referral'));
      } else if (r < 0.65) {
        srWork.push(fact({ type: 'CaseGroupMarkedSpecial', referringUserId: `${p}-U-${g % 7}`, exceptionalType: rand() < 0.5 ? 'TYPE_ONE' : 'TYPE_TWO' }));
      } else if (r < 0.72) {
        srWork.push(fact({ type: 'CaseGroupLoadedBack', fix: 'SYSTEM_FIX_RECORDED' }));
      } else if (r < 0.8) {
        srWork.push(fact({ type: 'PersonalInterestFlagChanged', partyId: `${p}-RP-${g}`, flagged: false, reason: null, reviewDueAt: null, warmHandoverRequired: false, suppressCorrespondence: false, blockPortalForPartyIds: [] }));
      } else if (open.length > 0) {
        const done = open.shift() ?? srId;
        srWork.push(change('COMPLETED', 'Change of Circumstances', 'Address', 'Verify', done));
      } else srWork.push(change('OPENED', 'Change of Circumstances', 'Address', 'Verify'));
    }
  }
  // Absences come after every allocation on the same user's key, so they fan out to all of them.
  for (let u = 0; u < 37; u += 5) {
    const user = `${p}-U-${u}`;
    caseworkers.push({ topic: 'cms.workforce.v1', key: user, value: { userId: user, occurredAt: at(), payload: { type: 'UserAvailabilityChanged', available: false, reasonCode: pick(['ANNUAL_LEAVE', 'SICKNESS_ABSENCE']) } } });
    if (u % 2 === 0) caseworkers.push({ topic: 'cms.workforce.v1', key: user, value: { userId: user, occurredAt: at(), payload: { type: 'UserAvailabilityChanged', available: true, reasonCode: 'RETURNED' } } });
  }
  return [applications, partyChanges, caseworkers, srWork];
}
