import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseAllDocuments } from 'yaml';
import { CmsError } from '@cms-router/errors';
import { parseEventObject, parseJsonEvent, type Assignment, type JsonEvent, type OrphanReport, type Rejection, type SrFact } from '@cms-router/events';
import type { Rules } from '@cms-router/rules';
import { createMemorySystem, type SystemInput, type SystemOutput } from './system.ts';

/** Topics a scenario may contain: everything upstream systems publish, and the SR facts sr-events derives. */
export const SIMULATED_TOPICS = ['cms.case-facts.v1', 'cms.party-facts.v1', 'cms.sr-lifecycle.v1', 'cms.sr-facts.v1', 'cms.workforce.v1'] as const;
const SIMULATED = new Set<string>(SIMULATED_TOPICS);

/** What simulate prints: the router's outputs, and sr-events' derived facts and rejections. */
export type SimulatedOutput = SystemOutput;

export interface SimulationLine {
  /** The scenario line (JSON lines) or the line the item starts on (YAML). */
  readonly line: number;
  readonly input: { readonly topic: string; readonly key: string; readonly eventId: string };
  readonly outputs: readonly SimulatedOutput[];
}

interface Parsed {
  readonly line: number;
  readonly event: JsonEvent;
}

/** The events of a scenario: JSON lines, or a YAML list of events (`- topic: ... value: ...`). Every problem is reported. */
export function parseScenario(text: string, fileName = 'scenario'): Parsed[] {
  const problems: string[] = [];
  const events: Parsed[] = [];
  const check = (event: JsonEvent, where: string, line: number): void => {
    if (!SIMULATED.has(event.topic)) problems.push(`${where}: topic ${event.topic} is not an input of sr-events or the router (use ${SIMULATED_TOPICS.join(', ')})`);
    else events.push({ line, event });
  };
  if (isYamlScenario(fileName) || /^\s*-\s+topic:/m.test(text)) {
    const starts: number[] = [0];
    for (let i = 0; i < text.length; i += 1) if (text[i] === '\n') starts.push(i + 1);
    const lineOf = (offset: number): number => {
      let lo = 0;
      let hi = starts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((starts[mid] ?? 0) <= offset) lo = mid;
        else hi = mid - 1;
      }
      return lo + 1;
    };
    for (const doc of parseAllDocuments(text)) {
      if ('errors' in doc && doc.errors.length > 0) {
        for (const e of doc.errors) problems.push(`${fileName}:${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0] ?? ''}`);
        continue;
      }
      const contents = doc.contents as { items?: { range?: [number, number, number] }[] } | null;
      const items = (doc.toJS() ?? []) as unknown;
      if (!Array.isArray(items)) {
        problems.push(`${fileName}: a YAML scenario is a list of events ("- topic: ...")`);
        continue;
      }
      items.forEach((item: unknown, i: number) => {
        const line = lineOf(contents?.items?.[i]?.range?.[0] ?? 0);
        const where = `${fileName}:${line}`;
        try {
          check(parseEventObject(item, where), where, line);
        } catch (err) {
          problems.push(err instanceof Error ? err.message : String(err));
        }
      });
    }
  } else {
    text.split('\n').forEach((raw, i) => {
      const trimmed = raw.trim();
      if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('//')) return;
      const where = `${fileName}:${i + 1}`;
      try {
        check(parseJsonEvent(trimmed, where), where, i + 1);
      } catch (err) {
        problems.push(err instanceof Error ? err.message : String(err));
      }
    });
  }
  if (problems.length > 0) throw new CmsError('CMS_EVENT_INVALID', problems.join('\n'), { context: { problems: problems.length } });
  return events;
}

/**
 * Runs a scenario through sr-events' and the router's own cores in-process, in file order, with no Kafka
 * or Redis. Nothing runs until the whole file parses.
 */
export function simulate(text: string, rules: Rules, fileName = 'scenario'): SimulationLine[] {
  const events = parseScenario(text, fileName);
  const system = createMemorySystem(rules);
  return events.map(({ line, event }) => ({
    line,
    input: { topic: event.topic, key: event.key, eventId: event.eventId },
    outputs: system.process({ topic: event.topic, value: event.value } as SystemInput, event.eventId, { topic: event.topic, partition: 0, offset: String(line) }),
  }));
}

/** One JSON line per output, in the contract's JSON form, with the scenario line that caused it: {"line","topic","key","value"}. */
export function toJsonLines(result: readonly SimulationLine[]): string {
  return result.flatMap(jsonLinesOf).join('\n');
}

