// `npm run demo`: brings up the local stack, creates the topics, registers the contract's schemas,
// starts every service that has an entry point, and says where to look. `npm run stack -- down` stops it all.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isCmsError, messageOf } from '@cms-router/errors';
import { TOPICS, subjectOf, type OrphanFlag } from '@cms-router/events';
import { createLogger, createSchemaRegistry, createSerde, createKafka, ensureContract, readTopicToEnd } from '@cms-router/platform';
import { playTraffic } from '@cms-router/cli';
import { DEMO_PASSWORD, DEMO_USERS, isAlive, paths, readPid, readStackSettings, REPO_ROOT, spawnDetached, up } from '@cms-router/stack';

const SERVICES = ['sr-events', 'router', 'notifier', 'console'] as const;

const say = (line: string): void => {
  console.log(`[demo] ${line}`);
};

async function main(): Promise<void> {
  const settings = readStackSettings();
  const { endpoints } = await up(settings, say);
  const logger = createLogger({ service: 'demo', level: 'warn' });
  const kafka = createKafka({ brokers: [endpoints.KAFKA_BROKERS], clientId: 'cms-demo', ssl: false, sasl: undefined, topicNamespace: undefined, sessionTimeoutMs: 30_000, partitionsConsumedConcurrently: 1 }, logger);
  const admin = kafka.admin();
  const registry = createSchemaRegistry({ url: endpoints.SCHEMA_REGISTRY_URL });
  const serde = createSerde(registry, undefined);
  const created = await ensureContract(admin, serde, Object.values(TOPICS), undefined, 1, { log: say });
  await admin.disconnect();
  say(created.length > 0 ? `created topics: ${created.join(', ')}` : 'topics already exist');
  say(`registered the contract's schemas (subjects ${subjectOf(TOPICS.caseFacts)}, ...): FULL_TRANSITIVE for upstream and published topics, BACKWARD_TRANSITIVE for internal ones`);

  const env = {
    ...process.env,
    ...endpoints,
    LOG_LEVEL: process.env['LOG_LEVEL'] ?? 'info',
    INBOX_SCR: 'cm2012-scheme-special-client-records@cms.example',
    INBOX_ECH_GATEWAY: 'cm2012-ech-gateway@cms.example',
    INBOX_SCR_TEAM_LEADER: 'scr-team-leader@cms.example',
    INBOX_ORPHANS: 'local-it@cms.example',
    // The console's session key: kept with the stack, so a restarted console keeps people signed in.
    CONSOLE_SESSION_SECRET: sessionSecret(settings.dir),
    CONSOLE_PORT: String(CONSOLE_PORT),
  };
  const p = paths(settings);
  const running: string[] = [];
  for (const service of SERVICES) {
    const entry = join(REPO_ROOT, 'services', service, 'src', 'main.ts');
    if (!existsSync(entry)) continue;
    const pidFile = join(settings.dir, 'pids', `service-${service}.pid`);
    const pid = readPid(pidFile);
    // Under a supervisor that restarts the service whenever it exits (its state comes back from the changelogs).
    if (pid === undefined || !isAlive(pid)) spawnDetached(process.execPath, [join(REPO_ROOT, 'scripts', 'supervise.ts'), service], { logFile: join(settings.dir, 'logs', `service-${service}.log`), pidFile, env: { ...env, OPS_PORT: String(OPS_PORTS[service] ?? 0) } });
    running.push(service);
  }
  say(running.length > 0 ? `services running, each under a supervisor that restarts it if it exits: ${running.join(', ')} (logs in ${join(settings.dir, 'logs')})` : 'no service has an entry point yet: the stack, topics and schemas are ready for them');
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
    if (running.includes('notifier')) await notifierSummary(endpoints.SMTP_API_URL, kafka, serde, env);
  }
  say('');
  say('Where to look:');
  say(`  schema registry (Confluent API)  ${endpoints.SCHEMA_REGISTRY_URL}/subjects`);
  say(`  SMTP sink web UI                 ${endpoints.SMTP_API_URL}`);
  say(`  Kafka bootstrap                  ${endpoints.KAFKA_BROKERS}`);
  say(`  Redis                            ${endpoints.REDIS_URL}`);
  if (running.includes('console')) {
    say(`  console (dashboards, query API)  http://127.0.0.1:${CONSOLE_PORT}/  sign in as ${DEMO_USERS.map((u) => u.sub).join(', ')} (password "${DEMO_PASSWORD}"), e.g. sm-maintenance or tl-t1`);
    say(`  console API (OpenAPI)            http://127.0.0.1:${CONSOLE_PORT}/api/docs/json`);
  }
  for (const service of running) say(`  ${`${service} health and metrics`.padEnd(33)}http://127.0.0.1:${OPS_PORTS[service] ?? 0}/metrics (/healthz, /readyz)`);
  say(`  stack logs                       ${p.log('kafka').replace(/kafka\.log$/, '')}`);
  say('Stop everything with: npm run stack -- down');
}

