import { CmsError } from '@cms-router/errors';
import { parseJsonEvent, type Assignment, type Rejection } from '@cms-router/events';
import type { Rules } from '@cms-router/rules';
import { createMemoryRouter, type MemoryOutput } from '@cms-router/routing';

const SIMULATED = new Set(['cms.case-facts.v1', 'cms.party-facts.v1', 'cms.sr-facts.v1', 'cms.workforce.v1']);

export interface SimulationLine {
  readonly line: number;
  readonly input: { readonly topic: string; readonly key: string; readonly eventId: string };
  readonly outputs: readonly MemoryOutput[];
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
          problems.push(`${fileName}:${line}: topic ${e.topic} is not an input of the router (use ${[...SIMULATED].join(', ')}); SR lifecycle events need the sr-events core`);
        }
        return { line, event: e };
      } catch (err) {
        problems.push(err instanceof Error ? err.message : String(err));
        return undefined;
      }
    });
  if (problems.length > 0) throw new CmsError('CMS_EVENT_INVALID', problems.join('\n'), { context: { problems: problems.length } });
  const router = createMemoryRouter(rules);
  return events.flatMap((x) => {
    if (!x) return [];
    const { line, event } = x;
    const outputs = router.process({ topic: event.topic, value: event.value } as never, event.eventId, { topic: event.topic, partition: 0, offset: String(line) });
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
      } else {
        const x: Rejection = o.value;
        rows.push(`${cell(String(r.line), 5)} ${cell(x.caseGroupId ?? '-', 12)} ${cell('REJECTED', 22)} ${cell(x.code, 42)} ${cell('', 34)} ${x.reason}`);
      }
    }
  }
  return rows.join('\n');
}
