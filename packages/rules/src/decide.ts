import { fail, ok, type Decision, type DecisionResult, type Reason } from './decision.ts';
import type { CaseFacts, CaseGroupFacts, OpenServiceRequest, PartyFacts, PartySummary } from './facts.ts';
import { srKey, type Rules } from './load.ts';
import { lookupPostcode } from './postcode.ts';
import type { Place, RuleId, SrCatalogueEntry } from './schema.ts';

/** Procedure references, cited by reasons and by the table tests. */
export const PROCEDURES = {
  workAllocation: '004 Work Allocation',
  nonStandard: '000 Non Standard Case - Refer',
  echOverview: '001 Exceptional Case Handling - Overview',
  csaTransition: '002 CSA Scheme Information Received - Update CMS',
  personalInterest: '003 Personal Interest - Register',
} as const;

// The rules only ask whether some or every entry holds, or collect into sets sorted at the end, so no
// decision depends on the order of these records and none is sorted here (the hot path of every decision).
const values = <T>(record: Readonly<Record<string, T>>): T[] => Object.values(record);

/** The facts' party summary: the one the router made once per change of people, or made now. */
export const partySummaryOf = (facts: CaseGroupFacts): PartySummary => facts.partySummary ?? summarizeParties(facts.parties, facts.cases);

const NONE: readonly string[] = Object.freeze([]);

/**
 * What the rules ask of the parties as a whole (the router makes it once per change of a case group's
 * people or cases, and passes it in the facts), so that a decision does not walk the parties and cases.
 */
export function summarizeParties(parties: CaseGroupFacts['parties'], cases: CaseGroupFacts['cases']): PartySummary {
  const list = values(parties);
  let sensitive = false;
  let personalInterest = false;
  let warmHandover = false;
  let hidden: PartyFacts[] | null = null;
  for (const p of list) {
    if (p.nationallySensitive) sensitive = true;
    if (p.personalInterest !== null) personalInterest = true;
    if (p.personalInterest?.warmHandoverRequired === true) warmHandover = true;
    if (p.knownAsRecorded || p.personalInterest?.suppressCorrespondence === true) (hidden ??= []).push(p);
  }
  return { list, sensitive, personalInterest, knownAs: hidden !== null, warmHandover, portalBlocks: hidden ? portalBlocks(hidden, cases) : NONE, newApplicationsOnly: newApplicationsOnly(cases) };
}

/** Every open case is a new application before its promise to pay, and there is one (004's new case segment). */
function newApplicationsOnly(cases: CaseGroupFacts['cases']): boolean {
  let open = false;
  for (const id in cases) {
    const c = cases[id] as CaseFacts;
    if (!c.open) continue;
    if (!c.newApplication || c.promiseToPayIssued) return false;
    open = true;
  }
  return open;
}

/**
 * 003: "The Self Service Portal (SSP) displays the legal first names of the other parties in the case. If any of
 * these first names cannot be divulged to the other party, the other party will need to be blocked": the
 * other adults of each case the person is a party to, not of every case in the case group. As handling
 * instructions, sorted by party id.
 */
function portalBlocks(hidden: readonly PartyFacts[], cases: CaseGroupFacts['cases']): readonly string[] {
  const blocked = new Set<string>();
  const caseList = values(cases);
  for (const p of hidden) {
    for (const c of caseList) {
      if (!c.parties.some((x) => x.partyId === p.partyId)) continue;
      for (const other of c.parties) if (other.partyId !== p.partyId && other.role !== 'QUALIFYING_CHILD') blocked.add(other.partyId);
    }
  }
  return Object.freeze([...blocked].sort().map((id) => `BLOCK_SELF_SERVICE_PORTAL:${id}`));
}

const sensitiveReason = (what: string): Reason => ({
  ruleId: 'sensitive-or-personal-interest',
  text: `In this case group ${what}, so the case group goes to Special Client Records.`,
  procedure: `${PROCEDURES.workAllocation}, Case movement ("assigned to the special client records segment"); ${PROCEDURES.personalInterest}, step 6`,
});

/**
 * Reasons whose words do not depend on the case group, made once: a decision is made for every fact, and
 * building the same sentences each time was a large part of its cost (and of the garbage collector's).
 * Decisions share these objects, which are frozen so that no caller can change another's reasons.
 */
