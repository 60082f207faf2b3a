import { CmsError } from '@cms-router/errors';
import { qualify, TOPICS, type TopicName } from '@cms-router/events';
import { createRecordWriter, offsetsAtTime, readLatestByKey, STATE_CONTROL_KEYS, type createKafka, type ToolRecord } from '@cms-router/platform';
import type { Progress } from './what-if-sources.ts';

type Kafka = ReturnType<typeof createKafka>;

/**
 * A service's stages as the services' composition roots run them (services/<name>/src/app.ts): the
 * consumer group suffix, the input topics, and the changelog of a stateful stage. A stateful stage reads
 * a topic kept forever (its inbox), so it can be rebuilt from the beginning; a stateless one reads
 * upstream topics, which may have expired, so it is rewound by time only.
 */
export interface StageTopology {
  readonly stage: string;
  readonly group: (base: string) => string;
  readonly inputs: readonly TopicName[];
  readonly changelog: TopicName | null;
}

export const REBUILDABLE: Readonly<Record<'router' | 'sr-events', { readonly groupEnv: string; readonly defaultGroup: string; readonly stages: readonly StageTopology[] }>> = {
  router: {
    groupEnv: 'ROUTER_GROUP_ID',
    defaultGroup: 'cms-router',
    stages: [
      { stage: 'ingest', group: (g) => `${g}.ingest`, inputs: [TOPICS.caseFacts, TOPICS.partyFacts, TOPICS.srFacts, TOPICS.workforce], changelog: null },
      { stage: 'people', group: (g) => `${g}.people`, inputs: [TOPICS.routerPeople], changelog: TOPICS.routerPeopleState },
      { stage: 'route', group: (g) => `${g}.route`, inputs: [TOPICS.routerInbox], changelog: TOPICS.routerRouteState },
    ],
  },
  'sr-events': {
    groupEnv: 'SR_EVENTS_GROUP_ID',
    defaultGroup: 'cms-sr-events',
    stages: [
      { stage: 'ingest', group: (g) => `${g}.ingest`, inputs: [TOPICS.srLifecycle, TOPICS.caseFacts], changelog: null },
      { stage: 'core', group: (g) => g, inputs: [TOPICS.srEventsInbox], changelog: TOPICS.srEventsState },
    ],
  },
};

export interface RebuildPlan {
  readonly service: keyof typeof REBUILDABLE;
  readonly groupBase: string;
  /** Rebuild each stateful stage to its state at this time (ISO), publishing again only what followed. Without it (and without ingestSince), the stateful stages are rebuilt from the beginning. */
  readonly since?: string;
  /** Instead: rewind only the stateless ingest stage to this time (ISO), to re-read upstream facts. */
  readonly ingestSince?: string;
}

export interface RebuildResult {
  readonly stages: readonly {
    readonly stage: string;
    readonly group: string;
    readonly rewound: string;
    readonly stateKeysCleared: number;
    /** A stateful stage rebuilt to a time: per partition, the inbox offset below which it replays without publishing. */
    readonly quietUntil?: Readonly<Record<string, string>>;
  }[];
}

/**
 * Rewinds a stopped service and makes its state agree with where it will read from:
 * - by default, every stateful stage to the beginning of its kept inbox, with its state emptied first: a
 *   tombstone for every live key of its changelog, which the stage's next start applies to Redis through
 *   the restore it always runs (the changelog is ahead of Redis's marker). The service then replays its
 *   inbox from an empty state and publishes its outputs again, with the same ids;
 * - with `since`, every stateful stage to its state at that time. It keeps only its latest state, so its
 *   state as of then is made again: emptied, rewound to the beginning of its kept inbox, and given a
 *   boundary per partition (the inbox offset of that time) below which it replays without publishing
 *   (the runner's quiet replay). It publishes again, with the same ids, only what its inputs since then
 *   caused. The ingest stage is left where it is: the inboxes already hold what it wrote;
 * - with `ingestSince`, only the stateless ingest stage, to that time: it re-reads upstream facts written
 *   since (if the topics still hold them) and writes them to the inboxes again.
 * Refused while any of the service's groups has members: a running instance would keep its state.
 */
