import type { SchemaTopic, TopicValue } from './generated/contract.ts';

/**
 * Every Kafka topic name, in one place. Topics with a schema carry Avro values under the subject
 * `<topic>-value` (topic-name strategy); keys are UTF-8 strings. The dead-letter topic holds the
 * original bytes untouched, so it has no schema.
 */
export const TOPICS = {
  /** Upstream case facts. Key: caseGroupId. */
  caseFacts: 'cms.case-facts.v1',
  /** Upstream party facts. Key: partyId; fanned out by the router to each case group holding the party. */
  partyFacts: 'cms.party-facts.v1',
  /** Upstream SR lifecycle. Key: caseGroupId. */
  srLifecycle: 'cms.sr-lifecycle.v1',
  /** Upstream workforce events. Key: userId. */
  workforce: 'cms.workforce.v1',
  /** sr-events -> router, notifier. Key: caseGroupId. */
  srFacts: 'cms.sr-facts.v1',
  /** router -> dashboards, notifier. Key: caseGroupId. */
  assignments: 'cms.assignments.v1',
  /** notifier -> anyone. Key: caseGroupId. */
  notifications: 'cms.notifications.v1',
  /** notifier -> router, anyone. Key: caseGroupId. */
  orphanFlags: 'cms.orphan-flags.v1',
  /** notifier -> notifier: emails to send, retries, due reminders, sweep findings. Internal. Key: workId. */
  notifierWork: 'cms.notifier-work.v1',
  /** router ingest -> router route: every routing fact keyed by caseGroupId, kept forever. Internal. */
  routerInbox: 'cms.router-inbox.v1',
  /** Any service: well-formed events that cannot be applied, with the reason. Key: the rejected record's key. */
  rejections: 'cms.rejections.v1',
  /** Any service: undecodable or poison records, original bytes plus reason headers. */
  deadLetter: 'cms.dead-letter.v1',
} as const satisfies Record<string, SchemaTopic | 'cms.dead-letter.v1'>;

export type TopicKey = keyof typeof TOPICS;
export type TopicName = (typeof TOPICS)[TopicKey];

/** Topics upstream systems produce to; scenario files may only contain these. */
export const UPSTREAM_TOPICS = [TOPICS.caseFacts, TOPICS.partyFacts, TOPICS.srLifecycle, TOPICS.workforce] as const;

export interface TopicSpec {
  readonly partitions: number;
  /** Keep forever and compact (latest per key) vs time retention. */
  readonly cleanupPolicy: 'delete' | 'compact';
  /** -1 keeps records forever (the router's inbox is its event-sourced state). Default: broker setting. */
  readonly retentionMs?: number;
}

/** Partition counts: enough parallelism for one broker on two cores; every topic keyed so order per key holds. */
export const TOPIC_SPECS: { readonly [K in TopicName]: TopicSpec } = {
  'cms.case-facts.v1': { partitions: 6, cleanupPolicy: 'delete' },
  'cms.party-facts.v1': { partitions: 6, cleanupPolicy: 'delete' },
  'cms.sr-lifecycle.v1': { partitions: 6, cleanupPolicy: 'delete' },
  // Kept forever: the notifier rebuilds its ownership index from it after losing Redis.
  'cms.workforce.v1': { partitions: 3, cleanupPolicy: 'delete', retentionMs: -1 },
  // Kept forever: the record of what sr-events derived; the notifier rebuilds review dates from it.
  'cms.sr-facts.v1': { partitions: 6, cleanupPolicy: 'delete', retentionMs: -1 },
  'cms.assignments.v1': { partitions: 6, cleanupPolicy: 'delete' },
  // Kept forever: the notifier rebuilds its send-once ledger from it after losing Redis.
  'cms.notifications.v1': { partitions: 3, cleanupPolicy: 'delete', retentionMs: -1 },
  'cms.orphan-flags.v1': { partitions: 3, cleanupPolicy: 'delete' },
  'cms.notifier-work.v1': { partitions: 3, cleanupPolicy: 'delete' },
  'cms.router-inbox.v1': { partitions: 6, cleanupPolicy: 'delete', retentionMs: -1 },
  'cms.rejections.v1': { partitions: 3, cleanupPolicy: 'delete' },
  'cms.dead-letter.v1': { partitions: 3, cleanupPolicy: 'delete' },
};

/** The record key of a value: what keeps its related events in order on one partition. */
export function keyOf<T extends SchemaTopic>(topic: T, value: TopicValue[T]): string {
  const v = value as unknown as Record<string, unknown>;
  switch (topic) {
    case 'cms.party-facts.v1':
      return v['partyId'] as string;
    case 'cms.workforce.v1':
      return v['userId'] as string;
    case 'cms.notifier-work.v1':
      return v['workId'] as string;
    case 'cms.rejections.v1':
      return (v['caseGroupId'] as string | null) ?? (v['rejectionId'] as string);
    default:
      return v['caseGroupId'] as string;
  }
}

/**
 * Topic names with an optional namespace prefix, so tests and parallel environments get their own
 * topics on a shared cluster: `ns.cms.case-facts.v1`. The schema subject follows the full name.
 */
export function qualify(topic: TopicName, namespace: string | undefined): string {
  return namespace ? `${namespace}.${topic}` : topic;
}

export function unqualify(fullName: string, namespace: string | undefined): TopicName | undefined {
  const base = namespace && fullName.startsWith(`${namespace}.`) ? fullName.slice(namespace.length + 1) : fullName;
  return (Object.values(TOPICS) as string[]).includes(base) ? (base as TopicName) : undefined;
}

export const subjectOf = (fullTopicName: string): string => `${fullTopicName}-value`;
