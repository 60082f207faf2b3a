import { describe, expect, it } from 'vitest';
import { isCmsError } from '@cms-router/errors';
import { codecFor, createValueCodec, deterministicId, frame, parseJsonEvent, unframe, type CaseFact, type SrLifecycleEvent } from './index.ts';

const application: CaseFact = {
  caseGroupId: 'CG-1',
  caseId: 'C-1',
  occurredAt: '2026-01-05T09:00:00.000Z',
  payload: {
    type: 'ApplicationReceived',
    payingParent: { partyId: 'P-1', address: { ukPostcode: 'CF10 1AA', nonUkCountry: null }, identifierKnown: true },
    receivingParent: { partyId: 'P-2', address: { ukPostcode: 'LS1 4AP', nonUkCountry: null }, identifierKnown: true },
    qualifyingChildren: [{ partyId: 'P-3', address: { ukPostcode: 'LS1 4AP', nonUkCountry: null }, identifierKnown: false }],
    incomeSource: 'EMPLOYED',
    partiesHaveExistingCase: false,
  },
};

function problemsOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (isCmsError(err, 'CMS_EVENT_INVALID')) return err.message;
    throw err;
  }
  throw new Error('expected CMS_EVENT_INVALID');
}

describe('value codec', () => {
  const codec = codecFor('cms.case-facts.v1');

  it('round-trips the JSON form through Avro binary unchanged', () => {
    const bytes = codec.toAvroBuffer(application);
    expect(codec.fromAvroBuffer(bytes)).toEqual(application);
  });

  it('fills defaults for optional fields left out of the JSON form', () => {
    const lifecycle = codecFor('cms.sr-lifecycle.v1').fromJson({
      srId: 'SR-1',
      caseGroupId: 'CG-1',
      caseId: 'C-1',
      occurredAt: '2026-01-05T09:00:00Z',
      actor: { userId: 'U-1', role: 'CASEWORKER' },
      payload: { type: 'SrCreated', process: 'Special case management', area: 'Non Standard', subArea: 'Referral' },
    });
    const created = lifecycle.payload as Extract<SrLifecycleEvent['payload'], { type: 'SrCreated' }>;
    expect(created.lockAssignment).toBe(false);
    expect(created.reason).toBeNull();
    expect(lifecycle.actor.teamId).toBeNull();
    expect(lifecycle.occurredAt).toBe('2026-01-05T09:00:00.000Z');
  });

  it('says what is wrong and where, for every problem at once', () => {
    const message = problemsOf(() =>
      codec.fromJson({ ...application, caseId: 7, payload: { ...application.payload, incomeSource: 'LOTTERY', extra: 1 } }, 'line 3'),
    );
    expect(message).toContain('line 3');
    expect(message).toContain('payload.extra: unknown field');
    expect(message).not.toContain('stack');
  });

  it('reports type errors with the field path', () => {
    const message = problemsOf(() => codec.fromJson({ ...application, occurredAt: 'yesterday' }));
    expect(message).toMatch(/occurredAt: "yesterday" is not a valid timestamp \(ISO-8601/);
    const enumMessage = problemsOf(() => codec.fromJson({ ...application, payload: { ...application.payload, incomeSource: 'LOTTERY' } }));
    expect(enumMessage).toMatch(/incomeSource: "LOTTERY" is not one of EMPLOYED, SELF_EMPLOYED, BENEFITS, NIL_INCOME, OTHER, UNKNOWN/);
  });

  it('rejects an unknown union branch, naming the allowed ones', () => {
    const message = problemsOf(() => codec.fromJson({ ...application, payload: { type: 'CaseReopened' } }));
    expect(message).toContain('payload.type: unknown type "CaseReopened"; expected one of ApplicationReceived, PromiseToPayScheduleIssued, CaseClosed');
  });

  it('reads data written with an older schema version (a field added with a default)', () => {
    const v1 = { type: 'record', name: 'E', namespace: 't', fields: [{ name: 'a', type: 'string' }] };
    const v2 = { ...v1, fields: [...v1.fields, { name: 'b', type: ['null', 'string'], default: null }] };
    const old = createValueCodec<{ a: string }>(v1);
    const current = createValueCodec<{ a: string; b: string | null }>(v2);
    expect(current.fromAvroBuffer(old.toAvroBuffer({ a: 'x' }), old.type)).toEqual({ a: 'x', b: null });
  });

  it('turns garbage bytes into CMS_DECODE_FAILED, not a crash', () => {
    expect(() => codec.fromAvroBuffer(Buffer.from([0xff, 0xff, 0xff]))).toThrow(expect.objectContaining({ code: 'CMS_DECODE_FAILED' }));
  });
});

describe('wire format', () => {
  it('frames and unframes magic byte + schema id', () => {
    const framed = frame(42, Buffer.from('body'));
    expect(framed[0]).toBe(0);
    expect(unframe(framed)).toEqual({ schemaId: 42, body: Buffer.from('body') });
  });

  it.each([
    ['a tombstone', null, /tombstone/],
    ['a short record', Buffer.from([0, 1]), /shorter than the 5-byte/],
    ['another magic byte', Buffer.from('{"json":true}'), /not the Confluent wire-format magic byte 0/],
  ])('rejects %s', (_, value, message) => {
    expect(() => unframe(value)).toThrow(message);
  });
});

describe('JSON form lines', () => {
  it('derives the key from the value and a stable event id from the position', () => {
    const line = JSON.stringify({ topic: 'cms.case-facts.v1', value: application });
    const a = parseJsonEvent(line, 's.jsonl:1');
    expect(a.key).toBe('CG-1');
    expect(a.eventId).toBe(parseJsonEvent(line, 's.jsonl:1').eventId);
    expect(a.eventId).not.toBe(parseJsonEvent(line, 's.jsonl:2').eventId);
  });

  it('refuses topics cms-router produces when only upstream input is allowed', () => {
    const line = JSON.stringify({ topic: 'cms.assignments.v1', value: {} });
    expect(() => parseJsonEvent(line, 's.jsonl:4', { upstreamOnly: true })).toThrow(/s\.jsonl:4: "cms.assignments.v1" is produced by cms-router itself/);
  });

  it('says which line is not JSON', () => {
    expect(() => parseJsonEvent('{nope', 's.jsonl:9')).toThrow(/^s\.jsonl:9: not valid JSON/);
  });
});

describe('deterministic ids', () => {
  it('are UUID-shaped, stable, and differ by any part', () => {
    const id = deterministicId('router', 'cms.case-facts.v1', 3, '120');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(deterministicId('router', 'cms.case-facts.v1', 3, '120')).toBe(id);
    expect(deterministicId('router', 'cms.case-facts.v1', 3, '121')).not.toBe(id);
  });
});
