/** What the rules look at. Plain data; records keyed by id so the order facts arrived in never matters. */

export type PartyRole = 'PAYING_PARENT' | 'RECEIVING_PARENT' | 'QUALIFYING_CHILD';

export interface Residence {
  readonly ukPostcode: string | null;
  readonly nonUkCountry: string | null;
}

export interface PersonalInterestFlag {
  /** PI reason code. Personal data: used for decisions, never copied into a reason text. */
  readonly reason: string | null;
  readonly warmHandoverRequired: boolean;
  readonly suppressCorrespondence: boolean;
  readonly blockPortalForPartyIds: readonly string[];
}

export interface PartyFacts {
  readonly partyId: string;
  readonly role: PartyRole;
  readonly residence: Residence;
  readonly identifierKnown: boolean;
  readonly nationallySensitive: boolean;
  readonly personalInterest: PersonalInterestFlag | null;
  readonly knownAsRecorded: boolean;
}

export interface CaseFacts {
  readonly caseId: string;
  readonly open: boolean;
  /** An application where neither parent had an existing case. */
  readonly newApplication: boolean;
  readonly promiseToPayIssued: boolean;
}

export interface OpenServiceRequest {
  readonly srId: string;
  readonly process: string;
  readonly area: string;
  readonly subArea: string;
  readonly raisedAgainstPartyId: string | null;
  readonly pendingApproval: boolean;
  readonly ownerUserId: string | null;
  readonly ownerTeamId: string | null;
}

export interface CaseGroupFacts {
  readonly caseGroupId: string;
  readonly payingParentId: string;
  readonly parties: Readonly<Record<string, PartyFacts>>;
  readonly cases: Readonly<Record<string, CaseFacts>>;
  readonly incomeSource: string;
  readonly special: { readonly exceptionalType: string } | null;
  readonly openServiceRequests: Readonly<Record<string, OpenServiceRequest>>;
}
