import { z } from 'zod';
import { CmsError } from '@cms-router/errors';
import { commonEnvSchema, env, parseEnv, toPlatformConfig, type PlatformConfig } from '@cms-router/platform';

const inbox = () => z.email();

/** Test-only crash points (SIGKILL of the notifier itself) for the exactly-once tests. Never set in production. */
export const FAULT_POINTS = ['none', 'kill-after-smtp-accept', 'kill-after-ledger-write'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** Every variable the notifier reads (docker-compose.yml is checked against this schema). */
export const envSchema = commonEnvSchema.extend({
  NOTIFIER_GROUP_ID: z.string().trim().min(1).default('cms-notifier'),
  SMTP_URL: env.url(['smtp', 'smtps']),
  SMTP_FROM: z.email().default('cms-router@localhost'),
  /** Attempts per email before a FAILED event (temporary failures; a 5xx reply fails at once). */
  SMTP_MAX_ATTEMPTS: env.int(5, 1),
  SMTP_RETRY_INITIAL_MS: env.int(1_000, 1),
  SMTP_RETRY_MAX_MS: env.int(60_000, 1),
  /** Connection, greeting and socket timeout of each SMTP attempt. */
  SMTP_TIMEOUT_MS: env.int(10_000, 100),
  /** SMTP connections kept open side by side (nodemailer's pool). */
  SMTP_MAX_CONNECTIONS: env.int(8, 1),
  /** Work records per transaction; their SMTP attempts run side by side over the pool's connections. */
  SMTP_EMAILS_PER_TRANSACTION: env.int(40, 1),
  /** "CM 2012 SCHEME Special Client Records" inbox. */
  INBOX_SCR: inbox(),
  /** "CM2012 ECH GATEWAY" inbox. */
  INBOX_ECH_GATEWAY: inbox(),
  /** SCR team leader, for CIFBA warm handovers. */
  INBOX_SCR_TEAM_LEADER: inbox(),
  /** Local IT / segment manager inbox for orphaned case groups. */
  INBOX_ORPHANS: inbox(),
  /** How often the notifier ticks: due personal-interest reviews are reminded on ticks. */
  REVIEW_CHECK_INTERVAL_MS: env.int(60_000, 1_000),
  NOTIFIER_FAULT_INJECTION: z.enum(FAULT_POINTS).default('none'),
});

/** kafkajs's default rebalance timeout: a batch must be done within it when the group rebalances. */
const MAX_TRANSACTION_WAIT_MS = 60_000;

export interface NotifierConfig {
  readonly platform: PlatformConfig;
  readonly groupId: string;
  readonly smtp: { readonly url: string; readonly from: string; readonly maxAttempts: number; readonly retryInitialMs: number; readonly retryMaxMs: number; readonly timeoutMs: number; readonly maxConnections: number; readonly emailsPerTransaction: number };
  readonly inboxes: { readonly SCR: string; readonly ECH_GATEWAY: string; readonly SCR_TEAM_LEADER: string; readonly ORPHANS: string };
  readonly reviewCheckIntervalMs: number;
  readonly faultInjection: FaultPoint;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): NotifierConfig {
  const e = parseEnv(envSchema, source);
  // A server that hangs holds a transaction for this long: it must end within the group's rebalance timeout.
  const worstMs = Math.ceil(e.SMTP_EMAILS_PER_TRANSACTION / e.SMTP_MAX_CONNECTIONS) * e.SMTP_TIMEOUT_MS;
  if (worstMs > MAX_TRANSACTION_WAIT_MS) {
    throw new CmsError('CMS_CONFIG_INVALID', `invalid configuration: SMTP_EMAILS_PER_TRANSACTION / SMTP_MAX_CONNECTIONS x SMTP_TIMEOUT_MS is ${worstMs} ms, over ${MAX_TRANSACTION_WAIT_MS} ms (a hung server would outlast the consumer group's rebalance timeout)`);
  }
  return Object.freeze({
    platform: toPlatformConfig(e, 'notifier'),
    groupId: e.NOTIFIER_GROUP_ID,
    smtp: Object.freeze({ url: e.SMTP_URL, from: e.SMTP_FROM, maxAttempts: e.SMTP_MAX_ATTEMPTS, retryInitialMs: e.SMTP_RETRY_INITIAL_MS, retryMaxMs: Math.max(e.SMTP_RETRY_MAX_MS, e.SMTP_RETRY_INITIAL_MS), timeoutMs: e.SMTP_TIMEOUT_MS, maxConnections: e.SMTP_MAX_CONNECTIONS, emailsPerTransaction: e.SMTP_EMAILS_PER_TRANSACTION }),
    inboxes: Object.freeze({ SCR: e.INBOX_SCR, ECH_GATEWAY: e.INBOX_ECH_GATEWAY, SCR_TEAM_LEADER: e.INBOX_SCR_TEAM_LEADER, ORPHANS: e.INBOX_ORPHANS }),
    reviewCheckIntervalMs: e.REVIEW_CHECK_INTERVAL_MS,
    faultInjection: e.NOTIFIER_FAULT_INJECTION,
  });
}
