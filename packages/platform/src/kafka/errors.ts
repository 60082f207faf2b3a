import { CmsError, isCmsError, messageOf } from '@cms-router/errors';

/**
 * Broker answers that refuse a record for good: sending it again can never succeed. Everything else a
 * Kafka client throws (a connection refused, a coordinator moving, a fenced producer, kafkajs giving up
 * after its own retries and marking the error "non-retriable") is the cluster being unavailable for a
 * while, and is retried: a record is never dead-lettered because a broker restarted.
 */
const REFUSED_FOR_GOOD = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE', 'INVALID_RECORD', 'CORRUPT_MESSAGE', 'INVALID_TIMESTAMP']);

/** The protocol error type anywhere in a kafkajs error's chain (it wraps errors in retry and non-retriable errors). */
function kafkaErrorType(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && typeof e === 'object' && e !== null; depth += 1) {
    const o = e as { type?: unknown; originalError?: unknown; cause?: unknown };
    if (typeof o.type === 'string') return o.type;
    e = o.originalError ?? o.cause;
  }
  return undefined;
}

/**
 * What a broker that is starting, busy or away answers with, by message: kafkajs also throws plain
 * Errors for some of these ("Broker not connected").
 */
export const TRANSIENT_KAFKA = /does not host this topic-partition|not the leader|leader not available|coordinator|timed out|timeout|ECONNREFUSED|ECONNRESET|EPIPE|Connection error|Broker not connected|broker not available|There is no leader|Closed connection|not controller|request timed out/i;

/** Our error for anything the Kafka client or a handler throws. */
export function toCmsError(err: unknown): CmsError {
  if (isCmsError(err)) return err;
  const name = (err as { name?: unknown } | null)?.name;
  if (typeof name === 'string' && name.startsWith('KafkaJS')) {
    const type = kafkaErrorType(err);
    const text = `kafka: ${messageOf(err)}${type ? ` (${type})` : ''}`;
    if (type && REFUSED_FOR_GOOD.has(type)) return new CmsError('CMS_RECORD_TOO_LARGE', `the broker refused a record for good: ${text}`, { cause: err, context: { kafkaError: type } });
    return new CmsError('CMS_KAFKA_UNAVAILABLE', text, { cause: err, context: { kafkaError: type ?? null } });
  }
  // kafkajs throws a few plain Errors for a broker it lost (no KafkaJS name): still the cluster away.
  if (err instanceof Error && err.name === 'Error' && TRANSIENT_KAFKA.test(err.message) && /kafkajs/.test(err.stack ?? '')) return new CmsError('CMS_KAFKA_UNAVAILABLE', `kafka: ${err.message}`, { cause: err });
  return new CmsError('CMS_INTERNAL', `unexpected error: ${messageOf(err)}`, { cause: err });
}
