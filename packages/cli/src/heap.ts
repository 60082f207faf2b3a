import { setFlagsFromString } from 'node:v8';

/**
 * How much V8 may grow the heap after each full collection during a replay, as a percentage of what
 * survived it. Replays (simulate, what-if) keep their cores' whole state, hundreds of MiB for a million
 * events, and allocate fast; left to itself V8 then lets the heap grow to two or three times the live
 * state before it collects again (simulate over 1M events: 1,187 MiB peak for about 470 MiB live).
 * A limit on growth, not a cap: a larger state still runs, it is collected more often.
 */
export const REPLAY_HEAP_GROWTH_PERCENT = 50;

/** Applies the limit from `--heap-growth` (0: V8's own sizing). V8 reads it at every full collection. */
export function limitHeapGrowth(option: string | undefined): void {
  const percent = option === undefined ? REPLAY_HEAP_GROWTH_PERCENT : /^\d{1,3}$/.test(option) ? Number(option) : Number.NaN;
  if (!(percent >= 0 && percent <= 400)) throw new Error(`--heap-growth must be a whole percentage from 0 to 400 (0: V8's own sizing), not "${option ?? ''}"`);
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
