/* eslint-disable @typescript-eslint/no-unsafe-class-instance-assignment -- avsc builds these Type subclasses itself; we narrow by typeName before casting. */
import avro from 'avsc';
import { CmsError } from '@cms-router/errors';

/**
 * timestamp-millis carried as an ISO-8601 string in TypeScript and in the JSON form, as a long on the
 * wire. Strings that are not a valid UTC instant are rejected with the field's path.
 */
class IsoTimestampType extends avro.types.LogicalType {
  override _fromValue(value: unknown): string {
    return new Date(Number(value)).toISOString();
  }
  override _toValue(value: unknown): number | undefined {
    if (typeof value !== 'string' || !ISO_INSTANT.test(value)) return undefined;
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? undefined : ms;
  }
  override _resolve(type: avro.Type): ((x: unknown) => unknown) | undefined {
    if (avro.Type.isType(type, 'long', 'logical:timestamp-millis')) return (x: unknown) => x;
    return undefined;
  }
}

const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/** A fresh options object per schema: avsc keeps its registry of named types inside the options. */
export function parseSchema(schema: unknown): avro.Type {
  return avro.Type.forSchema(schema as avro.Schema, { logicalTypes: { 'timestamp-millis': IsoTimestampType }, wrapUnions: 'auto' });
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

function shortName(type: avro.Type): string {
  return (type.name ?? type.typeName).split('.').pop() ?? '';
}

function fmt(path: readonly (string | number)[]): string {
  return path.length === 0 ? '(root)' : path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

/** What the conversions look up about a type, worked out once per type rather than on every value. */
interface TypeFacts {
  readonly name: string;
  /** A record's field names. */
  readonly fields: ReadonlySet<string>;
  /** A wrapped union's branches by short name (the JSON form's `type`) and by avsc's branch name. */
  readonly byName: ReadonlyMap<string, avro.Type>;
  readonly byBranch: ReadonlyMap<string, avro.Type>;
  /** An unwrapped union's branch that is not null. */
  readonly nonNull: avro.Type | undefined;
}

const FACTS = new WeakMap<avro.Type, TypeFacts>();

function factsOf(type: avro.Type): TypeFacts {
  let facts = FACTS.get(type);
  if (!facts) {
    const branches: readonly avro.Type[] = type.typeName.startsWith('union') ? (type as avro.types.WrappedUnionType | avro.types.UnwrappedUnionType).types : [];
    facts = {
      name: shortName(type),
      fields: new Set(type.typeName === 'record' || type.typeName === 'error' ? (type as avro.types.RecordType).fields.map((f) => f.name) : []),
      byName: new Map(branches.map((b) => [shortName(b), b])),
      byBranch: new Map(branches.map((b) => [b.branchName ?? shortName(b), b])),
      nonNull: branches.find((b) => b.typeName !== 'null'),
    };
    FACTS.set(type, facts);
  }
  return facts;
}

/**
 * TypeScript/JSON form -> avsc form: defaults filled, record unions wrapped by full name. `path` is
 * pushed and popped as the walk goes (copied only into a problem's message).
 */
function toAvro(type: avro.Type, value: unknown, path: (string | number)[], problems: string[]): unknown {
  switch (type.typeName) {
    case 'record':
    case 'error': {
      if (!isObject(value)) {
        problems.push(`${fmt(path)}: expected an object (${shortName(type)})`);
        return value;
      }
      const record = type as avro.types.RecordType;
      const known = factsOf(type).fields;
      for (const key in value) {
        if (key !== 'type' && !known.has(key) && Object.hasOwn(value, key)) problems.push(`${fmt([...path, key])}: unknown field (${shortName(type)} has ${[...known].join(', ')})`);
      }
      const out: Json = {};
      for (const field of record.fields) {
        let fieldValue = value[field.name];
        if (fieldValue === undefined) {
          const fallback: unknown = field.defaultValue();
          if (fallback === undefined) {
            problems.push(`${fmt([...path, field.name])}: missing required field`);
            continue;
          }
          fieldValue = fallback;
        }
        path.push(field.name);
        out[field.name] = toAvro(field.type, fieldValue, path, problems);
        path.pop();
      }
      return out;
    }
    case 'union:wrapped': {
      const facts = factsOf(type);
      if (value === null && facts.byName.has('null')) return null;
      if (!isObject(value) || typeof value['type'] !== 'string') {
        problems.push(`${fmt(path)}: expected an object with "type" set to one of ${[...facts.byName.keys()].join(', ')}`);
        return value;
      }
      const wanted = value['type'];
      const branch = facts.byName.get(wanted);
      if (!branch) {
        problems.push(`${fmt([...path, 'type'])}: unknown type "${wanted}"; expected one of ${[...facts.byName.keys()].join(', ')}`);
        return value;
      }
      return { [branch.branchName ?? shortName(branch)]: toAvro(branch, value, path, problems) };
    }
    case 'union:unwrapped': {
      if (value === null || value === undefined) return null;
      const branch = factsOf(type).nonNull;
      return branch ? toAvro(branch, value, path, problems) : value;
    }
    case 'array': {
      if (!Array.isArray(value)) {
        problems.push(`${fmt(path)}: expected an array`);
        return value;
      }
      const items = (type as avro.types.ArrayType).itemsType;
      const out = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i += 1) {
        path.push(i);
        out[i] = toAvro(items, value[i], path, problems);
        path.pop();
      }
      return out;
    }
    default:
      return value;
  }
}

/** avsc form -> TypeScript/JSON form: record unions unwrapped into `{ type, ...fields }`. */
function fromAvro(type: avro.Type, value: unknown, tag?: string): unknown {
  switch (type.typeName) {
    case 'record':
    case 'error': {
      // A union's record carries its branch's name first, as `type` (the JSON form's discriminator).
      const out: Json = tag === undefined ? {} : { type: tag };
      for (const field of (type as avro.types.RecordType).fields) out[field.name] = fromAvro(field.type, (value as Json)[field.name]);
      return out;
    }
    case 'union:wrapped': {
      if (value === null) return null;
      let branchName: string | undefined;
      for (const k in value as Json) {
        branchName = k;
        break;
      }
      if (branchName === undefined) return value;
      const branch = factsOf(type).byBranch.get(branchName);
      if (!branch) return value;
      const inner = (value as Json)[branchName];
      return fromAvro(branch, inner, branch.typeName === 'record' || branch.typeName === 'error' ? factsOf(branch).name : undefined);
    }
    case 'union:unwrapped': {
      if (value === null) return null;
      const branch = factsOf(type).nonNull;
      return branch ? fromAvro(branch, value) : value;
    }
    case 'array': {
      const items = (type as avro.types.ArrayType).itemsType;
      return (value as unknown[]).map((item) => fromAvro(items, item));
    }
    default:
      return value;
  }
}

/**
 * Encodes and decodes one topic's values. `T` is the generated TypeScript type; the JSON form of an
 * event is exactly `T` (what `JSON.stringify` of a decoded value prints).
 */
export interface ValueCodec<T> {
  readonly type: avro.Type;
  /** Checks a value in the JSON form, filling defaults; throws CMS_EVENT_INVALID listing every problem with its path. */
  readonly fromJson: (value: unknown, where?: string) => T;
  /** Avro binary body (no wire-format header). */
  readonly toAvroBuffer: (value: T) => Buffer;
  /** Decodes an Avro body written with `writer` (schema evolution resolved against our reader schema). */
  readonly fromAvroBuffer: (body: Buffer, writer?: avro.Type) => T;
}

export function createValueCodec<T>(schema: unknown): ValueCodec<T> {
  const type = parseSchema(schema);
  const resolvers = new WeakMap<avro.Type, ReturnType<avro.Type['createResolver']>>();

  const check = (value: unknown, where: string): unknown => {
    const problems: string[] = [];
    const avroValue = toAvro(type, value, [], problems);
    if (problems.length === 0) {
      type.isValid(avroValue, {
        errorHook: (path: string[], bad: unknown, badType: avro.Type) => {
          const shown = typeof bad === 'string' && bad.length > 40 ? `${bad.slice(0, 40)}...` : JSON.stringify(bad);
          const expected = badType.typeName === 'enum' ? `one of ${(badType as avro.types.EnumType).symbols.join(', ')}` : `a valid ${badType.typeName.replace('logical:', '').replace('timestamp-millis', 'timestamp (ISO-8601, e.g. 2026-01-05T09:00:00Z)')}`;
          problems.push(`${path.join('.') || '(root)'}: ${shown} is not ${expected}`);
        },
      });
    }
    if (problems.length > 0) throw new CmsError('CMS_EVENT_INVALID', `${where}: ${problems.join('; ')}`, { context: { problems: problems.length } });
    return avroValue;
  };

  return {
    type,
    // Through the binary form once, so the result is canonical (timestamps as ISO with milliseconds).
    fromJson: (value, where = 'event') => fromAvro(type, type.fromBuffer(type.toBuffer(check(value, where)))) as T,
    toAvroBuffer: (value) => type.toBuffer(check(value, factsOf(type).name)),
    fromAvroBuffer: (body, writer) => {
      try {
        if (!writer || writer === type) return fromAvro(type, type.fromBuffer(body)) as T;
        let resolver = resolvers.get(writer);
        if (!resolver) {
          resolver = type.createResolver(writer);
          resolvers.set(writer, resolver);
        }
        return fromAvro(type, type.fromBuffer(body, resolver)) as T;
      } catch (err) {
        throw new CmsError('CMS_DECODE_FAILED', `bytes do not decode as ${shortName(type)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    },
  };
}
