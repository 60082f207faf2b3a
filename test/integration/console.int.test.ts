import { createServer } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOPICS, type Assignment, type TopicName } from '@cms-router/events';
import { NOTIFIER_TOPICS } from '@cms-router/notifier/app';
import { readLatestByKey, readTopicToEnd } from '@cms-router/platform';
import { ROUTER_TOPICS } from '@cms-router/router/app';
import { SR_EVENTS_TOPICS } from '@cms-router/sr-events/app';
import { generateTraffic } from '@cms-router/traffic';
import { endpoints, testPlatform, uniqueName, waitFor, type TestPlatform } from '../harness/index.ts';
import { launchChromium, SCREENSHOTS, seriousViolations, signIn } from '../harness/browser.ts';
import { produceTraffic, startServiceProcess, waitForStarted, waitUntilSettled, type ServiceProcess } from '../harness/system.ts';

const CONSOLE_TOPICS: TopicName[] = [TOPICS.placements, TOPICS.assignments, TOPICS.notifications, TOPICS.orphanFlags, TOPICS.rejections, TOPICS.srFacts];
const ALL: TopicName[] = [...new Set([...ROUTER_TOPICS, ...SR_EVENTS_TOPICS, ...NOTIFIER_TOPICS, ...CONSOLE_TOPICS])];
const TABLE_OF: Partial<Record<TopicName, string>> = { [TOPICS.assignments]: 'assignments', [TOPICS.notifications]: 'notifications', [TOPICS.orphanFlags]: 'orphan_flags', [TOPICS.rejections]: 'rejections', [TOPICS.srFacts]: 'sr_facts' };

/** The console's page address, from its own log line (CONSOLE_PORT=0 picks a free port). */
const consoleUrl = (s: ServiceProcess): Promise<string> => waitFor(() => /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"console started"/.exec(s.output.join(''))?.[1], 'the console to start', 180_000);

const freePort = (): Promise<number> => new Promise((resolve) => {
  const server = createServer();
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    server.close(() => { resolve(port); });
  });
});

