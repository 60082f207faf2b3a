import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateContract, lintSchemas, loadSchemas } from './codegen.ts';

const dir = join(resolve(import.meta.dirname, '..'), 'avro');

describe('the Avro contract', () => {
  const schemas = loadSchemas(dir);

  it('has a doc string on every record, enum and field, and one shape per type name', () => {
    expect(lintSchemas(schemas)).toEqual([]);
  });

  it('names each file after its topic: cms.<name>.v<N>', () => {
    expect(schemas.length).toBeGreaterThanOrEqual(9);
    for (const { topic } of schemas) expect(topic).toMatch(/^cms\.[a-z-]+\.v\d+$/);
  });

  it('finds an undocumented field', () => {
    const broken = [{ topic: 'cms.x.v1', schema: { type: 'record', name: 'X', doc: 'x', fields: [{ name: 'a', type: 'string' }] } }];
    expect(lintSchemas(broken)).toEqual(['cms.x.v1.a: field has no doc']);
  });

  it('generates a discriminator for record union branches and ISO strings for timestamps', () => {
    const ts = generateContract(schemas);
    expect(ts).toContain("readonly type: 'ApplicationReceived';");
    expect(ts).toContain('readonly occurredAt: string;');
    expect(ts).toContain("export type SrStatus = 'OPEN' | 'IN_PROGRESS' | 'PENDING_APPROVAL' | 'CLOSED' | 'CANCELLED';");
    expect(ts).toContain('readonly ukPostcode: null | string;');
  });
});
