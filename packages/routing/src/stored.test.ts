import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptyCaseGroup, HISTORY_LIMIT, type CaseGroupState, type HistoryEntry } from './state.ts';
import { fromStored, historySlots, toStored, withStoredHistory, type Loaded, type StoredCaseGroup } from './stored.ts';

const entry = (n: number): HistoryEntry => ({ at: `2026-01-01T00:00:${String(n % 60).padStart(2, '0')}.000Z`, eventId: `e${n}`, kind: 'FACT', subject: null, srId: null, segment: null, previousSegment: null, ruleId: null, text: `entry ${n}` });

/** A store of documents and ring slots, written as the route stage writes them. */
function storeOf() {
  const kv = new Map<string, unknown>();
  return {
    kv,
    load(): Loaded | undefined {
      const doc = kv.get('doc') as StoredCaseGroup | undefined;
      return doc ? fromStored(doc) : undefined;
    },
    save(before: Loaded | undefined, after: CaseGroupState | null): void {
      const { doc, slots } = toStored(before, after);
      for (const { slot, entry: e } of slots) {
        if (e === undefined) kv.delete(`h${slot}`);
        else kv.set(`h${slot}`, e);
      }
      if (doc === undefined) kv.delete('doc');
      else kv.set('doc', doc);
    },
    read(): CaseGroupState | undefined {
      const doc = kv.get('doc') as StoredCaseGroup | undefined;
      return doc ? withStoredHistory(doc, historySlots(doc).map((s) => (kv.get(`h${s}`) as HistoryEntry | undefined) ?? null)) : undefined;
    },
  };
}

/** One routing step as the core does it on a loaded state: appends `added` entries to the (empty) history it was given. */
const step = (state: CaseGroupState, added: readonly HistoryEntry[]): CaseGroupState => ({ ...state, failure: `f${added.length}`, history: [...state.history, ...added].slice(-HISTORY_LIMIT) });

describe('the stored case group: the document without its history, the history in a ring', () => {
  it('reads back exactly the last HISTORY_LIMIT entries, whatever the steps, as one inline history would keep them', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 130 }), { maxLength: 12 }), (sizes) => {
        const s = storeOf();
        const all: HistoryEntry[] = [];
        let n = 0;
        for (const size of sizes) {
          const added = Array.from({ length: size }, () => entry((n += 1)));
          all.push(...added);
          const before = s.load();
          s.save(before, step(before?.state ?? emptyCaseGroup('CG-1'), added));
        }
        const read = s.read();
        if (sizes.length === 0) return read === undefined;
        expect(read?.history).toEqual(all.slice(-HISTORY_LIMIT));
        expect(read?.failure).toBe(`f${sizes.at(-1) ?? 0}`);
        // The document carries no history; the ring never holds more than its slots.
        expect((s.kv.get('doc') as StoredCaseGroup).history).toBeUndefined();
        expect(s.kv.size).toBeLessThanOrEqual(HISTORY_LIMIT + 1);
        return true;
      }),
    );
  });

  it('a document written before the split keeps its inline history: read as is, moved to the ring on the next save', () => {
    const s = storeOf();
    const old = { ...emptyCaseGroup('CG-1'), history: [entry(1), entry(2)] };
    s.kv.set('doc', old);
    expect(s.read()?.history).toEqual([entry(1), entry(2)]);
    const before = s.load();
    expect(before?.state.history).toEqual([]);
    s.save(before, step(before?.state ?? old, [entry(3)]));
    expect(s.read()?.history).toEqual([entry(1), entry(2), entry(3)]);
    expect((s.kv.get('doc') as StoredCaseGroup).historyCount).toBe(3);
  });

  it('a deleted case group leaves no ring slots behind', () => {
    const s = storeOf();
    s.save(undefined, step(emptyCaseGroup('CG-1'), [entry(1), entry(2)]));
    s.save(s.load(), null);
    expect(s.kv.size).toBe(0);
  });
});
