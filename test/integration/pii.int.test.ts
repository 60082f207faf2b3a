import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { DEAD_LETTER_HEADERS, qualify, TOPICS, type CaseFact, type Rejection, type TopicName } from '@cms-router/events';
import { explainText, readCaseGroup } from '@cms-router/cli';
import { NOTIFIER_TOPICS } from '@cms-router/notifier/app';
import { redisKeys } from '@cms-router/platform';
import { ROUTER_TOPICS } from '@cms-router/router/app';
import { SR_EVENTS_TOPICS } from '@cms-router/sr-events/app';
import { generateTraffic, POSTCODES, type TrafficEvent } from '@cms-router/traffic';
import { endpoints, readMail, testPlatform, uniqueName, waitFor, type TestPlatform } from '../harness/index.ts';
import { produceTraffic, readAll, startServiceProcess, waitForStarted, waitUntilSettled, type ServiceProcess } from '../harness/system.ts';

const REPO = resolve(import.meta.dirname, '..', '..');
const ALL: TopicName[] = [...new Set([...ROUTER_TOPICS, ...SR_EVENTS_TOPICS, ...NOTIFIER_TOPICS])];

/**
 * Unique canaries in every personal field of the inputs: postcodes (each a valid one of its own, same
 * district, an inward code no fixture uses), non-UK countries, referral sources, absence and access-removal
 * reasons (health and HR data), and invalid values where a field is a code (a referral reason, a
 * personal-interest reason, a postcode) so the rejection paths are tried as well.
 */
function withCanaries(events: readonly TrafficEvent[]): { events: TrafficEvent[]; canaries: string[] } {
  const canaries: string[] = [];
  const letters = 'ABDEFGHJLNPQRSTUWXYZ';
  let n = 0;
  const postcode = (real: string): string => {
    const outward = real.split(' ')[0] ?? 'M1';
    const code = `${outward} 9${letters[Math.floor(n / letters.length) % letters.length] ?? 'Z'}${letters[n % letters.length] ?? 'Z'}`;
    n += 1;
    canaries.push(code, code.replace(' ', ''));
    return code;
  };
  const tag = (what: string): string => {
    const c = `CANARY${what}${String(canaries.length).padStart(4, '0')}`;
    canaries.push(c);
    return c;
  };
  const residence = (r: { ukPostcode: string | null; nonUkCountry: string | null }) => (r.ukPostcode ? { ...r, ukPostcode: postcode(r.ukPostcode) } : r);
  const out = events.map((e): TrafficEvent => {
    if (e.topic === 'cms.case-facts.v1' && e.value.payload.type === 'ApplicationReceived') {
      const a = e.value.payload;
      const party = (x: typeof a.payingParent) => ({ ...x, address: residence(x.address) });
      return { ...e, value: { ...e.value, payload: { ...a, payingParent: party(a.payingParent), receivingParent: party(a.receivingParent), qualifyingChildren: a.qualifyingChildren.map(party) } } };
    }
    if (e.topic === 'cms.party-facts.v1' && e.value.payload.type === 'PartyAddressChanged') return { ...e, value: { ...e.value, payload: { ...e.value.payload, address: residence(e.value.payload.address) } } };
    if (e.topic === 'cms.sr-lifecycle.v1' && e.value.payload.type === 'SrCreated' && e.value.payload.sourceOfReferral) return { ...e, value: { ...e.value, payload: { ...e.value.payload, sourceOfReferral: tag('SRC') } } };
    if (e.topic === 'cms.workforce.v1' && (e.value.payload.type === 'UserAvailabilityChanged' || e.value.payload.type === 'SystemAccessRemoved')) return { ...e, value: { ...e.value, payload: { ...e.value.payload, reasonCode: tag('HR') } } };
    return e;
  });
  // Invalid values in personal fields: each must be refused without being quoted back.
  const cg = 'PII-BAD-CG-1';
  const bad: TrafficEvent[] = [
    { topic: 'cms.case-facts.v1', key: cg, value: { caseGroupId: cg, caseId: 'PII-BAD-C-1', occurredAt: '2026-02-01T09:00:00.000Z', payload: { type: 'ApplicationReceived', payingParent: { partyId: 'PII-BAD-PP-1', address: { ukPostcode: tag('PC'), nonUkCountry: null }, identifierKnown: true }, receivingParent: { partyId: 'PII-BAD-RP-1', address: { ukPostcode: null, nonUkCountry: tag('CC') }, identifierKnown: true }, qualifyingChildren: [], incomeSource: 'EMPLOYED', partiesHaveExistingCase: false } } satisfies CaseFact },
    { topic: 'cms.sr-lifecycle.v1', key: cg, value: { srId: 'PII-BAD-SR-1', caseGroupId: cg, caseId: 'PII-BAD-C-1', occurredAt: '2026-02-01T09:01:00.000Z', actor: { userId: 'PII-U-1', role: 'CASEWORKER', teamId: 'T-1' }, payload: { type: 'SrCreated', process: 'Special case management', area: 'Personal Interest', subArea: 'Referral', reason: tag('PIREASON'), sourceOfReferral: tag('SRC'), raisedAgainstPartyId: 'PII-BAD-RP-1', lockAssignment: false } } },
    { topic: 'cms.party-facts.v1', key: 'PII-BAD-RP-1', value: { partyId: 'PII-BAD-RP-1', occurredAt: '2026-02-01T09:02:00.000Z', payload: { type: 'PersonalInterestRecorded', flagged: true, reason: tag('PIREASON'), caseId: 'PII-BAD-C-1', recordedByUserId: 'PII-U-2' } } },
    { topic: 'cms.party-facts.v1', key: 'PII-BAD-RP-1', value: { partyId: 'PII-BAD-RP-1', occurredAt: '2026-02-01T09:03:00.000Z', payload: { type: 'PersonalInterestRecorded', flagged: true, reason: 'THREAT_OF_SUICIDE', caseId: 'PII-BAD-C-1', recordedByUserId: 'PII-U-2' } } },
  ];
  return { events: [...out, ...bad], canaries };
}

