import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRules } from '@cms-router/rules';
import { jsonLinesOf, SIMULATED_TOPICS, simulate, simulateJsonLinesFile, tableRows, TABLE_HEADER, toJsonLines, toTable, type SimulationLine } from './simulate.ts';

const example = readFileSync(resolve(import.meta.dirname, '../../../examples/work-allocation.jsonl'), 'utf8');

describe('simulate', () => {
  it('streams a JSON-lines file with the same outputs, lines and table as the whole-file run', async () => {
    const path = resolve(import.meta.dirname, '../../../examples/work-allocation.jsonl');
    const streamed: SimulationLine[] = [];
    const count = await simulateJsonLinesFile(path, defaultRules(), (r) => streamed.push(r));
    const whole = simulate(example, defaultRules(), path);
    expect(count).toBe(whole.length);
    expect(streamed.flatMap(jsonLinesOf).join('\n')).toBe(toJsonLines(whole));
    const rowsOf = tableRows();
    expect([TABLE_HEADER, ...streamed.flatMap(rowsOf)].join('\n')).toBe(toTable(whole));
  });

  it('checks the whole streamed file before anything runs, and reports every bad line', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'cms-sim-')), 'bad.jsonl');
    const good = example.split('\n').find((l) => l.includes('ApplicationReceived')) ?? '';
    writeFileSync(path, `${good}\n{"topic":"cms.nope.v1","value":{}}\n\nnot json\n`);
    const emitted: SimulationLine[] = [];
    await expect(simulateJsonLinesFile(path, defaultRules(), (r) => emitted.push(r))).rejects.toThrow(/bad\.jsonl:2: .*cms\.nope\.v1[\s\S]*bad\.jsonl:4: not valid JSON/);
    expect(emitted).toHaveLength(0);
  });

  it('runs the work-allocation example through the router core', () => {
    const lines = toJsonLines(simulate(example, defaultRules(), 'work-allocation.jsonl'))
      .split('\n')
      .map((l) => JSON.parse(l) as { topic: string; value: { subject?: string; srId?: string | null; segment?: string; region?: string | null; access?: string; code?: string } });
    const brief = lines.map((l) => (l.topic === 'cms.assignments.v1' ? `${l.value.subject ?? ''}${l.value.srId ? `:${l.value.srId}` : ''}->${l.value.segment ?? ''}/${l.value.region ?? '-'}/${l.value.access ?? ''}` : `REJECTED ${l.value.code ?? ''}`));
    expect(brief).toEqual([
      'CASE_GROUP->NEW_CASE/WALES/OWNER',
      'CASE_GROUP->MAINTENANCE/WALES/OWNER',
      'SERVICE_REQUEST:SR-10->SPECIALIST/NORTHERN_IRELAND/READ_ONLY',
      'SERVICE_REQUEST:SR-11->MAINTENANCE/WALES/OWNER',
      // The move to Leeds waits for SR-11 (004), then takes effect when it is completed.
      'CASE_GROUP->MAINTENANCE/WALES/OWNER',
      'CASE_GROUP->MAINTENANCE/YORKSHIRE_AND_THE_HUMBER/OWNER',
      // The complaint is specialist work (004): read-only, by the postcode of the person it is raised against.
      'SERVICE_REQUEST:SR-12->COMPLAINTS/YORKSHIRE_AND_THE_HUMBER/READ_ONLY',
      'REJECTED CMS_POSTCODE_UNKNOWN',
      'CASE_GROUP->SPECIAL_CLIENT_RECORDS/-/OWNER',
      'SERVICE_REQUEST:SR-10->SPECIAL_CLIENT_RECORDS/-/OWNER',
    ]);
  });

  it('prints a table people can read', () => {
    const table = toTable(simulate(example, defaultRules()));
    expect(table.split('\n')[0]).toMatch(/^line\s+case group\s+work item/);
    expect(table).toContain('NEW_CASE/WALES -> MAINTENANCE/WALES');
    expect(table).toContain('PAYMENT_DISCREPANCIES / read-only');
    expect(table).toContain('move to MAINTENANCE/YORKSHIRE_AND_THE_HUMBER pending SR SR-11');
  });

  it('reads a YAML scenario (a list of events), numbering outputs by the line each event starts on', () => {
    const yaml = [
      '- topic: cms.case-facts.v1',
      '  value:',
      '    caseGroupId: CG-Y',
      '    caseId: C-Y',
      '    occurredAt: 2026-01-05T09:00:00Z',
      '    payload:',
      '      type: ApplicationReceived',
      '      payingParent: { partyId: P-Y, address: { ukPostcode: EH1 1YZ }, identifierKnown: true }',
      '      receivingParent: { partyId: R-Y, address: { ukPostcode: EH1 1YZ }, identifierKnown: true }',
      '      qualifyingChildren: []',
      '      incomeSource: EMPLOYED',
      '      partiesHaveExistingCase: true',
    ].join('\n');
    const [first] = simulate(yaml, defaultRules(), 'cg.yaml');
    expect(first?.line).toBe(1);
    expect(first?.outputs.map((o) => (o.topic === 'cms.assignments.v1' ? `${o.value.segment}/${o.value.region ?? ''}` : ''))).toEqual(['MAINTENANCE/SCOTLAND']);
    expect(() => simulate('- topic: cms.case-facts.v1\n  value: { caseGroupId: X }\n', defaultRules(), 'bad.yaml')).toThrow(/bad\.yaml:1: value: caseId: missing required field/);
  });

  it('names the valid values of an enum in contract words', () => {
    const line = '{"topic": "cms.party-facts.v1", "value": {"partyId": "P", "occurredAt": "2026-01-01T00:00:00Z", "payload": {"type": "PartyIncomeSourceChanged", "incomeSource": "LOTTERY"}}}';
    expect(() => simulate(line, defaultRules(), 'e.jsonl')).toThrow(/e\.jsonl:1: value: .*"LOTTERY" is not one of EMPLOYED, SELF_EMPLOYED, BENEFITS, NIL_INCOME, OTHER, UNKNOWN/);
  });

  it('reports every bad line with its number before running anything', () => {
    const bad = '{"topic": "cms.case-facts.v1", "value": {}}\n\n{"topic": "nope"}\n{"topic": "cms.sr-lifecycle.v1", "value": {"srId": "S", "caseGroupId": "G", "caseId": "C", "occurredAt": "2026-01-01T00:00:00Z", "actor": {"userId": "U", "role": "CASEWORKER"}, "payload": {"type": "SrCreated", "process": "a", "area": "b", "subArea": "c"}}}';
    expect(() => simulate(bad, defaultRules(), 's.jsonl')).toThrow(/s\.jsonl:1: value: caseGroupId: missing required field; caseId: missing required field[\s\S]*s\.jsonl:3: "topic" must be one of/);
    expect(() => simulate('{"topic": "cms.assignments.v1", "value": {}}', defaultRules(), 'o.jsonl')).toThrow(/o\.jsonl:1/);
  });
});

