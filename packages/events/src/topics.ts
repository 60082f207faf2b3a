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
  /**
   * router -> dashboards, anyone: the current placement of every work item, compacted, so a consumer that
   * starts late reads it from the start and has them all. Key: placementKey (the case group id, or
   * `<caseGroupId>/<srId>` for an SR or its approval task); a tombstone when the SR closes. Same schema
   * as an assignment.
   */
  placements: 'cms.placements.v1',
  /** notifier -> anyone. Key: caseGroupId. */
  notifications: 'cms.notifications.v1',
  /** notifier -> router, anyone. Key: caseGroupId. */
  orphanFlags: 'cms.orphan-flags.v1',
  /** notifier -> notifier: emails to send, retries, due reminders, sweep findings. Internal. Key: workId. */
  notifierWork: 'cms.notifier-work.v1',
  /** router ingest -> router route: every routing fact keyed by caseGroupId, kept forever. Internal. */
  routerInbox: 'cms.router-inbox.v1',
  /** router ingest -> router people: every fact about a person keyed by partyId, kept forever. Internal. */
  routerPeople: 'cms.router-people.v1',
  /** router -> notifier: case groups returned from a caseworker who left, one part per router partition. Key: userId. */
  routerOrphans: 'cms.router-orphans.v1',
  /** sr-events ingest -> sr-events: SR lifecycle events and applications keyed by caseGroupId, kept forever. Internal. */
  srEventsInbox: 'cms.sr-events-inbox.v1',
  /** State changelogs (compacted, one partition per task of the stage; JSON values, no schema). Internal. */
  routerPeopleState: 'cms.router-people-state.v1',
  routerRouteState: 'cms.router-route-state.v1',
  srEventsState: 'cms.sr-events-state.v1',
  notifierState: 'cms.notifier-state.v1',
  /** Any service: well-formed events that cannot be applied, with the reason. Key: the rejected record's key. */
  rejections: 'cms.rejections.v1',
  /** Any service: undecodable or poison records, original bytes plus reason headers. */
  deadLetter: 'cms.dead-letter.v1',
  /** Operations -> router: released rules versions (the rules file's JSON, no schema: the file has its own, checked on release and on reading). Key: version. Compacted, kept forever. */
  rules: 'cms.rules.v1',
} as const satisfies Record<string, SchemaTopic | 'cms.dead-letter.v1' | 'cms.rules.v1' | `cms.${string}-state.v1`>;

/** Topics without a schema: the dead-letter topic (original bytes), the rules versions and the state changelogs (JSON). */
export const UNSCHEMED_TOPICS: ReadonlySet<TopicName> = new Set<TopicName>([TOPICS.deadLetter, TOPICS.rules, TOPICS.routerPeopleState, TOPICS.routerRouteState, TOPICS.srEventsState, TOPICS.notifierState]);

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
  /**
   * Largest record the topic accepts (`max.message.bytes`). Internal topics that wrap an upstream record
   * in an envelope, the dead-letter topic and the changelogs take more than the broker's default 1 MiB
   * that upstream topics are limited to, so every record the broker accepted upstream can be carried on.
   */
  readonly maxMessageBytes?: number;
  /**
   * Who writes the topic and who reads it decides how its schema may evolve (docs/contract.md):
   * - `upstream`: written by other teams' systems, read by ours; `published`: written by us, read by
   *   others (dashboards) and by our own services over their whole history. Both FULL_TRANSITIVE: every
   *   version readable by every other. The one exception is a contract release that appends event
   *   types (union branches), which our services register themselves, consumers first.
   * - `internal`: written and read only by cms-router, over all its history: BACKWARD_TRANSITIVE.
   */
  readonly role?: 'upstream' | 'published' | 'internal';
}

/** The registry compatibility level of a topic's subject, from its role. */
export function compatibilityOf(topic: TopicName): 'FULL_TRANSITIVE' | 'BACKWARD_TRANSITIVE' {
  return TOPIC_SPECS[topic].role === 'internal' ? 'BACKWARD_TRANSITIVE' : 'FULL_TRANSITIVE';
}

/** The largest upstream record (the broker default, 1 MiB plus record overhead). */
export const UPSTREAM_MAX_BYTES = 1_048_588;
/** Internal topics: an upstream record plus its envelope fits with room to spare. */
export const INTERNAL_MAX_BYTES = 2 * 1_048_576;

/** Changelog settings: compacted promptly, tombstones kept a day so a restore in progress sees them. */
const changelog = (partitions: number): TopicSpec => ({ partitions, cleanupPolicy: 'compact', maxMessageBytes: INTERNAL_MAX_BYTES });

