import type { Kafka } from 'kafkajs';
import { CmsError, isCmsError } from '@cms-router/errors';
import { deterministicId, TOPICS, type EmailDue, type Notification, type NotifierWork, type OrphanFlag, type TopicName } from '@cms-router/events';
import {
  backoffDelay,
  createKafkaRunner,
  createTickWriter,
  ensureContract,
  LOG_FIELDS,
  redisCall,
  redisKeys,
  runnerDefaults,
  sleepUnlessAborted,
  type HandlerContext,
  type InboundRecord,
  type KafkaRunner,
  type ServiceMetrics,
  type Logger,
  type OutboundRecord,
  type Redis,
  type Serde,
  type TaskStore,
} from '@cms-router/platform';
import type { FaultPoint, NotifierConfig } from './config.ts';
import { afterFailure, emailStep, type LedgerEntry } from './core/ledger.ts';
import { addPart, type Digest, type Orphan } from './core/orphans.ts';
import { dueReviews, nextReview, planForAssignment, planForSrFact, planOrphanEmail, planReviewReminder, type Inbox, type PlannedEmail } from './core/plan.ts';
import { render, TEMPLATE_IDS, type TemplateId } from './core/templates.ts';
import { classifySmtpError, type Mailer } from './mailer.ts';

export const NOTIFIER_PLAN_INPUTS: readonly TopicName[] = [TOPICS.assignments, TOPICS.srFacts, TOPICS.routerOrphans];
export const NOTIFIER_TOPICS: readonly TopicName[] = [...NOTIFIER_PLAN_INPUTS, TOPICS.notifierWork, TOPICS.notifierState, TOPICS.notifications, TOPICS.orphanFlags, TOPICS.rejections, TOPICS.deadLetter];
export const NOTIFIER_STAGE = 'notifier';

/** The notifier's state keys (Redis `<prefix>:notifier:<key>`, and the changelog). */
export const NOTIFIER_KEYS = {
  /** The outcome of one email (idempotency key), committed with its event. */
  ledger: (idempotencyKey: string) => `ledger:${idempotencyKey}`,
  /** A personal-interest review: its case group and next due date. */
  review: (reviewKey: string) => `review:${reviewKey}`,
  /** A work partition's reviews and their due dates. */
  reviews: (task: number) => `p${task}:reviews`,
  /** An orphan report being put together. */
  digest: (reportId: string) => `digest:${reportId}`,
} as const;

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
  /** The service's /metrics registry (runService's); absent in tests that build the app alone. */
  readonly metrics?: ServiceMetrics;
  /** Test-only crash points; main.ts wires the configured one to a SIGKILL of the process. */
  readonly fault?: (point: FaultPoint) => void;
}

