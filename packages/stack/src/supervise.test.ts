import { describe, expect, it } from 'vitest';
import { restartDelay } from './supervise.ts';

describe('restartDelay: a crash loop backs off, a healthy service comes back at once', () => {
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [5, 16_000],
    [6, 30_000],
    [40, 30_000],
  ])('after %i failure(s) in a row: %i ms', (failures, ms) => {
    expect(restartDelay(failures)).toBe(ms);
  });
});
