// `npm run demo`: brings up the local stack, creates the topics, registers the contract's schemas,
// starts every service that has an entry point, and says where to look. `npm run stack -- down` stops it all.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isCmsError, messageOf } from '@cms-router/errors';
import { TOPICS, subjectOf, type SchemaTopic } from '@cms-router/events';
import { createLogger, createSchemaRegistry, createSerde, createKafka, ensureTopics } from '@cms-router/platform';
import { playTraffic } from '@cms-router/cli';
import { isAlive, paths, readPid, readStackSettings, REPO_ROOT, spawnDetached, up } from '@cms-router/stack';

const SERVICES = ['sr-events', 'router', 'notifier'] as const;

const say = (line: string): void => {
  console.log(`[demo] ${line}`);
};

async function main(): Promise<void> {
  const settings = readStackSettings();
  const { endpoints } = await up(settings, say);
  const logger = createLogger({ service: 'demo', level: 'warn' });
  const kafka = createKafka({ brokers: [endpoints.KAFKA_BROKERS], clientId: 'cms-demo', ssl: false, sasl: undefined, topicNamespace: undefined, sessionTimeoutMs: 30_000, partitionsConsumedConcurrently: 1 }, logger);
  const admin = kafka.admin();
  await admin.connect();
  const created = await ensureTopics(admin, Object.values(TOPICS), undefined, 1);
  await admin.disconnect();
  say(created.length > 0 ? `created topics: ${created.join(', ')}` : 'topics already exist');
  const registry = createSchemaRegistry({ url: endpoints.SCHEMA_REGISTRY_URL });
  const serde = createSerde(registry, undefined);
  for (const topic of Object.values(TOPICS).filter((t): t is SchemaTopic => t !== TOPICS.deadLetter)) await serde.ensureRegistered(topic);
  say(`registered ${Object.keys(TOPICS).length - 1} schemas (subjects ${subjectOf(TOPICS.caseFacts)}, ...) with BACKWARD_TRANSITIVE`);

  const env = {
    ...process.env,
    ...endpoints,
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info',
    INBOX_SCR: 'cm2012-scheme-special-client-records@cms.example',
    INBOX_ECH_GATEWAY: 'cm2012-ech-gateway@cms.example',
    INBOX_SCR_TEAM_LEADER: 'scr-team-leader@cms.example',
    INBOX_ORPHANS: 'local-it@cms.example',
  };
  const p = paths(settings);
  const running: string[] = [];
  for (const service of SERVICES) {
    const entry = join(REPO_ROOT, 'services', service, 'src', 'main.ts');
    if (!existsSync(entry)) continue;
    const pidFile = join(settings.dir, 'pids', `service-${service}.pid`);
    const pid = readPid(pidFile);
    if (pid === undefined || !isAlive(pid)) spawnDetached(process.execPath, [entry], { logFile: join(settings.dir, 'logs', `service-${service}.log`), pidFile, env });
    running.push(service);
  }
  say(running.length > 0 ? `services running: ${running.join(', ')} (logs in ${join(settings.dir, 'logs')})` : 'no service has an entry point yet: the stack, topics and schemas are ready for them');
  if (running.includes('router') && process.env['DEMO_TRAFFIC'] !== '0') {
    const caseGroups = Number(process.env['DEMO_CASE_GROUPS'] ?? 300);
    const seed = Number(process.env['DEMO_SEED'] ?? Date.now() % 100_000);
    say(`playing synthetic traffic: ${caseGroups} case groups across the UK (seed ${seed}) with referrals, approvals, rejections, escalations, address changes and special cases; Ctrl-C stops the traffic, not the services`);
    const controller = new AbortController();
    process.once('SIGINT', () => {
      controller.abort();
    });
    const result = await playTraffic({
      brokers: endpoints.KAFKA_BROKERS,
      registryUrl: endpoints.SCHEMA_REGISTRY_URL,
      namespace: undefined,
      seed,
      caseGroups,
      changesPerCaseGroup: 8,
      rate: Number(process.env['DEMO_RATE'] ?? 300),
      summaryEveryMs: 2_000,
      settleMs: 4_000,
      out: say,
      signal: controller.signal,
    });
    say(`traffic done: ${result.produced} events; try: npm run cli -- explain S${seed}-CG-0`);
  }
  say('');
  say('Where to look:');
  say(`  schema registry (Confluent API)  ${endpoints.SCHEMA_REGISTRY_URL}/subjects`);
  say(`  SMTP sink web UI                 ${endpoints.SMTP_API_URL}`);
  say(`  Kafka bootstrap                  ${endpoints.KAFKA_BROKERS}`);
  say(`  Redis                            ${endpoints.REDIS_URL}`);
  say(`  stack logs                       ${p.log('kafka').replace(/kafka\.log$/, '')}`);
  say('Stop everything with: npm run stack -- down');
}

main().catch((err: unknown) => {
  console.error(`[demo] error ${isCmsError(err) ? `${err.code}: ` : ''}${messageOf(err)}`);
  process.exitCode = 1;
});
