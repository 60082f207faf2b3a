import type { Assignment, Reason, Rejection } from '@cms-router/events';
import { createMemoryRouter, type InboxInput, type MemoryOutput, type MemoryRouter, type MemoryRouterOptions } from '@cms-router/routing';
import type { Rules } from '@cms-router/rules';
import { createMemorySrEvents, createMemorySystem, type MemorySystem, type SystemInput, type SystemOutput } from './system.ts';

/** Where a work item sits: what a move is measured by. */
export interface Where {
  readonly segment: string;
  readonly region: string | null;
  readonly team: string | null;
}

/** One work item that the candidate rules place somewhere else (or not at all). */
export interface WhatIfMove {
  readonly caseGroupId: string;
  readonly subject: Assignment['subject'];
  readonly srId: string | null;
  /** Under the active rules; null when they place it nowhere (the candidate places what they rejected). */
  readonly from: Where | null;
  readonly to: Where | null;
  readonly reasonsFrom: readonly Reason[];
  readonly reasonsTo: readonly Reason[];
}

/** Moves of one kind of work item from one place to another. */
export interface WhatIfFlow {
  readonly subject: Assignment['subject'];
  readonly from: string;
  readonly to: string;
  readonly count: number;
}

export interface WhatIfReport {
  readonly activeVersion: string;
  readonly candidateVersion: string;
  /** Records replayed: upstream events (a scenario) or inbox records (the kept inbox). */
  readonly events: number;
  /** Work items placed under either rules. */
  readonly workItems: number;
  readonly moves: readonly WhatIfMove[];
  readonly flows: readonly WhatIfFlow[];
  /** Per segment: work items that would leave it and that would arrive. */
  readonly bySegment: readonly { readonly segment: string; readonly out: number; readonly in: number }[];
  /** Rejections per code under each rules; `added` counts the ones only the candidate makes. */
  readonly rejections: readonly { readonly code: string; readonly active: number; readonly candidate: number; readonly added: number }[];
}

export interface WhatIf {
  /** One upstream event (a scenario file), through sr-events' and the router's cores, under both rules. */
  upstream(input: SystemInput, eventId: string, source: { topic: string; partition: number; offset: string }): void;
  /**
   * One record of the router's kept inbox, through the route core of its partition, under both rules; or,
   * with `side`, under that side's rules only (an inbox `front` spooled, whose records are not events).
   */
  inbox(partition: number, input: InboxInput, eventId: string, source: { topic: string; partition: number; offset: string }, arrivedAt: string, side?: 0 | 1): void;
  /**
   * The stages before the route stage, for a scenario routed later a partition at a time: each upstream
   * event goes through one sr-events core (it does not depend on the routing rules) and each side's
   * ingest and person registry (the registry reads the postcode table), and every inbox record a side's
   * route core would run goes to `spool` instead. Only the registry's and sr-events' state are held.
   */
  front(spool: (side: 0 | 1, input: InboxInput, eventId: string, source: { topic: string; partition: number; offset: string }, arrivedAt: string) => void): (input: SystemInput, eventId: string, source: { topic: string; partition: number; offset: string }) => void;
  /**
   * The inbox partition has been read to its end: its moves are taken now and its two cores dropped. A
   * case group lives in one partition, so reading the inbox a partition at a time and settling each holds
   * one partition's state at a time, not the whole inbox's.
   */
  settle(partition: number): void;
  report(): WhatIfReport;
}

const NOWHERE = '(not placed)';
export const whereText = (w: Where | null): string => (w ? [w.segment, w.region, w.team].filter(Boolean).join(' / ') : NOWHERE);
const rejectionKey = (r: Rejection): string => `${r.source.eventId ?? `${r.source.topic}/${r.source.partition}/${r.source.offset}`}\u0000${r.code}\u0000${r.caseGroupId ?? ''}\u0000${r.srId ?? ''}`;
const same = (x: Where | null, y: Where | null): boolean => x?.segment === y?.segment && x?.region === y?.region && x?.team === y?.team;

