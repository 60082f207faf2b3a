import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compatibilityOf, createValueCodec, frame, isSchemaTopic, subjectOf, TOPIC_SCHEMAS, TOPICS, type PartyFact, type SchemaTopic } from '@cms-router/events';
import { createSchemaRegistry, createSerde, type SchemaRegistry } from '@cms-router/platform';
import { readStackSettings, restart } from '@cms-router/stack';
import { endpoints, testPlatform, type TestPlatform } from '../harness/index.ts';

const released = (topic: SchemaTopic): unknown => JSON.parse(readFileSync(resolve(import.meta.dirname, `../../schemas/released/${topic}/1.avsc`), 'utf8'));

/** Every (subject, version) -> id the registry holds for one namespace, through the Confluent API. */
async function idsOf(url: string, namespace: string): Promise<Map<string, number>> {
  const get = async (path: string): Promise<unknown> => (await fetch(`${url}${path}`)).json();
  const out = new Map<string, number>();
  for (const subject of (await get('/subjects')) as string[]) {
    if (!subject.startsWith(`${namespace}.`)) continue;
    for (const version of (await get(`/subjects/${encodeURIComponent(subject)}/versions`)) as number[]) {
      const body = (await get(`/subjects/${encodeURIComponent(subject)}/versions/${version}`)) as { id: number };
      out.set(`${subject}@${version}`, body.id);
    }
  }
  return out;
}

describe('the schema registry', () => {
  let p: TestPlatform;
  let registry: SchemaRegistry;
  beforeAll(async () => {
    p = await testPlatform('registry');
    registry = createSchemaRegistry({ url: endpoints().SCHEMA_REGISTRY_URL });
  });
  afterAll(async () => {
    await p.cleanup();
  });

  it('a contract release: the released party-facts v1 is in the registry under FULL_TRANSITIVE; our services register the version that appends an event type, the rule is put back, and a v1 record still decodes', async () => {
    const topic = 'cms.party-facts.v1';
    const subject = subjectOf(p.topic(topic));
    await registry.setCompatibility(subject, 'FULL_TRANSITIVE');
    const v1 = await registry.register(subject, released(topic));
    // What an upstream producer on v1 wrote before the release.
    const v1Serde = createSerde(registry, p.namespace);
    const fact: PartyFact = { partyId: 'P-REL', occurredAt: '2026-12-01T09:00:00.000Z', payload: { type: 'NationallySensitiveChanged', nationallySensitive: true } };
    const written = frame(v1, createValueCodec<PartyFact>(released(topic)).toAvroBuffer(fact));

    // The current schema appends PersonalInterestRecorded: refused by FULL_TRANSITIVE as such, released by us.
    const releasedSubjects: string[] = [];
    const ours = createSerde(registry, p.namespace, (s) => releasedSubjects.push(s));
    const current = await ours.ensureRegistered(topic);
    expect(current).not.toBe(v1);
    expect(releasedSubjects).toEqual([subject]);
    expect(await registry.getCompatibility(subject)).toBe('FULL_TRANSITIVE');
    // Anyone else's incompatible change is still refused afterwards.
    const schema = TOPIC_SCHEMAS[topic] as { fields: { name: string }[] };
    await expect(registry.register(subject, { ...schema, fields: schema.fields.filter((f) => f.name !== 'partyId') })).rejects.toMatchObject({ code: 'CMS_SCHEMA_INCOMPATIBLE' });
    // Our reader decodes the v1 record, a fresh serde too.
    expect((await ours.decode(p.topic(topic), written)).value).toEqual(fact);
    expect((await v1Serde.decode(p.topic(topic), written)).value).toEqual(fact);
  });

  it('every topic with a schema gets the compatibility level of its role', async () => {
    const serde = createSerde(registry, p.namespace);
    for (const topic of Object.values(TOPICS).filter(isSchemaTopic)) {
      if (topic === 'cms.party-facts.v1') continue; // released above
      await serde.ensureRegistered(topic);
      expect(await registry.getCompatibility(subjectOf(p.topic(topic))), topic).toBe(compatibilityOf(topic));
    }
  });

  it('is durable: a registry restart changes no schema id, and every record written before it still decodes with a fresh client', { timeout: 300_000 }, async (ctx) => {
    if (endpoints().source !== 'local-stack') ctx.skip();
    const url = endpoints().SCHEMA_REGISTRY_URL;
    const serde = createSerde(registry, p.namespace);
    const fact: PartyFact = { partyId: 'P-DUR', occurredAt: '2026-12-01T09:00:00.000Z', payload: { type: 'PartyKnownAsChanged', knownAsRecorded: true } };
    const before = await serde.encode('cms.party-facts.v1', fact);
    const idsBefore = await idsOf(url, p.namespace);
    expect(idsBefore.size).toBeGreaterThan(5);

    await restart(readStackSettings(), 'registry');

    expect(await idsOf(url, p.namespace)).toEqual(idsBefore);
    const fresh = createSerde(createSchemaRegistry({ url }), p.namespace);
    expect((await fresh.decode(p.topic('cms.party-facts.v1'), before)).value).toEqual(fact);
    // A schema registered after the restart gets a new id, never one that was handed out before.
    const subject = subjectOf(p.topic('cms.case-facts.v1'));
    const schema = TOPIC_SCHEMAS['cms.case-facts.v1'] as { fields: unknown[] };
    const next = await createSchemaRegistry({ url }).register(subject, { ...schema, fields: [...schema.fields, { name: 'durableProbe', type: ['null', 'string'], default: null }] });
    expect([...idsBefore.values()]).not.toContain(next);
  });
});
