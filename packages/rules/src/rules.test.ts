import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideApprovalTask, decideCaseGroup, decideServiceRequest, defaultRules, serviceRequestReadsParties, diffRules, loadRules, lookupPostcode, validateRules, createRulesBook, type CaseGroupFacts, type Rules, type RulesFile, type Decision, type DecisionResult } from './index.ts';
import { aCase, caseGroup, party, sr } from './testing.ts';

const rules = defaultRules();
const decided = (result: DecisionResult): Decision => {
  if (!result.ok) throw new Error(`expected a decision, got ${result.error.code}: ${result.error.reason}`);
  return result.decision;
};
const PI = { warmHandoverRequired: false, suppressCorrespondence: false };
/** The shipped rules with the escalation SR types set to move the whole case group (002 "route the case"). */
const moving = loadRules({ ...JSON.parse(JSON.stringify(rules)), serviceRequests: rules.serviceRequests.map((e) => (e.escalation ? { ...e, kind: 'CASE_OWNING', movesCaseGroup: true } : e)) });

describe('the case-group hierarchy (first matching rule wins)', () => {
  it.each<[string, string, CaseGroupFacts, string, string | null]>([
    ['000 Non Standard Case - Refer, step 20: "This will mark this case and any others within the case group as a special case ... route to the exceptional case handling team"', 'special-case', caseGroup({ special: { exceptionalType: 'TYPE_ONE' } }), 'NON_STANDARD', null],
    ['001 ECH Overview: "Once a case is exceptional the whole case-group becomes exceptional" (beats a sensitive party)', 'special-case', caseGroup({ special: { exceptionalType: 'TYPE_TWO' } }, { nationallySensitive: true }), 'NON_STANDARD', null],
    ['004 Work Allocation: "one of the parties involved is classed as nationally sensitive ... assigned to the special client records segment"', 'sensitive-or-personal-interest', caseGroup({}, { nationallySensitive: true }), 'SPECIAL_CLIENT_RECORDS', null],
    ['003 Personal Interest, step 13: "This will move the case to the SCR team" (PI on the receiving parent)', 'sensitive-or-personal-interest', caseGroup({ parties: { PP: party('PP', 'PAYING_PARENT'), RP: party('RP', 'RECEIVING_PARENT', { personalInterest: PI }) } }), 'SPECIAL_CLIENT_RECORDS', null],
    ['004 Work Allocation: sensitivity beats a new application ("Instead of being handled by the standard application teams")', 'sensitive-or-personal-interest', caseGroup({ cases: { 'C-1': aCase('C-1', { newApplication: true, promiseToPayIssued: false }) } }, { nationallySensitive: true }), 'SPECIAL_CLIENT_RECORDS', null],
    ['004 Work Allocation: "the paying parent\'s residential address is not a United Kingdom address"', 'non-uk-paying-parent', caseGroup({}, { residence: { ukPostcode: null, nonUkCountry: 'ES' } }), 'INTERNATIONAL', null],
    ['rules file: the Isle of Man is not in the UK (IM postcode)', 'non-uk-paying-parent', caseGroup({}, { residence: { ukPostcode: 'IM1 1AA', nonUkCountry: null } }), 'INTERNATIONAL', null],
    ['rules file: Jersey (JE) is not in the UK', 'non-uk-paying-parent', caseGroup({}, { residence: { ukPostcode: 'JE2 3AB', nonUkCountry: null } }), 'INTERNATIONAL', null],
    ['004 Work Allocation: "a new application ... where neither party has an existing case ... routed to the new case segment"', 'lifecycle-new-case', caseGroup({ cases: { 'C-1': aCase('C-1', { newApplication: true, promiseToPayIssued: false }) } }), 'NEW_CASE', 'YORKSHIRE_AND_THE_HUMBER'],
    ['004 Work Allocation: "not be routed to the maintenance segment until ... the promise to pay (P2P) schedule has been issued"', 'paying-parent-postcode', caseGroup({ cases: { 'C-1': aCase('C-1', { newApplication: true, promiseToPayIssued: true }) } }), 'MAINTENANCE', 'YORKSHIRE_AND_THE_HUMBER'],
    ['004 Work Allocation: "Factors ... include paying parent postcode" (Welsh postcode)', 'paying-parent-postcode', caseGroup({}, { residence: { ukPostcode: 'CF10 1AA', nonUkCountry: null } }), 'MAINTENANCE', 'WALES'],
    ['004 Work Allocation: paying parent in Northern Ireland', 'paying-parent-postcode', caseGroup({}, { residence: { ukPostcode: 'BT1 5GS', nonUkCountry: null } }), 'MAINTENANCE', 'NORTHERN_IRELAND'],
    ['004 Work Allocation: paying parent in Scotland', 'paying-parent-postcode', caseGroup({}, { residence: { ukPostcode: 'EH1 1YZ', nonUkCountry: null } }), 'MAINTENANCE', 'SCOTLAND'],
  ])('%s', (_citation, ruleId, facts, segment, region) => {
    const decision = decided(decideCaseGroup(facts, rules));
    expect(decision.reasons[0]?.ruleId).toBe(ruleId);
    expect(decision.segment).toBe(segment);
    if (region !== null) expect(decision.region).toBe(region);
    expect(decision.rulesVersion).toBe(rules.version);
    expect(decision.reasons[0]?.procedure).toMatch(/^00[0-4] /);
  });

  it.each<[string, CaseGroupFacts, string]>([
    ['002 CSA: "Process = Escalated enquires, Area = Complaints, Sub Area = Resolution/Review/ICE" routes the case to complaints', caseGroup({ openServiceRequests: { S: sr('S', 'Escalated enquires', 'Complaints', 'ICE') } }), 'COMPLAINTS'],
    ['002 CSA: "Process = Escalated Enquiries, Area = Appeals, Sub Area = Appeal Against Decision" routes to appeals', caseGroup({ openServiceRequests: { S: sr('S', 'Escalated Enquiries', 'Appeals', 'Appeal Against Decision') } }), 'APPEALS'],
    ['002 CSA: "Process = Arrears, Area = Arrears Management, Sub Area = Arrears Review" routes to enforcement', caseGroup({ openServiceRequests: { S: sr('S', 'Arrears', 'Arrears Management', 'Arrears Review') } }), 'ENFORCEMENT'],
    ['002 CSA + rules file order: a complaint outranks an appeal and enforcement', caseGroup({ openServiceRequests: { A: sr('A', 'Arrears', 'Arrears Management', 'Arrears Review'), B: sr('B', 'Escalated Enquiries', 'Complaints', 'Review') } }), 'COMPLAINTS'],
  ])('with movesCaseGroup set on the SR type, %s', (_citation, facts, segment) => {
    const decision = decided(decideCaseGroup(facts, moving));
    expect(decision).toMatchObject({ segment, reasons: [{ ruleId: 'escalation' }] });
    // 004: escalations are worked by specialist caseworkers, so by default the case group stays where it is.
    expect(decided(decideCaseGroup(facts, rules))).toMatchObject({ segment: 'MAINTENANCE', reasons: [{ ruleId: 'paying-parent-postcode' }] });
  });

  it('uses income source for the maintenance team (004: "paying parent postcode, income source and the lifecycle")', () => {
    expect(decided(decideCaseGroup(caseGroup({ incomeSource: 'BENEFITS' }), rules)).team).toBe('BENEFITS');
    expect(decided(decideCaseGroup(caseGroup({ incomeSource: 'SELF_EMPLOYED' }), rules)).team).toBe('SELF_EMPLOYED');
  });

  it('requires security clearance for a sensitive exceptional case (001: "Sensitive cases are handled by security cleared caseworkers")', () => {
    const d = decided(decideCaseGroup(caseGroup({ special: { exceptionalType: 'TYPE_ONE' } }, { nationallySensitive: true }), rules));
    expect(d.requirements).toEqual(['SECURITY_CLEARED']);
    expect(d.reasons.map((r) => r.ruleId)).toContain('special-case-sensitive');
    expect(decided(decideCaseGroup(caseGroup({ special: { exceptionalType: 'TYPE_ONE' } }), rules)).requirements).toEqual([]);
  });

  it('ECH cases cannot use the self-service portal (001: "Clients will not be able to use the Self Service Portal")', () => {
    expect(decided(decideCaseGroup(caseGroup({ special: { exceptionalType: 'TYPE_ONE' } }), rules)).handling).toContain('SELF_SERVICE_PORTAL_UNAVAILABLE');
  });

  it('blocks only the other adults of the cases the person is in, not of another case of the case group (003: "the other parties in the case")', () => {
    const c1 = aCase('C-1', { parties: [{ partyId: 'PP', role: 'PAYING_PARENT' }, { partyId: 'RP1', role: 'RECEIVING_PARENT' }, { partyId: 'QC1', role: 'QUALIFYING_CHILD' }] });
    const c2 = aCase('C-2', { parties: [{ partyId: 'PP', role: 'PAYING_PARENT' }, { partyId: 'RP2', role: 'RECEIVING_PARENT' }, { partyId: 'QC2', role: 'QUALIFYING_CHILD' }] });
    const parties = { PP: party('PP', 'PAYING_PARENT'), RP1: party('RP1', 'RECEIVING_PARENT', { knownAsRecorded: true }), QC1: party('QC1', 'QUALIFYING_CHILD'), RP2: party('RP2', 'RECEIVING_PARENT'), QC2: party('QC2', 'QUALIFYING_CHILD') };
    expect(decided(decideCaseGroup(caseGroup({ cases: { 'C-1': c1, 'C-2': c2 }, parties }), rules)).handling).toEqual(['BLOCK_SELF_SERVICE_PORTAL:PP', 'SUPPRESS_CORRESPONDENCE']);
    // The paying parent's name withheld: the receiving parents of both of their cases are blocked.
    const ppKnownAs = { ...parties, PP: party('PP', 'PAYING_PARENT', { knownAsRecorded: true }), RP1: party('RP1', 'RECEIVING_PARENT') };
    expect(decided(decideCaseGroup(caseGroup({ cases: { 'C-1': c1, 'C-2': c2 }, parties: ppKnownAs }), rules)).handling).toEqual(['BLOCK_SELF_SERVICE_PORTAL:RP1', 'BLOCK_SELF_SERVICE_PORTAL:RP2', 'SUPPRESS_CORRESPONDENCE']);
  });

  it('a known-as name suppresses correspondence and blocks the other adults from the portal (003 step 22 and SSP blocking)', () => {
    const facts = caseGroup({ parties: { PP: party('PP', 'PAYING_PARENT'), RP: party('RP', 'RECEIVING_PARENT', { knownAsRecorded: true }), QC: party('QC', 'QUALIFYING_CHILD') } });
    const d = decided(decideCaseGroup(facts, rules));
    expect(d.segment).toBe('MAINTENANCE'); // a known-as name alone is not a PI flag
    expect(d.handling).toEqual(['BLOCK_SELF_SERVICE_PORTAL:PP', 'SUPPRESS_CORRESPONDENCE']);
  });

  it('asks for a warm handover to the SCR team leader for a CIFBA flag (003 step 6)', () => {
    const facts = caseGroup({}, { personalInterest: { ...PI, warmHandoverRequired: true } });
    expect(decided(decideCaseGroup(facts, rules)).handling).toContain('WARM_HANDOVER_TO_SCR_TEAM_LEADER');
  });

});

