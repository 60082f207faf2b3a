import { z } from 'zod';
import { commonEnvSchema, env, parseEnv, toPlatformConfig, type PlatformConfig } from '@cms-router/platform';

const inbox = () => z.email();

/** Every variable the notifier reads (docker-compose.yml is checked against this schema). */
export const envSchema = commonEnvSchema.extend({
  NOTIFIER_GROUP_ID: z.string().trim().min(1).default('cms-notifier'),
  SMTP_URL: env.url(['smtp', 'smtps']),
  SMTP_FROM: z.email().default('cms-router@localhost'),
  SMTP_MAX_ATTEMPTS: env.int(5, 1),
  /** "CM 2012 SCHEME Special Client Records" inbox. */
  INBOX_SCR: inbox(),
  /** "CM2012 ECH GATEWAY" inbox. */
  INBOX_ECH_GATEWAY: inbox(),
  /** SCR team leader, for CIFBA warm handovers. */
  INBOX_SCR_TEAM_LEADER: inbox(),
  /** Local IT / segment manager inbox for orphaned case groups. */
  INBOX_ORPHANS: inbox(),
  ORPHAN_SWEEP_INTERVAL_MS: env.int(15 * 60_000, 1_000),
});

export interface NotifierConfig {
  readonly platform: PlatformConfig;
  readonly groupId: string;
  readonly smtp: { readonly url: string; readonly from: string; readonly maxAttempts: number };
  readonly inboxes: { readonly SCR: string; readonly ECH_GATEWAY: string; readonly SCR_TEAM_LEADER: string; readonly ORPHANS: string };
  readonly orphanSweepIntervalMs: number;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): NotifierConfig {
  const e = parseEnv(envSchema, source);
  return Object.freeze({
    platform: toPlatformConfig(e, 'notifier'),
    groupId: e.NOTIFIER_GROUP_ID,
    smtp: Object.freeze({ url: e.SMTP_URL, from: e.SMTP_FROM, maxAttempts: e.SMTP_MAX_ATTEMPTS }),
    inboxes: Object.freeze({ SCR: e.INBOX_SCR, ECH_GATEWAY: e.INBOX_ECH_GATEWAY, SCR_TEAM_LEADER: e.INBOX_SCR_TEAM_LEADER, ORPHANS: e.INBOX_ORPHANS }),
    orphanSweepIntervalMs: e.ORPHAN_SWEEP_INTERVAL_MS,
  });
}
