import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS, type TopicName } from '@cms-router/events';
import { NOTIFIER_TOPICS } from '@cms-router/notifier/app';
import { ROUTER_TOPICS } from '@cms-router/router/app';
import { SR_EVENTS_TOPICS } from '@cms-router/sr-events/app';
import { generateTraffic } from '@cms-router/traffic';
import { endpoints, readMail, testPlatform, uniqueName, waitFor, type TestPlatform } from '../harness/index.ts';
import { produceTraffic, startServiceProcess, waitForStarted, waitUntilSettled, type ServiceProcess } from '../harness/system.ts';

const ALL: TopicName[] = [...new Set([...ROUTER_TOPICS, ...SR_EVENTS_TOPICS, ...NOTIFIER_TOPICS])];

/** The ops server's address, from the service's own log line (OPS_PORT=0 picks a free port). */
const opsUrl = (s: ServiceProcess): Promise<string> =>
  waitFor(() => /"url":"(http:\/\/[^"]+)"[^\n]*ops server listening/.exec(s.output.join(''))?.[1], `${s.name}'s ops server`, 120_000);

/** One scrape: each sample's value by its full series text (`name{labels}`). */
async function scrape(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/metrics`);
  expect(res.status).toBe(200);
  const out = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}
const sum = (m: Map<string, number>, name: string, ...labels: string[]): number =>
  [...m].filter(([k]) => k.startsWith(`${name}{`) && labels.every((l) => k.includes(l))).reduce((a, [, v]) => a + v, 0);
const series = (m: Map<string, number>, name: string): [string, number][] => [...m].filter(([k]) => k.startsWith(`${name}{`));

describe('health, readiness and metrics of every service, on the full path', () => {
  let p: TestPlatform;
  let services: ServiceProcess[] = [];
  const prefix = uniqueName('ops').replace(/[^a-zA-Z0-9_-]/g, '');
  const groups = { router: uniqueName('ops-router'), srEvents: uniqueName('ops-sr'), notifier: uniqueName('ops-notifier') };
  beforeAll(async () => {
    p = await testPlatform('ops');
    await p.createTopics(ALL);
  });
  afterAll(async () => {
    await Promise.all(services.map((s) => s.kill('SIGTERM')));
    await p.cleanup();
  });

  it('/healthz at once, /readyz once restored, and /metrics that count what happened: outcomes, lag to 0 without markers, commits, emails', { timeout: 900_000 }, async () => {
    const tag = p.namespace.toLowerCase().replace(/[^a-z0-9]/g, '');
    const inboxes = { INBOX_SCR: `scr-${tag}@cms.test`, INBOX_ECH_GATEWAY: `ech-${tag}@cms.test`, INBOX_SCR_TEAM_LEADER: `scrtl-${tag}@cms.test`, INBOX_ORPHANS: `it-${tag}@cms.test` };
    const env = {
      KAFKA_TOPIC_NAMESPACE: p.namespace, REDIS_KEY_PREFIX: prefix, OPS_PORT: '0', ROUTER_GROUP_ID: groups.router, SR_EVENTS_GROUP_ID: groups.srEvents, NOTIFIER_GROUP_ID: groups.notifier,
      SMTP_URL: endpoints().SMTP_URL, SMTP_FROM: 'cms-router@cms.test', ...inboxes,
    };
    // Traffic waits before the services start, so that they start behind it: lag must show, then drain.
    const events = generateTraffic({ seed: 4242, caseGroups: 150, changesPerCaseGroup: 8, prefix: 'OPS' }).flat();
    await produceTraffic(p.kafka, p.serde, p.namespace, events);
    const producer = p.kafka.producer();
    await producer.connect();
    await producer.send({ topic: p.topic(TOPICS.caseFacts), messages: [{ key: 'OPS-POISON', value: Buffer.from('not avro') }] });
    // A fact whose application never comes: it waits (7 days by default), and /metrics shows it waiting.
    await producer.send({ topic: p.topic(TOPICS.caseFacts), messages: [{ key: 'OPS-WAITS', value: await p.serde.encode(TOPICS.caseFacts, { caseGroupId: 'OPS-WAITS', caseId: 'OPS-WAITS-C', occurredAt: '2026-01-05T09:00:00.000Z', payload: { type: 'PromiseToPayScheduleIssued', scheduleId: 'S-W' } }) }] });
    await producer.disconnect();

    services = [startServiceProcess('router', env), startServiceProcess('sr-events', env), startServiceProcess('notifier', env)];
    const urls = await Promise.all(services.map(opsUrl));
    const [, srEvents, notifier] = urls as [string, string, string];
    for (const [i, url] of urls.entries()) {
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', service: services[i]?.name });
    }
    // Lag shows while the backlog drains (polled: whichever stage is behind when we look).
    await waitFor(async () => (await Promise.all(urls.map(scrape))).some((m) => series(m, 'cms_consumer_lag_records').some(([, v]) => v > 0)), 'a consumer lag above 0 while the backlog drains', 120_000, 100);
    await Promise.all(services.map((s) => waitForStarted(s)));
    const readyBodies: unknown[] = [];
    for (const url of urls) {
      readyBodies.push(await waitFor(async () => {
        const res = await fetch(`${url}/readyz`);
        return res.status === 200 ? ((await res.json()) as unknown) : undefined;
      }, `${url}/readyz 200`, 120_000, 200));
    }
    // The answer that said ready: a later one may say otherwise for a moment (a commit moves a position, and a gap is read as markers only after two fetches).
    const ready = readyBodies[0] as { detail: Record<string, { joined: boolean; partitions: number; restored: number; waiting: number }> };
    expect(Object.keys(ready.detail).sort()).toEqual([`${groups.router}.ingest`, `${groups.router}.people`, `${groups.router}.route`].sort());
    for (const d of Object.values(ready.detail)) expect(d.waiting).toBe(0);

    const admin = p.kafka.admin();
    await admin.connect();
    await waitUntilSettled(admin, p.namespace, groups, 600_000);
    await admin.disconnect();

    // Caught up: every partition of every group reads 0 (the trailing transaction markers not counted).
    let lastLag: [string, number][] = [];
    const settled = await waitFor(async () => {
      const all = await Promise.all(urls.map(scrape));
      lastLag = all.flatMap((m) => series(m, 'cms_consumer_lag_records'));
      return lastLag.length > 0 && lastLag.every(([, v]) => v === 0) ? all : undefined;
    }, 'every consumer lag at 0 once settled', 30_000, 250).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; lag not 0: ${lastLag.filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    });
    const [r, s, n] = settled as [Map<string, number>, Map<string, number>, Map<string, number>];
    // Each router stage's lag covers its partitions: the inbox's route task among them.
    expect(series(r, 'cms_consumer_lag_records').some(([k]) => k.includes(`group="${groups.router}.route"`))).toBe(true);

    // Outcomes: the poison record was dead-lettered by the router's ingest, rejections and outputs are counted.
    expect(sum(r, 'cms_events_in_total', `group="${groups.router}.ingest"`, 'topic="cms.case-facts.v1"', 'outcome="dead_letter"')).toBe(1);
    expect(sum(r, 'cms_events_in_total', `group="${groups.router}.route"`, 'outcome="output"')).toBeGreaterThan(100);
    expect(sum(r, 'cms_events_in_total', 'outcome="rejection"') + sum(s, 'cms_events_in_total', 'outcome="rejection"')).toBeGreaterThan(0);
    expect(sum(s, 'cms_events_in_total', `group="${groups.srEvents}"`, 'outcome="output"')).toBeGreaterThan(100);
    expect(sum(r, 'cms_transaction_commit_seconds_count', `group="${groups.router}.route"`)).toBeGreaterThan(0);
    expect(sum(r, 'cms_state_tasks_ready', `group="${groups.router}.route"`)).toBe(sum(r, 'cms_partitions_assigned', `group="${groups.router}.route"`));
    expect(series(r, 'cms_state_restored_records_total').length).toBeGreaterThan(0);
    expect(sum(r, 'cms_service_info')).toBe(1);
    // Facts waiting: a series per restored route partition; the one fact without its application waits there.
    const waiting = series(r, 'cms_facts_waiting_case_groups').filter(([k]) => k.includes(`group="${groups.router}.route"`));
    expect(waiting.length).toBe(sum(r, 'cms_state_tasks_ready', `group="${groups.router}.route"`));
    expect(waiting.reduce((a, [, v]) => a + v, 0)).toBe(1);
    expect(Math.max(...series(r, 'cms_facts_waiting_oldest_seconds').map(([, v]) => v))).toBeGreaterThan(0);
    // sr-events shows its own (SR events waiting for their SR), one series per restored partition.
    expect(series(s, 'cms_facts_waiting_case_groups').length).toBe(sum(s, 'cms_state_tasks_ready', `group="${groups.srEvents}"`));

    // Emails: the SMTP attempts the notifier counts as sent are the mails in the sink for these inboxes.
    const addresses = new Set(Object.values(inboxes));
    const mails = (await readMail()).filter((m) => m.to.some((t) => addresses.has(t.address)));
    expect(mails.length).toBeGreaterThan(0);
    expect(sum(n, 'cms_emails_total', 'outcome="sent"')).toBe(mails.length);
    // No personal data in any scrape: case group ids and postcodes are never labels.
    const text = [...r.keys(), ...s.keys(), ...n.keys()].join('\n');
    expect(text).not.toMatch(/OPS-CG-|[A-Z]{1,2}\d{1,2} \d[A-Z]{2}/);
    expect(srEvents).toMatch(/^http:/);
    expect(notifier).toMatch(/^http:/);

    // Restarted while caught up, the router gets no batch at all: its lag still settles to 0 (the gaps are markers).
    expect(await services[0]?.kill('SIGTERM')).toBe(0);
    const again = startServiceProcess('router', env);
    services = [again, ...services.slice(1)];
    const url = await opsUrl(again);
    await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, 'the restarted router ready', 120_000, 200);
    let gaps: [string, number][] = [];
    await waitFor(async () => {
      gaps = series(await scrape(url), 'cms_consumer_lag_records');
      return gaps.length > 0 && gaps.every(([, v]) => v === 0);
    }, 'the restarted router\'s lag at 0', 30_000, 250).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; lag not 0: ${gaps.filter(([, v]) => v !== 0).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    });
    expect(gaps.length).toBeGreaterThanOrEqual(21 + 6 + 6); // ingest's four inputs, people's and route's six partitions each
  });
});
