import { describe, expect, it } from 'vitest';
import { age, dashboardFragment, esc, label, movesChart } from './page.ts';

describe('pages', () => {
  it('escape what they show', () => {
    expect(esc('<script>"x" & \'y\'</script>')).toBe('&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;');
  });
  it('say places in words a person reads', () => {
    expect([label('SPECIAL_CLIENT_RECORDS'), label('YORKSHIRE_AND_THE_HUMBER'), label('TEAM_LEADER:T-1'), label('2012 SCR Team'), label(null)]).toEqual(['Special client records', 'Yorkshire and the humber', 'Team leader inbox T-1', '2012 SCR Team', '-']);
  });
  it('chart the last 24 hours of moves, each bar with its figure, older hours left out', () => {
    const now = new Date('2026-12-05T10:30:00.000Z');
    const svg = movesChart([
      { hour: '2026-12-05T10:00:00.000Z', segment: 'MAINTENANCE', arrived: 4, left: 1 },
      { hour: '2026-12-05T10:00:00.000Z', segment: 'NEW_CASE', arrived: 2, left: 0 },
      { hour: '2026-12-04T09:00:00.000Z', segment: 'MAINTENANCE', arrived: 99, left: 99 },
    ], now);
    expect(svg).toContain('<title>10:00 UTC: 6 arrived</title>');
    expect(svg).toContain('<title>10:00 UTC: 1 left</title>');
    expect(svg).toContain('at most 6 in an hour');
    expect(svg).not.toContain('99');
    expect(movesChart([], now)).toBe('');
  });
  it('say ages in words a person reads', () => {
    expect([age(12), age(600), age(5_400), age(3 * 86_400)]).toEqual(['12 s', '10 min', '1.5 h', '3.0 days']);
  });
  it('show a rejection group with its fix and the replay command, ids escaped', () => {
    const html = dashboardFragment({
      user: { sub: 'sm', role: 'SEGMENT_MANAGER', segment: 'MAINTENANCE', team: null },
      backlog: [{ segment: 'MAINTENANCE', region: 'WALES', team: null, subject: 'CASE_GROUP', count: 3, oldestPlacedAt: '2026-12-05T10:00:00.000Z' }],
      moves: [], approvals: [], orphans: [], unallocated: [], updatedAt: '2026-12-05T10:00:00.000Z',
      rejections: [{ code: 'CMS_WAIT_EXPIRED', count: 2, services: ['router'], meaning: 'm', fix: 'f', replay: 'npm run cli -- replay --from cms.rejections.v1 --code CMS_WAIT_EXPIRED', latest: [{ caseGroupId: 'CG-<1>', srId: null, reason: 'r', at: '2026-12-05T10:00:00.000Z' }] }],
    });
    expect(html).toContain('data-testid="count-case-groups">3<');
    expect(html).toContain('replay --from cms.rejections.v1 --code CMS_WAIT_EXPIRED');
    expect(html).toContain('CG-&lt;1&gt;');
    expect(html).not.toContain('CG-<1>');
  });
});
