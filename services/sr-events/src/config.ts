import { z } from 'zod';
import { commonEnvSchema, env, parseEnv, toPlatformConfig, type PlatformConfig } from '@cms-router/platform';

/** Every variable sr-events reads (docker-compose.yml is checked against this schema). */
export const envSchema = commonEnvSchema.extend({
  SR_EVENTS_GROUP_ID: z.string().trim().min(1).default('cms-sr-events'),
  /** How long an SR event may wait for its case's application or its SR's creation (CMS_WAIT_EXPIRED). Default 7 days. */
  SR_EVENTS_WAIT_EXPIRY_MS: env.int(7 * 24 * 3_600_000, 60_000),
  /** How often sr-events writes a tick to its inbox (waiting events expire on ticks). 0: never. */
  SR_EVENTS_TICK_INTERVAL_MS: env.int(60_000, 0),
});

export interface SrEventsConfig {
  readonly platform: PlatformConfig;
  readonly groupId: string;
  readonly waitExpiryMs: number;
  readonly tickIntervalMs: number;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): SrEventsConfig {
  const e = parseEnv(envSchema, source);
  return Object.freeze({ platform: toPlatformConfig(e, 'sr-events'), groupId: e.SR_EVENTS_GROUP_ID, waitExpiryMs: e.SR_EVENTS_WAIT_EXPIRY_MS, tickIntervalMs: e.SR_EVENTS_TICK_INTERVAL_MS });
}