describe('routing errors are clear, never a silent default', () => {
  it.each([
    ['malformed', 'NOT A CODE', 'CMS_POSTCODE_MALFORMED', /not a well-formed UK postcode/],
    ['unknown area', 'QQ1 1AA', 'CMS_POSTCODE_UNKNOWN', /district QQ1 is not in the postcode table/],
  ])('%s postcode', (_, postcode, code, reason) => {
    const result = decideCaseGroup(caseGroup({}, { residence: { ukPostcode: postcode, nonUkCountry: null } }), rules);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.error.code).toBe(code);
      expect(result.error.reason).toMatch(reason);
      expect(result.error.reason).not.toContain(postcode); // only the district, never the full postcode
    }
  });

  it('no address at all', () => {
    const result = decideCaseGroup(caseGroup({}, { residence: { ukPostcode: null, nonUkCountry: null } }), rules);
    expect(result).toMatchObject({ ok: false, error: { code: 'CMS_ADDRESS_UNKNOWN' } });
  });
});

describe('the postcode table', () => {
  it.each([
    ['SY1 1AA', 'ENGLAND', 'Shrewsbury'],
    ['SY23 1AA', 'WALES', 'Aberystwyth'],
    ['SY15 6AA', 'WALES', 'Montgomery'],
    ['CH1 2AB', 'ENGLAND', 'Chester'],
    ['CH5 1AA', 'WALES', 'Flintshire'],
    ['CH41 1AA', 'ENGLAND', 'Birkenhead (CH41 must not match CH4)'],
    ['TD1 1AA', 'SCOTLAND', 'Galashiels'],
    ['TD15 1AA', 'ENGLAND', 'Berwick-upon-Tweed'],
    ['TD12 4AA', 'ENGLAND', 'Cornhill-on-Tweed (sector override)'],
    ['TD12 9AA', 'SCOTLAND', 'Coldstream'],
    ['LD1 5AA', 'WALES', 'Llandrindod Wells'],
    ['NP20 1AA', 'WALES', 'Newport'],
    ['LL11 1AA', 'WALES', 'Wrexham'],
    ['DG16 5AA', 'SCOTLAND', 'Gretna'],
    ['CA1 1AA', 'ENGLAND', 'Carlisle'],
    ['BT7 1NN', 'NORTHERN_IRELAND', 'Belfast'],
    ['GY1 1AA', 'OUTSIDE_UK', 'Guernsey'],
    ['ec1a1bb', 'ENGLAND', 'lower case, no space'],
    ['W1A 1AA', 'ENGLAND', 'A9A outward code'],
  ])('%s is in %s (%s)', (postcode, country) => {
    const found = lookupPostcode(postcode, rules);
    expect(found.ok && found.place.country).toBe(country);
  });

  it('answers from each rules file\'s own table when two are loaded (looked-up postcodes are remembered per rules file)', () => {
    const data = JSON.parse(JSON.stringify(rules)) as { postcodes: { areas: Record<string, { country: string; region: string | null }> } };
    data.postcodes.areas['SY'] = { country: 'WALES', region: 'WALES' };
    const moved = loadRules(data);
    const before = lookupPostcode('SY1 1AA', rules);
    expect(before.ok && before.place.country).toBe('ENGLAND');
    const after = lookupPostcode('SY1 1AA', moved);
    expect(after.ok && after.place.country).toBe('WALES');
    expect(lookupPostcode('SY1 1AA', rules)).toEqual(before);
  });

  it('has every UK postcode area (121) plus the Crown Dependencies', () => {
    const areas = Object.entries(rules.postcodes.areas);
    expect(areas.filter(([, p]) => p.country !== 'OUTSIDE_UK')).toHaveLength(121);
    expect(areas.filter(([, p]) => p.country === 'OUTSIDE_UK').map(([a]) => a).sort()).toEqual(['GY', 'IM', 'JE']);
  });
});

