import { z } from 'zod';
import { commonEnvSchema, env, parseEnv, toPlatformConfig, type PlatformConfig } from '@cms-router/platform';

/**
 * Every variable the console reads (docker-compose.yml is checked against this schema). It keeps no
 * Redis state, so the Redis variables of the other services are not asked for.
 */
export const envSchema = commonEnvSchema.omit({ REDIS_URL: true, REDIS_KEY_PREFIX: true }).extend({
  CONSOLE_GROUP_ID: z.string().trim().min(1).default('cms-console'),
  /** PostgreSQL, e.g. postgres://cms@127.0.0.1:15432/cms. */
  DATABASE_URL: env.url(['postgres', 'postgresql']),
  /** The schema the console's tables live in (a test or a second console uses its own). */
  CONSOLE_DB_SCHEMA: z.string().trim().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lower-case SQL identifier').default('console'),
  /** The web page and API. 0 picks a free port (logged). */
  CONSOLE_PORT: z.coerce.number().int().min(0).max(65_535).default(13000),
  CONSOLE_HOST: z.string().trim().min(1).default('127.0.0.1'),
  /** The address people reach the console at (the sign-in redirect comes back here); default http://<host>:<port>. */
  CONSOLE_PUBLIC_URL: env.url(['http', 'https']).optional(),
  /** The OpenID Connect issuer (the stack's local one in the demo and tests; the DWP's in production). */
  OIDC_ISSUER_URL: env.url(['http', 'https']),
  OIDC_CLIENT_ID: z.string().trim().min(1).default('cms-console'),
  /** For a confidential client; unset: a public client with PKCE (the local issuer's registration). */
  OIDC_CLIENT_SECRET: env.optionalString(),
  /** Signs the session cookie (at least 32 characters). Every instance of the console shares it. */
  CONSOLE_SESSION_SECRET: z.string().min(32, 'must be at least 32 characters'),
  CONSOLE_SESSION_TTL_MS: env.int(8 * 3_600_000, 60_000),
});

export interface ConsoleConfig {
  readonly platform: PlatformConfig;
  readonly groupId: string;
  readonly databaseUrl: string;
  readonly dbSchema: string;
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string | undefined;
  readonly oidc: { readonly issuer: string; readonly clientId: string; readonly clientSecret: string | undefined };
  readonly sessionSecret: string;
  readonly sessionTtlMs: number;
}

export function loadConfig(source: NodeJS.ProcessEnv = process.env): ConsoleConfig {
  const e = parseEnv(envSchema, source);
  return Object.freeze({
    // The shared config has a Redis setting; the console runs with `redis: false` and never reads it.
    platform: toPlatformConfig({ ...e, REDIS_URL: 'redis://unused.invalid', REDIS_KEY_PREFIX: 'cms' }, 'console'),
    groupId: e.CONSOLE_GROUP_ID,
    databaseUrl: e.DATABASE_URL,
    dbSchema: e.CONSOLE_DB_SCHEMA,
    port: e.CONSOLE_PORT,
    host: e.CONSOLE_HOST,
    publicUrl: e.CONSOLE_PUBLIC_URL?.replace(/\/+$/, ''),
    oidc: Object.freeze({ issuer: e.OIDC_ISSUER_URL.replace(/\/+$/, ''), clientId: e.OIDC_CLIENT_ID, clientSecret: e.OIDC_CLIENT_SECRET }),
    sessionSecret: e.CONSOLE_SESSION_SECRET,
    sessionTtlMs: e.CONSOLE_SESSION_TTL_MS,
  });
}
