import { z } from 'zod';
import { commonEnvSchema, env, parseEnv, toPlatformConfig, type PlatformConfig } from '@cms-router/platform';

/** Every variable the router reads (docker-compose.yml is checked against this schema). */
export const envSchema = commonEnvSchema.extend({
  ROUTER_GROUP_ID: z.string().trim().min(1).default('cms-router'),
  /** Rules file (JSON); defaults to the one shipped in packages/rules. */
  ROUTER_RULES_FILE: env.optionalString(),
});

export interface RouterConfig {
  readonly platform: PlatformConfig;
  readonly groupId: string;
  readonly rulesFile: string | undefined;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): RouterConfig {
  const e = parseEnv(envSchema, source);
  return Object.freeze({ platform: toPlatformConfig(e, 'router'), groupId: e.ROUTER_GROUP_ID, rulesFile: e.ROUTER_RULES_FILE });
}