const REASONS = deepFreezeReasons({
  specialCase: {
    ruleId: 'special-case',
    text: 'The case group is marked special (exceptional case handling), so the whole case group is held in the non standard segment by the Exceptional Case Handling team.',
    procedure: `${PROCEDURES.nonStandard}, step 20; ${PROCEDURES.echOverview}: "Once a case is exceptional the whole case-group becomes exceptional."`,
  },
  sensitiveAndPersonalInterest: sensitiveReason('a party is nationally sensitive and a party has a personal-interest flag'),
  sensitive: sensitiveReason('a party is nationally sensitive'),
  personalInterest: sensitiveReason('a party has a personal-interest flag'),
  nonUkPayingParent: {
    ruleId: 'non-uk-paying-parent',
    text: "The paying parent's residential address is not in the United Kingdom (the Isle of Man and the Channel Islands count as outside the UK), so postcode routing does not apply and the case group goes to the non-UK paying parents team.",
    procedure: `${PROCEDURES.workAllocation}, Case movement ("the paying parent's residential address is not a United Kingdom address")`,
  },
  specialCaseSensitive: {
    ruleId: 'special-case-sensitive',
    text: 'The exceptional case group is also sensitive, so only security-cleared Exceptional Case Handling caseworkers may work it.',
    procedure: `${PROCEDURES.echOverview}: "Sensitive cases are handled by security cleared caseworkers from the team."`,
  },
  specialCaseHandling: {
    ruleId: 'special-case-handling',
    text: 'Exceptional cases are handled off system: clients cannot use the self-service portal and letters are issued off system.',
    procedure: `${PROCEDURES.echOverview}: "Clients will not be able to use the Self Service Portal"`,
  },
  knownAsNotDisclosed: {
    ruleId: 'known-as-not-disclosed',
    text: "A name that must not be disclosed is recorded on the case group: suppress outbound correspondence (issue it clerically) and block the other parties of that person's cases from the self-service portal.",
    procedure: `${PROCEDURES.personalInterest}, step 22 and "Blocking a client from the Self Service Portal"`,
  },
  cifbaWarmHandover: {
    ruleId: 'cifba-warm-handover',
    text: 'A team leader warm handover to the SCR team leader is needed (child in a foreign jurisdiction).',
    procedure: `${PROCEDURES.personalInterest}, step 6 ("a Team Leader warm handover must be completed to the SCR Team Leader")`,
  },
});
const NEW_CASE_PROCEDURE = `${PROCEDURES.workAllocation}, Work Routing ("It will not be routed to the maintenance segment until a point after the promise to pay (P2P) schedule has been issued.")`;
const POSTCODE_PROCEDURE = `${PROCEDURES.workAllocation}, Case movement ("paying parent postcode, income source and the lifecycle of the case")`;

function deepFreezeReasons<T extends Record<string, Reason>>(reasons: T): Readonly<T> {
  for (const r of Object.values(reasons)) Object.freeze(r);
  return Object.freeze(reasons);
}

/**
 * Where a case-group rule puts the case group, and why. Made once per rules object and per combination of
 * what the words name (segment; region; district, region and team), and shared by every case group it
 * fits: a decision is made for every fact, and building the same sentences and objects each time was a
 * large part of its cost (and of the garbage collector's). `decisions` holds, per set of conditions
 * (see conditionsMask), the finished result, so that most decisions allocate nothing.
 */
interface Placed {
  readonly segment: string;
  readonly region: string | null;
  readonly team: string | null;
  readonly reason: Reason;
  readonly decisions: (DecisionResult | undefined)[];
}

type Match = Placed | DecisionResult | undefined;

/** What a rules object's case-group decisions share: its escalation order and the placements made so far. */
interface Compiled {
  /** The hierarchy's rules, in the rules file's order. */
  readonly steps: readonly CaseGroupRule[];
  readonly escalationRank: ReadonlyMap<string, number>;
  readonly fixed: { readonly special: Placed; readonly sensitiveAndPersonalInterest: Placed; readonly sensitive: Placed; readonly personalInterest: Placed; readonly nonUk: Placed };
  readonly escalations: Map<string, Placed>;
  readonly newCase: Map<string, Placed>;
  /** Postcode placements by district (or, for a sector override, by district and place), then by team. */
  readonly postcode: Map<string, Map<string, Placed>>;
}

