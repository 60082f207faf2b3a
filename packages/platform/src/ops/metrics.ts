import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { VERSION } from '../logger.ts';

/** Metric names, each defined once (docs/operations.md lists them). */
export const METRICS = {
  eventsIn: 'cms_events_in_total',
  consumerLag: 'cms_consumer_lag_records',
  commitSeconds: 'cms_transaction_commit_seconds',
  retries: 'cms_retries_total',
  restores: 'cms_state_restores_total',
  restoredRecords: 'cms_state_restored_records_total',
  tasksRestored: 'cms_state_tasks_ready',
  tasksAssigned: 'cms_partitions_assigned',
  info: 'cms_service_info',
  emails: 'cms_emails_total',
  dependencyErrors: 'cms_dependency_errors_total',
  waitingCaseGroups: 'cms_facts_waiting_case_groups',
  waitingOldest: 'cms_facts_waiting_oldest_seconds',
} as const;

/** Which dependency a retryable code is the failure of (Redis, the schema registry, the broker, the database). */
const DEPENDENCY_OF: Readonly<Record<string, string>> = { CMS_REDIS_UNAVAILABLE: 'redis', CMS_REGISTRY_UNAVAILABLE: 'registry', CMS_KAFKA_UNAVAILABLE: 'broker', CMS_DATABASE_UNAVAILABLE: 'database', CMS_SMTP_UNAVAILABLE: 'smtp' };

/** Case groups with facts waiting for what they refer to, in one partition of a stage, and the oldest arrival. */
export interface WaitingView {
  readonly partition: number;
  readonly caseGroups: number;
  readonly oldestAt: string | null;
}

/** What the runner reports, with no prom-client type in it (the runner stays free of the metrics library). */
export interface RunnerMetrics {
  /** One committed transaction (or at-least-once send): its inputs by outcome, and how long the commit took. */
  committed(topic: string, outcome: { readonly outputs: number; readonly rejections: number; readonly deadLetters: number }, seconds: number): void;
  /** A retryable failure waited out (Redis, the registry, the broker away), by its stable code. */
  retried(code: string): void;
}

/** What a running consumer group shows at scrape time (the runner implements it). */
export interface RunnerView {
  /** Records behind, per assigned input partition, transaction markers not counted (see the runner). */
  lag(): Promise<readonly { readonly topic: string; readonly partition: number; readonly records: number }[]>;
  assignment(): readonly { readonly topic: string; readonly partition: number; readonly ready: boolean }[];
  joined(): boolean;
  restores(): { readonly restores: number; readonly restoredRecords: number } | undefined;
}

export interface ServiceMetrics {
  readonly registry: Registry;
  /** The runner's reporter for one consumer group (a stage). */
  runner(group: string): RunnerMetrics;
  /** Reads lag, assignment and restore progress from a started runner at each scrape. */
  watch(group: string, view: RunnerView): void;
  /** Reads, at each scrape, the facts waiting in a stage's partitions (the router's route stage). */
  waiting(group: string, read: () => Promise<readonly WaitingView[]>): void;
  /** One SMTP attempt of the notifier, by inbox (SCR, ECH) and outcome (sent, retrying, failed). */
  email(inbox: string, outcome: 'sent' | 'retrying' | 'failed'): void;
  /**
   * Readiness: every consumer group joined, and every assigned partition's state restored, or nothing
   * waiting on it (state is restored on a partition's first batch, so an idle one has none to show).
   */
  readiness(): Promise<{ readonly ready: boolean; readonly detail: Record<string, unknown> }>;
}

