import { describe, expect, it } from 'vitest';
import { backoffDelay, sleepUnlessAborted } from './backoff.ts';

describe('backoff', () => {
  it.each([
    [0, 0, 100],
    [0, 1, 100],
    [3, 1, 800],
    [20, 1, 5_000],
  ])('attempt %i with random %d waits %i ms (initial 100, cap 5000)', (attempt, random, expected) => {
    expect(backoffDelay(attempt, 100, 5_000, () => random)).toBe(expected);
  });

  it('never waits less than the initial delay, even with jitter', () => {
    for (let attempt = 0; attempt < 40; attempt += 1) expect(backoffDelay(attempt, 50, 1_000, () => 0)).toBeGreaterThanOrEqual(50);
  });

  it('wakes early when aborted', async () => {
    const controller = new AbortController();
    const sleeping = sleepUnlessAborted(60_000, controller.signal);
    controller.abort();
    await expect(sleeping).resolves.toBe(false);
  });
});