const compiledRules = new WeakMap<Rules, Compiled>();
// Bounded: districts x teams for postcode placements (about 3,000 x 5 for the shipped tables).
const POSTCODE_PLACEMENTS = 50_000;

const placed = (segment: string, region: string | null, team: string | null, reason: Reason): Placed => Object.freeze({ segment, region, team, reason: Object.freeze(reason), decisions: [] });

function compiledOf(rules: Rules): Compiled {
  let compiled = compiledRules.get(rules);
  if (compiled) return compiled;
  const escalationRank = new Map<string, number>();
  rules.escalations.forEach((e, i) => escalationRank.has(e.segment) || escalationRank.set(e.segment, i));
  const scr = (reason: Reason): Placed => placed('SPECIAL_CLIENT_RECORDS', null, '2012 SCR Team', reason);
  compiled = {
    steps: rules.hierarchy.map(({ rule }) => CASE_GROUP_RULES[rule]),
    escalationRank,
    fixed: {
      special: placed('NON_STANDARD', null, 'Exceptional Case Handling', REASONS.specialCase),
      sensitiveAndPersonalInterest: scr(REASONS.sensitiveAndPersonalInterest),
      sensitive: scr(REASONS.sensitive),
      personalInterest: scr(REASONS.personalInterest),
      nonUk: placed('INTERNATIONAL', null, rules.segments['INTERNATIONAL']?.team ?? null, REASONS.nonUkPayingParent),
    },
    escalations: new Map(),
    newCase: new Map(),
    postcode: new Map(),
  };
  compiledRules.set(rules, compiled);
  return compiled;
}

/** Where a party is, as the rules place work: a postcode looked up, or outside the UK by country. */
type Located = { readonly place: Place; readonly district: string | null; readonly matched?: string };
const OUTSIDE_UK: Located = Object.freeze({ place: Object.freeze({ country: 'OUTSIDE_UK', region: null }), district: null });

function where(ruleId: RuleId, whose: string, party: PartyFacts | undefined, rules: Rules): Located | DecisionResult {
  if (!party) return fail('CMS_ADDRESS_UNKNOWN', ruleId, `${whose} is not a party of the case group`);
  const { ukPostcode, nonUkCountry } = party.residence;
  if (ukPostcode) {
    const found = lookupPostcode(ukPostcode, rules);
    if (found.ok) return found;
    if (found.problem === 'MALFORMED') return fail('CMS_POSTCODE_MALFORMED', ruleId, `${whose}'s postcode is not a well-formed UK postcode, so the work cannot be routed by postcode`);
    return fail('CMS_POSTCODE_UNKNOWN', ruleId, `${whose}'s postcode district ${found.district ?? '?'} is not in the postcode table (rules file), so the work cannot be routed by postcode`);
  }
  if (nonUkCountry) return OUTSIDE_UK;
  return fail('CMS_ADDRESS_UNKNOWN', ruleId, `${whose} has no UK postcode or non-UK country recorded, so the work cannot be routed by address`);
}

/** A rule's or a lookup's failure. A postcode lookup's success also has `ok` (true), and a placement has none. */
const isResult = (x: Located | Match): x is DecisionResult => x !== undefined && (x as { ok?: boolean }).ok === false;

type CaseGroupRule = (facts: CaseGroupFacts, rules: Rules, compiled: Compiled, payingParent: PartyFacts | undefined, parties: PartySummary) => Match;