/** One work item where it sits at the end of the history. */
interface Current {
  readonly caseGroupId: string;
  readonly subject: Assignment['subject'];
  readonly srId: string | null;
  readonly where: Where;
  readonly reasons: readonly Reason[];
}

/** The work in progress a route core holds: each case group's placement and its open SRs' (closed work does not move). */
function currentWork(routers: readonly MemoryRouter[]): Map<string, Current> {
  const out = new Map<string, Current>();
  for (const router of routers) {
    for (const caseGroupId of router.caseGroups()) {
      const s = router.state(caseGroupId);
      if (!s) continue;
      const placements = [...(s.placement ? [s.placement] : []), ...Object.values(s.srPlacements)];
      for (const p of placements) {
        const d = p.decision;
        // Keyed by SR, not by subject: an SR that is an approval task under one rules and not the other is one work item.
        out.set(`${caseGroupId}\u0000${p.srId ?? ''}`, { caseGroupId, subject: p.subject, srId: p.srId, where: { segment: d.segment, region: d.region, team: d.team }, reasons: d.reasons });
      }
    }
  }
  return out;
}

/** The work items the two sides place differently, by key, and how many work items either places. */
function movesOf(active: readonly MemoryRouter[], candidate: readonly MemoryRouter[]): { moves: Map<string, WhatIfMove>; items: number } {
  const now = currentWork(active);
  const then = currentWork(candidate);
  const keys = new Set([...now.keys(), ...then.keys()]);
  const moves = new Map<string, WhatIfMove>();
  for (const key of keys) {
    const x = now.get(key);
    const y = then.get(key);
    const from = x?.where ?? null;
    const to = y?.where ?? null;
    if (same(from, to)) continue;
    const any = (y ?? x) as Current;
    moves.set(key, { caseGroupId: any.caseGroupId, subject: any.subject, srId: any.srId, from, to, reasonsFrom: x?.reasons ?? [], reasonsTo: y?.reasons ?? [] });
  }
  return { moves, items: keys.size };
}

/** What one side (one rules version) ends with besides its cores' state: its rejections. */
interface Side {
  readonly rejections: Map<string, number>;
  readonly rejected: Set<string>;
}

/**
 * What-if: the same history through the pure cores twice, under the active rules and a candidate, in
 * process, writing nothing. A work item moves when it is in progress at the end of the history (a case
 * group, an open SR, an approval task) and the candidate has it somewhere else. Closed work is not
 * compared: it has nowhere to move to. Memory is the cores' state (no history kept) and the rejections.
 */
