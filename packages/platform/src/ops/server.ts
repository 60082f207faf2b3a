import Fastify, { type FastifyInstance } from 'fastify';
import { LOG_FIELDS } from '../log-fields.ts';
import type { Logger } from '../logger.ts';
import type { ServiceMetrics } from './metrics.ts';

/** What readiness asks of the service: each check's name and whether it passes now. */
export type ReadinessCheck = () => Promise<{ readonly ready: boolean; readonly detail: Record<string, unknown> }>;

export interface OpsServer {
  /** The address it listens on (port 0 picks one). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * The operator's view of a service, on its own port (OPS_PORT): `/healthz` (the process answers),
 * `/readyz` (connected, partitions assigned, state restored: 503 with what is missing otherwise) and
 * `/metrics` (Prometheus text). Fastify, with a response schema per route; no route takes input, and
 * nothing here carries personal data: counts, ids of partitions, codes.
 */
export async function startOpsServer(opts: { readonly port: number; readonly host?: string; readonly service: string; readonly metrics: ServiceMetrics; readonly ready: ReadinessCheck; readonly logger: Logger }): Promise<OpsServer> {
  const app: FastifyInstance = Fastify({ logger: false });
  const status = { type: 'object', properties: { status: { type: 'string' }, service: { type: 'string' } }, required: ['status', 'service'] } as const;
  app.get('/healthz', { schema: { response: { 200: status } } }, () => Promise.resolve({ status: 'ok', service: opts.service }));
  app.get('/readyz', { schema: { response: { 200: { ...status, properties: { ...status.properties, detail: { type: 'object', additionalProperties: true } } }, 503: { ...status, properties: { ...status.properties, detail: { type: 'object', additionalProperties: true } } } } } }, async (_req, reply) => {
    const r = await opts.ready().catch(() => ({ ready: false, detail: { error: 'readiness check failed' } }));
    return reply.code(r.ready ? 200 : 503).send({ status: r.ready ? 'ready' : 'not ready', service: opts.service, detail: r.detail });
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await opts.metrics.registry.metrics();
    return reply.type(opts.metrics.registry.contentType).send(text);
  });
  // No stack trace or internal message reaches a caller.
  app.setErrorHandler((err, _req, reply) => {
    opts.logger.warn({ [LOG_FIELDS.code]: 'CMS_OPS_ERROR', err }, 'ops endpoint failed');
    void reply.code(500).send({ status: 'error', service: opts.service });
  });
  const url = await app.listen({ port: opts.port, host: opts.host ?? '0.0.0.0' });
  opts.logger.info({ url }, 'ops server listening (/healthz, /readyz, /metrics)');
  return { url, close: () => app.close() };
}
