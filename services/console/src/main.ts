// Composition root of the console: config, clients, rules, app, ops server. The only file that exits the process.
import { isCmsError, messageOf } from '@cms-router/errors';
import { createKafka, createLogger, createSchemaRegistry, createSerde, createServiceMetrics, LOG_FIELDS, onShutdownSignal, startOpsServer, withTimeout, type OpsServer } from '@cms-router/platform';
import { defaultRules } from '@cms-router/rules';
import { loadConfig } from './config.ts';
import { createConsoleApp } from './service.ts';

async function main(): Promise<number> {
  const config = loadConfig();
  const logger = createLogger({ service: 'console', level: config.platform.logLevel });
  const kafka = createKafka(config.platform.kafka, logger);
  const serde = createSerde(createSchemaRegistry(config.platform.registry), config.platform.kafka.topicNamespace);
  const metrics = createServiceMetrics('console');
  let exit: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => { exit = resolve; });
  let code = 0;
  let ops: OpsServer | undefined;
  let stopping: Promise<void> | undefined;
  const shutdown = (reason: string, c: number): Promise<void> => {
    code = Math.max(code, c);
    stopping ??= (async () => {
      logger.info({ [LOG_FIELDS.trigger]: reason }, 'shutting down');
      await withTimeout(app.stop(), config.platform.shutdownTimeoutMs, 'console shutdown').catch((err: unknown) => {
        code = Math.max(code, 1);
        logger.error({ err }, 'shutdown did not finish cleanly');
      });
      await ops?.close().catch(() => undefined);
      logger.flush();
      exit(code);
    })();
    return stopping;
  };
  const app = createConsoleApp({ config, logger, kafka, serde, metrics, rules: defaultRules(), onFatal: (err) => { logger.fatal({ err }, 'sink crashed; exiting so the supervisor restarts the console'); void shutdown('sink crashed', 1); } });
  onShutdownSignal((signal) => void shutdown(signal, 0));
  try {
    if (config.platform.opsPort !== undefined) ops = await startOpsServer({ port: config.platform.opsPort, service: 'console', metrics, logger, ready: () => metrics.readiness() });
    await app.start();
    process.stdout.write(`console: ${app.url() ?? ''}\n`);
  } catch (err) {
    await shutdown('start-up failed', 1);
    throw err;
  }
  return exited;
}

main().then(
  (c) => process.exit(c),
  (err: unknown) => {
    // One line, no stack: configuration and start-up errors are for operators.
    console.error(`console: ${isCmsError(err) ? `${err.code}: ` : ''}${messageOf(err)}`);
    process.exit(1);
  },
);
