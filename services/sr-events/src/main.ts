// Composition root of the sr-events: config, clients, app, signals. The only file that exits the process.
import { isCmsError, messageOf, type CmsError } from '@cms-router/errors';
import { createKafka, createLogger, createRedis, createSchemaRegistry, createSerde, onShutdownSignal, withTimeout } from '@cms-router/platform';
import { createSrEventsApp } from './app.ts';
import { loadConfig } from './config.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ service: 'sr-events', level: config.platform.logLevel });
  const kafka = createKafka(config.platform.kafka, logger);
  const registry = createSchemaRegistry(config.platform.registry);
  const serde = createSerde(registry, config.platform.kafka.topicNamespace);
  const redis = createRedis(config.platform.redis.url, { connectionName: 'cms-sr-events' });

  let exitCode = 0;
  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string, code: number): Promise<void> => {
    exitCode = Math.max(exitCode, code);
    shuttingDown ??= (async () => {
      logger.info({ reason }, 'shutting down');
      try {
        await withTimeout(app.stop(), config.platform.shutdownTimeoutMs, 'sr-events shutdown');
      } catch (err) {
        exitCode = Math.max(exitCode, 1);
        logger.error({ err }, 'shutdown did not finish cleanly');
      }
      await redis.quit().catch(() => undefined);
      logger.flush();
      process.exit(exitCode);
    })();
    return shuttingDown;
  };
  const app = createSrEventsApp({
    config,
    kafka,
    serde,
    redis,
    logger,
    onFatal: (err: CmsError) => {
      logger.fatal({ err }, 'consumer crashed; exiting so the supervisor restarts sr-events');
      void shutdown('consumer crashed', 1);
    },
  });
  onShutdownSignal((signal) => void shutdown(signal, 0));
  await app.start();
}

main().catch((err: unknown) => {
  // One line, no stack: configuration and start-up errors are for operators.
  console.error(`sr-events: ${isCmsError(err) ? `${err.code}: ` : ''}${messageOf(err)}`);
  process.exit(1);
});