describe('service requests', () => {
  const owning = decided(decideCaseGroup(caseGroup({}, { residence: { ukPostcode: 'BT1 5GS', nonUkCountry: null } }), rules));
  const facts = caseGroup({}, { residence: { ukPostcode: 'BT1 5GS', nonUkCountry: null } });

  it('004: a functionally unique SR routes by the postcode of the person it is raised against (NI case group, Welsh receiving parent)', () => {
    const d = decided(decideServiceRequest(sr('S', 'Payments', 'Discrepancy Log', 'Investigate', { raisedAgainstPartyId: 'RP' }), facts, owning, rules));
    expect(owning.region).toBe('NORTHERN_IRELAND');
    expect(d).toMatchObject({ segment: 'SPECIALIST', region: 'WALES', team: 'PAYMENT_DISCREPANCIES', access: 'READ_ONLY' });
    expect(d.reasons[0]?.ruleId).toBe('functionally-unique-sr');
  });

  it('004: "Case owning SRs will always be completed by caseworkers in the case owning segment"', () => {
    const d = decided(decideServiceRequest(sr('S', 'Change of Circumstances', 'Address', 'Verify'), facts, owning, rules));
    expect(d).toMatchObject({ segment: 'MAINTENANCE', region: 'NORTHERN_IRELAND', access: 'OWNER' });
  });

  it('a restricted segment keeps its functionally unique work (000: "no other cases are held in the non standard segment")', () => {
    const special = decided(decideCaseGroup({ ...facts, special: { exceptionalType: 'TYPE_ONE' } }, rules));
    const d = decided(decideServiceRequest(sr('S', 'Payments', 'Discrepancy Log', 'Investigate', { raisedAgainstPartyId: 'RP' }), facts, special, rules));
    expect(d.segment).toBe('NON_STANDARD');
    expect(d.reasons[0]?.ruleId).toBe('restricted-segment-holds-all-work');
  });

  it('only a functionally unique SR outside a restricted segment reads the parties (a caller may keep the others\' decisions while only people change)', () => {
    const special = decided(decideCaseGroup({ ...facts, special: { exceptionalType: 'TYPE_ONE' } }, rules));
    const unique = sr('S', 'Payments', 'Discrepancy Log', 'Investigate', { raisedAgainstPartyId: 'RP' });
    expect(serviceRequestReadsParties(unique, owning, rules)).toBe(true);
    expect(serviceRequestReadsParties(unique, special, rules)).toBe(false);
    expect(serviceRequestReadsParties(sr('S', 'Change of Circumstances', 'Address', 'Verify'), owning, rules)).toBe(false);
    // The answer it gives for each does not change when the parties do.
    const moved = caseGroup({}, { residence: { ukPostcode: 'CF10 1AA', nonUkCountry: null } });
    expect(decideServiceRequest(sr('S', 'Change of Circumstances', 'Address', 'Verify'), moved, owning, rules)).toEqual(decideServiceRequest(sr('S', 'Change of Circumstances', 'Address', 'Verify'), facts, owning, rules));
    expect(decideServiceRequest(unique, moved, special, rules)).toEqual(decideServiceRequest(unique, facts, special, rules));
  });

  it('004: a functionally unique SR raised against no one in particular routes by the paying parent\'s postcode', () => {
    const d = decided(decideServiceRequest(sr('S', 'Payments', 'Discrepancy Log', 'Investigate'), facts, owning, rules));
    expect(d).toMatchObject({ segment: 'SPECIALIST', region: 'NORTHERN_IRELAND', access: 'READ_ONLY' });
    expect(d.reasons[0]?.text).toMatch(/the paying parent \(PP\), as it is not raised against anyone in particular/);
  });

  it.each([
    ['a complaint', sr('S', 'Escalated enquires', 'Complaints', 'ICE', { raisedAgainstPartyId: 'RP' }), 'COMPLAINTS', 'CMS complaints'],
    ['an appeal', sr('S', 'Escalated Enquiries', 'Appeals', 'Appeal Against Decision', { raisedAgainstPartyId: 'RP' }), 'APPEALS', 'CMS appeals'],
    ['an arrears review', sr('S', 'Arrears', 'Arrears Management', 'Arrears Review', { raisedAgainstPartyId: 'RP' }), 'ENFORCEMENT', 'CMS enforcement'],
  ])('004 + 002: %s is worked by its specialist caseworkers with read-only access, routed by the postcode of the person it is raised against', (_, request, segment, team) => {
    const d = decided(decideServiceRequest(request, facts, owning, rules));
    expect(d).toMatchObject({ segment, team, region: 'WALES', access: 'READ_ONLY', reasons: [{ ruleId: 'escalation-sr' }] });
    expect(d.reasons[0]?.procedure).toMatch(/^004 Work Allocation.*002 CSA/);
  });

  it.each([
    ['an unknown SR type', sr('S', 'Special case management', 'Non Standard', 'Something'), 'CMS_UNKNOWN_SR_TYPE'],
    ['a functionally unique SR against a stranger', sr('S', 'Payments', 'Discrepancy Log', 'Investigate', { raisedAgainstPartyId: 'X' }), 'CMS_SR_PARTY_MISSING'],
  ])('rejects %s', (_, request, code) => {
    expect(decideServiceRequest(request, facts, owning, rules)).toMatchObject({ ok: false, error: { code } });
  });

  it('matches the catalogue ignoring case and spacing', () => {
    expect(decideServiceRequest(sr('S', ' special CASE management', 'non standard', 'referral '), facts, owning, rules).ok).toBe(true);
  });

  it('003 step 9: an SR pending approval is a task in the team leader approval inbox', () => {
    const request = sr('S', 'Special case management', 'Personal Interest', 'Referral', { pendingApproval: true, ownerTeamId: 'T-9' });
    expect(decided(decideApprovalTask(request, 'TL-9', owning, rules))).toMatchObject({ team: 'TEAM_LEADER:T-9', ownerUserId: 'TL-9', segment: 'MAINTENANCE' });
    expect(decided(decideApprovalTask(request, null, owning, rules)).reasons[0]?.text).toMatch(/no team leader is recorded for team T-9/);
    expect(decideApprovalTask({ ...request, ownerTeamId: null }, null, owning, rules)).toMatchObject({ ok: false, error: { code: 'CMS_APPROVAL_TEAM_UNKNOWN' } });
  });
});

