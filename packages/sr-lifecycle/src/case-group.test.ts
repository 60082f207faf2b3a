import { describe, expect, it } from 'vitest';
import type { SrFact, SrLifecycleEvent } from '@cms-router/events';
import { applySrEventsInput, expireSrWaiting, type CaseGroupSrState, type Party, type SrEventsInput } from './index.ts';

const CW = { userId: 'CW-1', role: 'CASEWORKER' as const, teamId: 'T-1' };
const TL = { userId: 'TL-1', role: 'TEAM_LEADER' as const, teamId: 'T-1' };
let n = 0;
const lifecycle = (payload: SrLifecycleEvent['payload'], o: { actor?: typeof CW | typeof TL; srId?: string; caseId?: string; arrivedAt?: string } = {}): SrEventsInput => {
  n += 1;
  return {
    kind: 'lifecycle',
    eventId: `e${n}`,
    arrivedAt: o.arrivedAt ?? '2026-02-01T09:00:00.000Z',
    source: { topic: 'cms.sr-lifecycle.v1', partition: 0, offset: String(n), eventId: `e${n}` },
    event: { srId: o.srId ?? 'SR-1', caseGroupId: 'CG-1', caseId: o.caseId ?? 'C-1', occurredAt: new Date(Date.UTC(2026, 1, 1, 9, 0, n)).toISOString(), actor: o.actor ?? CW, payload },
  };
};
const created = (reason: string, client: string, caseId = 'C-1') =>
  lifecycle({ type: 'SrCreated', process: 'Special case management', area: 'Personal Interest', subArea: 'Referral', reason, sourceOfReferral: null, raisedAgainstPartyId: client, lockAssignment: false }, { caseId });
const status = (s: 'IN_PROGRESS' | 'PENDING_APPROVAL' | 'CLOSED', subStatus: string | null = null, resolutionCode: string | null = null, o: Parameters<typeof lifecycle>[1] = {}) => lifecycle({ type: 'SrStatusChanged', status: s, subStatus, resolutionCode }, o);
const c1: Party[] = [
  { partyId: 'PP', role: 'PAYING_PARENT' },
  { partyId: 'RP1', role: 'RECEIVING_PARENT' },
  { partyId: 'QC1', role: 'QUALIFYING_CHILD' },
];
const c2: Party[] = [
  { partyId: 'PP', role: 'PAYING_PARENT' },
  { partyId: 'RP2', role: 'RECEIVING_PARENT' },
  { partyId: 'QC2', role: 'QUALIFYING_CHILD' },
];

function play(inputs: SrEventsInput[], start: CaseGroupSrState | null = null) {
  let state = start;
  const facts: SrFact[] = [];
  const outcomes: string[] = [];
  for (const input of inputs) {
    const r = applySrEventsInput(state, input, 'CG-1');
    state = r.state;
    if (r.waiting) outcomes.push('WAITING');
    for (const s of r.steps) {
      outcomes.push(s.outcome.kind === 'rejected' ? `REJECTED:${s.outcome.code}` : s.outcome.kind.toUpperCase());
      if (s.outcome.kind === 'applied') facts.push(...s.outcome.facts);
    }
  }
  return { state, facts, outcomes };
}
const flags = (facts: SrFact[]) => facts.flatMap((f) => (f.payload.type === 'PersonalInterestFlagChanged' ? [`${f.payload.partyId}:${f.payload.flagged ? (f.payload.reason ?? '') : 'removed'}`] : []));

const referralToClose = (client: string, reason: string, caseId = 'C-1'): SrEventsInput[] => [
  created(reason, client, caseId),
  status('IN_PROGRESS', null, null, { caseId }),
  status('PENDING_APPROVAL', 'Pending approval - TL', null, { caseId }),
  lifecycle({ type: 'ApprovalDecided', decision: 'APPROVED' }, { actor: TL, caseId }),
  status('CLOSED', 'Complete', 'Personal Interest Approved', { caseId }),
];

