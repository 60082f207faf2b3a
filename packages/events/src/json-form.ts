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
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CmsError('CMS_EVENT_INVALID', `${where}: expected a JSON object with "topic" and "value"`);
  const obj = parsed as Record<string, unknown>;
  for (const k of Object.keys(obj)) if (!LINE_FIELDS.has(k)) throw new CmsError('CMS_EVENT_INVALID', `${where}: unknown field "${k}" (allowed: ${[...LINE_FIELDS].join(', ')})`);
  const topic = obj['topic'];
  if (typeof topic !== 'string' || !isSchemaTopic(topic)) throw new CmsError('CMS_EVENT_INVALID', `${where}: "topic" must be one of the contract's topics (got ${JSON.stringify(topic)})`);
  if (opts.upstreamOnly && !(UPSTREAM_TOPICS as readonly string[]).includes(topic)) {
    throw new CmsError('CMS_EVENT_INVALID', `${where}: "${topic}" is produced by cms-router itself; scenarios contain upstream topics only (${UPSTREAM_TOPICS.join(', ')})`);
  }
  const value = codecFor(topic).fromJson(obj['value'], `${where} value`);
  const key = obj['key'] ?? keyOf(topic, value);
  if (typeof key !== 'string' || key === '') throw new CmsError('CMS_EVENT_INVALID', `${where}: "key" must be a non-empty string`);
  const eventId = obj['eventId'] ?? deterministicId('scenario', where);
  if (typeof eventId !== 'string') throw new CmsError('CMS_EVENT_INVALID', `${where}: "eventId" must be a string`);
  const correlationId = typeof obj['correlationId'] === 'string' ? obj['correlationId'] : undefined;
  return { topic, key, eventId, correlationId, value };
}
