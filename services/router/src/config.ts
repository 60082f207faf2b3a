import { z } from 'zod';
import { commonEnvSchema, env, parseEnv, toPlatformConfig, type PlatformConfig } from '@cms-router/platform';

/** Every variable the router reads (docker-compose.yml is checked against this schema). */
export const envSchema = commonEnvSchema.extend({
  ROUTER_GROUP_ID: z.string().trim().min(1).default('cms-router'),
  /** Rules file (JSON); defaults to the one shipped in packages/rules. */
  ROUTER_RULES_FILE: env.optionalString(),
  /** How long a fact may wait for its case group's application before it is rejected (CMS_WAIT_EXPIRED). Default 7 days. */
  ROUTER_WAIT_EXPIRY_MS: env.int(7 * 24 * 3_600_000, 60_000),
  /** How often the router writes a tick to its inbox (waiting facts expire on ticks). 0: never. */
  ROUTER_TICK_INTERVAL_MS: env.int(60_000, 0),
  /** Which stages this process runs (comma-separated: ingest, people, route). Default all three. */
  ROUTER_STAGES: z
    .string()
    .trim()
    .default('ingest,people,route')
    .transform((v) => v.split(',').map((s) => s.trim()).filter(Boolean))
    .refine((list) => list.length > 0 && list.every((s) => ['ingest', 'people', 'route'].includes(s)), 'must list stages among ingest, people, route'),
});

export interface RouterConfig {
  readonly platform: PlatformConfig;
  readonly groupId: string;
  readonly rulesFile: string | undefined;
  readonly waitExpiryMs: number;
  readonly tickIntervalMs: number;
  readonly stages: readonly ('ingest' | 'people' | 'route')[];
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): RouterConfig {
  const e = parseEnv(envSchema, source);
  return Object.freeze({
    platform: toPlatformConfig(e, 'router'),
    groupId: e.ROUTER_GROUP_ID,
    rulesFile: e.ROUTER_RULES_FILE,
    waitExpiryMs: e.ROUTER_WAIT_EXPIRY_MS,
    tickIntervalMs: e.ROUTER_TICK_INTERVAL_MS,
    stages: Object.freeze(e.ROUTER_STAGES as ('ingest' | 'people' | 'route')[]),
  });
}
