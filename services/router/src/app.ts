import type { Kafka } from 'kafkajs';
import { CmsError } from '@cms-router/errors';
import { qualify, TOPICS, type TopicName } from '@cms-router/events';
import { createKafkaRunner, createTickWriter, ensureContract, followTopic, runnerDefaults, watchWaiting, type KafkaRunner, type Logger, type ServiceMetrics, type Redis, type Serde, type TopicFollower, type TopicRecord, type InboundRecord } from '@cms-router/platform';
import { createRulesBook, validateRules, type Rules, type RulesBook } from '@cms-router/rules';
import type { RouterConfig } from './config.ts';
import { createIngestStage } from './ingest-stage.ts';
import { createPeopleStage, personKeyOf } from './people-stage.ts';
import { caseGroupKeyOf, createRouteStage } from './route-stage.ts';
import { STAGES, STATE_KEYS, WAITING_BUCKETS } from './state-keys.ts';

export interface RouterDeps {
  readonly config: RouterConfig;
  readonly kafka: Kafka;
  readonly serde: Serde;
  readonly redis: Redis;
  readonly logger: Logger;
  readonly rules: Rules;
  readonly onFatal: (err: CmsError) => void;
  /** The service's /metrics registry (runService's); absent in tests that build the app alone. */
  readonly metrics?: ServiceMetrics;
  /** The time ticks carry (tests pass their own). */
  readonly now?: () => Date;
}

export interface RouterApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Writes a tick to every inbox partition: waiting facts past the expiry are rejected. Runs on a timer too. */
  tick(): Promise<void>;
  readonly runners: Readonly<Record<'ingest' | 'people' | 'route', KafkaRunner | undefined>>;
}

export const ROUTER_INPUT_TOPICS: readonly TopicName[] = [TOPICS.caseFacts, TOPICS.partyFacts, TOPICS.srFacts, TOPICS.workforce];
export const ROUTER_TOPICS: readonly TopicName[] = [
  ...ROUTER_INPUT_TOPICS,
  TOPICS.routerPeople,
  TOPICS.routerInbox,
  TOPICS.routerPeopleState,
  TOPICS.routerRouteState,
  TOPICS.assignments,
  TOPICS.placements,
  TOPICS.routerOrphans,
  TOPICS.rejections,
  TOPICS.deadLetter,
  TOPICS.rules,
];

/**
 * The router: ingest (re-key, stateless) -> person registry (by party) -> route (by case group), each
 * exactly-once, each stateful stage's state in a compacted changelog written in its transactions. Every
 * stage scales by instances in one consumer group; ROUTER_STAGES runs a subset in this process.
 */