describe('the rules file', () => {
  it('makes the hierarchy order data: moving a rule changes the outcome', () => {
    const data = JSON.parse(JSON.stringify(rules)) as { hierarchy: { rule: string }[] };
    data.hierarchy = [...data.hierarchy.slice(1), ...data.hierarchy.slice(0, 1)]; // special-case last
    const reordered = loadRules(data);
    const facts = caseGroup({ special: { exceptionalType: 'TYPE_ONE' } }, { nationallySensitive: true });
    expect(decided(decideCaseGroup(facts, rules)).segment).toBe('NON_STANDARD');
    expect(decided(decideCaseGroup(facts, reordered)).segment).toBe('SPECIAL_CLIENT_RECORDS');
  });

  it('reports every problem of a broken file', () => {
    const data = JSON.parse(JSON.stringify(rules)) as Record<string, unknown> & { hierarchy: unknown[]; escalations: { segment: string; procedure: string }[] };
    data.hierarchy = data.hierarchy.slice(1);
    data.escalations = [{ segment: 'NOWHERE', procedure: 'x' }];
    expect(() => loadRules(data, 'bad.json')).toThrow(/bad\.json: hierarchy: rule special-case is missing; escalations\[\d+\]: unknown segment NOWHERE/);
    expect(() => loadRules({ version: 1 })).toThrow(/CMS_RULES_INVALID|effectiveFrom/);
    const fu = JSON.parse(JSON.stringify(rules)) as { serviceRequests: Record<string, unknown>[] };
    fu.serviceRequests = fu.serviceRequests.map((e) => (e['escalation'] === 'APPEALS' ? { ...e, movesCaseGroup: true } : e));
    expect(() => loadRules(fu, 'fu.json')).toThrow(/a functionally unique SR never moves the case group/);
  });
});

