/** What the rules look at. Plain data; records keyed by id so the order facts arrived in never matters. */

export type PartyRole = 'PAYING_PARENT' | 'RECEIVING_PARENT' | 'QUALIFYING_CHILD';

export interface Residence {
  readonly ukPostcode: string | null;
  readonly nonUkCountry: string | null;
}

/** What routing needs of a personal-interest flag. The PI reason is not here: routing never needs it. */
export interface PersonalInterestFlag {
  readonly warmHandoverRequired: boolean;
  readonly suppressCorrespondence: boolean;
}

/**
 * One person as this case group sees them: the person's current facts (the router's person registry
 * holds them, and they are the same in every case group the person is in) and the roles the person
 * has in this case group's cases.
 */
export interface PartyFacts {
  readonly partyId: string;
  /** The person's role in this case group: paying parent if they are the paying parent, else their first role. */
  readonly role: PartyRole;
  readonly residence: Residence;
  readonly identifierKnown: boolean;
  readonly nationallySensitive: boolean;
  readonly personalInterest: PersonalInterestFlag | null;
  readonly knownAsRecorded: boolean;
}

/** A party of one case, with their role in it. */
export interface CaseParty {
  readonly partyId: string;
  readonly role: PartyRole;
}

export interface CaseFacts {
  readonly caseId: string;
  readonly open: boolean;
  /** An application where neither parent had an existing case. */
  readonly newApplication: boolean;
  readonly promiseToPayIssued: boolean;
  /** The paying parent, receiving parent and qualifying children of this case (003: "the other parties in the case"). */
  readonly parties: readonly CaseParty[];
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
  /** The paying parent's income source (004: "paying parent postcode, income source"). */
  readonly incomeSource: string;
  readonly special: { readonly exceptionalType: string } | null;
  readonly openServiceRequests: Readonly<Record<string, OpenServiceRequest>>;
  /**
   * What the rules ask of the parties as a whole, when the caller keeps it with `parties` (the router makes
   * it once per change of a case group's people); otherwise the rules make it per decision (summarizeParties, from the parties and cases).
   */
  readonly partySummary?: PartySummary;
}

/** What the rules ask of a case group's parties and cases as a whole (made again when either changes). */
export interface PartySummary {
  readonly list: readonly PartyFacts[];
  readonly sensitive: boolean;
  readonly personalInterest: boolean;
  /** A party whose name must not be disclosed (known-as recorded, or a PI flag that suppresses correspondence). */
  readonly knownAs: boolean;
  readonly warmHandover: boolean;
  /** The handling instructions that block parties from the self-service portal because a party's name must not be disclosed (003), sorted. */
  readonly portalBlocks: readonly string[];
  /** Every open case is a new application before its promise to pay, and there is one. */
  readonly newApplicationsOnly: boolean;
}
