import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { CmsError } from '@cms-router/errors';

/** Where the repository is: packages/stack/src/ -> repo root. */
export const REPO_ROOT = resolve(import.meta.dirname, '../../..');

export type ServiceName = 'kafka' | 'registry' | 'redis' | 'smtp' | 'postgres' | 'oidc';
export const SERVICE_NAMES: readonly ServiceName[] = ['kafka', 'registry', 'redis', 'smtp', 'postgres', 'oidc'];

/** Every knob of the local stack, read from the environment once. Ports default to unusual values so
 * the stack never collides with a Kafka, Redis or registry a developer already runs. */
export interface StackSettings {
  readonly dir: string;
  readonly host: '127.0.0.1';
  readonly kafkaVersion: string;
  readonly apicurioVersion: string;
  readonly kafkaPort: number;
  readonly kafkaControllerPort: number;
  readonly kafkaHeap: string;
  readonly registryPort: number;
  readonly registryManagementPort: number;
  readonly registryHeap: string;
  readonly redisPort: number;
  readonly smtpPort: number;
  readonly smtpWebPort: number;
  /** PostgreSQL (the console's database). */
  readonly postgresPort: number;
  /** The local OpenID Connect issuer (demo users for the console's sign-in). */
  readonly oidcPort: number;
  readonly readyTimeoutMs: number;
  readonly javaHome: string | undefined;
  readonly apicurioJavaHome: string | undefined;
  readonly m2Repository: string;
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65535) problems.push(`${name} must be a port number (got "${raw}")`);
  return value;
}

export function readStackSettings(env: NodeJS.ProcessEnv = process.env): StackSettings {
  const problems: string[] = [];
  const settings: StackSettings = {
    dir: resolve(env['CMS_STACK_DIR'] ?? join(REPO_ROOT, '.stack')),
    host: '127.0.0.1',
    kafkaVersion: env['KAFKA_VERSION'] ?? '4.3.1',
    apicurioVersion: env['APICURIO_VERSION'] ?? '3.3.3',
    kafkaPort: port(env, 'CMS_STACK_KAFKA_PORT', 19092, problems),
    kafkaControllerPort: port(env, 'CMS_STACK_KAFKA_CONTROLLER_PORT', 19093, problems),
    kafkaHeap: env['CMS_STACK_KAFKA_HEAP'] ?? '512m',
    registryPort: port(env, 'CMS_STACK_REGISTRY_PORT', 18081, problems),
    registryManagementPort: port(env, 'CMS_STACK_REGISTRY_MANAGEMENT_PORT', 19000, problems),
    registryHeap: env['CMS_STACK_REGISTRY_HEAP'] ?? '384m',
    redisPort: port(env, 'CMS_STACK_REDIS_PORT', 16379, problems),
    smtpPort: port(env, 'CMS_STACK_SMTP_PORT', 11025, problems),
    smtpWebPort: port(env, 'CMS_STACK_SMTP_WEB_PORT', 11080, problems),
    postgresPort: port(env, 'CMS_STACK_POSTGRES_PORT', 15432, problems),
    oidcPort: port(env, 'CMS_STACK_OIDC_PORT', 19080, problems),
    readyTimeoutMs: Number(env['CMS_STACK_READY_TIMEOUT_MS'] ?? 180_000),
    javaHome: env['JAVA_HOME'] || undefined,
    apicurioJavaHome: env['APICURIO_JAVA_HOME'] || undefined,
    m2Repository: env['CMS_STACK_M2_REPOSITORY'] ?? join(homedir(), '.m2', 'repository'),
  };
  if (!/^\d+\.\d+\.\d+$/.test(settings.kafkaVersion)) problems.push(`KAFKA_VERSION must look like 4.3.1 (got "${settings.kafkaVersion}")`);
  if (!/^3\.\d+\.\d+$/.test(settings.apicurioVersion)) problems.push(`APICURIO_VERSION must be a 3.x version (got "${settings.apicurioVersion}")`);
  if (problems.length > 0) throw new CmsError('CMS_CONFIG_INVALID', `local stack settings: ${problems.join('; ')}`);
  return Object.freeze(settings);
}

/** The endpoints a client uses, in the same variable names as the services' config. */
export interface StackEndpoints {
  readonly KAFKA_BROKERS: string;
  readonly SCHEMA_REGISTRY_URL: string;
  readonly REDIS_URL: string;
  readonly SMTP_URL: string;
  readonly SMTP_API_URL: string;
  readonly DATABASE_URL: string;
  readonly OIDC_ISSUER_URL: string;
}

export function endpointsOf(s: StackSettings): StackEndpoints {
  return {
    KAFKA_BROKERS: `${s.host}:${s.kafkaPort}`,
    SCHEMA_REGISTRY_URL: `http://${s.host}:${s.registryPort}/apis/ccompat/v7`,
    REDIS_URL: `redis://${s.host}:${s.redisPort}`,
    SMTP_URL: `smtp://${s.host}:${s.smtpPort}`,
    SMTP_API_URL: `http://${s.host}:${s.smtpWebPort}`,
    DATABASE_URL: `postgres://cms@${s.host}:${s.postgresPort}/cms`,
    OIDC_ISSUER_URL: `http://${s.host}:${s.oidcPort}`,
  };
}

export const paths = (s: StackSettings) => ({
  pid: (name: ServiceName) => join(s.dir, 'pids', `${name}.pid`),
  log: (name: ServiceName) => join(s.dir, 'logs', `${name}.log`),
  kafkaData: join(s.dir, 'data', `kafka-${s.kafkaVersion}`),
  kafkaConfig: join(s.dir, 'config', `kafka-${s.kafkaVersion}.properties`),
  kafkaLogConfig: join(s.dir, 'config', 'kafka-log4j'),
  kafkaClasspath: join(s.dir, 'cache', `kafka-${s.kafkaVersion}.classpath`),
  apicurioHome: join(s.dir, 'cache', `apicurio-registry-${s.apicurioVersion}`),
  redisData: join(s.dir, 'data', 'redis'),
  postgresData: join(s.dir, 'data', 'postgres'),
  endpoints: join(s.dir, 'endpoints.json'),
});