describe('decisions share what does not change, frozen', () => {
  it('a caller cannot change the reasons of another decision', () => {
    const facts = caseGroup({}, { nationallySensitive: true });
    const a = decided(decideCaseGroup(facts, rules));
    const b = decided(decideCaseGroup(facts, rules));
    expect(a.reasons[0]).toBe(b.reasons[0]);
    expect(() => {
      (a.reasons[0] as { text: string }).text = 'changed';
    }).toThrow(TypeError);
    expect(b.reasons[0]?.text).toMatch(/^In this case group a party is nationally sensitive/);
  });

  it('case groups placed alike share one frozen decision; a caller cannot change it for the others', () => {
    const leeds = (id: string, over: Partial<CaseGroupFacts> = {}): CaseGroupFacts => caseGroup({ caseGroupId: id, ...over }, { residence: { ukPostcode: id === 'CG-A' ? 'LS1 4AP' : 'LS1 9ZZ', nonUkCountry: null } });
    const a = decideCaseGroup(leeds('CG-A'), rules);
    const b = decideCaseGroup(leeds('CG-B'), rules);
    expect(a).toBe(b);
    const d = decided(a);
    expect(() => (d.handling as string[]).push('SUPPRESS_CORRESPONDENCE')).toThrow(TypeError);
    expect(() => {
      (d as { segment: string }).segment = 'SPECIAL_CLIENT_RECORDS';
    }).toThrow(TypeError);
    expect(decided(b)).toMatchObject({ segment: 'MAINTENANCE', handling: [] });
    // The same place with other conditions, or another team, is another decision.
    const special = decided(decideCaseGroup(leeds('CG-C', { special: { exceptionalType: 'TYPE_ONE' } }), rules));
    expect(special.handling).toEqual(['OFF_SYSTEM_LETTERS', 'SELF_SERVICE_PORTAL_UNAVAILABLE']);
    expect(decided(decideCaseGroup(leeds('CG-D', { incomeSource: 'BENEFITS' }), rules)).team).toBe('BENEFITS');
    expect(decided(decideCaseGroup(leeds('CG-E'), rules)).team).toBe(d.team);
  });

  it('a decision that blocks parties from the portal is the case group\'s own (the blocks name its parties)', () => {
    const withKnownAs = (rp: string): CaseGroupFacts =>
      caseGroup({ parties: { PP: party('PP', 'PAYING_PARENT', { knownAsRecorded: true }), [rp]: party(rp, 'RECEIVING_PARENT', { knownAsRecorded: true }) }, cases: { 'C-1': aCase('C-1', { parties: [{ partyId: 'PP', role: 'PAYING_PARENT' }, { partyId: rp, role: 'RECEIVING_PARENT' }] }) } });
    const one = decided(decideCaseGroup(withKnownAs('RP1'), rules));
    const two = decided(decideCaseGroup(withKnownAs('RP2'), rules));
    expect(one.handling).toEqual(['BLOCK_SELF_SERVICE_PORTAL:PP', 'BLOCK_SELF_SERVICE_PORTAL:RP1', 'SUPPRESS_CORRESPONDENCE']);
    expect(two.handling).toEqual(['BLOCK_SELF_SERVICE_PORTAL:PP', 'BLOCK_SELF_SERVICE_PORTAL:RP2', 'SUPPRESS_CORRESPONDENCE']);
  });
});

