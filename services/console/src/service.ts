import { CmsError } from '@cms-router/errors';
import { backoffDelay, createSinkRunner, ensureContract, sleepUnlessAborted, type BaseServiceParts, type SinkRunner } from '@cms-router/platform';
import type { Rules } from '@cms-router/rules';
import { createAuth } from './auth.ts';
import { startConsoleServer, type ConsoleServer } from './app.ts';
import type { ConsoleConfig } from './config.ts';
import { openConsoleDb, type ConsoleDb } from './db.ts';
import { CONSOLE_TOPICS } from './project.ts';
import { createQueries } from './queries.ts';

export interface ConsoleDeps extends BaseServiceParts {
  readonly config: ConsoleConfig;
  readonly rules: Rules;
}

export interface ConsoleApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The page and API address, once started. */
  url(): string | undefined;
}

/**
 * The console: the database (its tables made if missing, waited for while it is away), the HTTP side,
 * then the exactly-once sink, whose commits tell the live streams. Restricted segments come from the
 * rules file (`restricted: true`: Special Client Records and Exceptional Case Handling).
 */
export function createConsoleApp(d: ConsoleDeps): ConsoleApp {
  const log = d.logger.child({ component: 'console' });
  const stopping = new AbortController();
  const restricted = new Set(Object.entries(d.rules.segments).filter(([, s]) => s.restricted).map(([id]) => id));
  let db: ConsoleDb | undefined;
  let server: ConsoleServer | undefined;
  let sink: SinkRunner | undefined;
  let stopped: Promise<void> | undefined;
  const openDb = async (): Promise<ConsoleDb> => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        return await openConsoleDb(d.config.databaseUrl, d.config.dbSchema);
      } catch (err) {
        if (!(err instanceof CmsError) || !err.retryable || stopping.signal.aborted) throw err;
        const wait = backoffDelay(attempt, 200, 5_000);
        log.warn({ code: err.code, attempt, waitMs: wait }, 'database not reachable yet; waiting');
        await sleepUnlessAborted(wait, stopping.signal);
      }
    }
  };
  return {
    url: () => server?.url,
    async start() {
      db = await openDb();
      const admin = d.kafka.admin();
      await ensureContract(admin, d.serde, CONSOLE_TOPICS, d.config.platform.kafka.topicNamespace, -1, { log: (line) => { log.info(line); } }).finally(() => admin.disconnect());
      const auth = createAuth({ issuer: d.config.oidc.issuer, clientId: d.config.oidc.clientId, clientSecret: d.config.oidc.clientSecret, sessionSecret: d.config.sessionSecret, sessionTtlMs: d.config.sessionTtlMs });
      server = await startConsoleServer({ port: d.config.port, host: d.config.host, publicUrl: d.config.publicUrl, auth, queries: createQueries(db, restricted), restricted, logger: d.logger, secureCookies: (d.config.publicUrl ?? '').startsWith('https:') });
      sink = createSinkRunner({
        service: 'console',
        kafka: d.kafka,
        serde: d.serde,
        logger: d.logger,
        groupId: d.config.groupId,
        topics: CONSOLE_TOPICS,
        namespace: d.config.platform.kafka.topicNamespace,
        store: db.store,
        retry: d.config.platform.retry,
        sessionTimeoutMs: d.config.platform.kafka.sessionTimeoutMs,
        metrics: d.metrics,
        onCommitted: (records) => server?.committed(records),
        onFatal: d.onFatal,
      });
      await sink.start();
      log.info({ url: server.url }, 'console started');
    },
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        await sink?.stop();
        await server?.close().catch(() => undefined);
        await db?.close().catch(() => undefined);
      })();
      return stopped;
    },
  };
}
