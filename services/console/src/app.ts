import { resolve } from 'node:path';
import { createRequire } from 'node:module';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyCookie from '@fastify/cookie';
import fastifyStatic from '@fastify/static';
import fastifySwagger from '@fastify/swagger';
import { CmsError, isCmsError } from '@cms-router/errors';
import type { Assignment } from '@cms-router/events';
import { LOG_FIELDS, type Logger, type SinkRecord } from '@cms-router/platform';
import { caseGroupAccess, maySeeItem, maySeeSegment, type ConsoleUser } from './access.ts';
import { COOKIES, type Auth } from './auth.ts';
import { caseGroupPage, dashboardFragment, dashboardPage, errorPage, type DashboardData } from './page.ts';
import type { Queries } from './queries.ts';
import * as S from './schemas.ts';

export interface ConsoleServerOptions {
  readonly port: number;
  readonly host: string;
  readonly publicUrl: string | undefined;
  readonly auth: Auth;
  readonly queries: Queries;
  readonly restricted: ReadonlySet<string>;
  readonly logger: Logger;
  readonly secureCookies: boolean;
}

export interface ConsoleServer {
  readonly url: string;
  /** Tell the live streams what the sink just committed. */
  committed(records: readonly SinkRecord[]): void;
  close(): Promise<void>;
}

const STATUS: Partial<Record<string, number>> = { CMS_SIGN_IN_REQUIRED: 401, CMS_ACCESS_DENIED: 403, CMS_DATABASE_UNAVAILABLE: 503, CMS_EVENT_INVALID: 400 };
const CASE_GROUP_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

/** A work item a committed record touched, for the live streams (placements and assignments carry one). */
function touched(r: SinkRecord): { caseGroupId: string; subject: string; segment: string; team: string | null } | undefined {
  if ((r.topic !== 'cms.placements.v1' && r.topic !== 'cms.assignments.v1') || r.value === null || r.value === undefined) return undefined;
  const a = r.value as Assignment;
  return { caseGroupId: a.caseGroupId, subject: a.subject, segment: a.segment, team: a.team };
}

/**
 * The console's HTTP side (fastify): the query API under /api (a JSON schema per route, OpenAPI at
 * /api/docs/json), the live page and its fragment, the server-sent event stream, and the sign-in
 * routes. Every route but the sign-in ones needs a signed-in user, and every answer is cut to what
 * that user may see (access.ts). Errors answer with a code and a sentence, never a stack trace.
 */