export function createWhatIf(active: Rules, candidate: Rules, opts: { /** The active side decides each fact by the version in effect on its date (the router's rules book), not by `active` alone. */ readonly activeAt?: (occurredAt: string) => Rules; readonly activeLabel?: string } = {}): WhatIf {
  const sides: [Side, Side] = [0, 1].map(() => ({ rejections: new Map(), rejected: new Set() })) as [Side, Side];
  const rules: [Rules, Rules] = [active, candidate];
  let systems: [MemorySystem, MemorySystem] | undefined;
  const routers = new Map<number, [MemoryRouter, MemoryRouter]>();
  /** Moves of settled partitions, by work item key, and how many work items they placed. */
  const settled = new Map<string, WhatIfMove>();
  let settledItems = 0;
  let events = 0;
  /** A side's cores: no history (most of a case group's memory; the report reads current placements), no assignment records. */
  const coreOptions = (side: 0 | 1): MemoryRouterOptions => ({ historyLimit: 0, placementsOnly: true, ...(side === 0 && opts.activeAt ? { rulesAt: opts.activeAt } : {}) });

  const record = (side: Side, outputs: readonly (SystemOutput | MemoryOutput)[]): void => {
    for (const o of outputs) {
      if (o.topic !== 'cms.rejections.v1') continue;
      side.rejections.set(o.value.code, (side.rejections.get(o.value.code) ?? 0) + 1);
      side.rejected.add(rejectionKey(o.value));
    }
  };

  return {
    upstream(input, eventId, source) {
      events += 1;
      systems ??= [createMemorySystem(rules[0], coreOptions(0)), createMemorySystem(rules[1], coreOptions(1))];
      record(sides[0], systems[0].process(input, eventId, source));
      record(sides[1], systems[1].process(input, eventId, source));
    },
    inbox(partition, input, eventId, source, arrivedAt, side) {
      let pair = routers.get(partition);
      if (!pair) {
        pair = [createMemoryRouter(rules[0], coreOptions(0)), createMemoryRouter(rules[1], coreOptions(1))];
        routers.set(partition, pair);
      }
      if (side !== undefined) {
        record(sides[side], pair[side].inbox(input, eventId, source, arrivedAt));
        return;
      }
      events += 1;
      record(sides[0], pair[0].inbox(input, eventId, source, arrivedAt));
      record(sides[1], pair[1].inbox(input, eventId, source, arrivedAt));
    },
    front(spool) {
      const srEvents = createMemorySrEvents();
      const fronts = ([0, 1] as const).map((i) => createMemoryRouter(rules[i], { ...coreOptions(i), routeInbox: false, onInbox: (...r) => { spool(i, ...r); } }));
      return (input, eventId, source) => {
        events += 1;
        const shared = srEvents.process(input, eventId, source, (x, id) => {
          fronts.forEach((f, i) => { record(sides[i as 0 | 1], f.process(x, id, source)); });
          return [];
        });
        record(sides[0], shared);
        record(sides[1], shared);
      };
    },
    settle(partition) {
      const pair = routers.get(partition);
      if (!pair) return;
      const { moves, items } = movesOf([pair[0]], [pair[1]]);
      for (const [key, move] of moves) settled.set(key, move);
      settledItems += items;
      routers.delete(partition);
    },
    report() {
      const [a, b] = sides;
      const cores = (i: 0 | 1): MemoryRouter[] => [...(systems ? [systems[i].router] : []), ...[...routers.values()].map((pair) => pair[i])];
      const live = movesOf(cores(0), cores(1));
      const all = new Map([...settled, ...live.moves]);
      const moves = [...all.keys()].sort().map((key) => all.get(key) as WhatIfMove);
      const workItems = settledItems + live.items;
      const flows = new Map<string, { subject: Assignment['subject']; from: string; to: string; count: number }>();
      const segments = new Map<string, { segment: string; out: number; in: number }>();
      const segment = (name: string): { segment: string; out: number; in: number } => {
        let s = segments.get(name);
        if (!s) segments.set(name, (s = { segment: name, out: 0, in: 0 }));
        return s;
      };
      for (const m of moves) {
        const from = whereText(m.from);
        const to = whereText(m.to);
        const k = `${m.subject}\u0000${from}\u0000${to}`;
        const f = flows.get(k);
        if (f) f.count += 1;
        else flows.set(k, { subject: m.subject, from, to, count: 1 });
        // A move within a segment (another region or team) leaves and arrives in the same segment.
        segment(m.from?.segment ?? NOWHERE).out += 1;
        segment(m.to?.segment ?? NOWHERE).in += 1;
      }
      const codes = [...new Set([...a.rejections.keys(), ...b.rejections.keys()])].sort();
      const added = new Map<string, number>();
      for (const key of b.rejected) {
        if (a.rejected.has(key)) continue;
        const code = key.split('\u0000')[1] ?? '';
        added.set(code, (added.get(code) ?? 0) + 1);
      }
      return {
        activeVersion: opts.activeLabel ?? active.version,
        candidateVersion: candidate.version,
        events,
        workItems,
        moves,
        flows: [...flows.values()].sort((p, q) => q.count - p.count || p.subject.localeCompare(q.subject) || p.from.localeCompare(q.from) || p.to.localeCompare(q.to)),
        bySegment: [...segments.values()].sort((p, q) => p.segment.localeCompare(q.segment)),
        rejections: codes.map((code) => ({ code, active: a.rejections.get(code) ?? 0, candidate: b.rejections.get(code) ?? 0, added: added.get(code) ?? 0 })),
      };
    },
  };
}

