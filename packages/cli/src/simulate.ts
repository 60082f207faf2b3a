import { CmsError } from '@cms-router/errors';
import { parseJsonEvent, type Assignment, type Rejection, type SrFact, type SrLifecycleEvent } from '@cms-router/events';
import type { Rules } from '@cms-router/rules';
import { createMemoryRouter, type MemoryOutput } from '@cms-router/routing';
import { applySrEvent, emptyState, type CaseGroupSrState, type Party } from '@cms-router/sr-lifecycle';

const SIMULATED = new Set(['cms.case-facts.v1', 'cms.party-facts.v1', 'cms.sr-facts.v1', 'cms.workforce.v1', 'cms.sr-lifecycle.v1']);

/** What simulate prints: the router's outputs, and sr-events' derived facts and rejections. */
export type SimulatedOutput = MemoryOutput | { readonly topic: 'cms.sr-facts.v1'; readonly value: SrFact };

export interface SimulationLine {
  readonly line: number;
  readonly input: { readonly topic: string; readonly key: string; readonly eventId: string };
  readonly outputs: readonly SimulatedOutput[];
}

/**
 * Runs a scenario (JSON lines, docs/simulate.md) through the router's own core, in file order, with no
 * Kafka or Redis. Every bad line is reported with its number; nothing runs until the whole file parses.
 */
export function simulate(text: string, rules: Rules, fileName = 'scenario'): SimulationLine[] {
  const problems: string[] = [];
  const events = text
    .split('\n')
    .map((raw, i) => ({ raw: raw.trim(), line: i + 1 }))
    .filter(({ raw }) => raw !== '' && !raw.startsWith('#') && !raw.startsWith('//'))
    .map(({ raw, line }) => {
      try {
        const e = parseJsonEvent(raw, `${fileName}:${line}`);
        if (!SIMULATED.has(e.topic)) {
          problems.push(`${fileName}:${line}: topic ${e.topic} is not an input of sr-events or the router (use ${[...SIMULATED].join(', ')})`);
        }
        return { line, event: e };
      } catch (err) {
        problems.push(err instanceof Error ? err.message : String(err));
        return undefined;
      }
    });
  if (problems.length > 0) throw new CmsError('CMS_EVENT_INVALID', problems.join('\n'), { context: { problems: problems.length } });
  const router = createMemoryRouter(rules);
  // sr-events' core, in memory: SR state and parties per case group.
  const srStates = new Map<string, CaseGroupSrState>();
  const parties = new Map<string, Party[]>();
  return events.flatMap((x) => {
    if (!x) return [];
    const { line, event } = x;
    const source = { topic: event.topic, partition: 0, offset: String(line) };
    const outputs: SimulatedOutput[] = [];
    if (event.topic === 'cms.sr-lifecycle.v1') {
      const sr = event.value as SrLifecycleEvent;
      const outcome = applySrEvent(srStates.get(sr.caseGroupId) ?? emptyState(sr.caseGroupId), sr, { eventId: event.eventId, parties: parties.get(sr.caseGroupId) ?? [] });
      srStates.set(sr.caseGroupId, outcome.state);
      if (outcome.kind === 'rejected') {
        outputs.push({ topic: 'cms.rejections.v1', value: { rejectionId: `${event.eventId}:sr`, service: 'sr-events', occurredAt: sr.occurredAt, source: { ...source, eventId: event.eventId }, code: outcome.code, reason: outcome.reason, caseGroupId: sr.caseGroupId, srId: sr.srId } });
      }
      if (outcome.kind === 'applied') {
        outcome.facts.forEach((f, i) => {
          outputs.push({ topic: 'cms.sr-facts.v1', value: f });
          outputs.push(...router.process({ topic: 'cms.sr-facts.v1', value: f }, `${event.eventId}/${i}`, source));
        });
      }
    } else {
      if (event.topic === 'cms.case-facts.v1') {
        const v = event.value as { caseGroupId: string; payload: { type: string; payingParent?: { partyId: string }; receivingParent?: { partyId: string }; qualifyingChildren?: { partyId: string }[] } };
        if (v.payload.type === 'ApplicationReceived' && v.payload.payingParent && v.payload.receivingParent) {
          const known = parties.get(v.caseGroupId) ?? [];
          const added: Party[] = [
            { partyId: v.payload.payingParent.partyId, role: 'PAYING_PARENT' },
            { partyId: v.payload.receivingParent.partyId, role: 'RECEIVING_PARENT' },
            ...(v.payload.qualifyingChildren ?? []).map((c) => ({ partyId: c.partyId, role: 'QUALIFYING_CHILD' as const })),
          ];
          parties.set(v.caseGroupId, [...known, ...added.filter((a) => !known.some((k) => k.partyId === a.partyId))].sort((a, b) => a.partyId.localeCompare(b.partyId)));
        }
      }
      outputs.push(...router.process({ topic: event.topic, value: event.value } as never, event.eventId, source));
    }
    return [{ line, input: { topic: event.topic, key: event.key, eventId: event.eventId }, outputs }];
  });
}

/** One JSON line per output, in the contract's JSON form: {"topic","key","value"}. */
export function toJsonLines(result: readonly SimulationLine[]): string {
  return result
    .flatMap((r) => r.outputs.map((o) => JSON.stringify({ topic: o.topic, key: o.value.caseGroupId ?? r.input.key, value: o.value })))
    .join('\n');
}

function cell(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

/** A table for people: line, case group, what, from -> to, where, why. */
export function toTable(result: readonly SimulationLine[]): string {
  const rows: string[] = [`${cell('line', 5)} ${cell('case group', 12)} ${cell('work item', 22)} ${cell('from -> to', 42)} ${cell('region / team', 34)} why`];
  for (const r of result) {
    for (const o of r.outputs) {
      if (o.topic === 'cms.assignments.v1') {
        const a: Assignment = o.value;
        const item = a.subject === 'CASE_GROUP' ? 'case group' : `${a.subject === 'APPROVAL_TASK' ? 'approval' : 'SR'} ${a.srId ?? ''}`;
        const where = [a.region, a.team, a.ownerUserId ? `user ${a.ownerUserId}` : null, a.access === 'READ_ONLY' ? 'read-only' : null].filter(Boolean).join(' / ');
        rows.push(`${cell(String(r.line), 5)} ${cell(a.caseGroupId, 12)} ${cell(item, 22)} ${cell(`${a.previousSegment ?? '(new)'} -> ${a.segment}`, 42)} ${cell(where, 34)} ${a.reasons[0]?.text ?? ''}`);
      } else if (o.topic === 'cms.sr-facts.v1') {
        const f: SrFact = o.value;
        const detail = f.payload.type === 'PersonalInterestFlagChanged' ? `${f.payload.partyId} ${f.payload.flagged ? 'flagged' : 'unflagged'}` : f.payload.type === 'ServiceRequestChanged' ? f.payload.change : '';
        rows.push(`${cell(String(r.line), 5)} ${cell(f.caseGroupId, 12)} ${cell(`fact ${f.srId}`, 22)} ${cell(f.payload.type, 42)} ${cell(detail, 34)} derived by sr-events`);
      } else {
        const x: Rejection = o.value;
        rows.push(`${cell(String(r.line), 5)} ${cell(x.caseGroupId ?? '-', 12)} ${cell('REJECTED', 22)} ${cell(x.code, 42)} ${cell('', 34)} ${x.reason}`);
      }
    }
  }
  return rows.join('\n');
}