/** The case-group rules, one function per rule id. `undefined` means "does not apply; try the next". */
const CASE_GROUP_RULES: Record<RuleId, CaseGroupRule> = {
  'special-case': (facts, _rules, compiled) => (facts.special ? compiled.fixed.special : undefined),
  'sensitive-or-personal-interest': (_facts, _rules, { fixed }, _pp, { sensitive, personalInterest: pi }) => {
    if (!sensitive && !pi) return undefined;
    return sensitive && pi ? fixed.sensitiveAndPersonalInterest : sensitive ? fixed.sensitive : fixed.personalInterest;
  },
  escalation: (facts, rules, compiled) => {
    // Only SR types set to move the case group (movesCaseGroup); the shipped escalations are functionally
    // unique (004). Escalations in the rules file's order: complaints before appeals before enforcement.
    let rank = -1;
    for (const id in facts.openServiceRequests) {
      const e = catalogueEntry(facts.openServiceRequests[id] as OpenServiceRequest, rules);
      if (e?.escalation === undefined || e.movesCaseGroup !== true) continue;
      const r = compiled.escalationRank.get(e.escalation);
      if (r !== undefined && (rank < 0 || r < rank)) rank = r;
    }
    const chosen = rank < 0 ? undefined : rules.escalations[rank];
    if (!chosen) return undefined;
    let p = compiled.escalations.get(chosen.segment);
    if (!p) {
      const segment = rules.segments[chosen.segment];
      p = placed(chosen.segment, null, segment?.team ?? null, {
        ruleId: 'escalation',
        text: `An open ${segment?.name.toLowerCase() ?? chosen.segment} service request routes the case group to the ${segment?.name ?? chosen.segment} segment while it is open.`,
        procedure: chosen.procedure,
      });
      compiled.escalations.set(chosen.segment, p);
    }
    return p;
  },
  'non-uk-paying-parent': (_facts, rules, compiled, payingParent) => {
    if (!payingParent) return undefined;
    const { ukPostcode, nonUkCountry } = payingParent.residence;
    let outside = false;
    if (ukPostcode) {
      const found = lookupPostcode(ukPostcode, rules);
      outside = found.ok && found.place.country === 'OUTSIDE_UK';
    } else outside = nonUkCountry !== null;
    return outside ? compiled.fixed.nonUk : undefined;
  },
  'lifecycle-new-case': (_facts, rules, compiled, payingParent, parties) => {
    if (!parties.newApplicationsOnly) return undefined;
    const located = where('lifecycle-new-case', 'the paying parent', payingParent, rules);
    if (isResult(located)) return located;
    const key = located.place.region ?? located.place.country;
    let p = compiled.newCase.get(key);
    if (!p) {
      p = placed('NEW_CASE', located.place.region, null, {
        ruleId: 'lifecycle-new-case',
        text: `This is a new application where neither party had an existing case and the promise-to-pay schedule has not been issued yet, so the case group is in the new case segment (${regionName(located.place)}).`,
        procedure: NEW_CASE_PROCEDURE,
      });
      compiled.newCase.set(key, p);
    }
    return p;
  },
  'paying-parent-postcode': (facts, rules, compiled, payingParent) => {
    const located = where('paying-parent-postcode', 'the paying parent', payingParent, rules);
    if (isResult(located)) return located;
    const team = rules.incomeSourceTeams[facts.incomeSource] ?? rules.incomeSourceTeams['UNKNOWN'] ?? null;
    // A district's words are the same wherever in it the postcode is, unless a sector override places it.
    const district = located.district ?? '?';
    const key = located.matched === 'sector' ? `${district}|${located.place.region ?? located.place.country}` : district;
    let byTeam = compiled.postcode.get(key);
    if (!byTeam) {
      if (compiled.postcode.size >= POSTCODE_PLACEMENTS) compiled.postcode.clear();
      byTeam = new Map();
      compiled.postcode.set(key, byTeam);
    }
    let p = byTeam.get(team ?? '');
    if (!p) {
      p = placed('MAINTENANCE', located.place.region, team, {
        ruleId: 'paying-parent-postcode',
        text: `The paying parent's postcode (district ${district}) is in ${regionName(located.place)}, and their income source places the case group with the ${team ?? 'general'} maintenance team.`,
        procedure: POSTCODE_PROCEDURE,
      });
      byTeam.set(team ?? '', p);
    }
    return p;
  },
};

const regionNames = new Map<string, string>();

function regionName(place: Place): string {
  const key = place.region ?? place.country;
  let name = regionNames.get(key);
  if (name === undefined) {
    name = titleCase(key);
    regionNames.set(key, name);
  }
  return name;
}

