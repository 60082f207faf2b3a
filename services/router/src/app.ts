import type { Kafka } from 'kafkajs';
import type { CmsError } from '@cms-router/errors';
import { qualify, TOPICS, type TopicName } from '@cms-router/events';
import { createKafkaRunner, createPartitionOffsets, ensureContract, runnerDefaults, redisKeys, type KafkaRunner, type Logger, type Redis, type Serde } from '@cms-router/platform';
import type { Rules } from '@cms-router/rules';
import type { RouterConfig } from './config.ts';
import { createIngestStage } from './ingest-stage.ts';
import { createRouteStage } from './route-stage.ts';
import { createCaseGroupStore, type CaseGroupStore } from './store.ts';

export interface RouterDeps {
  readonly config: RouterConfig;
  readonly kafka: Kafka;
  readonly serde: Serde;
  readonly redis: Redis;
  readonly logger: Logger;
  readonly rules: Rules;
  readonly onFatal: (err: CmsError) => void;
}

export interface RouterApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly ingest: KafkaRunner;
  readonly route: KafkaRunner;
  readonly store: CaseGroupStore;
}

export const ROUTER_INPUT_TOPICS: readonly TopicName[] = [TOPICS.caseFacts, TOPICS.partyFacts, TOPICS.srFacts, TOPICS.workforce, TOPICS.orphanFlags];
export const ROUTER_OUTPUT_TOPICS: readonly TopicName[] = [TOPICS.routerInbox, TOPICS.assignments, TOPICS.rejections, TOPICS.deadLetter];

/** The router: an ingest stage (re-key and fan out) feeding a route stage (decide and publish), both exactly-once. */
export function createRouterApp(deps: RouterDeps): RouterApp {
  const { config, kafka, serde, redis, logger, rules } = deps;
  const ns = config.platform.kafka.topicNamespace;
  const keys = redisKeys(config.platform.redis.keyPrefix);
  const admin = kafka.admin();
  const offsets = createPartitionOffsets(admin);
  const store = createCaseGroupStore(redis, keys);
  const partitions = new Map<string, number[]>();
  const partitionsOf = async (topic: string): Promise<number[]> => {
    let known = partitions.get(topic);
    if (!known) {
      const meta = await admin.fetchTopicMetadata({ topics: [topic] });
      known = (meta.topics[0]?.partitions ?? []).map((p) => p.partitionId).sort((a, b) => a - b);
      partitions.set(topic, known);
    }
    return known;
  };
  const common = { ...runnerDefaults(config.platform), service: 'router', kafka, serde, logger, onFatal: deps.onFatal };
  const ingestGroup = `${config.groupId}.ingest`;
  const ingestStage = createIngestStage({ redis, keys, offsets, groupId: ingestGroup, qualify: (t) => qualify(t, ns), namespace: ns, runner: () => ingestRunner, partitionsOf });
  // The stage asks for its runner only while running, after this line has run.
  const ingestRunner: KafkaRunner = createKafkaRunner({ ...common, groupId: ingestGroup, topics: ROUTER_INPUT_TOPICS, handler: ingestStage.handler, state: ingestStage.hooks });
  const routeStage = createRouteStage({ redis, keys, serde, store, rules, offsets, namespace: ns });
  const routeRunner = createKafkaRunner({ ...common, groupId: `${config.groupId}.route`, topics: [TOPICS.routerInbox], handler: routeStage.handler, state: routeStage.hooks });

  let stopping: Promise<void> | undefined;
  return {
    ingest: ingestRunner,
    route: routeRunner,
    store,
    async start() {
      await admin.connect();
      await ensureContract(admin, serde, [...ROUTER_INPUT_TOPICS, ...ROUTER_OUTPUT_TOPICS], ns);
      await routeRunner.start();
      await ingestRunner.start();
      logger.info({ rulesVersion: rules.version, effectiveFrom: rules.effectiveFrom }, 'router started');
    },
    stop() {
      // Ingest first so the route stage can drain what it already has; then the route stage.
      stopping ??= (async () => {
        await ingestRunner.stop();
        await routeRunner.stop();
        await admin.disconnect().catch(() => undefined);
      })();
      return stopping;
    },
  };
}