export async function rebuild(kafka: Kafka, namespace: string | undefined, plan: RebuildPlan, progress?: Progress): Promise<RebuildResult> {
  const spec = REBUILDABLE[plan.service];
  const stages = spec.stages.filter((s) => (plan.ingestSince === undefined ? s.changelog !== null : s.changelog === null));
  const admin = kafka.admin();
  await admin.connect();
  try {
    const described = await admin.describeGroups(stages.map((s) => s.group(plan.groupBase)));
    const running = described.groups.filter((g) => g.members.length > 0);
    if (running.length > 0) throw new CmsError('CMS_CONFIG_INVALID', `stop ${plan.service} first: its consumer group${running.length === 1 ? '' : 's'} ${running.map((g) => `${g.groupId} (${g.members.length} member${g.members.length === 1 ? '' : 's'})`).join(', ')} ${running.length === 1 ? 'has' : 'have'} running instances`);
    const out: RebuildResult['stages'][number][] = [];
    for (const s of stages) {
      const group = s.group(plan.groupBase);
      if (s.changelog) {
        const changelog = qualify(s.changelog, namespace);
        const cleared = await emptyChangelog(kafka, changelog, progress);
        const inbox = qualify(s.inputs[0] as TopicName, namespace);
        await admin.resetOffsets({ groupId: group, topic: inbox, earliest: true });
        if (plan.since === undefined) {
          out.push({ stage: s.stage, group, rewound: 'the beginning', stateKeysCleared: cleared });
          continue;
        }
        // The boundary goes in after the tombstones, on each task's own changelog partition.
        const at = await offsetsAtTime(kafka, inbox, Date.parse(plan.since));
        const boundaries = [...at].filter(([, offset]) => BigInt(offset) > 0n);
        const writer = await createRecordWriter(kafka);
        try {
          if (boundaries.length > 0) await writer.send(changelog, boundaries.map(([partition, until]) => ({ key: STATE_CONTROL_KEYS.quietUntil(partition), value: Buffer.from(JSON.stringify({ until, since: plan.since })), partition })));
        } finally {
          await writer.close();
        }
        out.push({ stage: s.stage, group, rewound: `the beginning, publishing again from ${plan.since}`, stateKeysCleared: cleared, quietUntil: Object.fromEntries(boundaries.map(([p, o]) => [String(p), o])) });
        continue;
      }
      const since = plan.ingestSince ?? '';
      for (const input of s.inputs) {
        const topic = qualify(input, namespace);
        const at = await offsetsAtTime(kafka, topic, Date.parse(since));
        await admin.setOffsets({ groupId: group, topic, partitions: [...at].map(([partition, offset]) => ({ partition, offset })) });
      }
      out.push({ stage: s.stage, group, rewound: since, stateKeysCleared: 0 });
    }
    return { stages: out };
  } finally {
    await admin.disconnect();
  }
}

/** A tombstone for every key the changelog holds a value for, on that key's partition (its task). Returns how many. */
async function emptyChangelog(kafka: Kafka, topic: string, progress?: Progress): Promise<number> {
  const tombstones: ToolRecord[] = (await readLatestByKey(kafka, topic)).map((r) => ({ key: r.key, value: null, partition: r.partition }));
  const writer = await createRecordWriter(kafka);
  progress?.start(tombstones.length, 'records');
  try {
    for (let i = 0; i < tombstones.length; i += 1_000) {
      await writer.send(topic, tombstones.slice(i, i + 1_000));
      progress?.update(Math.min(i + 1_000, tombstones.length));
    }
  } finally {
    await writer.close();
    progress?.stop();
  }
  return tombstones.length;
}
