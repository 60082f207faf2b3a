export { commonEnvSchema, deepFreeze, env, parseEnv, toPlatformConfig, type CommonEnv, type PlatformConfig } from './config.ts';
export { createLogger, type Logger } from './logger.ts';
export { LOG_FIELDS, REDACT_PATHS } from './log-fields.ts';
export { createRedis, redisCall, redisKeys, type Redis, type RedisKeys } from './redis.ts';
export { createSchemaRegistry, createSerde, type Compatibility, type SchemaRegistry, type Serde } from './registry.ts';
export { createKafka, ensureTopics } from './kafka/client.ts';
export { createKafkaRunner, type Handler, type InboundRecord, type KafkaRunner, type OutboundRecord, type RunnerOptions, type RunnerStats, type StateHooks } from './kafka/runner.ts';
export { backoffDelay, sleepUnlessAborted } from './kafka/backoff.ts';
export { onShutdownSignal, withTimeout } from './shutdown.ts';
