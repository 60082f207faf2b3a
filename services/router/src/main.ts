// Composition root of the router: config, clients, app, signals. The only file that exits the process.
import { readFileSync } from 'node:fs';
import { isCmsError, messageOf, type CmsError } from '@cms-router/errors';
import { createKafka, createLogger, createRedis, createSchemaRegistry, createSerde, onShutdownSignal, withTimeout } from '@cms-router/platform';
import { defaultRules, loadRules } from '@cms-router/rules';
import { createRouterApp } from './app.ts';
import { loadConfig } from './config.ts';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ service: 'router', level: config.platform.logLevel });
  const rules = config.rulesFile ? loadRules(JSON.parse(readFileSync(config.rulesFile, 'utf8')), config.rulesFile) : defaultRules();
  const kafka = createKafka(config.platform.kafka, logger);
  const registry = createSchemaRegistry(config.platform.registry);
  const serde = createSerde(registry, config.platform.kafka.topicNamespace);
  const redis = createRedis(config.platform.redis.url, { connectionName: 'cms-router' });

  let exitCode = 0;
  let shuttingDown: Promise<void> | undefined;
  const shutdown = (reason: string, code: number): Promise<void> => {
    exitCode = Math.max(exitCode, code);
    shuttingDown ??= (async () => {
      logger.info({ reason }, 'shutting down');
      try {
        await withTimeout(app.stop(), config.platform.shutdownTimeoutMs, 'router shutdown');
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
  const app = createRouterApp({
    config,
    kafka,
    serde,
    redis,
    logger,
    rules,
    onFatal: (err: CmsError) => {
      logger.fatal({ err }, 'consumer crashed; exiting so the supervisor restarts the router');
      void shutdown('consumer crashed', 1);
    },
  });
  onShutdownSignal((signal) => void shutdown(signal, 0));
  await app.start();
}

main().catch((err: unknown) => {
  // One line, no stack: configuration and start-up errors are for operators.
  console.error(`router: ${isCmsError(err) ? `${err.code}: ` : ''}${messageOf(err)}`);
  process.exit(1);
});
