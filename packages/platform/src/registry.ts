import type avro from 'avsc';
import { CmsError, isCmsError } from '@cms-router/errors';
import { codecFor, compatibilityOf, frame, isSchemaTopic, parseSchema, qualify, subjectOf, TOPIC_SCHEMAS, unframe, unqualify, type SchemaTopic, type TopicValue } from '@cms-router/events';

export type Compatibility = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE';

/**
 * The few calls of the Confluent Schema Registry API we use, over fetch. Works against Apicurio
 * Registry's ccompat API (`/apis/ccompat/v7`) and Confluent's. Network failures and 5xx answers are
 * retryable CMS_REGISTRY_UNAVAILABLE; 409 is CMS_SCHEMA_INCOMPATIBLE; an unknown id is CMS_SCHEMA_NOT_FOUND.
 */
export interface SchemaRegistry {
  register(subject: string, schema: unknown): Promise<number>;
  setCompatibility(subject: string, level: Compatibility): Promise<void>;
  getCompatibility(subject: string): Promise<Compatibility | undefined>;
  schemaById(id: number): Promise<string>;
  subjects(): Promise<string[]>;
  deleteSubject(subject: string): Promise<void>;
}

/** Subjects asked for per page (Apicurio answers at most 1,000 unless asked for more). */
const SUBJECTS_PAGE = 1_000;

