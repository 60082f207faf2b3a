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
});
