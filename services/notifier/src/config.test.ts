import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

const base = {
  KAFKA_BROKERS: 'localhost:9092',
  SCHEMA_REGISTRY_URL: 'http://localhost:8081',
  REDIS_URL: 'redis://localhost:6379',
  SMTP_URL: 'smtp://localhost:1025',
  INBOX_SCR: 'scr@example.test',
  INBOX_ECH_GATEWAY: 'ech@example.test',
  INBOX_SCR_TEAM_LEADER: 'scr-tl@example.test',
  INBOX_ORPHANS: 'it@example.test',
};

describe('notifier config', () => {
  it('reads inboxes as configuration', () => {
    expect(loadConfig(base).inboxes).toEqual({ SCR: 'scr@example.test', ECH_GATEWAY: 'ech@example.test', SCR_TEAM_LEADER: 'scr-tl@example.test', ORPHANS: 'it@example.test' });
  });

  it('refuses a missing or malformed inbox, naming it', () => {
    expect(() => loadConfig({ ...base, INBOX_SCR: 'not-an-address', INBOX_ORPHANS: undefined })).toThrow(/INBOX_SCR: .*INBOX_ORPHANS: required/s);
  });

  it('refuses a transaction of emails that a hung server could hold past the rebalance timeout, and takes one within it', () => {
    expect(() => loadConfig({ ...base, SMTP_EMAILS_PER_TRANSACTION: '100', SMTP_MAX_CONNECTIONS: '2', SMTP_TIMEOUT_MS: '10000' })).toThrow(/SMTP_EMAILS_PER_TRANSACTION .* is 500000 ms, over 60000 ms/);
    expect(loadConfig({ ...base, SMTP_EMAILS_PER_TRANSACTION: '12', SMTP_MAX_CONNECTIONS: '2', SMTP_TIMEOUT_MS: '10000' }).smtp).toMatchObject({ emailsPerTransaction: 12, maxConnections: 2 });
    expect(loadConfig(base).smtp).toMatchObject({ emailsPerTransaction: 40, maxConnections: 8, timeoutMs: 10_000 });
  });
});