/** The service's Prometheus registry: process metrics (prom-client's defaults) and each runner's. */
export function createServiceMetrics(service: string): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  new Gauge({ name: METRICS.info, help: 'The running version (always 1).', labelNames: ['version'], registers: [registry] }).set({ version: VERSION }, 1);
  const eventsIn = new Counter({ name: METRICS.eventsIn, help: 'Inputs committed, by consumer group, topic and outcome (output: handled, with outputs or none; rejection; dead_letter).', labelNames: ['group', 'topic', 'outcome'], registers: [registry] });
  const commit = new Histogram({ name: METRICS.commitSeconds, help: 'Time to publish a batch\'s outputs and commit its transaction.', labelNames: ['group'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [registry] });
  const retries = new Counter({ name: METRICS.retries, help: 'Retryable failures waited out, by code (CMS_REDIS_UNAVAILABLE, CMS_REGISTRY_UNAVAILABLE, CMS_KAFKA_UNAVAILABLE, ...).', labelNames: ['group', 'code'], registers: [registry] });
  const views = new Map<string, RunnerView>();
  const waitingReaders = new Map<string, () => Promise<readonly WaitingView[]>>();
  const dependencyErrors = new Counter({ name: METRICS.dependencyErrors, help: 'Failures of a dependency waited out (redis, registry, broker, database, smtp), from the retryable codes.', labelNames: ['group', 'dependency'], registers: [registry] });
  // One read per scrape for both gauges (the case groups and the oldest arrival come from the same index).
  let waitingRead: Promise<[string, readonly WaitingView[]][]> | undefined;
  const readWaiting = (): Promise<[string, readonly WaitingView[]][]> => {
    waitingRead ??= Promise.all([...waitingReaders].map(async ([group, read]) => [group, await read().catch(() => [])] as [string, readonly WaitingView[]])).finally(() => {
      setTimeout(() => { waitingRead = undefined; }, 1_000).unref();
    });
    return waitingRead;
  };
  new Gauge({
    name: METRICS.waitingCaseGroups,
    help: 'Case groups with facts waiting for what they refer to (an application, an SR), per partition.',
    labelNames: ['group', 'partition'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [group, list] of await readWaiting()) for (const w of list) this.set({ group, partition: String(w.partition) }, w.caseGroups);
    },
  });
  new Gauge({
    name: METRICS.waitingOldest,
    help: 'Age of the oldest fact waiting, per partition (0 when none waits); facts expire after the wait expiry.',
    labelNames: ['group', 'partition'],
    registers: [registry],
    async collect() {
      this.reset();
      const now = Date.now();
      for (const [group, list] of await readWaiting()) for (const w of list) this.set({ group, partition: String(w.partition) }, w.oldestAt === null ? 0 : Math.max(0, (now - Date.parse(w.oldestAt)) / 1000));
    },
  });
  const emails = new Counter({ name: METRICS.emails, help: 'SMTP attempts by inbox and outcome (sent; retrying: a retryable refusal; failed: refused for good).', labelNames: ['inbox', 'outcome'], registers: [registry] });
  new Gauge({
    name: METRICS.consumerLag,
    help: 'Records behind the end of each assigned input partition (transaction markers not counted: a caught-up consumer reads 0).',
    labelNames: ['group', 'topic', 'partition'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [group, view] of views) {
        // A broker away must not fail the scrape: the partition's lag is then absent, and the retries show why.
        const lag = await view.lag().catch(() => []);
        for (const l of lag) this.set({ group, topic: l.topic, partition: String(l.partition) }, l.records);
      }
    },
  });
  new Gauge({
    name: METRICS.tasksAssigned,
    help: 'Input partitions assigned to this instance.',
    labelNames: ['group'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [group, view] of views) this.set({ group }, view.assignment().length);
    },
  });
  new Gauge({
    name: METRICS.tasksRestored,
    help: 'Assigned partitions whose state is restored and verified (readiness).',
    labelNames: ['group'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [group, view] of views) this.set({ group }, view.assignment().filter((a) => a.ready).length);
    },
  });
  new Gauge({
    name: METRICS.restores,
    help: 'State restores from the changelog since start (after a Redis loss or a new assignment).',
    labelNames: ['group'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [group, view] of views) { const r = view.restores(); if (r) this.set({ group }, r.restores); }
    },
  });
  new Gauge({
    name: METRICS.restoredRecords,
    help: 'Changelog records read by state restores since start (restore progress).',
    labelNames: ['group'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [group, view] of views) { const r = view.restores(); if (r) this.set({ group }, r.restoredRecords); }
    },
  });
  return {
    registry,
    runner(group) {
      return {
        committed(topic, o, seconds) {
          if (o.outputs > 0) eventsIn.inc({ group, topic, outcome: 'output' }, o.outputs);
          if (o.rejections > 0) eventsIn.inc({ group, topic, outcome: 'rejection' }, o.rejections);
          if (o.deadLetters > 0) eventsIn.inc({ group, topic, outcome: 'dead_letter' }, o.deadLetters);
          commit.observe({ group }, seconds);
        },
        retried(code) {
          retries.inc({ group, code });
          const dependency = DEPENDENCY_OF[code];
          if (dependency) dependencyErrors.inc({ group, dependency });
        },
      };
    },
    watch(group, view) {
      views.set(group, view);
    },
    waiting(group, read) {
      waitingReaders.set(group, read);
    },
    email(inbox, outcome) {
      emails.inc({ inbox, outcome });
    },
    async readiness() {
      const detail: Record<string, unknown> = {};
      let ready = views.size > 0;
      for (const [group, view] of views) {
        const a = view.assignment();
        const restored = a.filter((x) => x.ready).length;
        // Unrestored partitions are ready only when nothing waits on them (read only when needed: a scrape's cost).
        const idle = restored < a.length ? await view.lag().catch(() => []) : [];
        const waiting = a.filter((x) => !x.ready && !idle.some((l) => l.partition === x.partition && x.topic.endsWith(l.topic) && l.records === 0)).length;
        detail[group] = { joined: view.joined(), partitions: a.length, restored, waiting };
        if (!view.joined() || waiting > 0) ready = false;
      }
      return { ready, detail };
    },
  };
}