const SUBJECT_TEXT: Record<Assignment['subject'], string> = { CASE_GROUP: 'case group', SERVICE_REQUEST: 'SR', APPROVAL_TASK: 'approval task' };
const reasonText = (rs: readonly Reason[]): string => rs[0] ? `${rs[0].ruleId}: ${rs[0].text}` : '-';
const pad = (text: string, width: number): string => (text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width));

/** The report for a person at a terminal: the moves by place, the rejections, and the first `limit` work items that move, with both reasons. */
export function whatIfText(r: WhatIfReport, limit = 50): string {
  const lines = [
    `what-if: rules ${r.activeVersion} (active) -> ${r.candidateVersion} (candidate), ${r.events} records replayed, ${r.workItems} work items placed`,
    `${r.moves.length} work item${r.moves.length === 1 ? '' : 's'} would move (${r.moves.filter((m) => m.subject === 'CASE_GROUP').length} case groups)`,
  ];
  if (r.flows.length > 0) {
    lines.push('', `${pad('count', 7)} ${pad('work item', 14)} ${pad('from (segment / region / team)', 56)} to`);
    for (const f of r.flows) lines.push(`${pad(String(f.count), 7)} ${pad(SUBJECT_TEXT[f.subject], 14)} ${pad(f.from, 56)} ${f.to}`);
  }
  if (r.rejections.length > 0) {
    lines.push('', `${pad('rejection code', 36)} ${pad('active', 8)} ${pad('candidate', 10)} new`);
    for (const x of r.rejections) lines.push(`${pad(x.code, 36)} ${pad(String(x.active), 8)} ${pad(String(x.candidate), 10)} ${x.added}`);
  }
  if (r.moves.length > 0) {
    lines.push('', `${pad('case group', 14)} ${pad('work item', 24)} ${pad('from -> to', 100)} why now / why under the candidate`);
    for (const m of r.moves.slice(0, limit)) {
      lines.push(`${pad(m.caseGroupId, 14)} ${pad(m.subject === 'CASE_GROUP' ? 'case group' : `${SUBJECT_TEXT[m.subject]} ${m.srId ?? ''}`, 24)} ${pad(`${whereText(m.from)} -> ${whereText(m.to)}`, 100)} ${reasonText(m.reasonsFrom)}`);
      lines.push(`${pad('', 14)} ${pad('', 24)} ${pad('', 100)} ${reasonText(m.reasonsTo)}`);
    }
    if (r.moves.length > limit) lines.push(`... and ${r.moves.length - limit} more (--csv or --json for all)`);
  }
  return lines.join('\n');
}

/**
 * RFC 4180 quoting. Hand-written: one function of three lines, where a CSV library would be a dependency
 * for writing a single table.
 */
