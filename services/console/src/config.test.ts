import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

const base = { KAFKA_BROKERS: '127.0.0.1:19092', SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7', DATABASE_URL: 'postgres://cms@127.0.0.1:15432/cms', OIDC_ISSUER_URL: 'http://127.0.0.1:19080', CONSOLE_SESSION_SECRET: 'x'.repeat(32) };

describe('console configuration', () => {
  it('needs no Redis, and has defaults for the rest', () => {
    const c = loadConfig(base);
    expect(c).toMatchObject({ groupId: 'cms-console', dbSchema: 'console', port: 13000, oidc: { issuer: 'http://127.0.0.1:19080', clientId: 'cms-console', clientSecret: undefined } });
  });
  it('reports every problem at once, never a value', () => {
    expect(() => loadConfig({ ...base, DATABASE_URL: 'mysql://x', CONSOLE_SESSION_SECRET: 'short', CONSOLE_DB_SCHEMA: 'Drop Table' })).toThrow(/DATABASE_URL.*CONSOLE_DB_SCHEMA.*CONSOLE_SESSION_SECRET|DATABASE_URL.*CONSOLE_SESSION_SECRET.*CONSOLE_DB_SCHEMA/);
    try {
      loadConfig({ ...base, CONSOLE_SESSION_SECRET: 'short' });
    } catch (err) {
      expect((err as Error).message).not.toContain('short');
    }
  });
});