/** Partition counts: enough parallelism for one broker on two cores; every topic keyed so order per key holds. */
export const TOPIC_SPECS: { readonly [K in TopicName]: TopicSpec } = {
  'cms.case-facts.v1': { partitions: 6, role: 'upstream', cleanupPolicy: 'delete' },
  'cms.party-facts.v1': { partitions: 6, role: 'upstream', cleanupPolicy: 'delete' },
  'cms.sr-lifecycle.v1': { partitions: 6, role: 'upstream', cleanupPolicy: 'delete' },
  // Kept forever: the notifier rebuilds its ownership index from it after losing Redis.
  'cms.workforce.v1': { partitions: 3, role: 'upstream', cleanupPolicy: 'delete', retentionMs: -1 },
  // Kept forever: the record of what sr-events derived; the notifier rebuilds review dates from it.
  'cms.sr-facts.v1': { partitions: 6, role: 'published', cleanupPolicy: 'delete', retentionMs: -1 },
  // Kept forever, as long as the inbox: every decision and why, for `explain --history all` years later.
  'cms.assignments.v1': { partitions: 6, role: 'published', cleanupPolicy: 'delete', retentionMs: -1 },
  'cms.placements.v1': { partitions: 6, role: 'published', cleanupPolicy: 'compact' },
  // Kept forever: the notifier rebuilds its send-once ledger from it after losing Redis.
  'cms.notifications.v1': { partitions: 3, role: 'published', cleanupPolicy: 'delete', retentionMs: -1 },
  'cms.orphan-flags.v1': { partitions: 3, role: 'published', cleanupPolicy: 'delete' },
  'cms.notifier-work.v1': { partitions: 3, role: 'internal', cleanupPolicy: 'delete' },
  'cms.router-inbox.v1': { partitions: 6, role: 'internal', cleanupPolicy: 'delete', retentionMs: -1, maxMessageBytes: INTERNAL_MAX_BYTES },
  'cms.router-people.v1': { partitions: 6, role: 'internal', cleanupPolicy: 'delete', retentionMs: -1, maxMessageBytes: INTERNAL_MAX_BYTES },
  'cms.router-orphans.v1': { partitions: 3, role: 'published', cleanupPolicy: 'delete', retentionMs: -1 },
  'cms.sr-events-inbox.v1': { partitions: 6, role: 'internal', cleanupPolicy: 'delete', retentionMs: -1, maxMessageBytes: INTERNAL_MAX_BYTES },
  'cms.rejections.v1': { partitions: 3, role: 'published', cleanupPolicy: 'delete' },
  'cms.dead-letter.v1': { partitions: 3, cleanupPolicy: 'delete', maxMessageBytes: INTERNAL_MAX_BYTES },
  // One partition: every router instance reads every version, in release order.
  'cms.rules.v1': { partitions: 1, cleanupPolicy: 'compact', maxMessageBytes: INTERNAL_MAX_BYTES },
  // One changelog partition per task: the partitions of the stage's input topic.
  'cms.router-people-state.v1': changelog(6),
  'cms.router-route-state.v1': changelog(6),
  'cms.sr-events-state.v1': changelog(6),
  'cms.notifier-state.v1': changelog(3),
};

/** The key of a work item on cms.placements.v1: its case group, or the case group and the SR (an SR and its approval task are one work item). */
export const placementKey = (a: { readonly caseGroupId: string; readonly srId: string | null }): string => (a.srId === null ? a.caseGroupId : `${a.caseGroupId}/${a.srId}`);

/** The record key of a value: what keeps its related events in order on one partition. */
export function keyOf<T extends SchemaTopic>(topic: T, value: TopicValue[T]): string {
  const v = value as unknown as Record<string, unknown>;
  switch (topic) {
    case 'cms.party-facts.v1':
    case 'cms.router-people.v1':
      return v['partyId'] as string;
    case 'cms.router-orphans.v1':
      return v['userId'] as string;
    case 'cms.workforce.v1':
      return v['userId'] as string;
    case 'cms.notifier-work.v1':
      return v['workId'] as string;
    case 'cms.rejections.v1':
      return (v['caseGroupId'] as string | null) ?? (v['rejectionId'] as string);
    case 'cms.placements.v1':
      return placementKey(v as { caseGroupId: string; srId: string | null });
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

/** The contract's topic names, for a lookup per record (serde, runner) without a scan of TOPICS. */
const TOPIC_NAMES: ReadonlySet<string> = new Set(Object.values(TOPICS));

export function unqualify(fullName: string, namespace: string | undefined): TopicName | undefined {
  const base = namespace && fullName.startsWith(`${namespace}.`) ? fullName.slice(namespace.length + 1) : fullName;
  return TOPIC_NAMES.has(base) ? (base as TopicName) : undefined;
}

export const subjectOf = (fullTopicName: string): string => `${fullTopicName}-value`;