function cell(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

const place = (segment: string | null, region: string | null): string => (segment ? `${segment}${region ? `/${region}` : ''}` : '(new)');

export const TABLE_HEADER = `${cell('line', 5)} ${cell('case group', 12)} ${cell('work item', 20)} ${cell('from -> to', 56)} ${cell('team / user / access / requirements / handling', 96)} why`;

/** Rows of the table, one scenario line at a time: it remembers where each work item was, so a long scenario streams. */
export function tableRows(): (r: SimulationLine) => string[] {
  const last = new Map<string, string>();
  return (r) => {
    const rows: string[] = [];
    for (const o of r.outputs) {
      if (o.topic === 'cms.assignments.v1') {
        const a: Assignment = o.value;
        const item = a.subject === 'CASE_GROUP' ? 'case group' : `${a.subject === 'APPROVAL_TASK' ? 'approval' : 'SR'} ${a.srId ?? ''}`;
        const subject = `${a.caseGroupId}|${a.subject}|${a.srId ?? ''}`;
        const from = last.get(subject) ?? place(a.previousSegment, null);
        const to = place(a.segment, a.region);
        last.set(subject, to);
        const how = [a.team, a.ownerUserId ? `user ${a.ownerUserId}` : null, a.access === 'READ_ONLY' ? 'read-only' : null, ...a.requirements.map((x) => x.toLowerCase().replace(/_/g, ' ')), ...a.handling, a.pendingMove ? `move to ${place(a.pendingMove.segment, a.pendingMove.region)} pending SR ${a.pendingMove.heldBySrIds.join(', ')}` : null].filter(Boolean).join(' / ');
        rows.push(`${cell(String(r.line), 5)} ${cell(a.caseGroupId, 12)} ${cell(item, 20)} ${cell(`${from} -> ${to}`, 56)} ${cell(how, 96)} ${a.reasons[0]?.text ?? ''}`);
      } else if (o.topic === 'cms.sr-facts.v1') {
        const f: SrFact = o.value;
        const detail = f.payload.type === 'PersonalInterestFlagChanged' ? `${f.payload.partyId} ${f.payload.flagged ? 'flagged' : 'unflagged'}` : f.payload.type === 'ServiceRequestChanged' ? f.payload.change : '';
        rows.push(`${cell(String(r.line), 5)} ${cell(f.caseGroupId, 12)} ${cell(`fact ${f.srId}`, 20)} ${cell(f.payload.type, 56)} ${cell(detail, 96)} derived by sr-events`);
      } else if (o.topic === 'cms.router-orphans.v1') {
        const x: OrphanReport = o.value;
        rows.push(`${cell(String(r.line), 5)} ${cell('-', 12)} ${cell('orphans', 20)} ${cell(`${x.cause} (user ${x.userId})`, 56)} ${cell(x.caseGroups.map((c) => c.caseGroupId).join(', '), 96)} returned to their segment's unallocated work`);
      } else {
        const x: Rejection = o.value;
        rows.push(`${cell(String(r.line), 5)} ${cell(x.caseGroupId ?? '-', 12)} ${cell('REJECTED', 20)} ${cell(x.code, 56)} ${cell('', 96)} ${x.reason}`);
      }
    }
    return rows;
  };
}

/** A table for people: line, case group, work item, from -> to (with region), who and how, why. */
export function toTable(result: readonly SimulationLine[]): string {
  const rowsOf = tableRows();
  return [TABLE_HEADER, ...result.flatMap(rowsOf)].join('\n');
}

/** One scenario line's outputs as JSON lines (see toJsonLines). */
export function jsonLinesOf(r: SimulationLine): string[] {
  return r.outputs.map((o) => JSON.stringify({ line: r.line, topic: o.topic, key: 'caseGroupId' in o.value && o.value.caseGroupId ? o.value.caseGroupId : r.input.key, value: o.value }));
}

/** Whether a scenario file is YAML (read whole) rather than JSON lines (streamed). */
export const isYamlScenario = (fileName: string): boolean => /\.ya?ml$/i.test(fileName);

/**
 * A JSON-lines scenario file, checked whole and then streamed: the first pass reads every line and keeps
 * only the problems (nothing runs unless the whole file checks, as with `simulate`), the second hands each
 * event to `visit` as it is read. Memory is the caller's, not the file's. `onBytes` is told how far the
 * second pass has read, for a progress bar.
 */
export async function streamScenarioFile(path: string, visit: (event: JsonEvent, line: number) => void, onBytes?: (bytes: number) => void): Promise<number> {
  const problems: string[] = [];
  const each = async (run: ((event: JsonEvent, line: number) => void) | null): Promise<number> => {
    const input = createReadStream(path, 'utf8');
    const lines = createInterface({ input, crlfDelay: Infinity });
    let n = 0;
    let count = 0;
    for await (const raw of lines) {
      n += 1;
      if (run && onBytes && n % 1_000 === 0) onBytes(input.bytesRead);
      const trimmed = raw.trim();
      if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('//')) continue;
      const where = `${path}:${n}`;
      let event: JsonEvent;
      try {
        event = parseJsonEvent(trimmed, where);
      } catch (err) {
        problems.push(err instanceof Error ? err.message : String(err));
        continue;
      }
      if (!SIMULATED.has(event.topic)) problems.push(`${where}: topic ${event.topic} is not an input of sr-events or the router (use ${SIMULATED_TOPICS.join(', ')})`);
      else if (run) {
        count += 1;
        run(event, n);
      }
    }
    if (run && onBytes) onBytes(input.bytesRead);
    return count;
  };
  await each(null);
  if (problems.length > 0) throw new CmsError('CMS_EVENT_INVALID', problems.join('\n'), { context: { problems: problems.length } });
  return each(visit);
}

/**
 * A JSON-lines scenario streamed from a file (streamScenarioFile): each event is run as it is read and
 * its outputs handed to `emit`. Memory is the cores' state, not the file or its outputs: a replay of a
 * million events fits in about 1 GB (docs/simulate.md).
 */
export async function simulateJsonLinesFile(path: string, rules: Rules, emit: (r: SimulationLine) => void): Promise<number> {
  // Outputs go out as they come; the history they would build up in memory is not kept.
  const system = createMemorySystem(rules, { historyLimit: 0 });
  return streamScenarioFile(path, (event, line) => {
    emit({ line, input: { topic: event.topic, key: event.key, eventId: event.eventId }, outputs: system.process({ topic: event.topic, value: event.value } as SystemInput, event.eventId, { topic: event.topic, partition: 0, offset: String(line) }) });
  });
}