describe('SR events that arrive early wait (sr-events)', () => {
  it('an SR event before its case\'s application waits for it; what waited is applied in the order it arrived', () => {
    const r = play([...referralToClose('RP1', 'CONFLICT_OF_INTEREST'), { kind: 'application', caseId: 'C-1', parties: c1 }]);
    expect(r.outcomes).toEqual(['WAITING', 'WAITING', 'WAITING', 'WAITING', 'WAITING', 'APPLIED', 'APPLIED', 'APPLIED', 'APPLIED', 'APPLIED']);
    expect(flags(r.facts)).toEqual(['RP1:CONFLICT_OF_INTEREST']);
    expect(r.state?.waiting).toEqual([]);
  });

  it('an SR event before its SrCreated waits for it (upstream order broken), then is applied', () => {
    const make = created('CONFLICT_OF_INTEREST', 'RP1');
    const progress = status('IN_PROGRESS');
    const r = play([{ kind: 'application', caseId: 'C-1', parties: c1 }, progress, make]);
    expect(r.outcomes).toEqual(['WAITING', 'APPLIED', 'APPLIED']);
    expect(r.state?.srs['SR-1']?.status).toBe('IN_PROGRESS');
  });

  it('a duplicate of a waiting event is a duplicate, not a second copy', () => {
    const e = status('IN_PROGRESS');
    const r = play([e, e]);
    expect(r.outcomes).toEqual(['WAITING', 'DUPLICATE']);
    expect(r.state?.waiting).toHaveLength(1);
  });

  it('a waiting event is rejected after the expiry (CMS_WAIT_EXPIRED) with the reason', () => {
    const r = play([status('IN_PROGRESS', null, null, { arrivedAt: '2026-02-01T09:00:00.000Z' })]);
    const state = r.state as CaseGroupSrState;
    expect(expireSrWaiting(state, '2026-01-31T09:00:00.000Z', 7 * 86_400_000).expired).toEqual([]);
    const { expired, state: after } = expireSrWaiting(state, '2026-02-08T09:00:00.000Z', 7 * 86_400_000);
    expect(expired.map((x) => x.reason)).toEqual(['SrStatusChanged of SR SR-1 waited 7 days (since 2026-02-01T09:00:00.000Z) for the application of case C-1, which never came']);
    expect(after.waiting).toEqual([]);
  });
});

describe('"the other parties in the case" means the case (003 step 7, step 15, SSP blocking)', () => {
  const twoCases: SrEventsInput[] = [
    { kind: 'application', caseId: 'C-1', parties: c1 },
    { kind: 'application', caseId: 'C-2', parties: c2 },
  ];

  it('associated contacts are the other parties of the referral\'s case, not of another case of the same case group', () => {
    const r = play([...twoCases, ...referralToClose('RP1', 'NAME_OR_IDENTITY_NOT_DISCLOSED')]);
    expect(flags(r.facts)).toEqual(['RP1:COMMISSION_DEFINED', 'PP:ASSOCIATED_CONTACT', 'QC1:ASSOCIATED_CONTACT']);
  });

  it('portal blocking: only the other adults of that case (a receiving parent who only shares a paying parent keeps her access)', () => {
    const r = play([...twoCases, ...referralToClose('RP1', 'NAME_OR_IDENTITY_NOT_DISCLOSED')]);
    const client = r.facts.find((f) => f.payload.type === 'PersonalInterestFlagChanged' && f.payload.partyId === 'RP1');
    expect(client?.payload).toMatchObject({ suppressCorrespondence: true, blockPortalForPartyIds: ['PP'] });
  });

  it('a referral for a client who is in the case group but not in the SR\'s case is refused with the reason', () => {
    const r = play([...twoCases, created('CIFBA', 'RP2', 'C-1')]);
    expect(r.outcomes.at(-1)).toBe('REJECTED:CMS_SR_PARTY_MISSING');
  });
});
