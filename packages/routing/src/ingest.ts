import type { ErrorCode } from '@cms-router/errors';
import type { CaseFact, PartyFact, SrFact, WorkforceEvent } from '@cms-router/events';
import { fromCaseFact, fromPartyFact, fromSrFact, fromWorkforce, type RouterInput } from './inputs.ts';

export type IngestInput =
  | { readonly topic: 'cms.case-facts.v1'; readonly value: CaseFact }
  | { readonly topic: 'cms.party-facts.v1'; readonly value: PartyFact }
  | { readonly topic: 'cms.sr-facts.v1'; readonly value: SrFact }
  | { readonly topic: 'cms.workforce.v1'; readonly value: WorkforceEvent };

/** Reference data the ingest stage keeps: who is in which case group, who leads which team. */
export interface IngestEffects {
  readonly partyJoined: readonly { partyId: string; caseGroupId: string }[];
  readonly teamLeader: { teamId: string; userId: string } | null;
}

export type IngestResult =
  | { readonly ok: true; readonly inputs: readonly RouterInput[]; readonly effects: IngestEffects }
  | { readonly ok: false; readonly code: ErrorCode; readonly reason: string; readonly caseGroupId: string | null };

const none: IngestEffects = { partyJoined: [], teamLeader: null };

/**
 * Turns an upstream record into the route stage's inputs, keyed by case group. A party fact fans out
 * to every case group holding the party (sorted, so the order is stable); a party in no case group is
 * a rejection. Pure: the party index is passed in.
 */
export function ingest(input: IngestInput, caseGroupsOfParty: (partyId: string) => readonly string[]): IngestResult {
  switch (input.topic) {
    case 'cms.case-facts.v1': {
      const v = input.value;
      const partyJoined =
        v.payload.type === 'ApplicationReceived'
          ? [v.payload.payingParent, v.payload.receivingParent, ...v.payload.qualifyingChildren].map((p) => ({ partyId: p.partyId, caseGroupId: v.caseGroupId }))
          : [];
      return { ok: true, inputs: [fromCaseFact(v)], effects: { partyJoined, teamLeader: null } };
    }
    case 'cms.party-facts.v1': {
      const groups = [...new Set(caseGroupsOfParty(input.value.partyId))].sort();
      if (groups.length === 0) return { ok: false, code: 'CMS_UNKNOWN_PARTY', reason: `party ${input.value.partyId} is not in any case group known to the router`, caseGroupId: null };
      return { ok: true, inputs: groups.map((g) => fromPartyFact(input.value, g)), effects: none };
    }
    case 'cms.sr-facts.v1':
      return { ok: true, inputs: [fromSrFact(input.value)], effects: none };
    case 'cms.workforce.v1': {
      const v = input.value;
      const routed = fromWorkforce(v);
      const teamLeader = v.payload.type === 'TeamLeadershipAssigned' ? { teamId: v.payload.teamId, userId: v.userId } : null;
      return { ok: true, inputs: routed ? [routed] : [], effects: { partyJoined: [], teamLeader } };
    }
  }
}