export async function startConsoleServer(o: ConsoleServerOptions): Promise<ConsoleServer> {
  const app: FastifyInstance = Fastify({ logger: false, trustProxy: false });
  const log = o.logger.child({ component: 'http' });
  await app.register(fastifyCookie);
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'CMS work allocation console API', version: '1', description: 'Backlog, moves, approval tasks, orphans, rejections and case groups, cut to what the signed-in user may see. Send the session cookie, or the issuer\'s ID token as a bearer token.' },
      components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: COOKIES.session }, bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ session: [] }, { bearer: [] }],
    },
  });
  const govuk = resolve(createRequire(import.meta.url).resolve('govuk-frontend/package.json'), '..', 'dist', 'govuk');
  await app.register(fastifyStatic, { root: resolve(govuk, 'assets'), prefix: '/assets/', decorateReply: false });
  await app.register(fastifyStatic, { root: govuk, prefix: '/govuk/', decorateReply: false, allowedPath: (path) => /^\/govuk-frontend\.min\.(css|js)(\.map)?$/.test(path) });
  await app.register(fastifyStatic, { root: resolve(import.meta.dirname, '..', 'public'), prefix: '/static/', decorateReply: false });

  let baseUrl = o.publicUrl ?? '';
  const redirectUri = (): string => `${baseUrl}/auth/callback`;
  const cookieOptions = { path: '/', httpOnly: true, sameSite: 'lax' as const, secure: o.secureCookies };

  const userOf = async (req: FastifyRequest): Promise<ConsoleUser> => {
    const header = req.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice(7) : undefined;
    return o.auth.user(req.cookies[COOKIES.session], bearer);
  };
  const segmentAllowed = (user: ConsoleUser, segment: string | undefined): void => {
    if (segment !== undefined && !maySeeSegment(user, segment, o.restricted)) throw new CmsError('CMS_ACCESS_DENIED', `You may not see the figures of segment ${segment}.`);
  };
  const dashboard = async (user: ConsoleUser): Promise<DashboardData> => {
    const [backlog, moves, approvals, orphans, rejections, unallocated] = await Promise.all([
      o.queries.backlog(user, {}), o.queries.moves(user, { hours: 24 }), o.queries.approvals(user), o.queries.orphans(user), o.queries.rejections(user), o.queries.unallocated(user),
    ]);
    return { user, backlog, moves, approvals, orphans, rejections, unallocated, updatedAt: new Date().toISOString() };
  };
  const caseGroupView = async (user: ConsoleUser, id: string) => {
    if (!CASE_GROUP_ID.test(id)) throw new CmsError('CMS_EVENT_INVALID', 'a case group id is letters, digits, dots, colons and dashes (at most 100)');
    const access = caseGroupAccess(user, await o.queries.workOf(id), o.restricted);
    if (access === 'unknown') return undefined;
    if (access === 'denied') throw new CmsError('CMS_ACCESS_DENIED', `Case group ${id} is held where you do not have access.`);
    return o.queries.caseGroup(id);
  };

  // ------------------------------------------------------------------ sign-in
  app.get('/auth/login', { schema: { hide: true, querystring: S.returnTo } }, async (req, reply) => {
    const returnTo = (req.query as { returnTo?: string }).returnTo ?? '/';
    const { url, state } = await o.auth.begin(returnTo, redirectUri());
    void reply.setCookie(COOKIES.signIn, state, { ...cookieOptions, maxAge: 600 });
    return reply.redirect(url);
  });
  app.get('/auth/callback', { schema: { hide: true } }, async (req, reply) => {
    const url = new URL(req.url, baseUrl);
    const { session, returnTo, user } = await o.auth.complete(url, req.cookies[COOKIES.signIn]);
    log.info({ user: user.sub, role: user.role }, 'signed in');
    void reply.clearCookie(COOKIES.signIn, { path: '/' });
    void reply.setCookie(COOKIES.session, session, cookieOptions);
    return reply.redirect(returnTo);
  });
  app.get('/auth/logout', { schema: { hide: true } }, async (_req, reply) => {
    void reply.clearCookie(COOKIES.session, { path: '/' });
    return reply.redirect((await o.auth.signOutUrl(`${baseUrl}/`)) ?? '/');
  });

  // ------------------------------------------------------------------ pages
  app.get('/', { schema: { hide: true } }, async (req, reply) => {
    const user = await userOf(req);
    return reply.type('text/html; charset=utf-8').send(dashboardPage(await dashboard(user)));
  });
  app.get('/fragments/dashboard', { schema: { hide: true } }, async (req, reply) => {
    const user = await userOf(req);
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(dashboardFragment(await dashboard(user)));
  });
  app.get('/case-groups', { schema: { hide: true, querystring: S.search } }, async (req, reply) => {
    const user = await userOf(req);
    const id = ((req.query as { id?: string }).id ?? '').trim();
    if (!CASE_GROUP_ID.test(id)) return reply.code(400).type('text/html; charset=utf-8').send(dashboardPage(await dashboard(user), 'Enter a case group id: letters, digits, dots, colons and dashes'));
    return reply.redirect(`/case-groups/${encodeURIComponent(id)}`);
  });
  app.get('/case-groups/:id', { schema: { hide: true, params: S.idParam } }, async (req, reply) => {
    const user = await userOf(req);
    const id = (req.params as { id: string }).id;
    const view = await caseGroupView(user, id);
    if (!view) return reply.code(404).type('text/html; charset=utf-8').send(errorPage(user, 404, 'Case group not found', `No work of case group ${id} is held anywhere you can see, or it has none in progress.`));
    return reply.type('text/html; charset=utf-8').send(caseGroupPage(user, view));
  });

  // ------------------------------------------------------------------ API
  app.get('/api/me', { schema: { summary: 'The signed-in user', response: { 200: S.user } } }, async (req) => userOf(req));
  app.get('/api/backlog', { schema: { summary: 'Work in progress by segment, region, team and kind', querystring: S.placeFilter, response: { 200: S.list(S.backlogRow) } } }, async (req) => {
    const user = await userOf(req);
    const q = req.query as { segment?: string; region?: string; team?: string };
    segmentAllowed(user, q.segment);
    return o.queries.backlog(user, q);
  });
  app.get('/api/moves', { schema: { summary: 'Case groups arriving in and leaving segments, per hour', querystring: S.movesQuery, response: { 200: S.list(S.moveRow) } } }, async (req) => {
    const user = await userOf(req);
    const q = req.query as { hours?: number; segment?: string };
    segmentAllowed(user, q.segment);
    return o.queries.moves(user, { hours: q.hours ?? 24, segment: q.segment });
  });
  app.get('/api/approvals', { schema: { summary: 'Approval tasks waiting for a team leader, with their age', response: { 200: S.list(S.approvalRow) } } }, async (req) => o.queries.approvals(await userOf(req)));
  app.get('/api/orphans', { schema: { summary: 'Orphaned case groups and their recovery (latest state per case group and caseworker)', response: { 200: S.list(S.orphanRow) } } }, async (req) => o.queries.orphans(await userOf(req)));
  app.get('/api/rejections', { schema: { summary: 'Rejections needing action, by code, with the fix and the replay command', response: { 200: S.list(S.rejectionGroup) } } }, async (req) => o.queries.rejections(await userOf(req)));
  app.get('/api/unallocated', { schema: { summary: 'Case groups waiting for a caseworker, by age', response: { 200: S.list(S.unallocatedRow) } } }, async (req) => o.queries.unallocated(await userOf(req)));
  app.get('/api/case-groups/:id', { schema: { summary: 'One case group: where its work is, why, and its history', params: S.idParam, response: { 200: S.caseGroup, 404: S.error } } }, async (req, reply) => {
    const user = await userOf(req);
    const view = await caseGroupView(user, (req.params as { id: string }).id);
    if (!view) return reply.code(404).send({ code: 'CMS_UNKNOWN_CASE_GROUP', message: 'no work of this case group is held anywhere you can see' });
    return view;
  });
  app.get('/api/docs/json', { schema: { hide: true } }, () => app.swagger());

  // ------------------------------------------------------------------ live stream
  type Client = { user: ConsoleUser; reply: FastifyReply; ids: Set<string>; count: number; timer: NodeJS.Timeout | undefined };
  const clients = new Set<Client>();
  const flush = (c: Client): void => {
    c.timer = undefined;
    const data = JSON.stringify({ count: c.count, caseGroupIds: [...c.ids].slice(0, 50) });
    c.ids.clear();
    c.count = 0;
    c.reply.raw.write(`event: changed\ndata: ${data}\n\n`);
  };
  app.get('/api/stream', { schema: { summary: 'Server-sent events: `changed` when work the user may see has changed (ids of its case groups, at most one event a second)', querystring: S.streamQuery } }, async (req, reply) => {
    const user = await userOf(req);
    segmentAllowed(user, (req.query as { segment?: string }).segment);
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    reply.raw.write(`event: ready\ndata: {}\n\n`);
    const client: Client = { user, reply, ids: new Set(), count: 0, timer: undefined };
    clients.add(client);
    const keepAlive = setInterval(() => reply.raw.write(': keep-alive\n\n'), 15_000);
    req.raw.on('close', () => {
      clearInterval(keepAlive);
      if (client.timer) clearTimeout(client.timer);
      clients.delete(client);
    });
  });

  app.setErrorHandler((err, req, reply) => {
    const e = isCmsError(err) ? err : (err as { validation?: unknown }).validation ? new CmsError('CMS_EVENT_INVALID', `the request is not valid: ${(err as Error).message}`) : undefined;
    const status = e ? (STATUS[e.code] ?? 500) : 500;
    if (status >= 500) log.warn({ [LOG_FIELDS.code]: e?.code ?? 'CMS_INTERNAL', err }, 'console request failed');
    const body = { code: e?.code ?? 'CMS_INTERNAL', message: status === 500 ? 'something went wrong; it has been logged' : (e?.message ?? '') };
    const page = !req.url.startsWith('/api/') && !req.url.startsWith('/fragments/');
    if (page && status === 401) return reply.redirect(`/auth/login?returnTo=${encodeURIComponent(req.url)}`);
    if (page) {
      const title = status === 403 ? 'You do not have access' : status === 400 ? 'Check what you entered' : status === 503 ? 'Sorry, the figures are not available' : 'Sorry, there is a problem';
      return reply.code(status).type('text/html; charset=utf-8').send(errorPage(null, status, title, body.message));
    }
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` }));

  const address = await app.listen({ port: o.port, host: o.host });
  if (!o.publicUrl) baseUrl = address.replace('://[::1]', '://localhost');
  log.info({ url: baseUrl }, 'console listening');
  return {
    url: baseUrl,
    committed(records) {
      if (clients.size === 0) return;
      const items = records.map(touched).filter((x) => x !== undefined);
      if (items.length === 0) return;
      for (const c of clients) {
        const mine = items.filter((i) => maySeeItem(c.user, i, o.restricted));
        if (mine.length === 0) continue;
        for (const i of mine) c.ids.add(i.caseGroupId);
        c.count += mine.length;
        c.timer ??= setTimeout(() => { flush(c); }, 1_000);
      }
    },
    async close() {
      for (const c of clients) {
        if (c.timer) clearTimeout(c.timer);
        c.reply.raw.end();
      }
      clients.clear();
      await app.close();
    },
  };
}
