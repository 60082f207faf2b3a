import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('sr-events config', () => {
  it('needs the stack endpoints and defaults the rest', () => {
    const cfg = loadConfig({ KAFKA_BROKERS: 'localhost:9092', SCHEMA_REGISTRY_URL: 'http://localhost:8081', REDIS_URL: 'redis://localhost:6379' });
    expect(cfg.groupId).toMatch(/^cms-/);
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(() => loadConfig({})).toThrow(/KAFKA_BROKERS: required.*SCHEMA_REGISTRY_URL: required.*REDIS_URL: required/s);
  });
});
