import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultRules } from '@cms-router/rules';
import { simulate, toJsonLines, toTable } from './simulate.ts';

const example = readFileSync(resolve(import.meta.dirname, '../../../examples/work-allocation.jsonl'), 'utf8');

describe('simulate', () => {
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
      'CASE_GROUP->MAINTENANCE/YORKSHIRE_AND_THE_HUMBER/OWNER',
      'SERVICE_REQUEST:SR-11->MAINTENANCE/YORKSHIRE_AND_THE_HUMBER/OWNER',
      'CASE_GROUP->COMPLAINTS/-/OWNER',
      'SERVICE_REQUEST:SR-11->COMPLAINTS/-/OWNER',
      'SERVICE_REQUEST:SR-12->COMPLAINTS/-/OWNER',
      'CASE_GROUP->MAINTENANCE/YORKSHIRE_AND_THE_HUMBER/OWNER',
      'SERVICE_REQUEST:SR-11->MAINTENANCE/YORKSHIRE_AND_THE_HUMBER/OWNER',
      'REJECTED CMS_POSTCODE_UNKNOWN',
      'CASE_GROUP->SPECIAL_CLIENT_RECORDS/-/OWNER',
      'SERVICE_REQUEST:SR-10->SPECIAL_CLIENT_RECORDS/-/OWNER',
      'SERVICE_REQUEST:SR-11->SPECIAL_CLIENT_RECORDS/-/OWNER',
    ]);
  });

  it('prints a table people can read', () => {
    const table = toTable(simulate(example, defaultRules()));
    expect(table.split('\n')[0]).toMatch(/^line\s+case group\s+work item/);
    expect(table).toContain('NEW_CASE -> MAINTENANCE');
  });

  it('reports every bad line with its number before running anything', () => {
    const bad = '{"topic": "cms.case-facts.v1", "value": {}}\n\n{"topic": "nope"}\n{"topic": "cms.sr-lifecycle.v1", "value": {"srId": "S", "caseGroupId": "G", "caseId": "C", "occurredAt": "2026-01-01T00:00:00Z", "actor": {"userId": "U", "role": "CASEWORKER"}, "payload": {"type": "SrCreated", "process": "a", "area": "b", "subArea": "c"}}}';
    expect(() => simulate(bad, defaultRules(), 's.jsonl')).toThrow(/s\.jsonl:1 value: caseGroupId: missing required field[\s\S]*s\.jsonl:3: "topic" must be one of[\s\S]*s\.jsonl:4: topic cms\.sr-lifecycle\.v1 is not an input of the router/);
  });
});
