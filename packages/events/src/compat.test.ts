import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compatibilityProblems } from './compat.ts';
import { TOPIC_SCHEMAS } from './generated/contract.ts';
import { compatibilityOf, type TopicName } from './topics.ts';

const released = resolve(import.meta.dirname, '../../../schemas/released');
const base = { type: 'record', name: 'R', namespace: 'x', fields: [{ name: 'caseId', type: 'string' }, { name: 'p', type: [{ type: 'record', name: 'A', fields: [{ name: 'a', type: 'int' }] }, { type: 'record', name: 'B', fields: [{ name: 'b', type: 'int' }] }] }] };

describe('schema evolution', () => {
  it.each(readdirSync(released).filter((t) => t in TOPIC_SCHEMAS))('%s is compatible with every released version under its level', (topic) => {
    const level = compatibilityOf(topic as TopicName);
    for (const file of readdirSync(join(released, topic)).sort()) {
      const old = JSON.parse(readFileSync(join(released, topic, file), 'utf8')) as unknown;
      expect(compatibilityProblems(TOPIC_SCHEMAS[topic as keyof typeof TOPIC_SCHEMAS], old, level), `${topic} against released ${file}`).toEqual([]);
    }
  });

  it('every topic with a schema has a released version to be checked against, or is new in this release', () => {
    for (const topic of Object.keys(TOPIC_SCHEMAS)) expect(existsSync(join(released, topic)) || ['cms.router-people.v1', 'cms.router-orphans.v1', 'cms.sr-events-inbox.v1'].includes(topic), topic).toBe(true);
  });

  it.each<[string, unknown, 'FULL_TRANSITIVE' | 'BACKWARD_TRANSITIVE', RegExp | null]>([
    ['removing a required field (the caseId that broke every consumer)', { ...base, fields: base.fields.slice(1) }, 'FULL_TRANSITIVE', /released schema cannot read .*caseId/],
    ['removing a required field is fine for an internal topic read only by newer code', { ...base, fields: base.fields.slice(1) }, 'BACKWARD_TRANSITIVE', null],
    ['adding a field without a default', { ...base, fields: [...base.fields, { name: 'n', type: 'string' }] }, 'BACKWARD_TRANSITIVE', /new schema cannot read/],
    ['adding a field with a default', { ...base, fields: [...base.fields, { name: 'n', type: ['null', 'string'], default: null }] }, 'FULL_TRANSITIVE', null],
    ['appending an event type (a contract release)', { ...base, fields: [base.fields[0], { name: 'p', type: [...(base.fields[1] as { type: unknown[] }).type, { type: 'record', name: 'C', fields: [] }] }] }, 'FULL_TRANSITIVE', null],
    ['inserting an event type before others', { ...base, fields: [base.fields[0], { name: 'p', type: [{ type: 'record', name: 'C', fields: [] }, ...(base.fields[1] as { type: unknown[] }).type] }] }, 'FULL_TRANSITIVE', /appended at the end/],
    ['retyping a field', { ...base, fields: [{ name: 'caseId', type: 'int' }, base.fields[1]] }, 'FULL_TRANSITIVE', /cannot read/],
  ])('%s', (_what, next, level, problem) => {
    const problems = compatibilityProblems(next, base, level).join('\n');
    if (problem) expect(problems).toMatch(problem);
    else expect(problems).toBe('');
  });
});
