import type { KafkaRunner } from '../kafka/runner.ts';
import type { ServiceMetrics, WaitingView } from './metrics.ts';

/**
 * /metrics for a stage whose facts wait for what they refer to: at each scrape, each restored
 * partition's waiting index (`keysOf(task)`: documents of `caseGroupId -> oldest arrival`, merged) read
 * from its committed state, as the case groups waiting and the oldest arrival.
 */
export function watchWaiting(metrics: ServiceMetrics | undefined, group: string, runner: KafkaRunner, keysOf: (task: number) => readonly string[]): void {
  if (!metrics) return;
  metrics.waiting(group, async () => {
    const state = runner.taskState;
    if (!state) return [];
    const out: WaitingView[] = [];
    for (const a of runner.assignment().filter((x) => x.ready)) {
      const waiting: Record<string, string> = {};
      for (const share of await Promise.all(keysOf(a.partition).map((k) => state.peek<Record<string, string>>(k)))) Object.assign(waiting, share ?? {});
      const arrivals = Object.values(waiting).sort();
      out.push({ partition: a.partition, caseGroups: arrivals.length, oldestAt: arrivals[0] ?? null });
    }
    return out;
  });
}