describe('properties', () => {
  const postcodes = fc.constantFrom('LS1 4AP', 'CF10 1AA', 'BT1 5GS', 'EH1 1YZ', 'SY23 1AA', 'IM1 1AA', 'TD15 1AA');
  const facts = fc.record({
    special: fc.boolean(),
    sensitive: fc.boolean(),
    pi: fc.boolean(),
    knownAs: fc.boolean(),
    postcode: postcodes,
    rpPostcode: postcodes,
    newApplication: fc.boolean(),
    p2p: fc.boolean(),
    escalation: fc.constantFrom(null, 'Complaints', 'Appeals'),
    income: fc.constantFrom('EMPLOYED', 'BENEFITS', 'UNKNOWN'),
  });
  type Generated = typeof facts extends fc.Arbitrary<infer T> ? T : never;
  const build = (f: Generated): CaseGroupFacts =>
    caseGroup(
      {
        special: f.special ? { exceptionalType: 'TYPE_ONE' } : null,
        incomeSource: f.income,
        cases: { 'C-1': aCase('C-1', { newApplication: f.newApplication, promiseToPayIssued: f.p2p }) },
        parties: {
          PP: party('PP', 'PAYING_PARENT', { nationallySensitive: f.sensitive, residence: { ukPostcode: f.postcode, nonUkCountry: null } }),
          RP: party('RP', 'RECEIVING_PARENT', { personalInterest: f.pi ? PI : null, knownAsRecorded: f.knownAs, residence: { ukPostcode: f.rpPostcode, nonUkCountry: null } }),
        },
        openServiceRequests: f.escalation ? { E: sr('E', 'Escalated Enquiries', f.escalation, f.escalation === 'Appeals' ? 'Appeal Against Decision' : 'ICE') } : {},
      },
      {},
    );

  it('is deterministic: the same facts give the same decision', () => {
    fc.assert(
      fc.property(facts, (f) => {
        expect(decideCaseGroup(build(f), rules)).toEqual(decideCaseGroup(build(f), rules));
      }),
    );
  });

  it('does not depend on the order facts were recorded in', () => {
    fc.assert(
      fc.property(facts, (f) => {
        const a = build(f);
        const reversed: CaseGroupFacts = { ...a, parties: Object.fromEntries(Object.entries(a.parties).reverse()), openServiceRequests: Object.fromEntries(Object.entries(a.openServiceRequests).reverse()) };
        expect(decideCaseGroup(reversed, rules)).toEqual(decideCaseGroup(a, rules));
      }),
    );
  });

  it('adding an unrelated fact never changes the decision (a closed case, an SR of no routing consequence)', () => {
    fc.assert(
      fc.property(facts, fc.string({ minLength: 1, maxLength: 8 }), (f, id) => {
        const a = build(f);
        const withUnrelated: CaseGroupFacts = {
          ...a,
          cases: { ...a.cases, [`closed-${id}`]: aCase(`closed-${id}`, { open: false, newApplication: false, promiseToPayIssued: false }) },
          openServiceRequests: { ...a.openServiceRequests, [`sr-${id}`]: sr(`sr-${id}`, 'Change of Circumstances', 'Address', 'Verify') },
        };
        expect(decideCaseGroup(withUnrelated, rules)).toEqual(decideCaseGroup(a, rules));
      }),
    );
  });

  it('a special case group is always in the non standard segment, whatever else is true', () => {
    fc.assert(
      fc.property(facts, (f) => {
        const result = decideCaseGroup(build({ ...f, special: true }), rules);
        expect(result.ok && result.decision.segment).toBe('NON_STANDARD');
      }),
    );
  });
});

