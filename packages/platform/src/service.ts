import type { Kafka } from 'kafkajs';
import type { CmsError } from '@cms-router/errors';
import { createKafka } from './kafka/client.ts';
import type { PlatformConfig } from './config.ts';
import { LOG_FIELDS } from './log-fields.ts';
import { createLogger, type Logger } from './logger.ts';
import { createServiceMetrics, type ServiceMetrics } from './ops/metrics.ts';
import { startOpsServer, type OpsServer } from './ops/server.ts';
import { createRedis, type Redis } from './redis.ts';
import { createSchemaRegistry, createSerde, type Serde } from './registry.ts';
import { onShutdownSignal, withTimeout } from './shutdown.ts';

/** What every service is built from. */
export interface BaseServiceParts {
  readonly logger: Logger;
  readonly kafka: Kafka;
  readonly serde: Serde;
  /** The service's metrics; runners report to it, and the ops server serves it. */
  readonly metrics: ServiceMetrics;
  /** For the runner: the consumer crashed for good; the service shuts down and exits non-zero. */
  readonly onFatal: (err: CmsError) => void;
}

/** A service whose state lives in Redis (every one but the console, whose state is its database). */
export interface ServiceParts extends BaseServiceParts {
  readonly redis: Redis;
}

export interface RunnableService {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The common life of a service: build the clients from config, start the app, stop it in order on
 * SIGTERM/SIGINT or a fatal consumer crash (app, then Redis, then logs), within the shutdown timeout.
 * Resolves with the exit code; main.ts owns process.exit. `redis: false` for a service that keeps no
 * state in Redis.
 */
export async function runService(
  opts:
    | { readonly name: string; readonly platform: PlatformConfig; readonly redis?: true; readonly build: (parts: ServiceParts) => RunnableService }
    | { readonly name: string; readonly platform: PlatformConfig; readonly redis: false; readonly build: (parts: BaseServiceParts) => RunnableService },
): Promise<number> {
  const { name, platform } = opts;
  const logger = createLogger({ service: name, level: platform.logLevel });
  const kafka = createKafka(platform.kafka, logger);
  const serde = createSerde(createSchemaRegistry(platform.registry), platform.kafka.topicNamespace);
  // Only a service that keeps state in Redis connects to it (`redis: false`: the console).
  const redis = opts.redis === false ? undefined : createRedis(platform.redis.url, { connectionName: `cms-${name}` });
  const metrics = createServiceMetrics(name);
  let ops: OpsServer | undefined;
  let exitCode = 0;
  let resolveExit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => {
    resolveExit = resolve;
  });
  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string, code: number): Promise<void> => {
    exitCode = Math.max(exitCode, code);
    stopping ??= (async () => {
      logger.info({ [LOG_FIELDS.trigger]: reason }, 'shutting down');
      try {
        await withTimeout(app.stop(), platform.shutdownTimeoutMs, `${name} shutdown`);
      } catch (err) {
        exitCode = Math.max(exitCode, 1);
        logger.error({ err }, 'shutdown did not finish cleanly');
      }
      await ops?.close().catch(() => undefined);
      await redis?.quit().catch(() => undefined);
      logger.flush();
      resolveExit(exitCode);
    })();
    return stopping;
  };
  // Without Redis only when `redis: false`, whose build takes BaseServiceParts.
  const app = opts.build({
    logger,
    kafka,
    serde,
    ...(redis ? { redis } : {}),
    metrics,
    onFatal: (err) => {
      logger.fatal({ err }, `consumer crashed; exiting so the supervisor restarts ${name}`);
      void shutdown('consumer crashed', 1);
    },
  } as ServiceParts);
  onShutdownSignal((signal) => void shutdown(signal, 0));
  try {
    // Before the app: /healthz answers and /readyz says what is missing while state restores.
    if (platform.opsPort !== undefined) ops = await startOpsServer({ port: platform.opsPort, service: name, metrics, logger, ready: () => metrics.readiness() });
    await app.start();
  } catch (err) {
    await shutdown('start-up failed', 1);
    throw err;
  }
  return exited;
}

/** Runner options every service takes from the shared config. */
export function runnerDefaults(platform: PlatformConfig) {
  return {
    namespace: platform.kafka.topicNamespace,
    transactional: true,
    retry: platform.retry,
    sessionTimeoutMs: platform.kafka.sessionTimeoutMs,
    partitionsConsumedConcurrently: platform.kafka.partitionsConsumedConcurrently,
  } as const;
}