const csvField = (v: string | null): string => {
  const s = v ?? '';
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

export const WHAT_IF_CSV_HEADER = ['caseGroupId', 'subject', 'srId', 'fromSegment', 'fromRegion', 'fromTeam', 'toSegment', 'toRegion', 'toTeam', 'ruleNow', 'reasonNow', 'ruleCandidate', 'reasonCandidate'] as const;

/** One row per work item that moves, with both deciding reasons. */
export function whatIfCsv(r: WhatIfReport): string {
  const rows = r.moves.map((m) => [m.caseGroupId, m.subject, m.srId, m.from?.segment ?? null, m.from?.region ?? null, m.from?.team ?? null, m.to?.segment ?? null, m.to?.region ?? null, m.to?.team ?? null, m.reasonsFrom[0]?.ruleId ?? null, m.reasonsFrom[0]?.text ?? null, m.reasonsTo[0]?.ruleId ?? null, m.reasonsTo[0]?.text ?? null]);
  return [WHAT_IF_CSV_HEADER.join(','), ...rows.map((row) => row.map(csvField).join(','))].join('\r\n') + '\r\n';
}

const html = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** An SVG bar chart of work items leaving and arriving per segment: inline, so the report is one file. */
function segmentChart(r: WhatIfReport): string {
  const rows = r.bySegment;
  if (rows.length === 0) return '<p>No work item would move.</p>';
  const max = Math.max(1, ...rows.flatMap((s) => [s.out, s.in]));
  const label = 230;
  const bar = 360;
  const rowH = 46;
  const height = rows.length * rowH + 40;
  const parts = rows.map((s, i) => {
    const y = 30 + i * rowH;
    const w = (n: number): number => Math.max(n > 0 ? 2 : 0, Math.round((n / max) * bar));
    return [
      `<text x="${label - 10}" y="${y + 20}" text-anchor="end">${html(s.segment)}</text>`,
      `<rect x="${label}" y="${y}" width="${w(s.out)}" height="16" fill="#d4351c"><title>${html(s.segment)}: ${s.out} leave</title></rect>`,
      `<text x="${label + w(s.out) + 6}" y="${y + 13}">${s.out} leave</text>`,
      `<rect x="${label}" y="${y + 20}" width="${w(s.in)}" height="16" fill="#00703c"><title>${html(s.segment)}: ${s.in} arrive</title></rect>`,
      `<text x="${label + w(s.in) + 6}" y="${y + 33}">${s.in} arrive</text>`,
    ].join('');
  });
  return `<svg role="img" aria-labelledby="chart-title" width="${label + bar + 120}" height="${height}" viewBox="0 0 ${label + bar + 120} ${height}" font-family="Arial, sans-serif" font-size="14"><title id="chart-title">Work items that would leave and arrive in each segment</title>${parts.join('')}</svg>`;
}

/** A self-contained HTML report (no scripts, no external files): summary, a chart of moves by segment, the flows, rejections and every move. */
export function whatIfHtml(r: WhatIfReport): string {
  const table = (head: readonly string[], rows: readonly (readonly string[])[]): string =>
    `<table><thead><tr>${head.map((h) => `<th scope="col">${html(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((row) => `<tr>${row.map((c) => `<td>${html(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
  return `<!DOCTYPE html>
<html lang="en-GB"><head><meta charset="utf-8"><title>What-if: rules ${html(r.activeVersion)} to ${html(r.candidateVersion)}</title>
<style>body{font-family:Arial,sans-serif;margin:2rem;color:#0b0c0c;max-width:80rem}table{border-collapse:collapse;margin:1rem 0}th,td{border-bottom:1px solid #b1b4b6;padding:.4rem .8rem;text-align:left;vertical-align:top}th{background:#f3f2f1}td.n{text-align:right}</style></head>
<body><h1>What-if: rules ${html(r.activeVersion)} (active) to ${html(r.candidateVersion)} (candidate)</h1>
<p>${r.events} records replayed; ${r.workItems} work items placed; <strong>${r.moves.length} would move</strong> (${r.moves.filter((m) => m.subject === 'CASE_GROUP').length} case groups). Nothing was written: the history ran through the routing core twice, in process.</p>
<h2>Moves by segment</h2>${segmentChart(r)}
<h2>Moves by place</h2>${table(['Count', 'Work item', 'From (segment / region / team)', 'To'], r.flows.map((f) => [String(f.count), SUBJECT_TEXT[f.subject], f.from, f.to]))}
<h2>Rejections</h2>${r.rejections.length === 0 ? '<p>None under either rules.</p>' : table(['Code', 'Active', 'Candidate', 'Only under the candidate'], r.rejections.map((x) => [x.code, String(x.active), String(x.candidate), String(x.added)]))}
<h2>Work items that would move</h2>${table(['Case group', 'Work item', 'From', 'To', 'Why now', 'Why under the candidate'], r.moves.map((m) => [m.caseGroupId, m.subject === 'CASE_GROUP' ? 'case group' : `${SUBJECT_TEXT[m.subject]} ${m.srId ?? ''}`, whereText(m.from), whereText(m.to), reasonText(m.reasonsFrom), reasonText(m.reasonsTo)]))}
</body></html>
`;
}