function titleCase(key: string): string {
  return key
    .toLowerCase()
    .split('_')
    .map((w) => (w === 'and' || w === 'the' || w === 'of' ? w : w.charAt(0).toUpperCase() + w.slice(1)))
    .join(' ');
}

/**
 * The SR catalogue of a rules object, built once: `index` by normalised key (aliases included), and
 * `asArrived` by the SR's words as they arrived (process, then area, then sub area: no key is joined per
 * lookup). A decision asks for every open SR, and normalising the words (srKey's regexes) each time was 7%
 * of a replay. `asArrived` is bounded: cleared when full, as upstream could send any number of distinct
 * misspellings.
 */
interface Catalogue {
  readonly index: ReadonlyMap<string, SrCatalogueEntry>;
  readonly asArrived: Map<string, Map<string, Map<string, SrCatalogueEntry | null>>>;
  held: number;
}
const catalogues = new WeakMap<Rules, Catalogue>();
const AS_ARRIVED_ENTRIES = 10_000;

function catalogueOf(rules: Rules): Catalogue {
  let catalogue = catalogues.get(rules);
  if (!catalogue) {
    const index = new Map<string, SrCatalogueEntry>();
    for (const e of rules.serviceRequests) {
      index.set(srKey(e.process, e.area, e.subArea), e);
      for (const alias of e.aliases ?? []) index.set(srKey(alias, e.area, e.subArea), e);
    }
    catalogue = { index, asArrived: new Map(), held: 0 };
    catalogues.set(rules, catalogue);
  }
  return catalogue;
}

export function catalogueEntry(sr: { process: string; area: string; subArea: string }, rules: Rules): SrCatalogueEntry | undefined {
  const catalogue = catalogueOf(rules);
  let byArea = catalogue.asArrived.get(sr.process);
  let bySubArea = byArea?.get(sr.area);
  let entry = bySubArea?.get(sr.subArea);
  if (entry === undefined) {
    if (catalogue.held >= AS_ARRIVED_ENTRIES) {
      catalogue.asArrived.clear();
      catalogue.held = 0;
      byArea = bySubArea = undefined;
    }
    if (!byArea) catalogue.asArrived.set(sr.process, (byArea = new Map<string, Map<string, SrCatalogueEntry | null>>()));
    if (!bySubArea) byArea.set(sr.area, (bySubArea = new Map<string, SrCatalogueEntry | null>()));
    entry = catalogue.index.get(srKey(sr.process, sr.area, sr.subArea)) ?? null;
    bySubArea.set(sr.subArea, entry);
    catalogue.held++;
  }
  return entry ?? undefined;
}

interface Conditions {
  readonly requirements: readonly string[];
  readonly handling: readonly string[];
  readonly reasons: readonly Reason[];
}

const CONDITION_NON_STANDARD = 1;
const CONDITION_SENSITIVE = 2;
const CONDITION_WARM_HANDOVER = 4;
/** Known-as names also block parties by id: those instructions are the case group's own, the rest is shared. */
const CONDITION_KNOWN_AS = 8;

/** Which of the conditions below apply, as bits: each mask has one answer, but for the portal blocks. */
function conditionsMask(segment: string, summary: PartySummary): number {
  return (segment === 'NON_STANDARD' ? CONDITION_NON_STANDARD : 0) | (summary.sensitive || summary.personalInterest ? CONDITION_SENSITIVE : 0) | (summary.warmHandover ? CONDITION_WARM_HANDOVER : 0) | (summary.knownAs ? CONDITION_KNOWN_AS : 0);
}

/**
 * Requirements and handling instructions follow from the facts whichever rule decided. Handling is sorted:
 * the portal blocks (by party id, added per case group by decideCaseGroup), then these, pushed in order.
 */
function conditions(mask: number): Conditions {
  const requirements: string[] = [];
  const handling: string[] = [];
  const reasons: Reason[] = [];
  if (mask & CONDITION_NON_STANDARD) {
    if (mask & CONDITION_SENSITIVE) {
      requirements.push('SECURITY_CLEARED');
      reasons.push(REASONS.specialCaseSensitive);
    }
    handling.push('OFF_SYSTEM_LETTERS', 'SELF_SERVICE_PORTAL_UNAVAILABLE');
    reasons.push(REASONS.specialCaseHandling);
  }
  if (mask & CONDITION_KNOWN_AS) {
    handling.push('SUPPRESS_CORRESPONDENCE');
    reasons.push(REASONS.knownAsNotDisclosed);
  }
  if (mask & CONDITION_WARM_HANDOVER) {
    handling.push('WARM_HANDOVER_TO_SCR_TEAM_LEADER');
    reasons.push(REASONS.cifbaWarmHandover);
  }
  return { requirements, handling, reasons };
}

