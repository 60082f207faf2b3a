import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { CmsError } from '@cms-router/errors';

/** Env var parsers shared by every service. Units are in the names (…_MS). */
export const env = {
  string: () => z.string().trim().min(1),
  optionalString: () => z.string().trim().min(1).optional(),
  int: (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  url: (protocols: readonly string[]) =>
    z
      .string()
      .trim()
      .refine((v) => {
        try {
          return protocols.includes(new URL(v).protocol.replace(':', ''));
        } catch {
          return false;
        }
      }, `must be a URL (${protocols.join(', ')})`),
  brokers: () =>
    z
      .string()
      .trim()
      .min(1)
      .transform((v) => v.split(',').map((b) => b.trim()).filter(Boolean))
      .refine((list) => list.length > 0 && list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)), 'must be host:port[,host:port...]'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
};

/**
 * Variables every service reads. Names match docker-compose.yml and the README; a test keeps the
 * compose file in step with these schemas.
 */
export const commonEnvSchema = z.object({
  KAFKA_BROKERS: env.brokers(),
  KAFKA_CLIENT_ID: env.optionalString(),
  KAFKA_SSL: env.bool(false),
  /** PEM file of the CA that signed the brokers' certificates (a private CA); implies KAFKA_SSL. */
  KAFKA_SSL_CA_FILE: env.optionalString(),
  KAFKA_SASL_MECHANISM: z.enum(['none', 'plain', 'scram-sha-256', 'scram-sha-512']).default('none'),
  KAFKA_SASL_USERNAME: env.optionalString(),
  KAFKA_SASL_PASSWORD: env.optionalString(),
  /** Prefix for every topic name (tests, side-by-side environments). Empty in production. */
  KAFKA_TOPIC_NAMESPACE: z.string().trim().regex(/^[a-zA-Z0-9._-]*$/).optional(),
  KAFKA_SESSION_TIMEOUT_MS: env.int(30_000, 6_000),
  KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY: env.int(2, 1),
  SCHEMA_REGISTRY_URL: env.url(['http', 'https']),
  SCHEMA_REGISTRY_USERNAME: env.optionalString(),
  SCHEMA_REGISTRY_PASSWORD: env.optionalString(),
  REDIS_URL: env.url(['redis', 'rediss']),
  REDIS_KEY_PREFIX: z.string().trim().regex(/^[a-zA-Z0-9_-]+$/).default('cms'),
  RETRY_INITIAL_MS: env.int(200, 1),
  RETRY_MAX_MS: env.int(30_000, 1),
  SHUTDOWN_TIMEOUT_MS: env.int(30_000, 100),
  LOG_LEVEL: env.logLevel(),
  /** The ops server's port (/healthz, /readyz, /metrics); unset: none. 0 picks a free port (logged). */
  OPS_PORT: z.coerce.number().int().min(0).max(65_535).optional(),
});

export type CommonEnv = z.infer<typeof commonEnvSchema>;

/**
 * Parses the environment once against `schema`, reporting every problem in one error, then freezes
 * the result. Values are never echoed (they may be secrets); only variable names and what is wrong.
 */
export function parseEnv<S extends z.ZodType>(schema: S, source: NodeJS.ProcessEnv = process.env): Readonly<z.infer<S>> {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v !== '') cleaned[k] = v;
  const result = schema.safeParse(cleaned);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(env)'}: ${issue.code === 'invalid_type' && issue.input === undefined ? 'required' : issue.message}`);
    throw new CmsError('CMS_CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`, { context: { problems: problems.length } });
  }
  return deepFreeze(result.data);
}

export function deepFreeze<T>(value: T): Readonly<T> {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/** The shared settings, shaped for the adapters. */
export interface PlatformConfig {
  readonly kafka: {
    readonly brokers: readonly string[];
    readonly clientId: string;
    /** false, true (the system's CAs) or the CA certificates to trust. */
    readonly ssl: boolean | { readonly ca: readonly string[] };
    readonly sasl: { readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; readonly username: string; readonly password: string } | undefined;
    readonly topicNamespace: string | undefined;
    readonly sessionTimeoutMs: number;
    readonly partitionsConsumedConcurrently: number;
  };
  readonly registry: { readonly url: string; readonly username: string | undefined; readonly password: string | undefined };
  readonly redis: { readonly url: string; readonly keyPrefix: string };
  readonly retry: { readonly initialMs: number; readonly maxMs: number };
  readonly shutdownTimeoutMs: number;
  readonly logLevel: CommonEnv['LOG_LEVEL'];
  readonly opsPort: number | undefined;
}

export function toPlatformConfig(e: CommonEnv, service: string): PlatformConfig {
  const problems: string[] = [];
  let sasl: PlatformConfig['kafka']['sasl'];
  if (e.KAFKA_SASL_MECHANISM !== 'none') {
    if (!e.KAFKA_SASL_USERNAME || !e.KAFKA_SASL_PASSWORD) problems.push('KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are required when KAFKA_SASL_MECHANISM is set');
    else sasl = { mechanism: e.KAFKA_SASL_MECHANISM, username: e.KAFKA_SASL_USERNAME, password: e.KAFKA_SASL_PASSWORD };
  }
  let ssl: PlatformConfig['kafka']['ssl'] = e.KAFKA_SSL;
  if (e.KAFKA_SSL_CA_FILE) {
    try {
      const pem = readFileSync(e.KAFKA_SSL_CA_FILE, 'utf8');
      if (!pem.includes('-----BEGIN CERTIFICATE-----')) problems.push(`KAFKA_SSL_CA_FILE: ${e.KAFKA_SSL_CA_FILE} holds no PEM certificate`);
      ssl = { ca: [pem] };
    } catch (err) {
      problems.push(`KAFKA_SSL_CA_FILE: cannot read ${e.KAFKA_SSL_CA_FILE} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (e.RETRY_MAX_MS < e.RETRY_INITIAL_MS) problems.push('RETRY_MAX_MS must be at least RETRY_INITIAL_MS');
  if (problems.length > 0) throw new CmsError('CMS_CONFIG_INVALID', `invalid configuration: ${problems.join('; ')}`);
  return deepFreeze({
    kafka: {
      brokers: e.KAFKA_BROKERS,
      clientId: e.KAFKA_CLIENT_ID ?? `cms-${service}`,
      ssl,
      sasl,
      topicNamespace: e.KAFKA_TOPIC_NAMESPACE || undefined,
      sessionTimeoutMs: e.KAFKA_SESSION_TIMEOUT_MS,
      partitionsConsumedConcurrently: e.KAFKA_PARTITIONS_CONSUMED_CONCURRENTLY,
    },
    registry: { url: e.SCHEMA_REGISTRY_URL.replace(/\/+$/, ''), username: e.SCHEMA_REGISTRY_USERNAME, password: e.SCHEMA_REGISTRY_PASSWORD },
    redis: { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX },
    retry: { initialMs: e.RETRY_INITIAL_MS, maxMs: e.RETRY_MAX_MS },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    opsPort: e.OPS_PORT,
    logLevel: e.LOG_LEVEL,
  });
}