describe('the console: an exactly-once PostgreSQL sink, a live page with sign-in, access by segment and team', () => {
  let p: TestPlatform;
  let db: pg.Pool;
  let browser: Browser | undefined;
  const services: ServiceProcess[] = [];
  let consoleProcess: ServiceProcess | undefined;
  let url = '';
  const schema = `c_${uniqueName('t').replace(/[^a-z0-9]/gi, '').toLowerCase()}`.slice(0, 40);
  const prefix = uniqueName('con').replace(/[^a-zA-Z0-9_-]/g, '');
  const groups = { router: uniqueName('con-router'), srEvents: uniqueName('con-sr'), notifier: uniqueName('con-notifier') };
  // One port for every start: the open pages keep their address across the kills.
  let port = 0;
  const consoleEnv = (): Record<string, string> => ({
    KAFKA_TOPIC_NAMESPACE: p.namespace, CONSOLE_GROUP_ID: `con-console-${schema}`, CONSOLE_DB_SCHEMA: schema, CONSOLE_PORT: String(port), OPS_PORT: '0',
    CONSOLE_SESSION_SECRET: 'integration-test-session-secret-0123456789', OIDC_ISSUER_URL: endpoints().OIDC_ISSUER_URL,
  });
  let fixedEnv: Record<string, string> = {};
  const startConsole = async (): Promise<void> => {
    consoleProcess = startServiceProcess('console', fixedEnv);
    await waitForStarted(consoleProcess);
    const at = await consoleUrl(consoleProcess);
    if (url === '') url = at;
  };
  const count = async (table: string): Promise<number> => Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.${table}`)).rows[0]?.n ?? 0);
  const tag = (): string => p.namespace.toLowerCase().replace(/[^a-z0-9]/g, '');

  beforeAll(async () => {
    p = await testPlatform('console');
    await p.createTopics(ALL);
    db = new pg.Pool({ connectionString: endpoints().DATABASE_URL, max: 2 });
    port = await freePort();
    fixedEnv = consoleEnv();
    browser = await launchChromium();
  }, 300_000);
  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await consoleProcess?.kill('SIGTERM');
    await Promise.all(services.map((s) => s.kill('SIGTERM')));
    await db?.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).catch(() => undefined);
    await db?.end();
    await p.cleanup();
  });

  let tl: { context: BrowserContext; page: Page };
  let sm: { context: BrowserContext; page: Page };

  it('fills the live page while traffic plays, survives kill -9 x3 mid-stream, and ends with every record once', { timeout: 1_500_000 }, async () => {
    const env = {
      KAFKA_TOPIC_NAMESPACE: p.namespace, REDIS_KEY_PREFIX: prefix, ROUTER_GROUP_ID: groups.router, SR_EVENTS_GROUP_ID: groups.srEvents, NOTIFIER_GROUP_ID: groups.notifier,
      SMTP_URL: endpoints().SMTP_URL, SMTP_FROM: 'cms-router@cms.test', INBOX_SCR: `scr-${tag()}@cms.test`, INBOX_ECH_GATEWAY: `ech-${tag()}@cms.test`, INBOX_SCR_TEAM_LEADER: `scrtl-${tag()}@cms.test`, INBOX_ORPHANS: `it-${tag()}@cms.test`,
    };
    services.push(startServiceProcess('router', env), startServiceProcess('sr-events', env), startServiceProcess('notifier', env));
    await startConsole();
    await Promise.all(services.map((s) => waitForStarted(s)));

    // Two people sign in before anything happens, and keep their pages open.
    const b = browser as Browser;
    tl = await signIn(b, url, 'tl-t1');
    sm = await signIn(b, url, 'sm-maintenance');
    expect(await sm.page.textContent('[data-testid=count-case-groups]')).toBe('0');
    // What the segment manager's live stream says, kept in the page (EventSource reconnects by itself).
    await sm.page.evaluate(() => {
      const w = window as unknown as { seenIds: string[] };
      w.seenIds = [];
      new EventSource('/api/stream').addEventListener('changed', (e) => { w.seenIds.push(...(JSON.parse((e).data as string) as { caseGroupIds: string[] }).caseGroupIds); });
    });

    // Traffic plays in chunks, a second apart, like a morning's work arriving.
    const events = generateTraffic({ seed: 9191, caseGroups: 300, changesPerCaseGroup: 8, prefix: 'CON' }).flat();
    const chunks = 12;
    const playing = (async () => {
      for (let i = 0; i < chunks; i += 1) {
        await produceTraffic(p.kafka, p.serde, p.namespace, events.slice(Math.floor((i * events.length) / chunks), Math.floor(((i + 1) * events.length) / chunks)));
        await new Promise((r) => setTimeout(r, 1_000));
      }
    })();

    // The open pages update without a reload.
    await waitFor(async () => Number(await sm.page.textContent('[data-testid=count-case-groups]')) > 0, 'the segment manager\'s live page to show case groups', 300_000, 250);
    await waitFor(async () => Number(await tl.page.textContent('[data-testid=count-approvals]')) > 0 || undefined, 'the team leader\'s live page to show an approval task', 300_000, 250);
    expect(await sm.page.textContent('[data-testid=live-status]')).toMatch(/Updated at/);

    // kill -9 three times while the records keep coming; each time it starts again where the database is.
    const atKill: number[] = [];
    for (const step of [150, 500, 900]) {
      const before = atKill.at(-1) ?? 0;
      await waitFor(async () => (await count('assignments')) >= before + step, `the console to write ${step} more assignments`, 300_000, 50);
      atKill.push(await count('assignments'));
      await consoleProcess?.kill('SIGKILL');
      await startConsole();
    }
    await playing;

    const admin = p.kafka.admin();
    await admin.connect();
    await waitUntilSettled(admin, p.namespace, groups, 900_000);
    await admin.disconnect();

    // Every record of every topic is one row, none twice (the key is the record's coordinates), none missing.
    const topicCounts = new Map<TopicName, number>();
    for (const topic of Object.keys(TABLE_OF) as TopicName[]) topicCounts.set(topic, await readTopicToEnd(p.kafka, p.topic(topic), () => undefined, { timeoutMs: 120_000 }));
    for (const [topic, n] of topicCounts) {
      const table = TABLE_OF[topic] as string;
      await waitFor(async () => (await count(table)) === n || undefined, `${table} to hold the ${n} records of ${topic} (has ${await count(table)})`, 300_000, 250);
    }
    // Each kill landed mid-stream: the database had only part of the assignments then.
    const assignments = topicCounts.get(TOPICS.assignments) ?? 0;
    expect(assignments).toBeGreaterThan(2_000);
    for (const n of atKill) expect(n).toBeLessThan(assignments);
    // The compacted placements: the table is exactly the latest value of each key.
    const latest = await readLatestByKey(p.kafka, p.topic(TOPICS.placements));
    const expected = new Map<string, string>();
    for (const l of latest) expected.set(l.key, ((await p.serde.decode(p.topic(TOPICS.placements), l.value)).value as Assignment).assignmentId);
    await waitFor(async () => (await count('placements')) === expected.size || undefined, 'the placements table to match the compacted topic', 120_000, 250);
    const rows = (await db.query<{ work_key: string; assignment_id: string }>(`SELECT work_key, assignment_id FROM ${schema}.placements`)).rows;
    expect(new Map(rows.map((r) => [r.work_key, r.assignment_id]))).toEqual(expected);
    expect(await count('sink_skipped')).toBe(0);
    expect(consoleProcess?.output.join('')).not.toContain('CMS_INTERNAL');

    // The live stream told the segment manager only about case groups that were once in their segment.
    const seen = await sm.page.evaluate(() => (window as unknown as { seenIds: string[] }).seenIds);
    expect(seen.length).toBeGreaterThan(0);
    const inSegment = new Set((await db.query<{ id: string }>(`SELECT DISTINCT case_group_id AS id FROM ${schema}.assignments WHERE segment = 'MAINTENANCE'`)).rows.map((r) => r.id));
    expect(seen.filter((id) => !inSegment.has(id))).toEqual([]);

    // The console's /metrics counts what it wrote, and reads lag 0 once caught up.
    const ops = await waitFor(() => /"url":"(http:\/\/[^"]+)"[^\n]*ops server listening/.exec(consoleProcess?.output.join('') ?? '')?.[1], 'the console\'s ops server');
    const written = async (): Promise<number> => {
      const text = await (await fetch(`${ops}/metrics`)).text();
      const lag = [...text.matchAll(/^cms_consumer_lag_records\{[^}]*\} (\d+)$/gm)].map((m) => Number(m[1]));
      if (lag.length === 0 || lag.some((v) => v !== 0)) return -1;
      return [...text.matchAll(/^cms_events_in_total\{[^}]*outcome="output"[^}]*\} (\d+)$/gm)].reduce((a, m) => a + Number(m[1]), 0);
    };
    // Settled: lag 0 and the same count on two reads a second apart (lag 0 alone can be read between the
    // router's last outputs: CI once saw 13 more arrive after it).
    let previous = -1;
    const settledCount = await waitFor(async () => { const n = await written(); const same = n > 0 && n === previous; previous = n; return same ? n : undefined; }, 'the console\'s metrics: records written, lag 0, unchanged for a second', 120_000, 1_000);
    // Caught up, it reads nothing more: no batch is fetched and written over and over (all rows' worth, at most).
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await written()).toBe(settledCount);
    let rowsNow = await count('placements');
    for (const table of Object.values(TABLE_OF)) rowsNow += await count(table);
    expect(settledCount).toBeLessThanOrEqual(rowsNow + (await readTopicToEnd(p.kafka, p.topic(TOPICS.placements), () => undefined, { timeoutMs: 120_000 })));
  });

  it('lets each person see only their own: a case group, search, the API and the stream answer 403 for another segment; the pages pass axe', { timeout: 600_000 }, async () => {
    const mine = (await db.query<{ id: string }>(`SELECT case_group_id AS id FROM ${schema}.placements WHERE subject = 'CASE_GROUP' AND segment = 'MAINTENANCE' ORDER BY case_group_id LIMIT 1`)).rows[0]?.id;
    const scr = (await db.query<{ id: string }>(`SELECT case_group_id AS id FROM ${schema}.placements WHERE subject = 'CASE_GROUP' AND segment = 'SPECIAL_CLIENT_RECORDS' ORDER BY case_group_id LIMIT 1`)).rows[0]?.id;
    const task = (await db.query<{ id: string }>(`SELECT case_group_id AS id FROM ${schema}.placements WHERE subject = 'APPROVAL_TASK' AND team = 'TEAM_LEADER:T-1' AND segment NOT IN ('SPECIAL_CLIENT_RECORDS', 'NON_STANDARD') ORDER BY case_group_id LIMIT 1`)).rows[0]?.id;
    expect(mine && scr && task).toBeTruthy();

    // The segment manager searches for one of theirs and opens it.
    await sm.page.goto(`${url}/`);
    await sm.page.fill('#case-group-id', mine as string);
    await sm.page.click('form[role=search] button');
    await sm.page.waitForSelector('[data-testid=case-group-title]');
    expect(await sm.page.textContent('[data-testid=case-group-title]')).toContain(mine);
    expect(await sm.page.locator('[data-testid=placements] tbody tr').count()).toBeGreaterThan(0);
    expect(await sm.page.locator('[data-testid=history] tbody tr').count()).toBeGreaterThan(0);
    await sm.page.screenshot({ path: join(SCREENSHOTS, 'console-case-group.png'), fullPage: true });
    expect(await seriousViolations(sm.page)).toEqual([]);

    // ... and is refused a Special Client Records case group: by search, by address, by the API, by the stream.
    await sm.page.goto(`${url}/`);
    await sm.page.fill('#case-group-id', scr as string);
    const [searched] = await Promise.all([sm.page.waitForResponse((r) => r.url().includes(`/case-groups/${scr as string}`)), sm.page.click('form[role=search] button')]);
    expect(searched.status()).toBe(403);
    expect(await sm.page.textContent('[data-testid=error-title]')).toBe('You do not have access');
    expect(await sm.page.content()).not.toMatch(/Special client records \/|SPECIAL_CLIENT_RECORDS \//);
    await sm.page.screenshot({ path: join(SCREENSHOTS, 'console-403.png'), fullPage: true });
    expect(await seriousViolations(sm.page)).toEqual([]);
    const api = await sm.context.request.get(`${url}/api/case-groups/${scr as string}`);
    expect(api.status()).toBe(403);
    expect(await api.json()).toMatchObject({ code: 'CMS_ACCESS_DENIED' });
    expect((await sm.context.request.get(`${url}/api/backlog?segment=SPECIAL_CLIENT_RECORDS`)).status()).toBe(403);
    expect((await sm.context.request.get(`${url}/api/stream?segment=SPECIAL_CLIENT_RECORDS`)).status()).toBe(403);
    // Their own figures hold their segment only.
    const backlog = (await (await sm.context.request.get(`${url}/api/backlog`)).json()) as { segment: string }[];
    expect(backlog.length).toBeGreaterThan(0);
    expect(new Set(backlog.map((r) => r.segment))).toEqual(new Set(['MAINTENANCE']));

    // The team leader sees their approval inbox and opens a task's case group; another team's inbox is not theirs.
    await tl.page.goto(`${url}/`);
    expect(await tl.page.locator('[data-testid=approvals] tbody tr').count()).toBeGreaterThan(0);
    const inboxes = new Set(await tl.page.locator('[data-testid=approvals] tbody tr td:nth-child(3)').allTextContents());
    expect(inboxes).toEqual(new Set(['Team leader inbox T-1']));
    await tl.page.screenshot({ path: join(SCREENSHOTS, 'console-team-leader.png'), fullPage: true });
    expect(await seriousViolations(tl.page)).toEqual([]);
    await tl.page.goto(`${url}/case-groups/${encodeURIComponent(task as string)}`);
    expect(await tl.page.textContent('[data-testid=case-group-title]')).toContain(task);
    expect((await tl.context.request.get(`${url}/api/case-groups/${scr as string}`)).status()).toBe(403);
    const approvals = (await (await tl.context.request.get(`${url}/api/approvals`)).json()) as { team: string }[];
    expect(approvals.every((a) => a.team === 'TEAM_LEADER:T-1')).toBe(true);

    // The dashboard itself, for the segment manager, passes axe too; then sign out.
    await sm.page.goto(`${url}/`);
    await sm.page.screenshot({ path: join(SCREENSHOTS, 'console-segment-manager.png'), fullPage: true });
    expect(await seriousViolations(sm.page)).toEqual([]);
    // Without a sign-in: the API says 401 with a code, a page sends the browser to the issuer.
    const anon = await fetch(`${url}/api/backlog`);
    expect(anon.status).toBe(401);
    expect(await anon.json()).toMatchObject({ code: 'CMS_SIGN_IN_REQUIRED' });
    const page = await fetch(`${url}/`, { redirect: 'manual' });
    expect(page.status).toBe(302);
    // OpenAPI is generated from the routes' schemas.
    const openapi = (await (await sm.context.request.get(`${url}/api/docs/json`)).json()) as { openapi: string; paths: Record<string, unknown> };
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/backlog', '/api/moves', '/api/approvals', '/api/orphans', '/api/rejections', '/api/unallocated', '/api/case-groups/{id}', '/api/stream']));
  });
});
