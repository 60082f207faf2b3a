import { describe, expect, it } from 'vitest';
import { countKeys, idRecord, insertSorted, keepKeysIn, NO_IDS, sortedKeys, sortSmall, withoutEntry } from './state.ts';

describe('small id lists and records (hand-written: they run for every record, where a library call allocates)', () => {
  it('insertSorted puts an id in its place once, and says where', () => {
    const list = ['B', 'D'];
    expect(insertSorted(list, 'C')).toBe(1);
    expect(insertSorted(list, 'A')).toBe(0);
    expect(insertSorted(list, 'E')).toBe(4);
    expect(insertSorted(list, 'C')).toBe(-3);
    expect(list).toEqual(['A', 'B', 'C', 'D', 'E']);
  });

  it('sortSmall sorts in place as the default sort does (by UTF-16 code units)', () => {
    const ids = ['SR-10', 'SR-2', 'sr-1', 'SR-1', 'Z', 'SR-2'];
    expect(sortSmall([...ids])).toEqual([...ids].sort());
    expect(sortSmall([])).toEqual([]);
  });

  it('sortedKeys lists a record\'s ids in order, and shares one empty list', () => {
    const r = idRecord<number>();
    expect(sortedKeys(r)).toBe(NO_IDS);
    expect(Object.isFrozen(NO_IDS)).toBe(true);
    r['SR-3'] = 3;
    r['SR-1'] = 1;
    r['SR-2'] = 2;
    expect(sortedKeys(r)).toEqual(['SR-1', 'SR-2', 'SR-3']);
    expect(countKeys(r)).toBe(3);
  });

  it('keepKeysIn keeps the record itself when nothing is dropped, and copies it when something is', () => {
    const placements = idRecord<string>({ 'SR-1': 'a', 'SR-2': 'b' });
    expect(keepKeysIn(placements, { 'SR-1': 1, 'SR-2': 2, 'SR-3': 3 })).toBe(placements);
    const kept = keepKeysIn(placements, { 'SR-2': 2 });
    expect(kept).toEqual({ 'SR-2': 'b' });
    expect(placements).toEqual({ 'SR-1': 'a', 'SR-2': 'b' });
  });

  it('withoutEntry keeps the record itself when the key is absent, and copies it without the key when present', () => {
    const open = idRecord<string>({ 'SR-1': 'a', 'SR-2': 'b' });
    expect(withoutEntry(open, 'SR-3')).toBe(open);
    expect(withoutEntry(open, 'SR-1')).toEqual({ 'SR-2': 'b' });
    expect(open).toEqual({ 'SR-1': 'a', 'SR-2': 'b' });
  });
});
