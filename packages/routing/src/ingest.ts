import type { ErrorCode } from '@cms-router/errors';
import type { CaseFact, OrphanFlag, PartyFact, SrFact, WorkforceEvent } from '@cms-router/events';
import { fromCaseFact, fromOrphanFlag, fromPartyFact, fromSrFact, fromWorkforce, type RouterInput } from './inputs.ts';

export type IngestInput =
  | { readonly topic: 'cms.case-facts.v1'; readonly value: CaseFact }
  | { readonly topic: 'cms.party-facts.v1'; readonly value: PartyFact }
  | { readonly topic: 'cms.sr-facts.v1'; readonly value: SrFact }
  | { readonly topic: 'cms.workforce.v1'; readonly value: WorkforceEvent }
  | { readonly topic: 'cms.orphan-flags.v1'; readonly value: OrphanFlag };

/** Reference data the ingest stage keeps: who is in which case group, who holds which, who leads which team. */
export interface IngestEffects {
  readonly partyJoined: readonly { partyId: string; caseGroupId: string }[];
  /** A case group allocated to a user: the user's availability changes fan out to it. */
  readonly userHolds: { userId: string; caseGroupId: string } | null;
  readonly teamLeader: { teamId: string; userId: string } | null;
}

/** The fan-out indexes, as the ingest stage reads them. Each may list more case groups than apply now. */
export interface FanOutIndex {
  caseGroupsOfParty(partyId: string): readonly string[];
  caseGroupsOfUser(userId: string): readonly string[];
}

export type IngestResult =
  | { readonly ok: true; readonly inputs: readonly RouterInput[]; readonly effects: IngestEffects }
  | { readonly ok: false; readonly code: ErrorCode; readonly reason: string; readonly caseGroupId: string | null };

const none: IngestEffects = { partyJoined: [], userHolds: null, teamLeader: null };

/**
 * Turns an upstream record into the route stage's inputs, keyed by case group. A party fact fans out
 * to every case group holding the party, and a user's availability to every case group allocated to
 * them (sorted, so the order is stable); a party in no case group is a rejection, a user with no case
 * groups simply has nothing to re-place. Pure: the indexes are passed in.
 */
export function ingest(input: IngestInput, index: FanOutIndex): IngestResult {
  switch (input.topic) {
    case 'cms.case-facts.v1': {
      const v = input.value;
      const partyJoined =
        v.payload.type === 'ApplicationReceived'
          ? [v.payload.payingParent, v.payload.receivingParent, ...v.payload.qualifyingChildren].map((p) => ({ partyId: p.partyId, caseGroupId: v.caseGroupId }))
          : [];
      return { ok: true, inputs: [fromCaseFact(v)], effects: { ...none, partyJoined } };
    }
    case 'cms.party-facts.v1': {
      const groups = [...new Set(index.caseGroupsOfParty(input.value.partyId))].sort();
      if (groups.length === 0) return { ok: false, code: 'CMS_UNKNOWN_PARTY', reason: `party ${input.value.partyId} is not in any case group known to the router`, caseGroupId: null };
      return { ok: true, inputs: groups.map((g) => fromPartyFact(input.value, g)), effects: none };
    }
    case 'cms.sr-facts.v1':
      return { ok: true, inputs: [fromSrFact(input.value)], effects: none };
    case 'cms.orphan-flags.v1':
      return { ok: true, inputs: [fromOrphanFlag(input.value)], effects: none };
    case 'cms.workforce.v1': {
      const v = input.value;
      const p = v.payload;
      if (p.type === 'UserAvailabilityChanged') {
        const groups = [...new Set(index.caseGroupsOfUser(v.userId))].sort();
        return { ok: true, inputs: groups.flatMap((g) => fromWorkforce(v, g) ?? []), effects: none };
      }
      const routed = fromWorkforce(v);
      return {
        ok: true,
        inputs: routed ? [routed] : [],
        effects: {
          ...none,
          userHolds: p.type === 'CaseGroupAllocated' ? { userId: v.userId, caseGroupId: p.caseGroupId } : null,
          teamLeader: p.type === 'TeamLeadershipAssigned' ? { teamId: p.teamId, userId: v.userId } : null,
        },
      };
    }
  }
}
