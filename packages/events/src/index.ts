export * from './generated/contract.ts';
export { createValueCodec, parseSchema, type ValueCodec } from './codec.ts';
export { codecFor, isSchemaTopic } from './codecs.ts';
export { frame, unframe, MAGIC_BYTE } from './wire.ts';
export { compatibilityOf, TOPICS, TOPIC_SPECS, UPSTREAM_TOPICS, UNSCHEMED_TOPICS, UPSTREAM_MAX_BYTES, INTERNAL_MAX_BYTES, keyOf, placementKey, qualify, unqualify, subjectOf, type TopicKey, type TopicName, type TopicSpec } from './topics.ts';
export {
  HEADERS,
  DEAD_LETTER_HEADERS,
  REPLAY_HEADERS,
  deterministicId,
  headerString,
  readStandardHeaders,
  standardHeaders,
  type HeaderValue,
  type RecordHeaders,
  type StandardHeaders,
} from './headers.ts';
export { parseJsonEvent, parseEventObject, type JsonEvent } from './json-form.ts';
export { ID_PATTERN, invalidIds } from './ids.ts';
