import { describe, expect, it } from 'vitest';
import { createLogger } from '../logger.ts';
import { createServiceMetrics, METRICS, type RunnerView } from './metrics.ts';
import { startOpsServer } from './server.ts';

const view = (over: Partial<RunnerView> = {}): RunnerView => ({
  lag: () => Promise.resolve([{ topic: 'cms.router.inbox.v1', partition: 2, records: 7 }]),
  assignment: () => [{ topic: 'cms.router.inbox.v1', partition: 2, ready: true }, { topic: 'cms.router.inbox.v1', partition: 3, ready: false }],
  joined: () => true,
  restores: () => ({ restores: 2, restoredRecords: 1234 }),
  ...over,
});

describe('service metrics', () => {
  it('counts inputs by outcome, commit latency, retries, lag, restores and emails in Prometheus text', async () => {
    const m = createServiceMetrics('router');
    const r = m.runner('router.route');
    r.committed('cms.router.inbox.v1', { outputs: 3, rejections: 1, deadLetters: 0 }, 0.02);
    r.committed('cms.router.inbox.v1', { outputs: 0, rejections: 0, deadLetters: 2 }, 0.5);
    r.retried('CMS_REDIS_UNAVAILABLE');
    m.email('SCR', 'sent');
    m.watch('router.route', view());
    const text = await m.registry.metrics();
    expect(text).toContain(`${METRICS.eventsIn}{group="router.route",topic="cms.router.inbox.v1",outcome="output",service="router"} 3`);
    expect(text).toContain(`${METRICS.eventsIn}{group="router.route",topic="cms.router.inbox.v1",outcome="rejection",service="router"} 1`);
    expect(text).toContain(`${METRICS.eventsIn}{group="router.route",topic="cms.router.inbox.v1",outcome="dead_letter",service="router"} 2`);
    expect(text).not.toMatch(/outcome="rejection"[^\n]*} 0\n/);
    expect(text).toContain(`${METRICS.commitSeconds}_count{service="router",group="router.route"} 2`);
    expect(text).toContain(`${METRICS.retries}{group="router.route",code="CMS_REDIS_UNAVAILABLE",service="router"} 1`);
    expect(text).toContain(`${METRICS.consumerLag}{group="router.route",topic="cms.router.inbox.v1",partition="2",service="router"} 7`);
    expect(text).toContain(`${METRICS.tasksAssigned}{group="router.route",service="router"} 2`);
    expect(text).toContain(`${METRICS.tasksRestored}{group="router.route",service="router"} 1`);
    expect(text).toContain(`${METRICS.restoredRecords}{group="router.route",service="router"} 1234`);
    expect(text).toContain(`${METRICS.emails}{inbox="SCR",outcome="sent",service="router"} 1`);
  });

  it('names the dependency behind a retry, and shows the facts waiting with the age of the oldest', async () => {
    const m = createServiceMetrics('router');
    m.runner('router.route').retried('CMS_REGISTRY_UNAVAILABLE');
    m.runner('router.route').retried('CMS_STATE_REBUILDING');
    const tenMinutesAgo = new Date(Date.now() - 600_000).toISOString();
    m.waiting('router.route', () => Promise.resolve([{ partition: 0, caseGroups: 3, oldestAt: tenMinutesAgo }, { partition: 1, caseGroups: 0, oldestAt: null }]));
    const text = await m.registry.metrics();
    expect(text).toContain(`${METRICS.dependencyErrors}{group="router.route",dependency="registry",service="router"} 1`);
    expect(text).not.toMatch(/dependency="[^"]*"[^\n]*} 0\n/);
    expect(text).toContain(`${METRICS.waitingCaseGroups}{group="router.route",partition="0",service="router"} 3`);
    expect(text).toContain(`${METRICS.waitingCaseGroups}{group="router.route",partition="1",service="router"} 0`);
    const oldest = Number(new RegExp(`${METRICS.waitingOldest}\\{group="router.route",partition="0",service="router"\\} ([\\d.]+)`).exec(text)?.[1]);
    expect(oldest).toBeGreaterThanOrEqual(600);
    expect(oldest).toBeLessThan(700);
    expect(text).toContain(`${METRICS.waitingOldest}{group="router.route",partition="1",service="router"} 0`);
  });

  it('a broker away leaves lag out of the scrape instead of failing it', async () => {
    const m = createServiceMetrics('router');
    m.watch('g', view({ lag: () => Promise.reject(new Error('broker away')) }));
    const text = await m.registry.metrics();
    expect(text).not.toContain(`${METRICS.consumerLag}{`);
    expect(text).toContain(`${METRICS.tasksAssigned}{group="g",service="router"} 2`);
  });

  it('is ready when every group has joined and every partition is restored or has nothing waiting', async () => {
    const m = createServiceMetrics('sr-events');
    expect((await m.readiness()).ready).toBe(false); // no runner yet
    m.watch('a', view({ assignment: () => [{ topic: 't', partition: 0, ready: true }] }));
    expect((await m.readiness()).ready).toBe(true);
    m.watch('b', view({ joined: () => false, assignment: () => [] }));
    expect(await m.readiness()).toEqual({ ready: false, detail: { a: { joined: true, partitions: 1, restored: 1, waiting: 0 }, b: { joined: false, partitions: 0, restored: 0, waiting: 0 } } });
    // Not restored: ready while nothing waits on it (lag 0), not while records do (lag 7).
    const m2 = createServiceMetrics('router');
    let records = 0;
    m2.watch('c', view({ assignment: () => [{ topic: 'cms.router-inbox.v1', partition: 2, ready: false }], lag: () => Promise.resolve([{ topic: 'cms.router-inbox.v1', partition: 2, records }]) }));
    expect((await m2.readiness()).ready).toBe(true);
    records = 7;
    expect(await m2.readiness()).toEqual({ ready: false, detail: { c: { joined: true, partitions: 1, restored: 0, waiting: 1 } } });
  });
});

describe('ops server', () => {
  it('serves /healthz, /readyz (503 until ready) and /metrics over HTTP', async () => {
    const m = createServiceMetrics('notifier');
    let ready = false;
    const server = await startOpsServer({ port: 0, host: '127.0.0.1', service: 'notifier', metrics: m, logger: createLogger({ service: 'notifier', level: 'silent' }), ready: () => Promise.resolve({ ready, detail: { g: { partitions: 1 } } }) });
    try {
      const health = await fetch(`${server.url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ status: 'ok', service: 'notifier' });
      const notReady = await fetch(`${server.url}/readyz`);
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual({ status: 'not ready', service: 'notifier', detail: { g: { partitions: 1 } } });
      ready = true;
      expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
      const metrics = await fetch(`${server.url}/metrics`);
      expect(metrics.headers.get('content-type')).toContain('text/plain');
      expect(await metrics.text()).toContain('cms_service_info{version=');
      expect((await fetch(`${server.url}/nothing`)).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});
