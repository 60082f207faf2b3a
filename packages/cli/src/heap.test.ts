import { describe, expect, it } from 'vitest';
import { limitHeapGrowth } from './heap.ts';

describe('--heap-growth', () => {
  it.each(['-1', '401', '12.5', 'half', ''])('refuses %j, saying what it takes', (value) => {
    expect(() => { limitHeapGrowth(value); }).toThrow(/--heap-growth must be a whole percentage from 0 to 400 \(0: V8's own sizing\)/);
  });

  it('takes 0 (V8 left alone), a percentage, or nothing (the default)', () => {
    expect(() => { limitHeapGrowth('0'); }).not.toThrow();
    expect(() => { limitHeapGrowth('25'); }).not.toThrow();
    expect(() => { limitHeapGrowth(undefined); }).not.toThrow();
  });
});
