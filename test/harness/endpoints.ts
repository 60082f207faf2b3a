/** Where the real stack is, in the services' own variable names. */
export interface TestEndpoints {
  readonly KAFKA_BROKERS: string;
  readonly SCHEMA_REGISTRY_URL: string;
  readonly REDIS_URL: string;
  readonly SMTP_URL: string;
  /** MailDev-compatible HTTP API (GET /email) to read sent mail back. */
  readonly SMTP_API_URL: string;
  /** PostgreSQL (the console's database). */
  readonly DATABASE_URL: string;
  /** An OpenID Connect issuer with the demo users (the console's sign-in). */
  readonly OIDC_ISSUER_URL: string;
  /** How the stack was found: named by env, started with testcontainers, or the local stack. */
  readonly source: 'env' | 'testcontainers' | 'local-stack';
}

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: TestEndpoints;
  }
}

const NAMES = ['KAFKA_BROKERS', 'SCHEMA_REGISTRY_URL', 'REDIS_URL', 'SMTP_URL', 'SMTP_API_URL', 'DATABASE_URL', 'OIDC_ISSUER_URL'] as const;

/** Endpoints named by the environment, when all of them are. */
export function endpointsFromEnv(env: NodeJS.ProcessEnv): TestEndpoints | undefined {
  const values = NAMES.map((n) => env[n]);
  if (values.every((v) => v !== undefined && v !== '')) {
    return { KAFKA_BROKERS: env['KAFKA_BROKERS'] ?? '', SCHEMA_REGISTRY_URL: env['SCHEMA_REGISTRY_URL'] ?? '', REDIS_URL: env['REDIS_URL'] ?? '', SMTP_URL: env['SMTP_URL'] ?? '', SMTP_API_URL: env['SMTP_API_URL'] ?? '', DATABASE_URL: env['DATABASE_URL'] ?? '', OIDC_ISSUER_URL: env['OIDC_ISSUER_URL'] ?? '', source: 'env' };
  }
  if (values.some((v) => v !== undefined && v !== '')) {
    const missing = NAMES.filter((n) => !env[n]);
    throw new Error(`integration tests: some stack variables are set but not ${missing.join(', ')}; set all of ${NAMES.join(', ')} or none`);
  }
  return undefined;
}
