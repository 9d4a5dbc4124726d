// The test app on Fastify (5, and 4 under scripts/test-frameworks.sh): JSON, form and a
// stream-reading custom parser; an async preValidation hook; onSend/onResponse hooks; error and
// not-found handlers.
import { fastifyCookie } from '@fastify/cookie';
import { fastifyFormbody } from '@fastify/formbody';
import { fastifySession } from '@fastify/session';
import { scope } from '@knex-scopes/core';
import { knexScopes } from '@knex-scopes/fastify';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import type { AppOptions, RunningApp } from './apps';
import { SESSION_SECRET } from './apps';
import {
  bodySize,
  createPage,
  errorBody,
  isExemptPath,
  pagesOf,
  type ScopeJson,
  SESSION_FIELD,
  scopedStream,
  scopeNow,
  slug,
  statusOf,
  tryScopedQuery,
} from './handlers';

type Staged = FastifyRequest & { stages?: Record<string, ScopeJson> };

async function registerSessions(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCookie);
  await app.register(fastifySession, { secret: SESSION_SECRET, cookie: { secure: false }, saveUninitialized: false });
}

function routes(app: FastifyInstance, o: AppOptions): void {
  const whoami = (req: FastifyRequest) => ({
    tenant: slug(req.tenant),
    scope: scopeNow(),
    stages: (req as Staged).stages,
  });
  app.get('/whoami', async (req) => whoami(req));
  app.get('/t/:slug/whoami', async (req) => whoami(req));
  app.get('/pages', async (req) => ({ ...whoami(req), ...(await pagesOf(o.db)) }));
  app.get('/t/:slug/pages', async (req) => ({ ...whoami(req), ...(await pagesOf(o.db)) }));
  app.post('/pages', async (req) => ({
    ...whoami(req),
    page: await createPage(o.db, (req.body as { title?: unknown } | undefined)?.title),
    bytes: bodySize(req.body),
  }));
  app.post('/echo', async (req) => ({ ...whoami(req), bytes: bodySize(req.body) }));
  app.get('/stream', async (_req, reply) => reply.type('text/plain').send(scopedStream()));
  app.get('/fail/sync', () => {
    throw new Error('sync failure');
  });
  app.get('/fail/async', async () => {
    await Promise.resolve();
    throw new Error('async failure');
  });
  const exemptHandler = async (req: FastifyRequest) => ({ ...whoami(req), query: await tryScopedQuery(o.db) });
  app.get('/public/health', exemptHandler);
  app.get('/signup', { config: { knexScopes: { exempt: true } } }, exemptHandler);
  app.post('/public/login', async (req) => {
    req.session.set(SESSION_FIELD, (req.body as { value?: unknown } | undefined)?.value);
    return { ok: true };
  });
}

export async function fastifyApp(o: AppOptions): Promise<RunningApp> {
  const app = Fastify({ trustProxy: o.trustProxy === true, bodyLimit: 2 * 1024 * 1024 });
  app.addHook('onRequest', (_req, reply, done) => {
    reply.header('x-pre-scope', JSON.stringify(scopeNow()));
    done();
  });
  if (o.session === 'before') await registerSessions(app);
  await app.register(knexScopes, {
    resolveTenant: o.resolver,
    exempt: (req) => isExemptPath(req.url),
    statuses: o.statuses,
    onRejected: o.customRejection
      ? (r, _req, reply) =>
          reply
            .code(r.status === 404 ? 410 : r.status)
            .type('text/plain')
            .send(`custom ${r.error.code}`)
      : undefined,
  });
  if (o.session === 'after') await registerSessions(app);
  await app.register(fastifyFormbody);
  // A callback parser reading stream events: its completion must come back in the scope.
  app.addContentTypeParser('text/plain', (_req, payload, done) => {
    let text = '';
    payload.setEncoding('utf8');
    payload.on('data', (chunk: string) => {
      text += chunk;
    });
    payload.on('end', () => done(null, text));
    payload.on('error', done);
  });
  app.addHook('preValidation', async (req) => {
    await new Promise((resolve) => setTimeout(resolve, 1));
    (req as Staged).stages = { preValidation: scopeNow() };
  });
  app.addHook('onSend', (_req, reply, payload, done) => {
    reply.header('x-onsend-scope', JSON.stringify(scopeNow()));
    done(null, payload);
  });
  app.addHook('onResponse', (req, _reply, done) => {
    const id = req.headers['x-request-id'];
    if (typeof id === 'string') o.lifecycle?.set(id, scopeNow());
    done();
  });
  app.setErrorHandler((error, req, reply) => {
    reply.code(statusOf(error)).send(errorBody(error, req.tenant, 'error handler'));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send({ notFound: true, scope: scopeNow(), tenant: slug(req.tenant) });
  });
  if (o.paramRoutes) await app.register(async (child) => routes(child, o), { prefix: '/p/:tenant' });
  else routes(app, o);

  const listen = () => app.listen({ port: 0, host: '127.0.0.1' });
  if (o.listenInScope) await scope(o.listenInScope, listen);
  else await listen();
  return { server: app.server, close: () => app.close() };
}