describe('rules validate and diff', () => {
  const copy = (): RulesFile => JSON.parse(JSON.stringify(defaultRules())) as RulesFile;

  it('lists every problem of a file, each with where it is', () => {
    const shape = copy();
    shape.version = '';
    shape.effectiveFrom = 'soon';
    shape.segments['lower'] = { name: 'x', team: null, restricted: false };
    const r = validateRules(shape);
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/^version: /m);
    expect(problems.join('\n')).toMatch(/^effectiveFrom: /m);
    expect(problems.join('\n')).toMatch(/^segments\.lower: /m);
    const refs = copy();
    refs.escalations.push({ segment: 'NOWHERE', procedure: 'x' });
    refs.postcodes.districts['QQ1'] = { country: 'ENGLAND', region: 'LONDON' };
    refs.serviceRequests.push({ ...(refs.serviceRequests[0] as RulesFile['serviceRequests'][number]) });
    const r2 = validateRules(refs);
    expect(r2.ok ? [] : r2.problems).toEqual([
      `escalations[${refs.escalations.length - 1}]: unknown segment NOWHERE`,
      expect.stringMatching(new RegExp(`^serviceRequests\\[${refs.serviceRequests.length - 1}\\]: .* is listed twice$`)),
      'postcodes.districts.QQ1: area QQ is not in areas',
    ]);
    expect(validateRules(copy()).ok).toBe(true);
  });

  it('says what changed, in words, section by section', () => {
    const b = copy();
    b.version = '2027.1.0';
    b.effectiveFrom = '2027-01-01';
    b.postcodes.districts['LS1'] = { country: 'ENGLAND', region: 'NORTH_WEST' };
    delete b.postcodes.areas['IM'];
    b.postcodes.areas['NE'] = { country: 'ENGLAND', region: 'YORKSHIRE_AND_THE_HUMBER' };
    b.incomeSourceTeams['BENEFITS'] = 'GENERAL';
    const removed = b.serviceRequests.pop() as RulesFile['serviceRequests'][number];
    (b.serviceRequests[0] as RulesFile['serviceRequests'][number]).team = 'ANOTHER_TEAM';
    const [h0, h1, ...rest] = b.hierarchy;
    b.hierarchy = [h1, h0, ...rest].filter((h) => h !== undefined);
    const changes = diffRules(defaultRules(), loadRules(b, 'b'));
    const texts = changes.map((c) => `${c.section}: ${c.text}`);
    expect(texts).toEqual(expect.arrayContaining([
      `version: version ${defaultRules().version} -> 2027.1.0`,
      `version: effective from ${defaultRules().effectiveFrom} -> 2027-01-01`,
      expect.stringMatching(/^hierarchy: order special-case > sensitive-or-personal-interest > .* -> sensitive-or-personal-interest > special-case > /),
      `incomeSourceTeams: income source BENEFITS: team ${defaultRules().incomeSourceTeams['BENEFITS']} -> team GENERAL`,
      expect.stringMatching(new RegExp(`^serviceRequests: SR type ${removed.process} / ${removed.area} / ${removed.subArea} removed \\(was `)),
      expect.stringMatching(/^serviceRequests: SR type .*: team .* -> "ANOTHER_TEAM"$/),
      'postcodes: postcode district LS1 added: NORTH_WEST (ENGLAND)',
      expect.stringMatching(/^postcodes: postcode area IM removed \(was OUTSIDE_UK\)$/),
      'postcodes: postcode area NE: NORTH_EAST (ENGLAND) -> YORKSHIRE_AND_THE_HUMBER (ENGLAND)',
    ]));
    expect(changes).toHaveLength(9);
    expect(diffRules(defaultRules(), defaultRules())).toEqual([]);
  });
});

