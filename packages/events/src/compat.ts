import { parseSchema } from './codec.ts';

type Json = unknown;

/** Every record, enum and fixed name a schema defines. */
function namesIn(schema: Json, out = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) for (const s of schema) namesIn(s, out);
  else if (typeof schema === 'object' && schema !== null) {
    const o = schema as Record<string, unknown>;
    if (typeof o['name'] === 'string' && (o['type'] === 'record' || o['type'] === 'enum' || o['type'] === 'fixed')) out.add(o['name']);
    for (const v of Object.values(o)) namesIn(v, out);
  }
  return out;
}

/** The schema without the union branches (records) an older version does not have. */
function withoutNewBranches(schema: Json, known: ReadonlySet<string>): Json {
  if (Array.isArray(schema)) {
    return schema.filter((b) => !(typeof b === 'object' && b !== null && !Array.isArray(b) && (b as { type?: unknown }).type === 'record' && !known.has(String((b as { name?: unknown }).name)))).map((b) => withoutNewBranches(b, known));
  }
  if (typeof schema === 'object' && schema !== null) return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, withoutNewBranches(v, known)]));
  return schema;
}

/** Union branches (records) of `schema` that an older version does not have, and whether each union only gained them at its end. */
function newBranches(schema: Json, known: ReadonlySet<string>, out: { names: string[]; appendedOnly: boolean } = { names: [], appendedOnly: true }): { names: string[]; appendedOnly: boolean } {
  if (Array.isArray(schema)) {
    const isNew = schema.map((b) => typeof b === 'object' && b !== null && !Array.isArray(b) && (b as { type?: unknown }).type === 'record' && !known.has(String((b as { name?: unknown }).name)));
    const firstNew = isNew.indexOf(true);
    if (firstNew >= 0 && isNew.slice(firstNew).some((x) => !x)) out.appendedOnly = false;
    schema.forEach((b, i) => {
      if (isNew[i]) out.names.push(String((b as { name: unknown }).name));
      else newBranches(b, known, out);
    });
  } else if (typeof schema === 'object' && schema !== null) for (const v of Object.values(schema)) newBranches(v, known, out);
  return out;
}

const resolves = (reader: Json, writer: Json): string | null => {
  try {
    parseSchema(reader).createResolver(parseSchema(writer));
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
};

/**
 * Whether `current` may be released after `released` under the topic's level (docs/contract.md):
 * BACKWARD (the new schema reads all old data) always; for FULL_TRANSITIVE topics also FORWARD (old
 * readers read new data), except for event types appended at the end of a union, a contract release.
 * Every problem, in words.
 */
export function compatibilityProblems(current: Json, released: Json, level: 'FULL_TRANSITIVE' | 'BACKWARD_TRANSITIVE'): string[] {
  const problems: string[] = [];
  const backward = resolves(current, released);
  if (backward) problems.push(`the new schema cannot read data written with the released one: ${backward}`);
  if (level === 'FULL_TRANSITIVE') {
    const known = namesIn(released);
    const added = newBranches(current, known);
    if (!added.appendedOnly) problems.push(`new event types (${added.names.join(', ')}) must be appended at the end of their union`);
    const forward = resolves(released, withoutNewBranches(current, known));
    if (forward) problems.push(`a reader with the released schema cannot read data written with the new one: ${forward}`);
  }
  return problems;
}
