import { describe, expect, it } from 'vitest';
import { KafkaJSConnectionError, KafkaJSGroupCoordinatorNotFound, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { toCmsError } from './errors.ts';

const protocol = (type: string, retriable: boolean): KafkaJSProtocolError => Object.assign(new KafkaJSProtocolError(`protocol ${type}`), { type, retriable });

describe('toCmsError: a broker that is away is waited for; only a record refused for good is dead-lettered', () => {
  it.each([
    ['a connection refused', new KafkaJSConnectionError('Connection error: connect ECONNREFUSED 127.0.0.1:19092')],
    ['kafkajs giving up after its retries, marked non-retriable', new KafkaJSNonRetriableError(new KafkaJSConnectionError('Connection error: connect ECONNREFUSED'))],
    ['no group coordinator (the broker is starting)', new (KafkaJSGroupCoordinatorNotFound as unknown as new (message: string) => Error)('Failed to find group coordinator')],
    ['a coordinator that moved', protocol('NOT_COORDINATOR', true)],
    ['a fenced producer', protocol('PRODUCER_FENCED', false)],
    ['an authorisation failure (fix the ACL; nothing is lost meanwhile)', protocol('TOPIC_AUTHORIZATION_FAILED', false)],
  ])('%s: retryable CMS_KAFKA_UNAVAILABLE', (_what, err) => {
    const e = toCmsError(err);
    expect(e.code).toBe('CMS_KAFKA_UNAVAILABLE');
    expect(e.retryable).toBe(true);
  });

  it.each([
    ['a record over max.message.bytes', protocol('MESSAGE_TOO_LARGE', false)],
    ['the same, wrapped by kafkajs retries', new KafkaJSNumberOfRetriesExceeded(protocol('MESSAGE_TOO_LARGE', false), { retryCount: 5, retryTime: 1000 })],
    ['a null key on a compacted topic', protocol('CORRUPT_MESSAGE', false)],
  ])('%s: CMS_RECORD_TOO_LARGE, not retried', (_what, err) => {
    const e = toCmsError(err);
    expect(e.code).toBe('CMS_RECORD_TOO_LARGE');
    expect(e.retryable).toBe(false);
  });

  it('a plain Error kafkajs throws for a broker it lost is the cluster away too', () => {
    const e = new Error('Broker not connected');
    e.stack = 'Error: Broker not connected\n    at Broker.notInitializedLookup (node_modules/kafkajs/src/broker/index.js:14:9)';
    expect(toCmsError(e)).toMatchObject({ code: 'CMS_KAFKA_UNAVAILABLE', retryable: true });
  });

  it('anything else is an internal error, with its message', () => {
    expect(toCmsError(new TypeError('x is undefined'))).toMatchObject({ code: 'CMS_INTERNAL', message: 'unexpected error: x is undefined' });
  });
});
