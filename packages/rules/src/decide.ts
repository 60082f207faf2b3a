import { fail, ok, type Decision, type DecisionResult, type Reason } from './decision.ts';
import type { CaseGroupFacts, OpenServiceRequest, PartyFacts, PartySummary } from './facts.ts';
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

/** Whether some entry of a record holds, without making an array of its entries. */
function anyOf<T>(record: Readonly<Record<string, T>>, test: (v: T) => boolean): boolean {
  for (const k in record) if (test(record[k] as T)) return true;
  return false;
}

/** The facts' party summary: the one the router made once per change of people, or made now. */
export const partySummaryOf = (facts: CaseGroupFacts): PartySummary => facts.partySummary ?? summarizeParties(facts.parties);

/** What the rules ask of the parties as a whole (the router makes it once per change of people and passes it in the facts). */
export function summarizeParties(parties: CaseGroupFacts['parties']): PartySummary {
  const list = values(parties);
  return {
    list,
    sensitive: list.some((p) => p.nationallySensitive),
    personalInterest: list.some((p) => p.personalInterest !== null),
    knownAs: list.some((p) => p.knownAsRecorded || p.personalInterest?.suppressCorrespondence === true),
    warmHandover: list.some((p) => p.personalInterest?.warmHandoverRequired === true),
  };
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

/** Reasons that name a region, district, team or segment, made once per combination (bounded: districts x teams). */
const reasonMemo = new Map<string, Reason>();
const REASON_MEMO_ENTRIES = 50_000;
function memo(key: string, make: () => Reason): Reason {
  let r = reasonMemo.get(key);
  if (!r) {
    if (reasonMemo.size >= REASON_MEMO_ENTRIES) reasonMemo.clear();
    r = Object.freeze(make());
    reasonMemo.set(key, r);
  }
  return r;
}

type Match = { readonly segment: string; readonly region: string | null; readonly team: string | null; readonly reason: Reason } | DecisionResult | undefined;

interface RuleContext {
  readonly facts: CaseGroupFacts;
  readonly rules: Rules;
  readonly payingParent: PartyFacts | undefined;
  readonly parties: PartySummary;
}

function where(ruleId: RuleId, whose: string, party: PartyFacts | undefined, rules: Rules): { place: Place; district: string | null } | DecisionResult {
  if (!party) return fail('CMS_ADDRESS_UNKNOWN', ruleId, `${whose} is not a party of the case group`);
  const { ukPostcode, nonUkCountry } = party.residence;
  if (ukPostcode) {
    const found = lookupPostcode(ukPostcode, rules);
    if (found.ok) return { place: found.place, district: found.district };
    if (found.problem === 'MALFORMED') return fail('CMS_POSTCODE_MALFORMED', ruleId, `${whose}'s postcode is not a well-formed UK postcode, so the work cannot be routed by postcode`);
    return fail('CMS_POSTCODE_UNKNOWN', ruleId, `${whose}'s postcode district ${found.district ?? '?'} is not in the postcode table (rules file), so the work cannot be routed by postcode`);
  }
  if (nonUkCountry) return { place: { country: 'OUTSIDE_UK', region: null }, district: null };
  return fail('CMS_ADDRESS_UNKNOWN', ruleId, `${whose} has no UK postcode or non-UK country recorded, so the work cannot be routed by address`);
}

const isResult = (x: unknown): x is DecisionResult => typeof x === 'object' && x !== null && 'ok' in x;

/** The case-group rules, one function per rule id. `undefined` means "does not apply; try the next". */
const CASE_GROUP_RULES: Record<RuleId, (ctx: RuleContext) => Match> = {
  'special-case': ({ facts }) => {
    if (!facts.special) return undefined;
    return {
      segment: 'NON_STANDARD',
      region: null,
      team: 'Exceptional Case Handling',
      reason: REASONS.specialCase,
    };
  },
  'sensitive-or-personal-interest': ({ parties }) => {
    const { sensitive, personalInterest: pi } = parties;
    if (!sensitive && !pi) return undefined;
    return {
      segment: 'SPECIAL_CLIENT_RECORDS',
      region: null,
      team: '2012 SCR Team',
      reason: sensitive && pi ? REASONS.sensitiveAndPersonalInterest : sensitive ? REASONS.sensitive : REASONS.personalInterest,
    };
  },
  escalation: ({ facts, rules }) => {
    // Only SR types set to move the case group (movesCaseGroup); the shipped escalations are functionally unique (004).
    if (!anyOf(facts.openServiceRequests, () => true)) return undefined;
    const open = values(facts.openServiceRequests)
      .map((sr) => catalogueEntry(sr, rules))
      .filter((e): e is SrCatalogueEntry => e?.escalation !== undefined && e.movesCaseGroup === true);
    if (open.length === 0) return undefined;
    // Escalations in the rules file's order: complaints before appeals before enforcement.
    const chosen = rules.escalations.find((e) => open.some((o) => o.escalation === e.segment));
    if (!chosen) return undefined;
    const segment = rules.segments[chosen.segment];
    return {
      segment: chosen.segment,
      region: null,
      team: segment?.team ?? null,
      reason: memo(`escalation|${chosen.segment}|${segment?.name ?? ''}|${chosen.procedure}`, () => ({
        ruleId: 'escalation',
        text: `An open ${segment?.name.toLowerCase() ?? chosen.segment} service request routes the case group to the ${segment?.name ?? chosen.segment} segment while it is open.`,
        procedure: chosen.procedure,
      })),
    };
  },
  'non-uk-paying-parent': ({ payingParent, rules }) => {
    if (!payingParent) return undefined;
    const { ukPostcode, nonUkCountry } = payingParent.residence;
    let outside = false;
    if (ukPostcode) {
      const found = lookupPostcode(ukPostcode, rules);
      outside = found.ok && found.place.country === 'OUTSIDE_UK';
    } else outside = nonUkCountry !== null;
    if (!outside) return undefined;
    return {
      segment: 'INTERNATIONAL',
      region: null,
      team: rules.segments['INTERNATIONAL']?.team ?? null,
      reason: REASONS.nonUkPayingParent,
    };
  },
  'lifecycle-new-case': ({ facts, payingParent, rules }) => {
    // Every open case is a new application before its promise to pay, and there is one.
    if (!anyOf(facts.cases, (c) => c.open) || anyOf(facts.cases, (c) => c.open && !(c.newApplication && !c.promiseToPayIssued))) return undefined;
    const located = where('lifecycle-new-case', 'the paying parent', payingParent, rules);
    if (isResult(located)) return located;
    return {
      segment: 'NEW_CASE',
      region: located.place.region,
      team: null,
      reason: memo(`new-case|${located.place.region ?? located.place.country}`, () => ({
        ruleId: 'lifecycle-new-case',
        text: `This is a new application where neither party had an existing case and the promise-to-pay schedule has not been issued yet, so the case group is in the new case segment (${regionName(located.place)}).`,
        procedure: NEW_CASE_PROCEDURE,
      })),
    };
  },
  'paying-parent-postcode': ({ facts, payingParent, rules }) => {
    const located = where('paying-parent-postcode', 'the paying parent', payingParent, rules);
    if (isResult(located)) return located;
    const team = rules.incomeSourceTeams[facts.incomeSource] ?? rules.incomeSourceTeams['UNKNOWN'] ?? null;
    return {
      segment: 'MAINTENANCE',
      region: located.place.region,
      team,
      reason: memo(`postcode|${located.district ?? '?'}|${located.place.region ?? located.place.country}|${team ?? ''}`, () => ({
        ruleId: 'paying-parent-postcode',
        text: `The paying parent's postcode (district ${located.district ?? '?'}) is in ${regionName(located.place)}, and their income source places the case group with the ${team ?? 'general'} maintenance team.`,
        procedure: POSTCODE_PROCEDURE,
      })),
    };
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
 * `asArrived` by the SR's words as they arrived. A decision asks for every open SR, and normalising the
 * words (srKey's regexes) each time was 7% of a replay. `asArrived` is bounded: cleared when full, as
 * upstream could send any number of distinct misspellings.
 */
const catalogues = new WeakMap<Rules, { readonly index: ReadonlyMap<string, SrCatalogueEntry>; readonly asArrived: Map<string, SrCatalogueEntry | null> }>();
const AS_ARRIVED_ENTRIES = 10_000;

function catalogueOf(rules: Rules): { readonly index: ReadonlyMap<string, SrCatalogueEntry>; readonly asArrived: Map<string, SrCatalogueEntry | null> } {
  let catalogue = catalogues.get(rules);
  if (!catalogue) {
    const index = new Map<string, SrCatalogueEntry>();
    for (const e of rules.serviceRequests) {
      index.set(srKey(e.process, e.area, e.subArea), e);
      for (const alias of e.aliases ?? []) index.set(srKey(alias, e.area, e.subArea), e);
    }
    catalogue = { index, asArrived: new Map() };
    catalogues.set(rules, catalogue);
  }
  return catalogue;
}

export function catalogueEntry(sr: { process: string; area: string; subArea: string }, rules: Rules): SrCatalogueEntry | undefined {
  const { index, asArrived } = catalogueOf(rules);
  const words = `${sr.process}\u0000${sr.area}\u0000${sr.subArea}`;
  let entry = asArrived.get(words);
  if (entry === undefined) {
    if (asArrived.size >= AS_ARRIVED_ENTRIES) asArrived.clear();
    entry = index.get(srKey(sr.process, sr.area, sr.subArea)) ?? null;
    asArrived.set(words, entry);
  }
  return entry ?? undefined;
}

/** Requirements and handling instructions follow from the facts whichever rule decided. */
function conditions(segment: string, facts: CaseGroupFacts, summary: PartySummary): { requirements: string[]; handling: string[]; reasons: Reason[] } {
  const requirements: string[] = [];
  const knownAsAny = summary.knownAs;
  const warm = summary.warmHandover;
  // Most case groups have none of these: no arrays or sets made for them.
  if (segment !== 'NON_STANDARD' && !knownAsAny && !warm) return { requirements: [], handling: [], reasons: [] };
  const handling = new Set<string>();
  const reasons: Reason[] = [];
  const sensitive = summary.sensitive || summary.personalInterest;
  if (segment === 'NON_STANDARD') {
    if (sensitive) {
      requirements.push('SECURITY_CLEARED');
      reasons.push(REASONS.specialCaseSensitive);
    }
    handling.add('SELF_SERVICE_PORTAL_UNAVAILABLE');
    handling.add('OFF_SYSTEM_LETTERS');
    reasons.push(REASONS.specialCaseHandling);
  }
  // 003: "The Self Service Portal (SSP) displays the legal first names of the other parties in the case. If any of
  // these first names cannot be divulged to the other party, the other party will need to be blocked": the
  // other adults of each case the person is a party to, not of every case in the case group.
  if (knownAsAny) {
    const knownAs = summary.list.filter((p) => p.knownAsRecorded || p.personalInterest?.suppressCorrespondence === true);
    handling.add('SUPPRESS_CORRESPONDENCE');
    const blocked = new Set<string>();
    for (const p of knownAs) {
      for (const c of values(facts.cases)) {
        if (!c.parties.some((x) => x.partyId === p.partyId)) continue;
        for (const other of c.parties) if (other.partyId !== p.partyId && other.role !== 'QUALIFYING_CHILD') blocked.add(other.partyId);
      }
    }
    for (const id of [...blocked].sort()) handling.add(`BLOCK_SELF_SERVICE_PORTAL:${id}`);
    reasons.push(REASONS.knownAsNotDisclosed);
  }
  if (warm) {
    handling.add('WARM_HANDOVER_TO_SCR_TEAM_LEADER');
    reasons.push(REASONS.cifbaWarmHandover);
  }
  return { requirements, handling: [...handling].sort(), reasons };
}

/**
 * Where a case group belongs and why: the first rule of the hierarchy (in the rules file's order)
 * that applies decides; requirements and handling are added from the facts.
 */
export function decideCaseGroup(facts: CaseGroupFacts, rules: Rules): DecisionResult {
  const ctx: RuleContext = { facts, rules, payingParent: facts.parties[facts.payingParentId], parties: partySummaryOf(facts) };
  for (const { rule } of rules.hierarchy) {
    const match = CASE_GROUP_RULES[rule](ctx);
    if (match === undefined) continue;
    if (isResult(match)) return match;
    const extra = conditions(match.segment, facts, ctx.parties);
    const decision: Decision = {
      segment: match.segment,
      region: match.region,
      team: match.team,
      ownerUserId: null,
      access: 'OWNER',
      requirements: extra.requirements,
      handling: extra.handling,
      rulesVersion: rules.version,
      reasons: [match.reason, ...extra.reasons],
    };
    return ok(decision);
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
