import { describe, expect, it } from 'vitest';
import { commonEnvSchema, parseEnv, toPlatformConfig } from './config.ts';

const minimal = { KAFKA_BROKERS: 'k1:9092,k2:9092', SCHEMA_REGISTRY_URL: 'http://reg:8080/apis/ccompat/v7', REDIS_URL: 'redis://r:6379' };

describe('configuration', () => {
  it('parses, defaults and freezes', () => {
    const cfg = toPlatformConfig(parseEnv(commonEnvSchema, minimal), 'router');
    expect(cfg.kafka.brokers).toEqual(['k1:9092', 'k2:9092']);
    expect(cfg.kafka.clientId).toBe('cms-router');
    expect(cfg.retry).toEqual({ initialMs: 200, maxMs: 30_000 });
    expect(cfg.redis.keyPrefix).toBe('cms');
    expect(Object.isFrozen(cfg.kafka)).toBe(true);
  });

  it('reports every problem at once, by variable name, without echoing values', () => {
    let message = '';
    try {
      parseEnv(commonEnvSchema, { KAFKA_BROKERS: 'no-port', REDIS_URL: 'http://secret-host', RETRY_INITIAL_MS: 'soon' });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('KAFKA_BROKERS: must be host:port');
    expect(message).toContain('SCHEMA_REGISTRY_URL: required');
    expect(message).toContain('REDIS_URL: must be a URL (redis, rediss)');
    expect(message).toContain('RETRY_INITIAL_MS');
    expect(message).not.toContain('secret-host');
  });

  it('needs SASL credentials when a mechanism is chosen', () => {
    expect(() => toPlatformConfig(parseEnv(commonEnvSchema, { ...minimal, KAFKA_SASL_MECHANISM: 'scram-sha-512' }), 'x')).toThrow(/KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD/);
    const cfg = toPlatformConfig(parseEnv(commonEnvSchema, { ...minimal, KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p', KAFKA_SSL: 'true' }), 'x');
    expect(cfg.kafka.sasl).toEqual({ mechanism: 'plain', username: 'u', password: 'p' });
    expect(cfg.kafka.ssl).toBe(true);
  });

  it('treats empty variables as unset', () => {
    expect(toPlatformConfig(parseEnv(commonEnvSchema, { ...minimal, KAFKA_TOPIC_NAMESPACE: '' }), 'x').kafka.topicNamespace).toBeUndefined();
  });
});