/** Each service's ops port in the demo (/healthz, /readyz, /metrics); docker-compose.yml and ops/prometheus.yml use the same. */
const OPS_PORTS: Readonly<Record<string, number>> = { router: 9464, 'sr-events': 9465, notifier: 9466, console: 9467 };
const CONSOLE_PORT = 13000;

function sessionSecret(dir: string): string {
  const file = join(dir, 'config', 'console-session-secret');
  if (!existsSync(file)) {
    mkdirSync(join(dir, 'config'), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8').trim();
}

/** What the notifier did with the traffic: emails in the SMTP sink per inbox, orphan flags on Kafka. */
async function notifierSummary(smtpApi: string, kafka: ReturnType<typeof createKafka>, serde: ReturnType<typeof createSerde>, env: Record<string, string | undefined>): Promise<void> {
  const inboxes: Record<string, string> = { [env['INBOX_SCR'] ?? '']: 'SCR', [env['INBOX_ECH_GATEWAY'] ?? '']: 'ECH gateway', [env['INBOX_SCR_TEAM_LEADER'] ?? '']: 'SCR team leader', [env['INBOX_ORPHANS'] ?? '']: 'local IT (orphans)' };
  let last = -1;
  let mails: { to: { address: string }[]; subject: string }[] = [];
  // Emails trail the assignments by a transaction or two: wait until the count stops moving.
  for (let i = 0; i < 30; i += 1) {
    mails = (await (await fetch(`${smtpApi}/email`)).json()) as typeof mails;
    if (mails.length === last) break;
    last = mails.length;
    await new Promise((r) => setTimeout(r, 2_000));
  }
  const byInbox = new Map<string, number>();
  // The sink may also hold mail from test runs: anything not for the demo's inboxes counts as "other".
  for (const m of mails) for (const t of m.to) byInbox.set(inboxes[t.address] ?? 'other', (byInbox.get(inboxes[t.address] ?? 'other') ?? 0) + 1);
  say(`emails in the SMTP sink: ${[...byInbox].map(([k, n]) => `${k} ${n}`).join(' · ') || 'none yet'} (open ${smtpApi} to read them)`);
  const flags = new Map<string, number>();
  const topic = TOPICS.orphanFlags;
  await readTopicToEnd(kafka, topic, async (_p, m) => {
    const f = (await serde.decode(topic, m.value)).value as OrphanFlag;
    flags.set(f.state, (flags.get(f.state) ?? 0) + 1);
  }).catch(() => 0);
  say(`orphaned case groups: ${flags.get('FLAGGED') ?? 0} flagged, ${flags.get('RECOVERED') ?? 0} recovered by the router (caseworkers who moved team with work still allocated)`);
}

main().catch((err: unknown) => {
  console.error(`[demo] error ${isCmsError(err) ? `${err.code}: ` : ''}${messageOf(err)}`);
  process.exitCode = 1;
});