function decisionOf(p: Placed, extra: Conditions, rules: Rules): DecisionResult {
  return ok({
    segment: p.segment,
    region: p.region,
    team: p.team,
    ownerUserId: null,
    access: 'OWNER',
    requirements: extra.requirements,
    handling: extra.handling,
    rulesVersion: rules.version,
    reasons: [p.reason, ...extra.reasons],
  });
}

/** A result shared by every decision with the same placement and conditions, frozen so no caller can change another's. */
function frozenResult(result: DecisionResult): DecisionResult {
  if (result.ok) {
    const d = result.decision;
    for (const list of [d.requirements, d.handling, d.reasons]) Object.freeze(list);
    Object.freeze(d);
  }
  return Object.freeze(result);
}

/**
 * Where a case group belongs and why: the first rule of the hierarchy (in the rules file's order)
 * that applies decides; requirements and handling are added from the facts.
 */
export function decideCaseGroup(facts: CaseGroupFacts, rules: Rules): DecisionResult {
  const compiled = compiledOf(rules);
  const payingParent = facts.parties[facts.payingParentId];
  const summary = partySummaryOf(facts);
  for (const step of compiled.steps) {
    const match = step(facts, rules, compiled, payingParent, summary);
    if (match === undefined) continue;
    if (isResult(match)) return match;
    const mask = conditionsMask(match.segment, summary);
    const shared = (match.decisions[mask] ??= frozenResult(decisionOf(match, conditions(mask), rules)));
    if (!(mask & CONDITION_KNOWN_AS) || summary.portalBlocks.length === 0 || !shared.ok) return shared;
    // The portal blocks name this case group's parties: its own decision and handling, the rest shared.
    return ok({ ...shared.decision, handling: [...summary.portalBlocks, ...shared.decision.handling] });
  }
  return fail('CMS_ADDRESS_UNKNOWN', 'paying-parent-postcode', 'no routing rule applies to the case group');
}

/**
 * Where a service request goes. Functionally unique SRs go to their specialist team, routed by the
 * postcode of the party they are raised against, with read-only access to the case group; case-owning
 * SRs go wherever the case group is. A case group held in a restricted segment (non standard, SCR)
 * keeps all of its work.
 */
