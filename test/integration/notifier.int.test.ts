import { describe, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import { explainText, readCaseGroup } from '@cms-router/cli';
import { HEADERS, TOPICS, type Assignment, type Notification, type OrphanFlag, type SrFact, type TopicName, type WorkforceEvent } from '@cms-router/events';
import { createKafka, createLogger, createRedis, redisKeys } from '@cms-router/platform';
import type { CaseGroupState } from '@cms-router/routing';
import { ROUTER_TOPICS } from '@cms-router/router/app';
import { createNotifierApp, NOTIFIER_KEYS, NOTIFIER_STAGE, NOTIFIER_TOPICS, type Clock } from '@cms-router/notifier/app';
import { loadConfig } from '@cms-router/notifier/config';
import { createSmtpMailer } from '@cms-router/notifier/mailer';
import { application, endpoints, readMail, testPlatform, uniqueName, waitFor, type SinkMail, type TestPlatform } from '../harness/index.ts';
import { caughtUp, produceTraffic, readAll, startServiceProcess, waitForStarted, waitUntilSettled, type ServiceProcess } from '../harness/system.ts';

const ALL: TopicName[] = [...new Set([...ROUTER_TOPICS, ...NOTIFIER_TOPICS])];

/** Inbox addresses of one test, so mail from other tests in the shared sink never counts. */
function inboxes(tag: string) {
  const t = tag.toLowerCase().replace(/[^a-z0-9]/g, '');
  return { INBOX_SCR: `scr-${t}@cms.test`, INBOX_ECH_GATEWAY: `ech-${t}@cms.test`, INBOX_SCR_TEAM_LEADER: `scrtl-${t}@cms.test`, INBOX_ORPHANS: `it-${t}@cms.test` };
}

async function mailTo(address: string): Promise<SinkMail[]> {
  return (await readMail()).filter((m) => m.to.some((t) => t.address === address));
}

function notifierEnv(p: TestPlatform, prefix: string, group: string): Record<string, string> {
  return {
    KAFKA_TOPIC_NAMESPACE: p.namespace,
    REDIS_KEY_PREFIX: prefix,
    NOTIFIER_GROUP_ID: group,
    SMTP_URL: endpoints().SMTP_URL,
    SMTP_FROM: 'cms-router@cms.test',
    SMTP_RETRY_INITIAL_MS: '200',
    SMTP_RETRY_MAX_MS: '1000',
    REVIEW_CHECK_INTERVAL_MS: '3600000',
    ...inboxes(p.namespace),
  };
}

/** One test's world: its topics, an admin client, a Redis key prefix and a notifier group; end() cleans up. */
async function newRun(label: string): Promise<{ p: TestPlatform; admin: Admin; prefix: string; group: string; end: () => Promise<void> }> {
  const p = await testPlatform(label);
  await p.createTopics(ALL);
  const admin = p.kafka.admin();
  await admin.connect();
  const prefix = uniqueName(label.slice(0, 2)).replace(/[^a-zA-Z0-9_-]/g, '');
  return {
    p,
    admin,
    prefix,
    group: uniqueName('notifier'),
    end: async () => {
      await admin.disconnect();
      await p.cleanup();
    },
  };
}

const readNotifications = async (p: TestPlatform): Promise<Notification[]> => (await readAll<Notification>(p.kafka, p.serde, p.namespace, TOPICS.notifications, 1_500)).map((x) => x.value);
const readFlags = async (p: TestPlatform): Promise<OrphanFlag[]> => (await readAll<OrphanFlag>(p.kafka, p.serde, p.namespace, TOPICS.orphanFlags, 1_500)).map((x) => x.value);

function assignment(id: string, caseGroupId: string, segment: string, previousSegment: string): Assignment {
  return { assignmentId: id, caseGroupId, occurredAt: '2026-03-01T09:00:00.000Z', subject: 'CASE_GROUP', srId: null, previousSegment, segment, region: null, team: null, ownerUserId: null, access: 'OWNER', requirements: [], handling: [], rulesVersion: 'test', reasons: [{ ruleId: 'sensitive-or-personal-interest', text: 'x', procedure: '003' }], pendingMove: null, orphan: null, basis: null };
}

async function publishAssignment(p: TestPlatform, a: Assignment): Promise<void> {
  const producer = p.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await producer.send({ topic: p.topic(TOPICS.assignments), messages: [{ key: a.caseGroupId, value: await p.serde.encode('cms.assignments.v1', a), headers: { [HEADERS.eventId]: `evt-${a.assignmentId}` } }] });
  await producer.disconnect();
}

const wf = (userId: string, occurredAt: string, payload: WorkforceEvent['payload']): { topic: 'cms.workforce.v1'; key: string; value: WorkforceEvent } => ({ topic: 'cms.workforce.v1', key: userId, value: { userId, occurredAt, payload } });
const piFlag = (caseGroupId: string, partyId: string, reason: string, over: Partial<Extract<SrFact['payload'], { type: 'PersonalInterestFlagChanged' }>> = {}): SrFact => ({
  caseGroupId,
  caseId: `${caseGroupId}-C`,
  srId: `SR-${caseGroupId}`,
  occurredAt: '2026-02-01T09:00:00.000Z',
  payload: { type: 'PersonalInterestFlagChanged', partyId, flagged: true, reason, reviewDueAt: null, warmHandoverRequired: false, suppressCorrespondence: false, blockPortalForPartyIds: [], ...over },
});

/** Nothing personal in any part of a message: no postcode, no party id, no personal-interest reason. */
function expectNoPersonalData(mail: SinkMail): void {
  const all = `${mail.subject}\n${mail.text ?? ''}\n${mail.html ?? ''}\n${JSON.stringify(mail.headers)}`;
  expect(all).not.toMatch(/M1 1AE|-PP\b|-RP\b|-QC\b|suicide|CIFBA|THREAT|COMMISSION|transgender/i);
}

describe('notifier on the real stack', () => {
  it('emails once per (event, inbox): SIGKILL after SMTP accepted but before the send guard resends once with the same Message-ID (the window); after the guard nothing is resent; a replay of the whole assignments topic sends nothing', { timeout: 300_000 }, async () => {
    const { p, admin, prefix, group, end } = await newRun('notify');
    const env = notifierEnv(p, prefix, group);
    const boxes = inboxes(p.namespace);
    let notifier: ServiceProcess = startServiceProcess('notifier', { ...env, NOTIFIER_FAULT_INJECTION: 'kill-after-smtp-accept' });
    try {
      await waitForStarted(notifier);
      // Window A: the server has the message, nothing here knows yet.
      await publishAssignment(p, assignment('A1', 'CG-A', 'SPECIAL_CLIENT_RECORDS', 'MAINTENANCE'));
      expect(await notifier.exited).toBeNull(); // killed by SIGKILL at the fault point
      expect(await mailTo(boxes.INBOX_SCR)).toHaveLength(1);
      notifier = startServiceProcess('notifier', env);
      await waitFor(async () => (await readNotifications(p)).some((n) => n.idempotencyKey === 'assignment:A1:SCR'), 'the SCR notification event', 60_000, 500);
      const scr = await mailTo(boxes.INBOX_SCR);
      expect(scr).toHaveLength(2); // the one duplicate the window allows...
      expect(new Set(scr.map((m) => m.messageId)).size).toBe(1); // ...carries the same Message-ID, so it is recognisably the same message
      expect(scr[0]?.subject).toBe('[CMS] Case group CG-A transferred to Special Client Records');

      // Window B: killed after the send guard, before the Kafka commit: the event is published once, the mail not resent.
      await notifier.kill('SIGTERM');
      notifier = startServiceProcess('notifier', { ...env, NOTIFIER_FAULT_INJECTION: 'kill-after-ledger-write' });
      await waitForStarted(notifier);
      await publishAssignment(p, assignment('A2', 'CG-B', 'NON_STANDARD', 'MAINTENANCE'));
      expect(await notifier.exited).toBeNull();
      notifier = startServiceProcess('notifier', env);
      await waitFor(async () => (await readNotifications(p)).some((n) => n.idempotencyKey === 'assignment:A2:ECH_GATEWAY'), 'the ECH notification event', 60_000, 500);
      await waitUntilSettled(admin, p.namespace, { notifier: group });
      expect(await mailTo(boxes.INBOX_ECH_GATEWAY)).toHaveLength(1);
      expect((await readNotifications(p)).map((n) => [n.idempotencyKey, n.outcome, n.inbox]).sort()).toEqual([
        ['assignment:A1:SCR', 'SENT', 'SCR'],
        ['assignment:A2:ECH_GATEWAY', 'SENT', 'ECH_GATEWAY'],
      ]);

      // Replay the whole assignments topic (a new consumer group over the same state): nothing is sent or published again.
      await notifier.kill('SIGTERM');
      const replayGroup = uniqueName('notifier-replay');
      notifier = startServiceProcess('notifier', { ...env, NOTIFIER_GROUP_ID: replayGroup });
      await waitForStarted(notifier);
      await waitUntilSettled(admin, p.namespace, { notifier: replayGroup });
      expect(await mailTo(boxes.INBOX_SCR)).toHaveLength(2);
      expect(await mailTo(boxes.INBOX_ECH_GATEWAY)).toHaveLength(1);
      expect(await readNotifications(p)).toHaveLength(2);
      expect(await notifier.kill('SIGTERM')).toBe(0);
    } finally {
      await notifier.kill('SIGTERM');
      await end();
    }
  });

  it('a burst of 400 emails sent side by side, the notifier killed -9 twice mid-burst: one SENT event per email, every email delivered, any copy only from the SMTP window (same Message-ID, at most the in-flight sends per kill)', { timeout: 300_000 }, async () => {
    const { p, admin, prefix, group, end } = await newRun('burst');
    // Its own Redis database: progress is counted with a SCAN, which must not walk other tests' keys.
    const redisUrl = `${endpoints().REDIS_URL.replace(/\/\d*$/, '')}/7`;
    const env = { ...notifierEnv(p, prefix, group), REDIS_URL: redisUrl, SMTP_MAX_CONNECTIONS: '4', SMTP_EMAILS_PER_TRANSACTION: '20' };
    const boxes = inboxes(p.namespace);
    const total = 400;
    const producer = p.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const messages = await Promise.all(
      Array.from({ length: total }, async (_, i) => {
        const a = assignment(`B${i}`, `CG-B${i}`, 'SPECIAL_CLIENT_RECORDS', 'MAINTENANCE');
        return { key: a.caseGroupId, value: await p.serde.encode('cms.assignments.v1', a), headers: { [HEADERS.eventId]: `evt-${a.assignmentId}` } };
      }),
    );
    await producer.send({ topic: p.topic(TOPICS.assignments), messages });
    await producer.disconnect();
    const redis = createRedis(redisUrl, { connectionName: 'test-burst' });
    // Progress as the notifier sees it: one send guard per email the server accepted (cheaper to count than the sink's mail).
    const guards = async (): Promise<number> => {
      let n = 0;
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(cursor, 'MATCH', redisKeys(prefix).notificationGuard('*'), 'COUNT', 1000);
        n += found.length;
        cursor = next;
      } while (cursor !== '0');
      return n;
    };
    let notifier: ServiceProcess = startServiceProcess('notifier', env);
    try {
      const acceptedAtKill: number[] = [];
      for (const at of [60, 200]) {
        await waitFor(async () => (await guards()) >= at, `${at} emails accepted`, 90_000, 5);
        expect(await notifier.kill('SIGKILL')).toBeNull();
        acceptedAtKill.push(await guards());
        notifier = startServiceProcess('notifier', env);
      }
      // Both kills landed mid-burst: the second came before every email had been sent.
      expect(acceptedAtKill[1]).toBeLessThan(total);
      await waitFor(async () => new Set((await readNotifications(p)).map((n) => n.idempotencyKey)).size >= total, 'a SENT event for every email', 120_000, 500);
      await waitUntilSettled(admin, p.namespace, { notifier: group });
      const events = await readNotifications(p);
      expect(events).toHaveLength(total);
      expect(new Set(events.map((n) => n.idempotencyKey)).size).toBe(total);
      expect(events.every((n) => n.outcome === 'SENT' && n.inbox === 'SCR')).toBe(true);
      const mail = await mailTo(boxes.INBOX_SCR);
      const byMessageId = new Map<string, number>();
      for (const m of mail) byMessageId.set(m.messageId ?? '', (byMessageId.get(m.messageId ?? '') ?? 0) + 1);
      expect(byMessageId.size).toBe(total); // every email delivered, each under its own Message-ID
      const copies = mail.length - total;
      // A copy comes only from a send the server accepted in the ~1 ms before its guard was written: at most the connections in flight at each kill.
      expect(copies).toBeLessThanOrEqual(2 * 4);
      expect(await notifier.kill('SIGTERM')).toBe(0);
    } finally {
      await notifier.kill('SIGTERM');
      redis.disconnect();
      await end();
    }
  });

  it('odd characters in a field cannot add a header, a recipient or a second message', { timeout: 120_000 }, async () => {
    const { p, prefix, group, end } = await newRun('forge');
    const boxes = inboxes(p.namespace);
    const notifier = startServiceProcess('notifier', notifierEnv(p, prefix, group));
    try {
      await waitForStarted(notifier);
      const forged = 'CG-1\r\nBcc: attacker@evil.test\r\n\r\n<script>x</script>\u2028.';
      await publishAssignment(p, assignment('F1', forged, 'SPECIAL_CLIENT_RECORDS', 'MAINTENANCE'));
      await waitFor(async () => (await readNotifications(p)).length === 1, 'the notification event', 60_000, 300);
      const [mail, ...more] = await mailTo(boxes.INBOX_SCR);
      expect(more).toEqual([]);
      expect((await readMail()).filter((m) => m.to.some((t) => t.address.includes('evil')))).toEqual([]);
      expect(mail?.to.map((t) => t.address)).toEqual([boxes.INBOX_SCR]);
      expect(Object.keys(mail?.headers ?? {}).map((h) => h.toLowerCase())).not.toContain('bcc');
      expect(mail?.subject).toBe('[CMS] Case group CG-1 Bcc: attacker@evil.test <script>x</script> . transferred to Special Client Records');
      expect(mail?.html).not.toContain('<script>');
    } finally {
      await notifier.kill('SIGTERM');
      await end();
    }
  });

  it('SMTP unreachable: retries with backoff off the input partitions, then one FAILED event after the budget; the inputs keep flowing meanwhile', { timeout: 180_000 }, async () => {
    const { p, admin, prefix, group, end } = await newRun('smtpdown');
    // Port 1 on loopback: nothing listens, every connection is refused.
    const notifier = startServiceProcess('notifier', { ...notifierEnv(p, prefix, group), SMTP_URL: 'smtp://127.0.0.1:1', SMTP_MAX_ATTEMPTS: '3', SMTP_RETRY_INITIAL_MS: '300', SMTP_RETRY_MAX_MS: '600', SMTP_TIMEOUT_MS: '1000' });
    try {
      await waitForStarted(notifier);
      await publishAssignment(p, assignment('A1', 'CG-A', 'SPECIAL_CLIENT_RECORDS', 'MAINTENANCE'));
      await publishAssignment(p, assignment('A2', 'CG-B', 'NON_STANDARD', 'MAINTENANCE'));
      // Both assignments are planned (their work queued) while the first email still backs off.
      await waitFor(async () => caughtUp(admin, `${group}.plan`, [p.topic(TOPICS.assignments)]), 'the plan stage to take both assignments', 30_000, 300);
      await waitFor(async () => (await readNotifications(p)).length === 2, 'two FAILED events', 90_000, 500);
      const failed = await readNotifications(p);
      expect(failed.map((n) => [n.idempotencyKey, n.outcome, n.attempts, n.errorCode]).sort()).toEqual([
        ['assignment:A1:SCR', 'FAILED', 3, 'CMS_SMTP_UNAVAILABLE'],
        ['assignment:A2:ECH_GATEWAY', 'FAILED', 3, 'CMS_SMTP_UNAVAILABLE'],
      ]);
      // Each attempt after the first was queued on the work topic with its backoff, not waited for on an input partition.
      const attempts = (await readAll<{ workId: string; payload: { attempts: number; lastErrorCode: string | null } }>(p.kafka, p.serde, p.namespace, TOPICS.notifierWork, 1_500)).map((w) => w.value);
      expect(attempts.filter((w) => w.workId === 'assignment:A1:SCR').map((w) => [w.payload.attempts, w.payload.lastErrorCode])).toEqual([
        [0, null],
        [1, 'CMS_SMTP_UNAVAILABLE'],
        [2, 'CMS_SMTP_UNAVAILABLE'],
      ]);
    } finally {
      await notifier.kill('SIGTERM');
      await end();
    }
  });

  it('tells SCR, the ECH gateway and the SCR team leader with minimal data; orphans found by the router: one email per departure listing exactly the case groups it returned, flags, explain', { timeout: 300_000 }, async () => {
    const { p, admin, prefix, group, end } = await newRun('orphans');
    const routerGroup = uniqueName('router');
    const boxes = inboxes(p.namespace);
    const redis = createRedis(endpoints().REDIS_URL, { connectionName: 'test-orphans' });
    const router = startServiceProcess('router', { KAFKA_TOPIC_NAMESPACE: p.namespace, REDIS_KEY_PREFIX: prefix, ROUTER_GROUP_ID: routerGroup, ROUTER_TICK_INTERVAL_MS: '0' });
    const notifier = startServiceProcess('notifier', notifierEnv(p, prefix, group));
    const groups = { router: routerGroup, notifier: group };
    try {
      await waitForStarted(router);
      await waitForStarted(notifier);
      const cgs = ['CG-1', 'CG-2', 'CG-3', 'CG-4', 'CG-5', 'CG-PI', 'CG-NS'];
      await produceTraffic(p.kafka, p.serde, p.namespace, [wf('TL-1', '2026-01-01T09:00:00.000Z', { type: 'TeamLeadershipAssigned', teamId: 'T-1', segment: 'MAINTENANCE' }), ...cgs.map((cg) => ({ topic: 'cms.case-facts.v1' as const, key: cg, value: application(cg) }))]);
      await produceTraffic(p.kafka, p.serde, p.namespace, [
        ...['CG-1', 'CG-2', 'CG-3'].map((cg) => wf('U-1', '2026-02-01T09:00:00.000Z', { type: 'CaseGroupAllocated', caseGroupId: cg, teamId: 'T-1', segment: 'MAINTENANCE' })),
        wf('U-2', '2026-02-01T09:00:00.000Z', { type: 'CaseGroupAllocated', caseGroupId: 'CG-4', teamId: 'T-1', segment: 'MAINTENANCE' }),
        { topic: 'cms.sr-facts.v1', key: 'CG-NS', value: { caseGroupId: 'CG-NS', caseId: 'CG-NS-C', srId: 'SR-NS', occurredAt: '2026-02-01T09:00:00.000Z', payload: { type: 'CaseGroupMarkedSpecial', referringUserId: 'U-9', exceptionalType: 'TYPE_TWO' } } },
        { topic: 'cms.sr-facts.v1', key: 'CG-PI', value: piFlag('CG-PI', 'CG-PI-RP', 'CIFBA', { warmHandoverRequired: true }) },
      ]);
      await waitUntilSettled(admin, p.namespace, groups);
      // U-1 loses access: the router returns their three case groups; then U-1 is allocated CG-5, having already left.
      await produceTraffic(p.kafka, p.serde, p.namespace, [
        wf('U-1', '2026-03-01T09:00:00.000Z', { type: 'SystemAccessRemoved', reasonCode: 'LEAVER' }),
        wf('U-1', '2026-03-05T09:00:00.000Z', { type: 'CaseGroupAllocated', caseGroupId: 'CG-5', teamId: 'T-1', segment: 'MAINTENANCE' }),
      ]);
      await waitUntilSettled(admin, p.namespace, groups);
      await waitFor(async () => (await mailTo(boxes.INBOX_ORPHANS)).length === 2, 'two orphan emails', 60_000, 500);

      // What the router did and what the notifier told local IT agree, case group for case group.
      const assignments = (await readAll<Assignment>(p.kafka, p.serde, p.namespace, TOPICS.assignments, 1_500)).map((a) => a.value);
      const recovered = assignments.filter((a) => a.orphan !== null);
      expect(recovered.map((a) => [a.caseGroupId, a.subject, a.segment, a.ownerUserId, a.orphan?.cause]).sort()).toEqual([
        ['CG-1', 'CASE_GROUP', 'MAINTENANCE', null, 'SYSTEM_ACCESS_REMOVED'],
        ['CG-2', 'CASE_GROUP', 'MAINTENANCE', null, 'SYSTEM_ACCESS_REMOVED'],
        ['CG-3', 'CASE_GROUP', 'MAINTENANCE', null, 'SYSTEM_ACCESS_REMOVED'],
        ['CG-5', 'CASE_GROUP', 'MAINTENANCE', null, 'OWNER_WITHOUT_ACCESS'],
      ]);
      expect(recovered.find((a) => a.caseGroupId === 'CG-1')?.reasons[0]?.text).toContain('caseworker U-1, who had their CMS 2012 access removed');
      const orphanMail = (await mailTo(boxes.INBOX_ORPHANS)).sort((a, b) => a.subject.localeCompare(b.subject));
      expect(orphanMail.map((m) => m.subject)).toEqual(['[CMS] 3 orphaned case groups (CG-1, ...)', '[CMS] Orphaned case group CG-5']);
      expect(orphanMail[0]?.text).toContain('CG-1, CG-2, CG-3');
      const emailed = new Set(orphanMail.flatMap((m) => [...(m.text ?? '').matchAll(/CG-\d/g)].map((x) => x[0])));
      expect([...emailed].sort()).toEqual(recovered.map((a) => a.caseGroupId).sort());
      const flags = await readFlags(p);
      expect(flags.filter((f) => f.state === 'FLAGGED').map((f) => f.caseGroupId).sort()).toEqual(['CG-1', 'CG-2', 'CG-3', 'CG-5']);
      expect(flags.filter((f) => f.state === 'RECOVERED').map((f) => f.caseGroupId).sort()).toEqual(['CG-1', 'CG-2', 'CG-3', 'CG-5']);
      // CG-4's caseworker is still there: untouched.
      expect(assignments.filter((a) => a.caseGroupId === 'CG-4').at(-1)?.ownerUserId).toBe('U-2');
      const state = await readCaseGroup(redis, prefix, 'CG-1');
      expect(state?.history.length).toBeGreaterThan(0); // read back from the history ring
      const explained = explainText(state as CaseGroupState);
      expect(explained).toContain("orphaned (SYSTEM_ACCESS_REMOVED, since 2026-03-01T09:00:00.000Z) and returned to the segment's unallocated work");
      expect(explained).toContain('[orphan-recovered]');

      // SCR, ECH gateway and the SCR team leader, once each, with no personal data.
      await waitFor(async () => (await mailTo(boxes.INBOX_SCR_TEAM_LEADER)).length > 0 && (await mailTo(boxes.INBOX_SCR)).length > 0 && (await mailTo(boxes.INBOX_ECH_GATEWAY)).length > 0, 'SCR, ECH and SCR TL emails', 60_000, 500);
      const [scr, ech, tl] = [await mailTo(boxes.INBOX_SCR), await mailTo(boxes.INBOX_ECH_GATEWAY), await mailTo(boxes.INBOX_SCR_TEAM_LEADER)];
      expect([scr.length, ech.length, tl.length]).toEqual([1, 1, 1]);
      expect(scr[0]?.subject).toBe('[CMS] Case group CG-PI transferred to Special Client Records');
      expect(ech[0]?.subject).toBe('[CMS] Exceptional case: case group CG-NS for the ECH gateway');
      expect(ech[0]?.text).toContain('ECH Gateway Template');
      expect(tl[0]?.subject).toBe('[CMS] Warm handover needed: case group CG-PI');
      expect(tl[0]?.text).toContain('SR SR-CG-PI');
      for (const m of [...scr, ...ech, ...tl, ...orphanMail]) expectNoPersonalData(m);
      const notifications = await readNotifications(p);
      expect(notifications.filter((n) => n.outcome === 'SENT')).toHaveLength(5);
      expect(new Set(notifications.map((n) => n.idempotencyKey)).size).toBe(notifications.length);
    } finally {
      await notifier.kill('SIGTERM');
      await router.kill('SIGTERM');
      await redis.quit();
      await end();
    }
  });

  it('a threat-of-suicide review reminder fires at its due date under a test clock, once, and its date survives a restart and Redis loss (restored from the changelog)', { timeout: 300_000 }, async () => {
    const { p, admin, prefix, group, end } = await newRun('review');
    const config = loadConfig({ ...process.env, KAFKA_BROKERS: endpoints().KAFKA_BROKERS, SCHEMA_REGISTRY_URL: endpoints().SCHEMA_REGISTRY_URL, REDIS_URL: endpoints().REDIS_URL, ...notifierEnv(p, prefix, group), KAFKA_SESSION_TIMEOUT_MS: '6000' });
    const boxes = inboxes(p.namespace);
    const logger = createLogger({ service: 'notifier-test', level: 'warn' });
    let now = new Date('2026-04-30T12:00:00.000Z');
    const clock: Clock = { now: () => now };
    const reviewKey = redisKeys(prefix).stateDoc(NOTIFIER_STAGE, NOTIFIER_KEYS.review('CG-R|CG-R-RP'));
    const start = async () => {
      const redis = createRedis(endpoints().REDIS_URL, { connectionName: 'test-review' });
      const app = createNotifierApp({ config, kafka: createKafka(config.platform.kafka, logger), serde: p.serde, redis, logger, mailer: createSmtpMailer({ url: config.smtp.url, from: config.smtp.from, timeoutMs: 5_000 }), clock, onFatal: () => undefined });
      await app.start();
      return {
        app,
        redis,
        dueAt: async () => (JSON.parse((await redis.get(reviewKey)) ?? 'null') as { dueAt: string } | null)?.dueAt ?? null,
        stop: async () => {
          await app.stop();
          await redis.quit();
        },
      };
    };
    const settled = () => waitUntilSettled(admin, p.namespace, { notifier: group });
    let running = await start();
    try {
      await produceTraffic(p.kafka, p.serde, p.namespace, [{ topic: 'cms.sr-facts.v1', key: 'CG-R', value: piFlag('CG-R', 'CG-R-RP', 'THREAT_OF_SUICIDE', { reviewDueAt: '2026-05-01T09:00:00.000Z' }) }]);
      await waitFor(async () => (await running.dueAt()) === '2026-05-01T09:00:00.000Z', 'the review date to be kept', 60_000, 200);
      await running.app.tick(); // the day before: nothing
      await settled();
      expect(await mailTo(boxes.INBOX_SCR)).toHaveLength(0);
      now = new Date('2026-05-01T09:00:00.000Z');
      await running.app.tick();
      await waitFor(async () => (await mailTo(boxes.INBOX_SCR)).length === 1, 'the review reminder', 60_000, 300);
      await running.app.tick(); // once per review date
      await settled();
      expect(await mailTo(boxes.INBOX_SCR)).toHaveLength(1);
      expect(await running.dueAt()).toBe('2026-08-01T09:00:00.000Z'); // then every three months
      const [reminder] = await mailTo(boxes.INBOX_SCR);
      expect(reminder?.subject).toBe('[CMS] Personal interest review due: case group CG-R');
      if (reminder) expectNoPersonalData(reminder);

      // Restart, then Redis loses everything the notifier kept: the state comes back from the changelog, so no second email.
      await running.stop();
      const wipe = createRedis(endpoints().REDIS_URL, { connectionName: 'test-review-wipe' });
      const keys = await wipe.keys(`${prefix}:*`);
      expect(keys.length).toBeGreaterThan(0);
      await wipe.del(...keys);
      await wipe.quit();
      running = await start();
      await running.app.tick();
      await settled();
      expect(await running.dueAt()).toBe('2026-08-01T09:00:00.000Z');
      expect(await mailTo(boxes.INBOX_SCR)).toHaveLength(1);
      expect((await readNotifications(p)).map((n) => [n.idempotencyKey, n.outcome])).toEqual([['review:CG-R|CG-R-RP:2026-05-01T09:00:00.000Z:SCR', 'SENT']]);
      now = new Date('2026-08-01T09:00:00.000Z');
      await running.app.tick();
      await waitFor(async () => (await mailTo(boxes.INBOX_SCR)).length === 2, 'the next quarterly reminder', 60_000, 300);
    } finally {
      await running.stop();
      await end();
    }
  });
});
