import { describe, expect, it } from 'vitest';
import { endpointsOf, readStackSettings } from './settings.ts';

describe('stack settings', () => {
  it('defaults to loopback and the project ports', () => {
    const s = readStackSettings({});
    expect(s.host).toBe('127.0.0.1');
    expect(endpointsOf(s)).toEqual({
      KAFKA_BROKERS: '127.0.0.1:19092',
      SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
      REDIS_URL: 'redis://127.0.0.1:16379',
      SMTP_URL: 'smtp://127.0.0.1:11025',
      SMTP_API_URL: 'http://127.0.0.1:11080',
      DATABASE_URL: 'postgres://cms@127.0.0.1:15432/cms',
      OIDC_ISSUER_URL: 'http://127.0.0.1:19080',
    });
  });

  it('reports every bad setting at once', () => {
    expect(() => readStackSettings({ CMS_STACK_REDIS_PORT: 'abc', CMS_STACK_KAFKA_PORT: '70000', KAFKA_VERSION: 'latest' })).toThrow(
      /CMS_STACK_KAFKA_PORT.*CMS_STACK_REDIS_PORT.*KAFKA_VERSION/,
    );
  });

  it('is frozen', () => {
    expect(Object.isFrozen(readStackSettings({}))).toBe(true);
  });
});