export function createRouterApp(deps: RouterDeps): RouterApp {
  const { config, kafka, serde, redis, logger, rules } = deps;
  const ns = config.platform.kafka.topicNamespace;
  const now = deps.now ?? (() => new Date());
  const admin = kafka.admin();
  const common = { ...runnerDefaults(config.platform), service: 'router', kafka, serde, logger, onFatal: deps.onFatal, ...(deps.metrics ? { metrics: deps.metrics } : {}) };
  const state = (stage: string, changelog: TopicName, keysOf: (r: InboundRecord) => readonly string[]) => ({ stage, changelog, redis, keyPrefix: config.platform.redis.keyPrefix, keysOf });
  // Ticks on the route stage's own inbox: waiting facts expire on them.
  const ticks = createTickWriter({
    kafka, admin, serde, topic: TOPICS.routerInbox, namespace: ns, service: 'router',
    record: (at) => ({ caseGroupId: '', occurredAt: at, source: { topic: 'router-timer', partition: 0, offset: at, eventId: null }, fact: Buffer.alloc(0), signal: { type: 'Tick', at } }),
  });
  // The rules book: the file's version, and every version released to cms.rules.v1 (followed, no restart).
  let book: RulesBook = createRulesBook([rules]);
  const rulesAt = (occurredAt: string): Rules => book.at(occurredAt);
  const released = (record: TopicRecord): void => {
    const version = record.key?.toString('utf8') ?? '';
    if (record.value === null) {
      if (version === rules.version) logger.warn({ rulesVersion: version }, 'the rules file\'s own version cannot be withdrawn; it stays');
      else if (book.versions.some((r) => r.version === version)) {
        book = book.without(version);
        logger.info({ rulesVersion: version }, 'rules version withdrawn');
      }
      return;
    }
    let data: unknown;
    try {
      data = JSON.parse(record.value.toString('utf8'));
    } catch {
      logger.error({ code: 'CMS_RULES_INVALID', rulesVersion: version, offset: record.offset }, 'released rules version is not JSON; ignored');
      return;
    }
    const checked = validateRules(data);
    if (!checked.ok || checked.rules.version !== version) {
      // Checked on release too: this is a record written by something else. The book stays as it was.
      logger.error({ code: 'CMS_RULES_INVALID', rulesVersion: version, offset: record.offset, problems: checked.ok ? 1 : checked.problems.length }, 'released rules version is invalid or keyed by another version; ignored');
      return;
    }
    book = book.with(checked.rules);
    logger.info({ rulesVersion: version, effectiveFrom: checked.rules.effectiveFrom, effectiveTo: checked.rules.effectiveTo ?? null, versions: book.versions.length }, 'rules version released');
  };
  let follower: TopicFollower | undefined;
  const runs = (stage: 'ingest' | 'people' | 'route'): boolean => config.stages.includes(stage);
  const runners = {
    ingest: runs('ingest') ? createKafkaRunner({ ...common, groupId: `${config.groupId}.ingest`, topics: ROUTER_INPUT_TOPICS, handler: createIngestStage().handler }) : undefined,
    people: runs('people') ? createKafkaRunner({ ...common, groupId: `${config.groupId}.people`, topics: [TOPICS.routerPeople], handler: createPeopleStage({ serde, namespace: ns, rulesAt }).handler, state: state(STAGES.people, TOPICS.routerPeopleState, personKeyOf) }) : undefined,
    route: runs('route')
      ? createKafkaRunner({ ...common, groupId: `${config.groupId}.route`, topics: [TOPICS.routerInbox], handler: createRouteStage({ serde, namespace: ns, rulesAt, waitExpiryMs: config.waitExpiryMs, inboxPartitions: ticks.partitions }).handler, state: state(STAGES.route, TOPICS.routerRouteState, caseGroupKeyOf) })
      : undefined,
  };

  const tick = (): Promise<void> => ticks.write(now().toISOString());

  // /metrics: the facts waiting in each restored route partition, read from its waiting index at scrape time.
  if (runners.route) watchWaiting(deps.metrics, `${config.groupId}.route`, runners.route, (task) => [STATE_KEYS.waitingLegacy(task), ...Array.from({ length: WAITING_BUCKETS }, (_, b) => STATE_KEYS.waiting(task, b))]);

  let timer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  return {
    runners,
    tick,
    async start() {
      await ensureContract(admin, serde, ROUTER_TOPICS, ns, -1, { log: (line) => { logger.info(line); } });
      // Every released version before the first decision: a restart decides as the instance before it did.
      follower = await followTopic(kafka, qualify(TOPICS.rules, ns), (_partition, record) => { released(record); });
      await follower.caughtUp;
      // Downstream first, so each stage finds its consumer running when work arrives.
      await runners.route?.start();
      await runners.people?.start();
      await runners.ingest?.start();
      if (runners.route && config.tickIntervalMs > 0) {
        timer = setInterval(() => {
          tick().catch((err: unknown) => {
            logger.warn({ err }, 'tick not written; the next one follows at its interval');
          });
        }, config.tickIntervalMs);
        timer.unref();
      }
      logger.info({ rulesVersion: rules.version, effectiveFrom: rules.effectiveFrom, rulesVersions: book.versions.map((r) => r.version), stages: config.stages }, 'router started');
    },
    stop() {
      // Upstream first so each stage can drain what it already has.
      stopping ??= (async () => {
        if (timer) clearInterval(timer);
        await runners.ingest?.stop();
        await runners.people?.stop();
        await runners.route?.stop();
        await follower?.stop().catch(() => undefined);
        await ticks.close();
        await admin.disconnect().catch(() => undefined);
      })();
      return stopping;
    },
  };
}
