import type { Kafka, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import { CmsError, isCmsError } from '@cms-router/errors';
import { deterministicId, qualify, standardHeaders, TOPICS, type Assignment, type EmailDue, type Notification, type NotifierWork, type OrphanFlag, type SrFact, type TopicName, type WorkforceEvent } from '@cms-router/events';
import {
  backoffDelay,
  createKafkaRunner,
  createPartitionOffsets,
  ensureContract,
  LOG_FIELDS,
  readTopicToEnd,
  redisKeys,
  replayFrom,
  runnerDefaults,
  sleepUnlessAborted,
  type InboundRecord,
  type KafkaRunner,
  type Logger,
  type OutboundRecord,
  type Redis,
  type Serde,
  type StateHooks,
} from '@cms-router/platform';
import type { FaultPoint, NotifierConfig } from './config.ts';
import { afterFailure, emailStep, type LedgerEntry } from './core/ledger.ts';
import { orphanCause, orphansOf, sweep, type Departure, type Orphan } from './core/orphans.ts';
import { nextReview, planForAssignment, planForSrFact, planOrphanEmail, planReviewReminder, type Inbox, type PlannedEmail } from './core/plan.ts';
import { render, TEMPLATE_IDS, type TemplateId } from './core/templates.ts';
import { classifySmtpError, type Mailer } from './mailer.ts';
import { createNotifierStore, type FlagDoc, type NotifierStore } from './store.ts';

export const NOTIFIER_INPUTS: readonly TopicName[] = [TOPICS.assignments, TOPICS.srFacts, TOPICS.workforce, TOPICS.notifierWork];
export const NOTIFIER_OUTPUTS: readonly TopicName[] = [TOPICS.notifierWork, TOPICS.notifications, TOPICS.orphanFlags, TOPICS.rejections, TOPICS.deadLetter];
const STAGE = 'notifier';

/** The notifier's time. Tests pass a clock they move by hand (review reminders fall due under it). */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export interface NotifierDeps {
  readonly config: NotifierConfig;
  readonly kafka: Kafka;
  readonly serde: Serde;
  readonly redis: Redis;
  readonly logger: Logger;
  readonly mailer: Mailer;
  readonly clock: Clock;
  readonly onFatal: (err: CmsError) => void;
  /** Test-only crash points; main.ts wires the configured one to a SIGKILL of the process. */
  readonly fault?: (point: FaultPoint) => void;
}

export interface NotifierApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Queues a reminder for every review due by the clock; returns how many. Runs on a timer too. */
  checkReviews(): Promise<number>;
  /** Queues the orphans the sweep finds; returns how many. Runs on a timer too. */
  sweepOrphans(): Promise<number>;
  readonly runner: KafkaRunner;
  readonly store: NotifierStore;
}

const isTemplate = (t: string): t is TemplateId => (TEMPLATE_IDS as readonly string[]).includes(t);

/**
 * The notifier. Everything it does is the handling of a Kafka record, exactly once (transactions, state
 * in Redis written after commit and rebuilt by replay), except the SMTP send itself, which is guarded by
 * a ledger written the moment the server answers:
 * - assignments, SR facts and workforce events -> emails to queue (cms.notifier-work.v1), orphan flags;
 * - cms.notifier-work.v1 -> one SMTP attempt per record; a temporary failure queues the next attempt
 *   after a backoff (the input partitions never wait for SMTP), the last one publishes FAILED;
 * - timers only queue work (due reviews, sweep findings); duplicates they queue are absorbed by the ledger
 *   and by the flags, so a timer firing twice or a crash between queue and bookkeeping changes nothing.
 */
