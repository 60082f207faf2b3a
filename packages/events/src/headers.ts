import { createHash } from 'node:crypto';

/** Standard headers on every event we produce. */
export const HEADERS = {
  /** Unique id of this event; deterministic for derived events so a replay yields the same id. */
  eventId: 'cms-event-id',
  /** Event id of the input that caused this event. */
  causationId: 'cms-causation-id',
  /** Id shared by everything that followed from one upstream event. */
  correlationId: 'cms-correlation-id',
  /** ISO-8601 time the producer wrote the record. */
  producedAt: 'cms-produced-at',
  /** Union branch of the payload (ApplicationReceived, SrCreated, ...), so tools can filter without decoding. */
  eventType: 'cms-event-type',
  /** Service or system that produced the record. */
  producer: 'cms-producer',
} as const;

/** Headers a dead-letter record carries besides the standard ones. No personal data: coordinates and codes. */
export const DEAD_LETTER_HEADERS = {
  sourceTopic: 'cms-dlq-source-topic',
  sourcePartition: 'cms-dlq-source-partition',
  sourceOffset: 'cms-dlq-source-offset',
  errorCode: 'cms-dlq-error-code',
  errorMessage: 'cms-dlq-error-message',
  service: 'cms-dlq-service',
  failedAt: 'cms-dlq-failed-at',
  /** "true" when the value is only the first 64 KiB of the original (too large to carry on whole). */
  reference: 'cms-dlq-reference',
  /** Size of the original value in bytes, for a reference. */
  originalBytes: 'cms-dlq-original-bytes',
} as const;

/** Set on a record `cms-router replay` republished: where it was read (`topic/partition/offset`). Its event id stays the original's. */
export const REPLAY_HEADERS = {
  replayedFrom: 'cms-replayed-from',
} as const;

export type HeaderValue = Buffer | string | (Buffer | string)[] | undefined;
export type RecordHeaders = Readonly<Record<string, HeaderValue>>;

export interface StandardHeaders {
  readonly eventId: string;
  readonly causationId: string | undefined;
  readonly correlationId: string | undefined;
  readonly producedAt: string | undefined;
  readonly eventType: string | undefined;
  readonly producer: string | undefined;
}

export function headerString(headers: RecordHeaders | undefined, name: string): string | undefined {
  const raw = headers?.[name];
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (first === undefined) return undefined;
  return Buffer.isBuffer(first) ? first.toString('utf8') : first;
}

/** Reads the standard headers; an event without an id gets one derived from its coordinates. */
export function readStandardHeaders(headers: RecordHeaders | undefined, fallbackId: () => string): StandardHeaders {
  return {
    eventId: headerString(headers, HEADERS.eventId) ?? fallbackId(),
    causationId: headerString(headers, HEADERS.causationId),
    correlationId: headerString(headers, HEADERS.correlationId),
    producedAt: headerString(headers, HEADERS.producedAt),
    eventType: headerString(headers, HEADERS.eventType),
    producer: headerString(headers, HEADERS.producer),
  };
}

export function standardHeaders(h: { eventId: string; causationId?: string | undefined; correlationId?: string | undefined; producedAt: string; eventType?: string | undefined; producer: string }): Record<string, string> {
  const out: Record<string, string> = { [HEADERS.eventId]: h.eventId, [HEADERS.producedAt]: h.producedAt, [HEADERS.producer]: h.producer };
  if (h.causationId) out[HEADERS.causationId] = h.causationId;
  out[HEADERS.correlationId] = h.correlationId ?? h.causationId ?? h.eventId;
  if (h.eventType) out[HEADERS.eventType] = h.eventType;
  return out;
}

/**
 * A UUID-shaped id derived from its parts (SHA-256, version nibble 8 = "custom"). Outputs derived
 * from an input get ids from the input's coordinates, so a replay after a crash produces the same ids.
 */
export function deterministicId(...parts: readonly (string | number)[]): string {
  const hex = createHash('sha256').update(parts.join('\u001f')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16)}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