export function decideServiceRequest(sr: OpenServiceRequest, facts: CaseGroupFacts, caseGroup: Decision, rules: Rules): DecisionResult {
  const entry = catalogueEntry(sr, rules);
  if (!entry) {
    return fail('CMS_UNKNOWN_SR_TYPE', 'sr-catalogue', `SR ${sr.srId}: "${sr.process} / ${sr.area} / ${sr.subArea}" is not in the SR catalogue of rules ${rules.version}`);
  }
  // Case-owning work goes with the case group to whoever works it (its caseworker, or their team leader).
  const follow = (reason: Reason): DecisionResult => ok({ ...caseGroup, access: 'OWNER', reasons: [reason, ...caseGroup.reasons] });
  if (rules.segments[caseGroup.segment]?.restricted === true) {
    return follow({
      ruleId: 'restricted-segment-holds-all-work',
      text: `The case group is held in ${rules.segments[caseGroup.segment]?.name ?? caseGroup.segment}, a restricted segment, so this SR stays with it rather than going to another team.`,
      procedure: `${PROCEDURES.nonStandard}: "no other cases are held in the non standard segment"; ${PROCEDURES.personalInterest}: "routed to the special client records team workgroup"`,
    });
  }
  if (entry.kind === 'CASE_OWNING') {
    return follow({
      ruleId: 'case-owning-sr',
      text: 'A case-owning SR is completed in the segment that owns the case group.',
      procedure: `${PROCEDURES.workAllocation}, Service requests ("Case owning SRs will always be completed by caseworkers in the case owning segment")`,
    });
  }
  // 004: "Functionally unique work items will route depending on the post code of the person they are raised
  // against." An SR raised against no one in particular is raised against the case group, whose person is the
  // paying parent.
  const partyId = sr.raisedAgainstPartyId ?? facts.payingParentId;
  const party = facts.parties[partyId];
  if (!party) {
    return fail('CMS_SR_PARTY_MISSING', 'functionally-unique-sr', `SR ${sr.srId} is functionally unique but is raised against ${partyId}, who is not a party of case group ${facts.caseGroupId}`);
  }
  const whose = sr.raisedAgainstPartyId ? `the party it is raised against (${party.partyId})` : `the paying parent (${party.partyId}), as it is not raised against anyone in particular`;
  const located = where('paying-parent-postcode', whose, party, rules);
  if (isResult(located)) return located;
  const escalation = entry.escalation ? rules.segments[entry.escalation] : undefined;
  const segment = entry.escalation ?? 'SPECIALIST';
  const team = entry.team ?? escalation?.team ?? null;
  return ok({
    segment,
    region: located.place.region ?? 'OUTSIDE_UK',
    team,
    ownerUserId: null,
    access: 'READ_ONLY',
    requirements: [],
    handling: caseGroup.handling,
    rulesVersion: rules.version,
    reasons: [
      escalation
        ? {
            ruleId: 'escalation-sr',
            text: `The ${escalation.name.toLowerCase()} SR is worked by the ${team ?? escalation.name} caseworkers with read-only access to the case group, which stays in its own segment; it is routed by the postcode of ${whose} (${regionName(located.place)}).`,
            procedure: `${PROCEDURES.workAllocation}, Service requests ("Functionally unique SRs are completed by specialist teams ... The casegroup remains with the caseworker in the case owning segment"); ${entry.procedure}`,
          }
        : {
            ruleId: 'functionally-unique-sr',
            text: `A functionally unique SR goes to the ${team ?? 'specialist'} team with read-only access to the case group, routed by the postcode of ${whose} (${regionName(located.place)}), not by where the case group is held.`,
            procedure: `${PROCEDURES.workAllocation}, Service requests ("Functionally unique work items will route depending on the post code of the person they are raised against")`,
          },
    ],
  });
}

/**
 * Whether decideServiceRequest reads the case group's parties for this SR: only a functionally unique SR
 * outside a restricted segment is routed by a party's postcode. Every other SR follows the case group, so
 * a caller that keeps the last decision need not make it again when only the parties changed.
 */
export function serviceRequestReadsParties(sr: OpenServiceRequest, caseGroup: Decision, rules: Rules): boolean {
  const entry = catalogueEntry(sr, rules);
  return entry !== undefined && entry.kind !== 'CASE_OWNING' && rules.segments[caseGroup.segment]?.restricted !== true;
}

/** An SR pending approval becomes a task for the team leader of the referring caseworker's team. */
export function decideApprovalTask(sr: OpenServiceRequest, teamLeaderUserId: string | null, caseGroup: Decision, rules: Rules): DecisionResult {
  if (!sr.ownerTeamId) {
    return fail('CMS_APPROVAL_TEAM_UNKNOWN', 'approval-task', `SR ${sr.srId} is pending approval but the referring caseworker's team is not known, so no team leader can be chosen`);
  }
  return ok({
    segment: caseGroup.segment,
    region: caseGroup.region,
    team: `TEAM_LEADER:${sr.ownerTeamId}`,
    ownerUserId: teamLeaderUserId,
    access: 'OWNER',
    requirements: caseGroup.requirements,
    handling: caseGroup.handling,
    rulesVersion: rules.version,
    reasons: [
      {
        ruleId: 'approval-task',
        text: teamLeaderUserId
          ? `The SR is pending approval, so a task goes to the team leader of team ${sr.ownerTeamId}.`
          : `The SR is pending approval; no team leader is recorded for team ${sr.ownerTeamId} yet, so the task waits in that team's approval inbox.`,
        procedure: `${PROCEDURES.personalInterest}, step 9 ("A task is automatically created in the TL approval inbox"); ${PROCEDURES.nonStandard}, step 11`,
      },
    ],
  });
}