export function createNotifierApp(deps: NotifierDeps): NotifierApp {
  const { config, serde, redis, logger, clock } = deps;
  const ns = config.platform.kafka.topicNamespace;
  const keys = redisKeys(config.platform.redis.keyPrefix);
  const store = createNotifierStore(redis, keys);
  const admin = deps.kafka.admin();
  const offsets = createPartitionOffsets(admin);
  const log = logger.child({ component: 'notifier' });
  const fault = deps.fault ?? (() => undefined);
  const stopping = new AbortController();

  const work = (e: PlannedEmail, now: Date): OutboundRecord => ({
    topic: TOPICS.notifierWork,
    key: e.idempotencyKey,
    value: emailWork(e, now),
    eventType: 'EmailDue',
  });

  const flagEvent = (o: Orphan, state: FlagDoc['state'], occurredAt: string, segment: string | null): OutboundRecord => {
    const value: OrphanFlag = { caseGroupId: o.caseGroupId, userId: o.userId, occurredAt, since: o.since, cause: o.cause, state, segment };
    return { topic: TOPICS.orphanFlags, key: o.caseGroupId, value, eventId: deterministicId('notifier', 'orphan', o.caseGroupId, o.userId, o.since, state), eventType: `Orphan${state}` };
  };

  const notification = (w: EmailDue, entry: LedgerEntry): OutboundRecord => {
    const value: Notification = { idempotencyKey: w.idempotencyKey, caseGroupId: w.caseGroupId, occurredAt: entry.at, inbox: w.inbox, template: w.template, outcome: entry.status, messageId: entry.messageId, attempts: entry.attempts, errorCode: entry.errorCode };
    // The same id however often it is published: a consumer can tell a republished event from a new one.
    return { topic: TOPICS.notifications, key: w.caseGroupId, value, eventId: deterministicId('notifier', 'notification', w.idempotencyKey, entry.status), eventType: entry.status };
  };

  /** The ledger guards an email already accepted: worth waiting for Redis a little rather than sending twice. */
  const recordLedger = async (key: string, entry: LedgerEntry): Promise<void> => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await store.recordLedger(key, entry);
        return;
      } catch (err) {
        if (attempt >= 9 || !isCmsError(err) || !err.retryable) throw err;
        log.warn({ [LOG_FIELDS.code]: err.code, [LOG_FIELDS.attempt]: attempt + 1 }, 'ledger write failed after an SMTP answer; retrying so the email is not sent twice');
        await sleepUnlessAborted(backoffDelay(attempt, 100, 2_000), stopping.signal);
      }
    }
  };

  const stageFlag = (tp: string, o: Orphan, state: FlagDoc['state']): void => {
    store.flags.stage(tp, o.caseGroupId, { state, userId: o.userId, cause: o.cause, since: o.since });
  };

  const isFlaggedFor = (flag: FlagDoc | null, userId: string): boolean => flag?.state === 'FLAGGED' && flag.userId === userId;

  const onAssignment = async (a: Assignment, tp: string, now: Date): Promise<OutboundRecord[]> => {
    const out = planForAssignment(a, `assignment:${a.assignmentId}`).map((e) => work(e, now));
    if (a.subject === 'CASE_GROUP' && a.reasons.some((r) => r.ruleId === 'orphan-recovered')) {
      const flag = await store.flags.load(tp, a.caseGroupId);
      if (flag?.state === 'FLAGGED') {
        const o = { caseGroupId: a.caseGroupId, userId: flag.userId, cause: flag.cause, since: flag.since };
        stageFlag(tp, o, 'RECOVERED');
        await store.release(a.caseGroupId, flag.userId);
        out.push(flagEvent(o, 'RECOVERED', a.occurredAt, a.segment));
      }
    }
    return out;
  };

  const onSrFact = async (f: SrFact, eventId: string, now: Date): Promise<OutboundRecord[]> => {
    const plan = planForSrFact(f, `sr-fact:${eventId}`);
    for (const r of plan.reviews) {
      if (r.kind === 'schedule') await store.scheduleReview(r.key, r.dueAt);
      else await store.cancelReview(r.key);
    }
    return plan.emails.map((e) => work(e, now));
  };

  const onWorkforce = async (v: WorkforceEvent, eventId: string, tp: string, now: Date): Promise<OutboundRecord[]> => {
    const p = v.payload;
    if (p.type === 'CaseGroupAllocated') {
      const allocation = { userId: v.userId, teamId: p.teamId, segment: p.segment, at: v.occurredAt };
      if (!(await store.allocate(p.caseGroupId, allocation)).applied) return []; // an older allocation than the one held
      const out: OutboundRecord[] = [];
      const flag = await store.flags.load(tp, p.caseGroupId);
      if (flag?.state === 'FLAGGED' && flag.userId !== v.userId) {
        // Reallocated to someone else: no longer orphaned.
        const o = { caseGroupId: p.caseGroupId, userId: flag.userId, cause: flag.cause, since: flag.since };
        stageFlag(tp, o, 'RECOVERED');
        out.push(flagEvent(o, 'RECOVERED', v.occurredAt, p.segment));
      }
      const departure = await store.departure(v.userId);
      const cause = orphanCause(allocation, departure);
      if (cause && departure && !isFlaggedFor(flag, v.userId)) {
        const o: Orphan = { caseGroupId: p.caseGroupId, userId: v.userId, cause, since: departure.since };
        stageFlag(tp, o, 'FLAGGED');
        out.push(flagEvent(o, 'FLAGGED', v.occurredAt, p.segment), ...planOrphanEmail(`workforce:${eventId}`, [o]).map((e) => work(e, now)));
      }
      return out;
    }
    if (p.type !== 'TeamMoveCompleted' && p.type !== 'SystemAccessRemoved') return [];
    const departure: Departure = { cause: p.type === 'TeamMoveCompleted' ? 'TEAM_MOVE_COMPLETED' : 'SYSTEM_ACCESS_REMOVED', since: v.occurredAt, toTeamId: p.type === 'TeamMoveCompleted' ? p.toTeamId : null };
    if (!(await store.depart(v.userId, departure))) return [];
    const allocations = await store.allocationsOf(v.userId);
    const fresh: Orphan[] = [];
    for (const o of orphansOf(v.userId, departure, allocations)) {
      if (isFlaggedFor(await store.flags.load(tp, o.caseGroupId), o.userId)) continue;
      stageFlag(tp, o, 'FLAGGED');
      fresh.push(o);
    }
    // One email for everything one departure orphaned (004: "contact your local IT Team").
    return [...fresh.map((o) => flagEvent(o, 'FLAGGED', v.occurredAt, allocations[o.caseGroupId]?.segment ?? null)), ...planOrphanEmail(`workforce:${eventId}`, fresh).map((e) => work(e, now))];
  };

  const onEmailDue = async (record: InboundRecord, w: EmailDue, tp: string, live: boolean, now: Date): Promise<OutboundRecord[]> => {
    const coordinates = `${record.topic}:${record.partition}:${record.offset}`;
    const step = emailStep(await store.ledger(w.idempotencyKey), await store.published(tp, w.idempotencyKey), coordinates, w.notBefore, now);
    if (step.kind === 'done') return [];
    // Every path that returns a notification marks it published once this transaction commits.
    const publish = (entry: LedgerEntry): OutboundRecord[] => {
      store.stagePublished(tp, w.idempotencyKey);
      return [notification(w, entry)];
    };
    if (step.kind === 'republish') return publish(step.entry);
    if (!live) return [];
    if (step.kind === 'wait') throw new CmsError('CMS_NOT_DUE', `email ${w.idempotencyKey} is due at ${w.notBefore}`, { context: { retryAfterMs: step.ms } });
    const address = config.inboxes[w.inbox as Inbox] as string | undefined;
    if (!address || !isTemplate(w.template)) {
      const failed: LedgerEntry = { status: 'FAILED', attempts: w.attempts, messageId: w.messageId, at: now.toISOString(), by: coordinates, errorCode: 'CMS_EVENT_INVALID' };
      log.error({ [LOG_FIELDS.code]: 'CMS_EVENT_INVALID', inbox: w.inbox, template: w.template }, 'queued email names an inbox or template this notifier does not know');
      await recordLedger(w.idempotencyKey, failed);
      return publish(failed);
    }
    const rendered = render(w.template, { ...w.data, caseGroupIds: [...w.data.caseGroupIds] });
    try {
      await deps.mailer.send({ to: address, ...rendered, messageId: w.messageId });
    } catch (err) {
      const e = isCmsError(err) ? err : classifySmtpError(err);
      const next = afterFailure(w.attempts, e.retryable, now, config.smtp.maxAttempts, (a) => backoffDelay(a, config.smtp.retryInitialMs, config.smtp.retryMaxMs));
      log.warn({ [LOG_FIELDS.code]: e.code, inbox: w.inbox, [LOG_FIELDS.caseGroupId]: w.caseGroupId, [LOG_FIELDS.attempt]: next.attempts, outcome: next.kind }, 'SMTP attempt failed');
      if (next.kind === 'retry') {
        const value: NotifierWork = { workId: w.idempotencyKey, occurredAt: now.toISOString(), payload: { ...w, attempts: next.attempts, notBefore: next.notBefore, lastErrorCode: e.code } };
        return [{ topic: TOPICS.notifierWork, key: w.idempotencyKey, value, eventType: 'EmailDue' }];
      }
      const failed: LedgerEntry = { status: 'FAILED', attempts: next.attempts, messageId: w.messageId, at: now.toISOString(), by: coordinates, errorCode: e.retryable ? 'CMS_SMTP_UNAVAILABLE' : e.code };
      await recordLedger(w.idempotencyKey, failed);
      return publish(failed);
    }
    // The window SMTP cannot close: the server has the message, the ledger does not know yet (docs/notifier.md).
    fault('kill-after-smtp-accept');
    const sent: LedgerEntry = { status: 'SENT', attempts: w.attempts + 1, messageId: w.messageId, at: now.toISOString(), by: coordinates, errorCode: null };
    await recordLedger(w.idempotencyKey, sent);
    fault('kill-after-ledger-write');
    return publish(sent);
  };

  const onSweepFound = async (orphans: NotifierWork['payload'] & { type: 'OrphanSweepFound' }, workId: string, tp: string, now: Date): Promise<OutboundRecord[]> => {
    const fresh: Orphan[] = [];
    const segments = new Map<string, string>();
    for (const found of orphans.orphans) {
      // Re-checked here: between the sweep and now the case group may have been reallocated or flagged.
      const allocation = await store.allocation(found.caseGroupId);
      if (allocation?.userId !== found.userId) continue;
      const departure = await store.departure(found.userId);
      const cause = orphanCause(allocation, departure);
      if (!cause || !departure || isFlaggedFor(await store.flags.load(tp, found.caseGroupId), found.userId)) continue;
      const o: Orphan = { caseGroupId: found.caseGroupId, userId: found.userId, cause, since: departure.since };
      stageFlag(tp, o, 'FLAGGED');
      segments.set(o.caseGroupId, allocation.segment);
      fresh.push(o);
    }
    return [...fresh.map((o) => flagEvent(o, 'FLAGGED', now.toISOString(), segments.get(o.caseGroupId) ?? null)), ...planOrphanEmail(`sweep:${workId}`, fresh).map((e) => work(e, now))];
  };

  /** One record: its outputs when live; when replaying (state lost or behind), state only and no SMTP. */
  const apply = async (record: InboundRecord, live: boolean): Promise<OutboundRecord[]> => {
    const tp = `${qualify(record.topic, ns)}:${record.partition}`;
    const now = clock.now();
    switch (record.topic) {
      case 'cms.assignments.v1':
        return onAssignment(record.value, tp, now);
      case 'cms.sr-facts.v1':
        return onSrFact(record.value, record.headers.eventId, now);
      case 'cms.workforce.v1':
        return onWorkforce(record.value, record.headers.eventId, tp, now);
      case 'cms.notifier-work.v1': {
        const p = record.value.payload;
        return p.type === 'EmailDue' ? onEmailDue(record, p, tp, live, now) : onSweepFound(p, record.value.workId, tp, now);
      }
      default:
        return [];
    }
  };

  let rebuilding: Promise<void> | undefined;
  /**
   * The ledger must be complete before any email is considered: when Redis has lost it (no marker), it is
   * rebuilt from cms.notifications.v1, which holds every SENT and FAILED outcome ever published.
   */
  const ensureLedger = async (): Promise<void> => {
    if (await store.ledgerRebuilt()) return;
    rebuilding ??= (async () => {
      const topic = qualify(TOPICS.notifications, ns);
      const started = Date.now();
      const count = await readTopicToEnd(deps.kafka, topic, async (_partition, message) => {
        const n = (await serde.decode(topic, message.value)).value as Notification;
        await store.recordPublished(n.idempotencyKey, { status: n.outcome, attempts: n.attempts, messageId: n.messageId, at: n.occurredAt, by: null, errorCode: n.errorCode });
      });
      await store.markLedgerRebuilt();
      log.info({ [LOG_FIELDS.count]: count, [LOG_FIELDS.durationMs]: Date.now() - started }, 'send-once ledger rebuilt from the notifications topic');
    })().finally(() => {
      rebuilding = undefined;
    });
    await rebuilding;
  };

  const hooks: StateHooks = {
    async check(topic, partition, firstOffset, persistedHere) {
      await ensureLedger();
      const applied = await store.appliedOffset(STAGE, topic, partition);
      return replayFrom(applied, firstOffset, () => offsets.low(topic, partition), persistedHere);
    },
    async replay(record) {
      await apply(record, false);
    },
    persist: (topic, partition, lastOffset) => store.persist(STAGE, topic, partition, lastOffset),
    discard: (topic, partition) => {
      store.discard(`${topic}:${partition}`);
    },
  };

  const runner: KafkaRunner = createKafkaRunner({
    ...runnerDefaults(config.platform),
    service: 'notifier',
    kafka: deps.kafka,
    serde,
    logger,
    groupId: config.groupId,
    topics: NOTIFIER_INPUTS,
    onFatal: deps.onFatal,
    state: hooks,
    // SMTP happens while a work record is handled: one per transaction keeps heartbeats and commits timely.
    maxInputsPerTransaction: (topic) => (topic === TOPICS.notifierWork ? 1 : 500),
    handler: (record) => apply(record, true),
  });

  // Timers only queue work on cms.notifier-work.v1 (an idempotent producer), where the runner handles it.
  let producer: Promise<Producer> | undefined;
  const queue = async (key: string, value: NotifierWork, eventId: string): Promise<void> => {
    producer ??= (async () => {
      const p = deps.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
      await p.connect();
      return p;
    })();
    const headers = standardHeaders({ eventId, producedAt: clock.now().toISOString(), eventType: value.payload.type, producer: 'notifier' });
    await (await producer).send({ topic: qualify(TOPICS.notifierWork, ns), messages: [{ key, value: await serde.encode(TOPICS.notifierWork, value), headers }], acks: -1 });
  };

  /**
   * Redis lost (no ledger marker): rebuild the ledger, then replay the partitions whose state the timers
   * read (review dates from cms.sr-facts.v1, allocations and departures from cms.workforce.v1) now, rather
   * than when their next record happens to arrive.
   */
  const recoverIfLost = async (): Promise<void> => {
    if (await store.ledgerRebuilt()) return;
    await ensureLedger();
    for (const base of [TOPICS.srFacts, TOPICS.workforce] as const) {
      const meta = await admin.fetchTopicMetadata({ topics: [qualify(base, ns)] });
      for (const p of meta.topics[0]?.partitions ?? []) await runner.rebuild(base, p.partitionId);
    }
  };

  const checkReviews = async (): Promise<number> => {
    await recoverIfLost();
    const now = clock.now();
    const due = await store.dueReviews(now);
    for (const r of due) {
      const e = planReviewReminder(r.key, r.dueAt);
      await queue(e.idempotencyKey, emailWork(e, now), deterministicId('notifier', 'review', e.idempotencyKey));
      // Reviewed every three months while the flag stands: the next reminder is due three months on.
      await store.advanceReview(r.key, r.dueAt, nextReview(r.dueAt));
    }
    if (due.length > 0) log.info({ [LOG_FIELDS.count]: due.length }, 'personal-interest reviews due: reminders queued');
    return due.length;
  };

  const sweepOrphans = async (): Promise<number> => {
    await recoverIfLost();
    const allocations = await store.allAllocations();
    const departures = await store.allDepartures();
    const candidates = Object.entries(allocations).filter(([, a]) => departures[a.userId] !== undefined).map(([id]) => id);
    const found = sweep(allocations, departures, await store.flagged(candidates));
    if (found.length === 0) return 0;
    const workId = `sweep:${deterministicId('sweep', ...found.map((o) => `${o.caseGroupId}|${o.userId}|${o.since}`))}`;
    await queue(workId, { workId, occurredAt: clock.now().toISOString(), payload: { type: 'OrphanSweepFound', orphans: found } }, deterministicId('notifier', workId));
    log.warn({ [LOG_FIELDS.count]: found.length }, 'orphan sweep found case groups held by users without access');
    return found.length;
  };

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, what: string, task: () => Promise<unknown>): void => {
    let running = false;
    const timer = setInterval(() => {
      if (running || stopping.signal.aborted) return;
      running = true;
      task()
        .catch((err: unknown) => {
          log.warn({ err, task: what }, 'periodic task failed; it runs again at its next interval');
        })
        .finally(() => {
          running = false;
        });
    }, ms);
    timer.unref();
    timers.push(timer);
  };

  let stopPromise: Promise<void> | undefined;
  return {
    runner,
    store,
    checkReviews,
    sweepOrphans,
    async start() {
      await admin.connect();
      await ensureContract(admin, serde, [...NOTIFIER_INPUTS, ...NOTIFIER_OUTPUTS], ns);
      await runner.start();
      every(config.reviewCheckIntervalMs, 'review check', checkReviews);
      every(config.orphanSweepIntervalMs, 'orphan sweep', sweepOrphans);
      log.info({ inboxes: Object.keys(config.inboxes) }, 'notifier started');
    },
    stop() {
      stopPromise ??= (async () => {
        stopping.abort();
        for (const t of timers) clearInterval(t);
        await runner.stop();
        if (producer) await (await producer.catch(() => undefined))?.disconnect().catch(() => undefined);
        deps.mailer.close();
        await admin.disconnect().catch(() => undefined);
      })();
      return stopPromise;
    },
  };
}

function emailWork(e: PlannedEmail, now: Date): NotifierWork {
  const d = e.data;
  return {
    workId: e.idempotencyKey,
    occurredAt: now.toISOString(),
    payload: {
      type: 'EmailDue',
      idempotencyKey: e.idempotencyKey,
      caseGroupId: e.caseGroupId,
      inbox: e.inbox,
      template: e.template,
      data: { caseGroupId: d.caseGroupId, caseId: d.caseId ?? null, srId: d.srId ?? null, segment: d.segment ?? null, userId: d.userId ?? null, dueAt: d.dueAt ?? null, caseGroupIds: [...(d.caseGroupIds ?? [])] },
      messageId: e.messageId,
      attempts: 0,
      notBefore: now.toISOString(),
      lastErrorCode: null,
    },
  };
}
