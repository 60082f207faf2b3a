import { describe, expect, it } from 'vitest';
import { codecFor } from '@cms-router/events';
import { generateTraffic } from './index.ts';

describe('traffic generator', () => {
  it('is deterministic for a seed and different across seeds', () => {
    expect(generateTraffic({ seed: 7, caseGroups: 20, changesPerCaseGroup: 6 })).toEqual(generateTraffic({ seed: 7, caseGroups: 20, changesPerCaseGroup: 6 }));
    expect(generateTraffic({ seed: 8, caseGroups: 20, changesPerCaseGroup: 6 })).not.toEqual(generateTraffic({ seed: 7, caseGroups: 20, changesPerCaseGroup: 6 }));
  });

  it('produces valid events of the contract', () => {
    for (const phase of generateTraffic({ seed: 1, caseGroups: 30, changesPerCaseGroup: 8 })) {
      for (const e of phase) expect(() => codecFor(e.topic).toAvroBuffer(e.value as never)).not.toThrow();
    }
  });
});