describe('the rules book: the version in effect on a fact\'s business date', () => {
  const version = (id: string, effectiveFrom: string, effectiveTo?: string): Rules => loadRules({ ...(JSON.parse(JSON.stringify(defaultRules())) as object), version: id, effectiveFrom, ...(effectiveTo ? { effectiveTo } : {}) }, id);
  const base = version('2026.12.1', '2026-12-01');
  const next = version('2027.1.0', '2027-01-01');

  it('decides facts on and after a version\'s effectiveFrom by it, and earlier facts by the one before', () => {
    const book = createRulesBook([next, base]);
    expect(book.versions.map((r) => r.version)).toEqual(['2026.12.1', '2027.1.0']);
    expect(book.at('2026-12-31T23:59:59.999Z').version).toBe('2026.12.1');
    expect(book.at('2027-01-01T00:00:00.000Z').version).toBe('2027.1.0');
    expect(book.at('2031-06-01T10:00:00.000Z').version).toBe('2027.1.0');
    // History older than every version: the earliest decides it.
    expect(book.at('2020-01-05T09:00:00.000Z').version).toBe('2026.12.1');
  });

  it('ends a version after its effectiveTo (inclusive), falls back to the last one started in a gap, and breaks ties by id', () => {
    const winter = version('2027.1.1-winter', '2027-01-10', '2027-01-20');
    const book = createRulesBook([base, next, winter]);
    expect(book.at('2027-01-09T12:00:00Z').version).toBe('2027.1.0');
    expect(book.at('2027-01-20T23:00:00Z').version).toBe('2027.1.1-winter');
    expect(book.at('2027-01-21T00:00:00Z').version).toBe('2027.1.0');
    const only = createRulesBook([winter]);
    expect(only.at('2027-02-01T00:00:00Z').version).toBe('2027.1.1-winter');
    const tie = createRulesBook([version('b', '2027-03-01'), version('a', '2027-03-01')]);
    expect(tie.at('2027-03-02T00:00:00Z').version).toBe('b');
    expect(createRulesBook([version('a', '2027-03-01'), version('b', '2027-03-01')]).at('2027-03-02T00:00:00Z').version).toBe('b');
  });

  it('adds, replaces and withdraws versions, never the last one', () => {
    const book = createRulesBook([base]).with(next);
    expect(book.at('2027-02-01T00:00:00Z').version).toBe('2027.1.0');
    const replaced = book.with(version('2027.1.0', '2027-03-01'));
    expect(replaced.versions).toHaveLength(2);
    expect(replaced.at('2027-02-01T00:00:00Z').version).toBe('2026.12.1');
    expect(book.without('2027.1.0').at('2027-02-01T00:00:00Z').version).toBe('2026.12.1');
    expect(createRulesBook([base]).without('2026.12.1').versions).toHaveLength(1);
  });

  it('refuses an effectiveTo before effectiveFrom', () => {
    expect(() => version('x', '2027-02-01', '2027-01-01')).toThrow(/effectiveTo: 2027-01-01 is before effectiveFrom 2027-02-01/);
  });
});