export interface NotifierApp {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Writes a tick (the clock's time) to every work partition: reviews due by then are reminded. Runs on a timer too. */
  tick(): Promise<void>;
  readonly runners: { readonly plan: KafkaRunner; readonly work: KafkaRunner };
}

/** An attempt started for a transaction that never came (its partition moved away) is forgotten after this. */
const STALE_ATTEMPT_MS = 10 * 60_000;

const isTemplate = (t: string): t is TemplateId => (TEMPLATE_IDS as readonly string[]).includes(t);

/**
 * The notifier, as two exactly-once stages:
 * - plan (stateless): assignments, SR facts and the router's orphan reports -> work on cms.notifier-work.v1
 *   (emails to send, review schedules, parts of orphan reports);
 * - work (stateful, one task per work partition, its state in a compacted changelog): one SMTP attempt per
 *   email record, the send-once ledger, review reminders when a tick says they are due, orphan reports put
 *   together and told once (one email to local IT, and the orphan flags).
 * SMTP is the one effect outside Kafka: a guard is written to Redis the moment the server answers, so a
 * crash before the commit that records the outcome does not send again (docs/notifier.md).
 */
export function createNotifierApp(deps: NotifierDeps): NotifierApp {
  const { config, serde, redis, logger, clock } = deps;
  const ns = config.platform.kafka.topicNamespace;
  const keys = redisKeys(config.platform.redis.keyPrefix);
  const admin = deps.kafka.admin();
  const log = logger.child({ component: 'notifier' });
  const fault = deps.fault ?? (() => undefined);
  const stopping = new AbortController();
  const common = { ...runnerDefaults(config.platform), service: 'notifier', kafka: deps.kafka, serde, logger, onFatal: deps.onFatal, ...(deps.metrics ? { metrics: deps.metrics } : {}) };

  const work = (e: PlannedEmail, now: Date): OutboundRecord => ({ topic: TOPICS.notifierWork, key: e.idempotencyKey, value: emailWork(e, now), eventType: 'EmailDue' });

  const flagEvent = (o: Orphan, state: OrphanFlag['state'], occurredAt: string): OutboundRecord => {
    const value: OrphanFlag = { caseGroupId: o.caseGroupId, userId: o.userId, occurredAt, since: o.since, cause: o.cause, state, segment: o.segment };
    return { topic: TOPICS.orphanFlags, key: o.caseGroupId, value, eventId: deterministicId('notifier', 'orphan', o.caseGroupId, o.userId, o.since, state), eventType: `Orphan${state}` };
  };

  const notification = (w: EmailDue, entry: LedgerEntry): OutboundRecord => {
    const value: Notification = { idempotencyKey: w.idempotencyKey, caseGroupId: w.caseGroupId, occurredAt: entry.at, inbox: w.inbox, template: w.template, outcome: entry.status, messageId: entry.messageId, attempts: entry.attempts, errorCode: entry.errorCode };
    // The same id however often it is published: a consumer can tell a republished event from a new one.
    return { topic: TOPICS.notifications, key: w.caseGroupId, value, eventId: deterministicId('notifier', 'notification', w.idempotencyKey, entry.status), eventType: entry.status };
  };

  /** The guard protects an email already accepted: worth waiting for Redis a little rather than sending twice. */
  const writeGuard = async (key: string, entry: LedgerEntry): Promise<void> => {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await redisCall('write send guard', () => redis.set(keys.notificationGuard(key), JSON.stringify(entry), 'EX', 30 * 86_400));
        return;
      } catch (err) {
        if (attempt >= 9 || !isCmsError(err) || !err.retryable) throw err;
        log.warn({ [LOG_FIELDS.code]: err.code, [LOG_FIELDS.attempt]: attempt + 1 }, 'send guard not written after an SMTP answer; retrying so the email is not sent twice');
        await sleepUnlessAborted(backoffDelay(attempt, 100, 2_000), stopping.signal);
      }
    }
  };
  const readGuard = async (key: string): Promise<LedgerEntry | null> => {
    const raw = await redisCall('read send guard', () => redis.get(keys.notificationGuard(key)));
    return raw === null ? null : (JSON.parse(raw) as LedgerEntry);
  };

  // ---- plan: what each input means for the inboxes ----
  const plan = (record: InboundRecord): Promise<OutboundRecord[]> => {
    const now = clock.now();
    switch (record.topic) {
      case 'cms.assignments.v1':
        return Promise.resolve(planForAssignment(record.value, `assignment:${record.value.assignmentId}`).map((e) => work(e, now)));
      case 'cms.sr-facts.v1': {
        const f = record.value;
        const p = planForSrFact(f, `sr-fact:${record.headers.eventId}`);
        const reviews: OutboundRecord[] = p.reviews.map((r) =>
          r.kind === 'schedule'
            ? { topic: TOPICS.notifierWork, key: r.key, value: { workId: r.key, occurredAt: f.occurredAt, payload: { type: 'ReviewScheduled', reviewKey: r.key, caseGroupId: f.caseGroupId, dueAt: r.dueAt } }, eventType: 'ReviewScheduled' }
            : { topic: TOPICS.notifierWork, key: r.key, value: { workId: r.key, occurredAt: f.occurredAt, payload: { type: 'ReviewCancelled', reviewKey: r.key } }, eventType: 'ReviewCancelled' },
        );
        return Promise.resolve([...p.emails.map((e) => work(e, now)), ...reviews]);
      }
      case 'cms.router-orphans.v1': {
        const r = record.value;
        const value: NotifierWork = { workId: r.reportId, occurredAt: r.occurredAt, payload: { type: 'OrphanDigestPart', reportId: r.reportId, userId: r.userId, since: r.since, cause: r.cause, part: r.part, parts: r.parts, caseGroups: r.caseGroups } };
        return Promise.resolve([{ topic: TOPICS.notifierWork, key: r.reportId, value, eventType: 'OrphanDigestPart' }]);
      }
      default:
        return Promise.resolve([]);
    }
  };

  // ---- work: emails, reviews, orphan reports ----
  type Attempt = { readonly kind: 'sent'; readonly entry: LedgerEntry } | { readonly kind: 'failed'; readonly error: CmsError };
  /** Sends started by `prepare` for the inputs of the open transaction, by email and attempt; each input's turn awaits its own. */
  const inFlight = new Map<string, { readonly attempt: Promise<Attempt>; readonly startedAt: number }>();
  const attemptKey = (w: EmailDue): string => `${w.idempotencyKey}#${w.attempts}`;

  const target = (w: EmailDue): { address: string; template: TemplateId } | undefined => {
    const address = config.inboxes[w.inbox as Inbox] as string | undefined;
    return address && isTemplate(w.template) ? { address, template: w.template } : undefined;
  };

  /** One SMTP attempt; on the server's acceptance the guard is written before anything else happens. */
  const attemptSend = async (w: EmailDue, to: { address: string; template: TemplateId }): Promise<Attempt> => {
    const rendered = render(to.template, { ...w.data, caseGroupIds: [...w.data.caseGroupIds] });
    try {
      await deps.mailer.send({ to: to.address, ...rendered, messageId: w.messageId });
    } catch (err) {
      const error = isCmsError(err) ? err : classifySmtpError(err);
      deps.metrics?.email(w.inbox, error.retryable ? 'retrying' : 'failed');
      return { kind: 'failed', error };
    }
    deps.metrics?.email(w.inbox, 'sent');
    // The window SMTP cannot close: the server has the message, nothing here knows yet (docs/notifier.md).
    fault('kill-after-smtp-accept');
    const sent: LedgerEntry = { status: 'SENT', attempts: w.attempts + 1, messageId: w.messageId, at: clock.now().toISOString(), errorCode: null };
    await writeGuard(w.idempotencyKey, sent);
    fault('kill-after-ledger-write');
    return { kind: 'sent', entry: sent };
  };

  /**
   * Starts the SMTP attempts of a transaction's due emails together (the pool's connections carry them
   * side by side); each email's turn in onEmailDue awaits its own and records it. Stops at the first email
   * not yet due, which holds the partition: what follows it waits, as it would one at a time.
   */
  const prepareWork = async (records: readonly InboundRecord[], store: TaskStore): Promise<void> => {
    const now = clock.now();
    for (const [k, v] of inFlight) if (now.getTime() - v.startedAt > STALE_ATTEMPT_MS) inFlight.delete(k);
    for (const record of records) {
      if (record.topic !== 'cms.notifier-work.v1' || record.value.payload.type !== 'EmailDue') continue;
      const w = record.value.payload;
      if (inFlight.has(attemptKey(w))) continue;
      const step = emailStep((await store.get<LedgerEntry>(NOTIFIER_KEYS.ledger(w.idempotencyKey))) ?? null, await readGuard(w.idempotencyKey), w.notBefore, now);
      if (step.kind === 'wait') return;
      const to = target(w);
      if (step.kind !== 'send' || !to) continue;
      const attempt = attemptSend(w, to);
      // Awaited in the email's turn; a guard that could not be written rejects there.
      attempt.catch(() => undefined);
      inFlight.set(attemptKey(w), { attempt, startedAt: now.getTime() });
    }
  };

  const onEmailDue = async (store: TaskStore, w: EmailDue, now: Date): Promise<OutboundRecord[]> => {
    const ledgerKey = NOTIFIER_KEYS.ledger(w.idempotencyKey);
    const record = (entry: LedgerEntry): OutboundRecord[] => {
      store.put(ledgerKey, entry);
      return [notification(w, entry)];
    };
    /** The outcome of this record's attempt: recorded when sent; retried or failed when not. */
    const settle = async (outcome: Attempt): Promise<OutboundRecord[]> => {
      if (outcome.kind === 'sent') return record(outcome.entry);
      const e = outcome.error;
      const next = afterFailure(w.attempts, e.retryable, now, config.smtp.maxAttempts, (a) => backoffDelay(a, config.smtp.retryInitialMs, config.smtp.retryMaxMs));
      log.warn({ [LOG_FIELDS.code]: e.code, inbox: w.inbox, [LOG_FIELDS.caseGroupId]: w.caseGroupId, [LOG_FIELDS.attempt]: next.attempts, outcome: next.kind }, 'SMTP attempt failed');
      if (next.kind === 'retry') {
        const value: NotifierWork = { workId: w.idempotencyKey, occurredAt: now.toISOString(), payload: { ...w, attempts: next.attempts, notBefore: next.notBefore, lastErrorCode: e.code } };
        return [{ topic: TOPICS.notifierWork, key: w.idempotencyKey, value, eventType: 'EmailDue' }];
      }
      const failed: LedgerEntry = { status: 'FAILED', attempts: next.attempts, messageId: w.messageId, at: now.toISOString(), errorCode: e.retryable ? 'CMS_SMTP_UNAVAILABLE' : e.code };
      await writeGuard(w.idempotencyKey, failed);
      return record(failed);
    };
    // Started by prepare, which read the ledger, the guard and the due time just before (nothing in
    // between writes them for this key): this record's attempt, whatever the guard reads now.
    const started = inFlight.get(attemptKey(w));
    if (started) {
      inFlight.delete(attemptKey(w));
      return settle(await started.attempt);
    }
    const step = emailStep((await store.get<LedgerEntry>(ledgerKey)) ?? null, await readGuard(w.idempotencyKey), w.notBefore, now);
    if (step.kind === 'done') return [];
    if (step.kind === 'record') return record(step.entry);
    if (step.kind === 'wait') throw new CmsError('CMS_NOT_DUE', `email ${w.idempotencyKey} is due at ${w.notBefore}`, { context: { retryAfterMs: step.ms } });
    const to = target(w);
    if (!to) {
      log.error({ [LOG_FIELDS.code]: 'CMS_EVENT_INVALID', inbox: w.inbox, template: w.template }, 'queued email names an inbox or template this notifier does not know');
      return record({ status: 'FAILED', attempts: w.attempts, messageId: w.messageId, at: now.toISOString(), errorCode: 'CMS_EVENT_INVALID' });
    }
    return settle(await attemptSend(w, to));
  };

  const onDigestPart = async (store: TaskStore, part: Extract<NotifierWork['payload'], { type: 'OrphanDigestPart' }>, occurredAt: string, now: Date): Promise<OutboundRecord[]> => {
    const k = NOTIFIER_KEYS.digest(part.reportId);
    const { digest, complete } = addPart((await store.get<Digest>(k)) ?? null, part);
    store.put(k, digest);
    if (!complete) return [];
    // Flagged and recovered: the router has already returned them to their segment's unallocated work.
    return [...complete.flatMap((o) => [flagEvent(o, 'FLAGGED', occurredAt), flagEvent(o, 'RECOVERED', occurredAt)]), ...planOrphanEmail(`orphans:${part.reportId}`, complete).map((e) => work(e, now))];
  };

  const onTick = async (store: TaskStore, task: number, at: string): Promise<OutboundRecord[]> => {
    const indexKey = NOTIFIER_KEYS.reviews(task);
    const schedule = { ...((await store.get<Record<string, string>>(indexKey)) ?? {}) };
    const due = dueReviews(schedule, new Date(at));
    const out: OutboundRecord[] = [];
    for (const r of due) {
      const e = planReviewReminder(r.key, r.dueAt);
      out.push(work(e, new Date(at)));
      // Reviewed every three months while the flag stands: the next reminder is due three months on.
      const next = nextReview(r.dueAt);
      schedule[r.key] = next;
      const doc = await store.get<{ caseGroupId: string; dueAt: string }>(NOTIFIER_KEYS.review(r.key));
      store.put(NOTIFIER_KEYS.review(r.key), { caseGroupId: doc?.caseGroupId ?? r.key.split('|')[0] ?? r.key, dueAt: next });
    }
    if (due.length > 0) {
      store.put(indexKey, schedule);
      log.info({ [LOG_FIELDS.count]: due.length }, 'personal-interest reviews due: reminders queued');
    }
    return out;
  };

  const onWork = async (record: InboundRecord, { store }: HandlerContext): Promise<OutboundRecord[]> => {
    if (record.topic !== 'cms.notifier-work.v1') return [];
    const p = record.value.payload;
    const now = clock.now();
    switch (p.type) {
      case 'EmailDue':
        return onEmailDue(store, p, now);
      case 'OrphanDigestPart':
        return onDigestPart(store, p, record.value.occurredAt, now);
      case 'ReviewScheduled': {
        const indexKey = NOTIFIER_KEYS.reviews(record.partition);
        const schedule = { ...((await store.get<Record<string, string>>(indexKey)) ?? {}) };
        // A replayed or repeated schedule never moves a review earlier (a reminder already sent stays sent).
        if (schedule[p.reviewKey] !== undefined && (schedule[p.reviewKey] ?? '') >= p.dueAt) return [];
        schedule[p.reviewKey] = p.dueAt;
        store.put(indexKey, schedule);
        store.put(NOTIFIER_KEYS.review(p.reviewKey), { caseGroupId: p.caseGroupId, dueAt: p.dueAt });
        return [];
      }
      case 'ReviewCancelled': {
        const indexKey = NOTIFIER_KEYS.reviews(record.partition);
        const current = (await store.get<Record<string, string>>(indexKey)) ?? {};
        if (!(p.reviewKey in current)) return [];
        const schedule = Object.fromEntries(Object.entries(current).filter(([k]) => k !== p.reviewKey));
        store.put(indexKey, Object.keys(schedule).length === 0 ? undefined : schedule);
        store.put(NOTIFIER_KEYS.review(p.reviewKey), undefined);
        return [];
      }
      case 'Tick':
        return onTick(store, record.partition, p.at);
      case 'OrphanSweepFound':
        // Written by notifiers before the router found orphans itself: nothing to do now.
        return [];
    }
  };

  const runners = {
    plan: createKafkaRunner({ ...common, groupId: `${config.groupId}.plan`, topics: NOTIFIER_PLAN_INPUTS, handler: plan }),
    work: createKafkaRunner({
      ...common,
      groupId: config.groupId,
      topics: [TOPICS.notifierWork],
      handler: onWork,
      state: { stage: NOTIFIER_STAGE, changelog: TOPICS.notifierState, redis, keyPrefix: config.platform.redis.keyPrefix },
      // A transaction's emails go out together (prepare), so a transaction is bounded by what a slow
      // server could hold up: SMTP_EMAILS_PER_TRANSACTION attempts, each within SMTP_TIMEOUT_MS.
      prepare: (records, { store }) => prepareWork(records, store),
      maxInputsPerTransaction: config.smtp.emailsPerTransaction,
    }),
  };

  // Ticks only queue time on cms.notifier-work.v1 (an idempotent producer), where the work stage handles it.
  const ticks = createTickWriter({
    kafka: deps.kafka, admin, serde, topic: TOPICS.notifierWork, namespace: ns, service: 'notifier',
    record: (at): NotifierWork => ({ workId: '', occurredAt: at, payload: { type: 'Tick', at } }),
  });
  const tick = (): Promise<void> => ticks.write(clock.now().toISOString());

  let timer: NodeJS.Timeout | undefined;
  let stopPromise: Promise<void> | undefined;
  return {
    runners,
    tick,
    async start() {
      await ensureContract(admin, serde, NOTIFIER_TOPICS, ns, -1, { log: (line) => { log.info(line); } });
      await runners.work.start();
      await runners.plan.start();
      timer = setInterval(() => {
        if (stopping.signal.aborted) return;
        tick().catch((err: unknown) => {
          log.warn({ err }, 'tick not written; the next one follows at its interval');
        });
      }, config.reviewCheckIntervalMs);
      timer.unref();
      log.info({ inboxes: Object.keys(config.inboxes) }, 'notifier started');
    },
    stop() {
      stopPromise ??= (async () => {
        stopping.abort();
        if (timer) clearInterval(timer);
        await runners.plan.stop();
        await runners.work.stop();
        await ticks.close();
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