const found = (haystack: string, canaries: readonly string[]): string[] => canaries.filter((c) => haystack.includes(c));

describe('personal data stays out of logs, rejections, dead-letter headers, emails and explain (canaries)', () => {
  let p: TestPlatform;
  const prefix = uniqueName('pii').replace(/[^a-zA-Z0-9_-]/g, '');
  const groups = { router: uniqueName('pii-router'), srEvents: uniqueName('pii-sr'), notifier: uniqueName('pii-notifier') };
  let services: ServiceProcess[] = [];
  beforeAll(async () => {
    p = await testPlatform('pii');
    await p.createTopics(ALL);
  });
  afterAll(async () => {
    await Promise.all(services.map((s) => s.kill('SIGTERM')));
    await p.cleanup();
  });

  it('no canary appears anywhere but in the dead-letter record’s original bytes', { timeout: 900_000 }, async () => {
    expect(POSTCODES.some((x) => / 9/.test(x)), 'fixtures never use inward codes starting 9').toBe(false);
    const { events, canaries } = withCanaries(generateTraffic({ seed: 77, caseGroups: 40, changesPerCaseGroup: 8, prefix: 'PII' }).flat());
    expect(canaries.length).toBeGreaterThan(100);
    // Strict: every service at debug level.
    const tag = p.namespace.toLowerCase().replace(/[^a-z0-9]/g, '');
    const env = {
      KAFKA_TOPIC_NAMESPACE: p.namespace, REDIS_KEY_PREFIX: prefix, LOG_LEVEL: 'debug', ROUTER_GROUP_ID: groups.router, SR_EVENTS_GROUP_ID: groups.srEvents, NOTIFIER_GROUP_ID: groups.notifier,
      SMTP_URL: endpoints().SMTP_URL, SMTP_FROM: 'cms-router@cms.test', INBOX_SCR: `scr-${tag}@cms.test`, INBOX_ECH_GATEWAY: `ech-${tag}@cms.test`, INBOX_SCR_TEAM_LEADER: `scrtl-${tag}@cms.test`, INBOX_ORPHANS: `it-${tag}@cms.test`,
    };
    services = [startServiceProcess('router', env), startServiceProcess('sr-events', env), startServiceProcess('notifier', env)];
    await Promise.all(services.map((s) => waitForStarted(s)));
    await produceTraffic(p.kafka, p.serde, p.namespace, events);
    // A record that is not Avro, with canaries in it: dead-lettered; its original bytes are kept, as documented.
    const poisonCanary = 'CANARYPOISON0001';
    const producer = p.kafka.producer();
    await producer.connect();
    await producer.send({ topic: p.topic(TOPICS.caseFacts), messages: [{ key: 'PII-POISON', value: Buffer.from(JSON.stringify({ ukPostcode: poisonCanary })) }] });
    await producer.disconnect();
    const admin = p.kafka.admin();
    await admin.connect();
    await waitUntilSettled(admin, p.namespace, groups, 600_000);
    await admin.disconnect();

    const rejections = await readAll<Rejection>(p.kafka, p.serde, p.namespace, TOPICS.rejections, 1_500);
    const codes = new Set(rejections.map((r) => r.value.code));
    // The invalid values did reach the rejection paths (so the search below means something).
    for (const code of ['CMS_POSTCODE_MALFORMED', 'CMS_SR_MANDATORY_FIELD', 'CMS_EVENT_INVALID']) expect([...codes], code).toContain(code);
    const dead: { value: string; headers: string }[] = [];
    const { readTopicToEnd } = await import('@cms-router/platform');
    await readTopicToEnd(p.kafka, qualify(TOPICS.deadLetter, p.namespace), (_partition, m) => {
      dead.push({ value: m.value?.toString('latin1') ?? '', headers: JSON.stringify(Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('latin1') : String(v)]))) });
    });
    expect(dead.map((d) => d.value).join('')).toContain(poisonCanary); // the search finds a canary where one is
    expect(dead.map((d) => d.headers).join('')).toContain(DEAD_LETTER_HEADERS.errorCode);

    // Explain, as an operator runs it (the CLI), and for every case group from the router's state.
    const redis = new Redis(endpoints().REDIS_URL);
    const keys = await redis.keys(`${redisKeys(prefix).stateDoc('router-route', 'cg:')}*`);
    const explained: string[] = [];
    const docPrefix = redisKeys(prefix).stateDoc('router-route', 'cg:');
    for (const k of keys) {
      const state = await readCaseGroup(redis, prefix, k.slice(docPrefix.length));
      if (state) explained.push(explainText(state));
    }
    // The history ring too: every entry as stored.
    for (const k of await redis.keys(`${redisKeys(prefix).stateDoc('router-route', 'hist:')}*`)) explained.push((await redis.get(k)) ?? '');
    await redis.quit();
    expect(explained.length).toBeGreaterThan(30);
    const cli = (args: string[]): string => execFileSync(process.execPath, [resolve(REPO, 'packages/cli/src/bin.ts'), ...args], { env: { ...process.env, REDIS_URL: endpoints().REDIS_URL, REDIS_KEY_PREFIX: prefix }, encoding: 'utf8' });
    explained.push(cli(['explain', 'PII-CG-1']), cli(['explain', 'PII-CG-2', '--json']));

    await waitFor(async () => (await readMail()).some((m) => m.to.some((t) => t.address.endsWith(`${tag}@cms.test`))), 'the notifier to send its emails', 120_000, 1_000);
    const mail = JSON.stringify(await readMail());

    const where: Record<string, string> = {
      'service logs': services.map((s) => s.output.join('')).join('\n'),
      rejections: JSON.stringify(rejections.map((r) => r.value)),
      'dead-letter headers': dead.map((d) => d.headers).join('\n'),
      emails: mail,
      explain: explained.join('\n'),
    };
    const all = [...canaries, poisonCanary];
    const leaks = Object.fromEntries(Object.entries(where).map(([name, text]) => [name, found(text, all).slice(0, 5)]));
    expect(leaks).toEqual({ 'service logs': [], rejections: [], 'dead-letter headers': [], emails: [], explain: [] });
    // The logs are not empty (debug level, the traffic was processed): a clean result is a real one.
    expect(where['service logs']?.length).toBeGreaterThan(10_000);
  });
});
