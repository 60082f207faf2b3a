import { CmsError } from '@cms-router/errors';
import { codecFor, isSchemaTopic } from './codecs.ts';
import type { SchemaTopic, TopicValue } from './generated/contract.ts';
import { deterministicId } from './headers.ts';
import { keyOf, UPSTREAM_TOPICS } from './topics.ts';

/** One event in the JSON form used by scenario files and the CLI (docs/contract.md, JSON form). */
export interface JsonEvent<T extends SchemaTopic = SchemaTopic> {
  readonly topic: T;
  readonly key: string;
  readonly eventId: string;
  readonly correlationId: string | undefined;
  readonly value: TopicValue[T];
}

const LINE_FIELDS = new Set(['topic', 'key', 'eventId', 'correlationId', 'value']);

/**
 * Parses one scenario line. `where` names the file and line for messages ("scenario.jsonl:12").
 * Missing eventId: derived from the file position, so running a scenario twice gives the same ids.
 */
export function parseJsonEvent(line: string, where: string, opts: { upstreamOnly?: boolean } = {}): JsonEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (err) {
    throw new CmsError('CMS_EVENT_INVALID', `${where}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return parseEventObject(parsed, where, opts);
}

/** Checks one event object in the JSON form (a scenario line, a YAML item), reporting every problem at once. */
export function parseEventObject(parsed: unknown, where: string, opts: { upstreamOnly?: boolean } = {}): JsonEvent {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CmsError('CMS_EVENT_INVALID', `${where}: expected an object with "topic" and "value"`);
  const obj = parsed as Record<string, unknown>;
  const problems: string[] = [];
  for (const k of Object.keys(obj)) if (!LINE_FIELDS.has(k)) problems.push(`unknown field "${k}" (allowed: ${[...LINE_FIELDS].join(', ')})`);
  const topic = obj['topic'];
  const known = typeof topic === 'string' && isSchemaTopic(topic);
  if (!known) problems.push(`"topic" must be one of the contract's topics (got ${JSON.stringify(topic)})`);
  else if (opts.upstreamOnly && !(UPSTREAM_TOPICS as readonly string[]).includes(topic)) problems.push(`"${topic}" is produced by cms-router itself; scenarios contain upstream topics only (${UPSTREAM_TOPICS.join(', ')})`);
  if (obj['key'] !== undefined && (typeof obj['key'] !== 'string' || obj['key'] === '')) problems.push('"key" must be a non-empty string');
  if (obj['eventId'] !== undefined && typeof obj['eventId'] !== 'string') problems.push('"eventId" must be a string');
  let value: TopicValue[SchemaTopic] | undefined;
  if (known) {
    try {
      value = codecFor(topic).fromJson(obj['value'], 'value');
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  }
  if (problems.length > 0 || !known || value === undefined) throw new CmsError('CMS_EVENT_INVALID', `${where}: ${problems.join('; ')}`, { context: { problems: problems.length } });
  const key = (obj['key'] as string | undefined) ?? keyOf(topic, value);
  const eventId = (obj['eventId'] as string | undefined) ?? deterministicId('scenario', where);
  const correlationId = typeof obj['correlationId'] === 'string' ? obj['correlationId'] : undefined;
  return { topic, key, eventId, correlationId, value };
}