export function createSchemaRegistry(opts: { url: string; username?: string | undefined; password?: string | undefined; timeoutMs?: number }): SchemaRegistry {
  const base = opts.url.replace(/\/+$/, '');
  const headers: Record<string, string> = { 'content-type': 'application/vnd.schemaregistry.v1+json', accept: 'application/vnd.schemaregistry.v1+json, application/json' };
  if (opts.username) headers['authorization'] = `Basic ${Buffer.from(`${opts.username}:${opts.password ?? ''}`).toString('base64')}`;

  const call = async (method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? null : JSON.stringify(body), signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000) });
    } catch (err) {
      throw new CmsError('CMS_REGISTRY_UNAVAILABLE', `schema registry ${method} ${path} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const text = await res.text();
    let json: unknown = undefined;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = { message: text.slice(0, 200) };
    }
    if (res.status >= 500) throw new CmsError('CMS_REGISTRY_UNAVAILABLE', `schema registry ${method} ${path} answered ${res.status}`, { context: { status: res.status } });
    return { status: res.status, json };
  };
  const messageOf = (json: unknown): string => (typeof json === 'object' && json !== null && 'message' in json ? String((json).message) : JSON.stringify(json));
  const enc = encodeURIComponent;

  return {
    async register(subject, schema) {
      const { status, json } = await call('POST', `/subjects/${enc(subject)}/versions`, { schema: JSON.stringify(schema), schemaType: 'AVRO' });
      if (status === 409) throw new CmsError('CMS_SCHEMA_INCOMPATIBLE', `schema for ${subject} is not compatible with earlier versions: ${messageOf(json)}`, { context: { subject } });
      if (status === 422) throw new CmsError('CMS_SCHEMA_INCOMPATIBLE', `schema for ${subject} was refused as invalid: ${messageOf(json)}`, { context: { subject } });
      if (status !== 200) throw new CmsError('CMS_REGISTRY_UNAVAILABLE', `registering ${subject} answered ${status}: ${messageOf(json)}`, { context: { subject, status } });
      return (json as { id: number }).id;
    },
    async setCompatibility(subject, level) {
      const { status, json } = await call('PUT', `/config/${enc(subject)}`, { compatibility: level });
      if (status !== 200) throw new CmsError('CMS_REGISTRY_UNAVAILABLE', `setting compatibility of ${subject} answered ${status}: ${messageOf(json)}`, { context: { subject, status } });
    },
    async getCompatibility(subject) {
      const { status, json } = await call('GET', `/config/${enc(subject)}`);
      if (status === 404) return undefined;
      const body = json as { compatibilityLevel?: Compatibility; compatibility?: Compatibility };
      return body.compatibilityLevel ?? body.compatibility;
    },
    async schemaById(id) {
      const { status, json } = await call('GET', `/schemas/ids/${id}`);
      if (status === 404) throw new CmsError('CMS_SCHEMA_NOT_FOUND', `schema id ${id} is not in the registry`, { context: { schemaId: id } });
      if (status !== 200) throw new CmsError('CMS_REGISTRY_UNAVAILABLE', `fetching schema ${id} answered ${status}`, { context: { schemaId: id, status } });
      return (json as { schema: string }).schema;
    },
    async subjects() {
      // Apicurio answers at most 1,000 subjects a page: a registry that has seen many namespaces has more.
      const all = new Set<string>();
      for (let offset = 0; ; offset += SUBJECTS_PAGE) {
        const { json } = await call('GET', `/subjects?offset=${offset}&limit=${SUBJECTS_PAGE}`);
        const page = json as string[];
        const before = all.size;
        for (const subject of page) all.add(subject);
        // A short page is the last; so is one with nothing new (a registry that does not page).
        if (page.length < SUBJECTS_PAGE || all.size === before) return [...all];
      }
    },
    async deleteSubject(subject) {
      await call('DELETE', `/subjects/${enc(subject)}`);
      await call('DELETE', `/subjects/${enc(subject)}?permanent=true`);
    },
  };
}

/**
 * Encodes values of our topics in the Confluent wire format and decodes anything a producer wrote,
 * resolving the writer's schema against ours (schema evolution). Subjects use the topic-name
 * strategy and the compatibility level of the topic's role (FULL_TRANSITIVE for upstream and published
 * topics, BACKWARD_TRANSITIVE for internal ones: docs/contract.md).
 */
export interface Serde {
  /** Registers our schema for a topic (idempotent) and returns its id. */
  ensureRegistered(topic: SchemaTopic): Promise<number>;
  encode<T extends SchemaTopic>(topic: T, value: TopicValue[T]): Promise<Buffer>;
  /** `fullTopic` is the name on the wire (namespace included). */
  decode(fullTopic: string, value: Buffer | null): Promise<{ topic: SchemaTopic; value: TopicValue[SchemaTopic] }>;
}

export function createSerde(registry: SchemaRegistry, namespace: string | undefined, onRelease?: (subject: string) => void): Serde {
  const ids = new Map<SchemaTopic, Promise<number>>();
  const writers = new Map<number, Promise<avro.Type>>();

  const ensureRegistered = (topic: SchemaTopic): Promise<number> => {
    let id = ids.get(topic);
    if (!id) {
      const subject = subjectOf(qualify(topic, namespace));
      const level = compatibilityOf(topic);
      id = (async () => {
        // Set the rule before registering, so any version (ours or a producer's) is checked against it.
        if ((await registry.getCompatibility(subject).catch(() => undefined)) !== level) await registry.setCompatibility(subject, level).catch(() => undefined);
        try {
          return await registry.register(subject, TOPIC_SCHEMAS[topic]);
        } catch (err) {
          if (!isCmsError(err, 'CMS_SCHEMA_INCOMPATIBLE') || level !== 'FULL_TRANSITIVE') throw err;
          // A contract release that appends event types (the CI check allows nothing else): readers first, so
          // our services register it under BACKWARD_TRANSITIVE and put the rule back for everyone else.
          await registry.setCompatibility(subject, 'BACKWARD_TRANSITIVE');
          try {
            const released = await registry.register(subject, TOPIC_SCHEMAS[topic]);
            onRelease?.(subject);
            return released;
          } finally {
            await registry.setCompatibility(subject, level);
          }
        }
      })();
      ids.set(topic, id);
      id.catch(() => ids.delete(topic)); // retry next time after a failure
    }
    return id;
  };

  const writerType = (schemaId: number): Promise<avro.Type> => {
    let type = writers.get(schemaId);
    if (!type) {
      type = registry.schemaById(schemaId).then((text) => parseSchema(JSON.parse(text)));
      writers.set(schemaId, type);
      type.catch(() => writers.delete(schemaId));
    }
    return type;
  };

  return {
    ensureRegistered,
    async encode(topic, value) {
      const id = await ensureRegistered(topic);
      return frame(id, codecFor(topic).toAvroBuffer(value));
    },
    async decode(fullTopic, value) {
      const topic = unqualify(fullTopic, namespace);
      if (!topic || !isSchemaTopic(topic)) throw new CmsError('CMS_DECODE_FAILED', `no schema is known for topic ${fullTopic}`);
      const { schemaId, body } = unframe(value);
      const writer = await writerType(schemaId);
      return { topic, value: codecFor(topic).fromAvroBuffer(body, writer) };
    },
  };
}
