import { CmsError } from '@cms-router/errors';
import { qualify, TOPICS } from '@cms-router/events';
import { createRecordWriter, ensureTopics, readTopicToEnd, type createKafka } from '@cms-router/platform';
import { createRulesBook, validateRules, type Rules } from '@cms-router/rules';

type Kafka = ReturnType<typeof createKafka>;

/** Keys sorted at every level: two files with the same content compare equal whatever their layout. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(value);
}

/** The versions released to cms.rules.v1, as the router reads them: the latest record per version, a tombstone withdrawing it. */
export async function releasedVersions(kafka: Kafka, namespace: string | undefined): Promise<Map<string, Rules>> {
  const topic = qualify(TOPICS.rules, namespace);
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [TOPICS.rules], namespace);
  } finally {
    await admin.disconnect();
  }
  const versions = new Map<string, Rules>();
  await readTopicToEnd(kafka, topic, (_partition, m) => {
    const version = m.key?.toString('utf8') ?? '';
    if (m.value === null) {
      versions.delete(version);
      return;
    }
    // What the router would refuse is not a version: it is skipped here as there.
    try {
      const checked = validateRules(JSON.parse(m.value.toString('utf8')));
      if (checked.ok && checked.rules.version === version) versions.set(version, checked.rules);
    } catch {
      // not JSON: skipped, as the router skips it
    }
  });
  return versions;
}

/**
 * Releases a rules version: published to the compacted rules topic under its version id, which every
 * router follows, so it takes effect for facts on and after its `effectiveFrom` with no restart. Safe to
 * run twice: a version already released with the same content is left alone. A version id is never
 * reused for other content (assignments name the version that decided them), so that is refused.
 */
export async function releaseRules(kafka: Kafka, namespace: string | undefined, rules: Rules): Promise<'released' | 'already released'> {
  const existing = (await releasedVersions(kafka, namespace)).get(rules.version);
  if (existing) {
    if (canonicalJson(existing) === canonicalJson(rules)) return 'already released';
    throw new CmsError('CMS_RULES_INVALID', `rules version ${rules.version} is already released with other content; give the changed file a new version (assignments name the version that decided them)`);
  }
  await write(kafka, namespace, rules.version, Buffer.from(JSON.stringify(rules)));
  return 'released';
}

/** Withdraws a released version (a tombstone): routers stop using it for the facts they read next. */
export async function withdrawRules(kafka: Kafka, namespace: string | undefined, version: string): Promise<void> {
  if (!(await releasedVersions(kafka, namespace)).has(version)) throw new CmsError('CMS_RULES_INVALID', `rules version ${version} is not released (rules list shows what is)`);
  await write(kafka, namespace, version, null);
}

async function write(kafka: Kafka, namespace: string | undefined, version: string, value: Buffer | null): Promise<void> {
  const writer = await createRecordWriter(kafka);
  try {
    await writer.send(qualify(TOPICS.rules, namespace), [{ key: version, value }]);
  } finally {
    await writer.close();
  }
}

/** Each version the router holds (the file's and the released ones), with its dates and whether it decides today's facts. */
export function rulesListing(base: Rules, released: ReadonlyMap<string, Rules>, today: string): { version: string; effectiveFrom: string; effectiveTo: string | null; source: 'rules file' | 'released'; inEffectToday: boolean }[] {
  const book = createRulesBook([base, ...released.values()]);
  const current = book.at(today).version;
  return book.versions.map((r) => ({ version: r.version, effectiveFrom: r.effectiveFrom, effectiveTo: r.effectiveTo ?? null, source: released.has(r.version) ? 'released' : 'rules file', inEffectToday: r.version === current }));
}
