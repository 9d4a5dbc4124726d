// The test app on Koa (3, and 2 under scripts/test-frameworks.sh): an outer error middleware
// (outside the scope, sees ctx.state.tenant), an inner one (inside the scope), body parsers after
// the adapter.
import { createServer } from 'node:http';
import { scope } from '@knex-scopes/core';
import { scopingMiddleware } from '@knex-scopes/koa';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import { koaBody } from 'koa-body';
import { createSession } from 'koa-session';
import { type AppOptions, closeServer, listenOn, type RunningApp, SESSION_SECRET } from './apps';
import {
  bodySize,
  createPage,
  errorBody,
  isExemptPath,
  pagesOf,
  SESSION_FIELD,
  scopedStream,
  scopeNow,
  slug,
  statusOf,
  tryScopedQuery,
} from './handlers';

type SessionCtx = Context & { session: Record<string, unknown> | null; request: { body?: unknown; files?: unknown } };

function externalStore() {
  const data = new Map<string, unknown>();
  return {
    get: async (key: string) => data.get(key),
    set: async (key: string, value: unknown) => {
      data.set(key, value);
    },
    destroy: async (key: string) => {
      data.delete(key);
    },
  };
}

function errorCatcher(where: string): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      ctx.status = statusOf(error);
      ctx.body = errorBody(error, ctx.state.tenant, where);
    }
  };
}

export async function koaApp(o: AppOptions): Promise<RunningApp> {
  const app = new Koa();
  app.proxy = o.trustProxy === true;
  app.keys = [SESSION_SECRET];
  app.silent = true;
  app.use(async (ctx, next) => {
    ctx.set('x-pre-scope', JSON.stringify(scopeNow()));
    await next();
  });
  app.use(errorCatcher('outer error middleware'));
  // Only created when asked for: createSession() defines ctx.session on the app.
  const sessions = o.session
    ? createSession(app, o.sessionStore === 'external' ? { store: externalStore() } : {})
    : undefined;
  if (o.session === 'before' && sessions) app.use(sessions);
  const adapter = scopingMiddleware(o.resolver, {
    exempt: (ctx) => isExemptPath(ctx.path) || ctx.path === '/signup',
    statuses: o.statuses,
    onRejected: o.customRejection
      ? (r, ctx) => {
          ctx.status = r.status === 404 ? 410 : r.status;
          ctx.type = 'text/plain';
          ctx.body = `custom ${r.error.code}`;
        }
      : undefined,
  });
  const router = new Router(o.paramRoutes ? { prefix: '/p/:tenant' } : {});
  if (o.paramRoutes) router.use(adapter);
  else app.use(adapter);
  if (o.session === 'after' && sessions) app.use(sessions);
  app.use(errorCatcher('inner error middleware'));
  app.use(bodyParser({ enableTypes: ['json', 'form', 'text'], jsonLimit: '2mb', formLimit: '2mb', textLimit: '2mb' }));
  app.use(async (ctx, next) => {
    ctx.state.stages = { afterParser: scopeNow() };
    await next();
  });

  const whoami = (ctx: Context) => ({ tenant: slug(ctx.state.tenant), scope: scopeNow(), stages: ctx.state.stages });
  const body = (ctx: Context) => (ctx as SessionCtx).request.body;
  router.get(['/whoami', '/t/:slug/whoami'], (ctx) => {
    ctx.body = whoami(ctx);
  });
  router.get(['/pages', '/t/:slug/pages'], async (ctx) => {
    ctx.body = { ...whoami(ctx), ...(await pagesOf(o.db)) };
  });
  router.post('/pages', async (ctx) => {
    const title = (body(ctx) as { title?: unknown } | undefined)?.title;
    ctx.body = { ...whoami(ctx), page: await createPage(o.db, title), bytes: bodySize(body(ctx)) };
  });
  router.post('/echo', (ctx) => {
    ctx.body = { ...whoami(ctx), bytes: bodySize(body(ctx)) };
  });
  router.post('/upload', koaBody({ multipart: true }), (ctx) => {
    const file = (ctx.request as { files?: { file?: { size: number } } }).files?.file;
    ctx.body = { ...whoami(ctx), bytes: file?.size ?? 0 };
  });
  router.get('/stream', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = scopedStream();
  });
  router.get('/stream-web', (ctx) => {
    ctx.type = 'text/plain';
    ctx.body = ReadableStream.from(scopedStream());
  });
  router.get('/fail/sync', () => {
    throw new Error('sync failure');
  });
  router.get('/fail/async', async () => {
    await Promise.resolve();
    throw new Error('async failure');
  });
  router.get(['/public/health', '/signup'], async (ctx) => {
    ctx.body = { ...whoami(ctx), query: await tryScopedQuery(o.db) };
  });
  router.post('/public/login', (ctx) => {
    const session = (ctx as SessionCtx).session as Record<string, unknown>;
    session[SESSION_FIELD] = (body(ctx) as { value?: unknown } | undefined)?.value;
    ctx.body = { ok: true };
  });
  app.use(router.routes());
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { notFound: true, scope: scopeNow(), tenant: slug(ctx.state.tenant) };
  });

  const server = createServer(app.callback());
  if (o.listenInScope) await scope(o.listenInScope, () => listenOn(server));
  else await listenOn(server);
  return { server, close: () => closeServer(server) };
}