const read = (name: string): string => readFileSync(resolve(import.meta.dirname, '../../../examples', name), 'utf8');
const caseGroupSegments = (text: string, cg: string): string[] =>
  simulate(text, defaultRules())
    .flatMap((l) => l.outputs)
    .filter((o) => o.topic === 'cms.assignments.v1' && o.value.caseGroupId === cg && o.value.subject === 'CASE_GROUP')
    .map((o) => (o.topic === 'cms.assignments.v1' ? o.value.segment : ''));

describe('simulate runs the procedures through sr-events and the router', () => {
  it('000 Non Standard Case - Refer: approved -> ECH, then loaded back when the CRN is allocated; rejected -> stays', () => {
    const text = read('non-standard-referral.jsonl');
    expect(caseGroupSegments(text, 'CG-NS')).toEqual(['MAINTENANCE', 'NON_STANDARD', 'MAINTENANCE']);
    expect(caseGroupSegments(text, 'CG-NS2')).toEqual(['MAINTENANCE']);
    const out = simulate(text, defaultRules()).flatMap((l) => l.outputs);
    expect(out.filter((o) => o.topic === 'cms.rejections.v1').map((o) => (o.topic === 'cms.rejections.v1' ? o.value.reason : ''))).toEqual(['cannot close SR SR-NS-1: 2 activities open']);
    expect(out.some((o) => o.topic === 'cms.assignments.v1' && o.value.subject === 'APPROVAL_TASK' && o.value.ownerUserId === 'TL-3')).toBe(true);
  });

  it('003 Personal Interest - Register: approved -> SCR with suppression; suicide threat self-authorised -> SCR, cessation -> back', () => {
    const text = read('personal-interest.jsonl');
    expect(caseGroupSegments(text, 'CG-PI')).toEqual(['MAINTENANCE', 'SPECIAL_CLIENT_RECORDS']);
    // Cessation (003 step 26): leaving SCR waits for the case-owning cessation SR itself, which completes at once.
    expect(caseGroupSegments(text, 'CG-TS')).toEqual(['MAINTENANCE', 'SPECIAL_CLIENT_RECORDS', 'SPECIAL_CLIENT_RECORDS', 'MAINTENANCE']);
    const facts = simulate(text, defaultRules())
      .flatMap((l) => l.outputs)
      .filter((o) => o.topic === 'cms.sr-facts.v1')
      .map((o) => o.value as { payload: { type: string; partyId?: string; flagged?: boolean; reason?: string | null; reviewDueAt?: string | null } });
    const flags = facts.filter((f) => f.payload.type === 'PersonalInterestFlagChanged').map((f) => `${f.payload.partyId ?? ''}:${f.payload.flagged ? (f.payload.reason ?? '') : 'removed'}${f.payload.reviewDueAt ? ` review ${f.payload.reviewDueAt.slice(0, 10)}` : ''}`);
    expect(flags).toEqual(['CG-PI-RP:COMMISSION_DEFINED', 'CG-PI-PP:ASSOCIATED_CONTACT', 'CG-PI-QC:ASSOCIATED_CONTACT', 'CG-TS-PP:THREAT_OF_SUICIDE review 2026-05-01', 'CG-TS-PP:removed']);
  });
});

describe('the docs agree with the code', () => {
  it('the scenario example in docs/contract.md runs through sr-events and the router without a rejection', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../../docs/contract.md'), 'utf8');
    const lines = doc.split('\n').filter((l) => l.startsWith('{"topic": "cms.'));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const outputs = simulate(lines.join('\n'), defaultRules(), 'contract.md').flatMap((l) => l.outputs);
    expect(outputs.filter((o) => o.topic === 'cms.rejections.v1')).toEqual([]);
    expect(outputs.some((o) => o.topic === 'cms.sr-facts.v1')).toBe(true);
  });

  it('docs/simulate.md names every topic a scenario may contain', () => {
    const doc = readFileSync(resolve(import.meta.dirname, '../../../docs/simulate.md'), 'utf8');
    for (const t of SIMULATED_TOPICS) expect(doc).toContain(t);
  });
});
