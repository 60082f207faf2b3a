import { z } from 'zod';
import { commonEnvSchema, parseEnv, toPlatformConfig, type PlatformConfig } from '@cms-router/platform';

/** Every variable sr-events reads (docker-compose.yml is checked against this schema). */
export const envSchema = commonEnvSchema.extend({
  SR_EVENTS_GROUP_ID: z.string().trim().min(1).default('cms-sr-events'),
});

export interface SrEventsConfig {
  readonly platform: PlatformConfig;
  readonly groupId: string;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): SrEventsConfig {
  const e = parseEnv(envSchema, source);
  return Object.freeze({ platform: toPlatformConfig(e, 'sr-events'), groupId: e.SR_EVENTS_GROUP_ID });
}
