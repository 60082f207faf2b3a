import { describe, expect, it } from 'vitest';
import type { Assignment } from '@cms-router/events';
import type { SinkRecord } from '@cms-router/platform';
import { rowsOf } from './project.ts';

const assignment: Assignment = {
  assignmentId: 'A-1', caseGroupId: 'CG-1', occurredAt: '2026-01-05T09:00:00.000Z', subject: 'CASE_GROUP', srId: null, previousSegment: 'NEW_CASE', segment: 'MAINTENANCE', region: 'WALES', team: 'EARNINGS',
  ownerUserId: null, access: 'OWNER', requirements: [], handling: [], rulesVersion: '2026.12.1', reasons: [{ ruleId: 'postcode', text: 'Routed by the paying parent\'s postcode district (Wales).', procedure: '004 Work Allocation' }],
  pendingMove: null, orphan: null,
  basis: { eventId: 'E-1', input: 'PartyAddressChanged', payingParentDistrict: 'CF10', payingParentCountry: null, incomeSource: 'EMPLOYED', nationallySensitive: false, personalInterest: false, knownAsRecorded: false, special: null, cases: [], openSrIds: [], allocatedTo: 'U-7' },
};
const record = (topic: SinkRecord['topic'], value: unknown, key = 'CG-1'): SinkRecord => ({ topic, partition: 2, offset: '41', key, value, eventId: 'ev-1', timestamp: Date.parse('2026-12-05T10:00:00.000Z') });

describe('what each record writes', () => {
  it('a placement is the current work item under its key; a tombstone removes it', () => {
    const [op] = rowsOf(record('cms.placements.v1', assignment));
    expect(op).toMatchObject({ kind: 'placement', workKey: 'CG-1', row: { case_group_id: 'CG-1', segment: 'MAINTENANCE', region: 'WALES', team: 'EARNINGS', allocated_to: 'U-7', placed_at: '2026-12-05T10:00:00.000Z', rules_version: '2026.12.1' } });
    expect(rowsOf(record('cms.placements.v1', null, 'CG-1/SR-2'))).toEqual([{ kind: 'placement', workKey: 'CG-1/SR-2', row: null }]);
  });
  it('an assignment is one history row keyed by its coordinates, with the input that caused it and no postcode', () => {
    const [op] = rowsOf(record('cms.assignments.v1', assignment));
    expect(op).toMatchObject({ kind: 'insert', table: 'assignments', row: { topic_partition: 2, topic_offset: '41', assignment_id: 'A-1', previous_segment: 'NEW_CASE', basis_input: 'PartyAddressChanged' } });
    expect(JSON.stringify(op)).not.toContain('CF10');
  });
  it('an undecodable record is written down as skipped, with its code, so the partition keeps flowing', () => {
    expect(rowsOf({ ...record('cms.rejections.v1', null), failure: 'CMS_DECODE_FAILED' })).toEqual([{ kind: 'insert', table: 'sink_skipped', row: { topic_partition: 2, topic_offset: '41', event_id: 'ev-1', recorded_at: '2026-12-05T10:00:00.000Z', topic: 'cms.rejections.v1', code: 'CMS_DECODE_FAILED' } }]);
  });
  it('a rejection keeps its source coordinates, for a replay', () => {
    const [op] = rowsOf(record('cms.rejections.v1', { rejectionId: 'R-1', service: 'router', occurredAt: '2026-01-05T09:00:00.000Z', source: { topic: 'cms.case-facts.v1', partition: 1, offset: '9', eventId: 'u-1' }, code: 'CMS_WAIT_EXPIRED', reason: 'waited 7 days', caseGroupId: 'CG-1', srId: null }));
    expect(op).toMatchObject({ table: 'rejections', row: { code: 'CMS_WAIT_EXPIRED', source_topic: 'cms.case-facts.v1', source_partition: 1, source_offset: '9' } });
  });
});
