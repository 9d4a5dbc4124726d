// The test apps of the signed-in user's tenant: each framework with its real auth middleware
// (Passport + passport-http-bearer on Express, koa-jwt on Koa, @fastify/jwt on Fastify) and the
// scope opened route-level, after it. The same routes on the three:
//   GET/POST /pages           auth, then the opener, then the handler
//   GET /optional/pages       auth that lets an anonymous visitor through, then the opener
//   GET /misordered/pages     the opener mounted BEFORE auth (a configuration mistake)
//   GET /fail                 auth, opener, a handler that throws (the error handler reports)
//   GET /pre/pages            Fastify only: auth in onRequest, the opener in preHandler
// With `outer`, an app-wide opener (X-Tenant) runs first and the route-level one inside it.
import { createServer } from 'node:http';
import fastifyJwt from '@fastify/jwt';
import { type ScopeValues, scope } from '@knex-scopes/core';
import type { TenantResolver } from '@knex-scopes/core/http';
import { scopingMiddleware as expressScoping } from '@knex-scopes/express';
import { knexScopes, scopeHook } from '@knex-scopes/fastify';
import { scopingMiddleware as koaScoping } from '@knex-scopes/koa';
import Router from '@koa/router';
import express, { type NextFunction, type Request, type Response } from 'express';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import jwt from 'jsonwebtoken';
import type { Knex } from 'knex';
import Koa, { type Context, type Next } from 'koa';
import koaJwt from 'koa-jwt';
import passport from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import { closeServer, type Framework, listenOn, type RunningApp } from './apps';
import { forwardRejection } from './express-async';
import { createPage, errorBody, pagesOf, scopeNow, statusOf } from './handlers';
import type { Tenant } from './schema';

export const JWT_SECRET = 'a-jwt-secret-of-at-least-32-characters!!';

/** The signed-in user every auth middleware here produces (the claims of its token). */
export interface AuthUser {
  readonly sub: string;
  readonly orgSlug?: string;
  /** The tenant, already loaded (as a `deserializeUser` or a claim would have it). */
  readonly org?: Tenant | null;
}

/** A token for a user of `tenant` (or of none). */
export function tokenFor(tenant: Tenant | null): string {
  const claims: AuthUser = tenant
    ? { sub: `user-${tenant.slug}`, orgSlug: tenant.slug, org: tenant }
    : { sub: 'orphan', org: null };
  return jwt.sign(claims, JWT_SECRET);
}

export interface AuthAppOptions {
  readonly db: Knex;
  /** The route-level opener's resolver: the tenant of the signed-in user. */
  readonly resolver: TenantResolver<unknown>;
  /** An app-wide opener that runs first (from X-Tenant); the route-level one runs inside it. */
  readonly outer?: TenantResolver<Tenant>;
  /** Start listening inside this scope (it must be ignored, not taken for an adapter's). */
  readonly listenInScope?: ScopeValues;
}

const whoami = (tenant: unknown) => ({ tenant: tenant ?? null, scope: scopeNow() });

// ---- Express (5 and 4) + Passport -----------------------------------------------------------------

function expressAuthApp(o: AuthAppOptions): express.Express {
  const auth = new passport.Passport();
  auth.use(
    new BearerStrategy((token, done) => {
      try {
        done(null, jwt.verify(token, JWT_SECRET) as AuthUser);
      } catch {
        done(null, false);
      }
    }),
  );
  const required = auth.authenticate('bearer', { session: false });
  // Optional auth: the custom callback lets an anonymous visitor through (Passport ran).
  const optional = (req: Request, res: Response, next: NextFunction) =>
    auth.authenticate('bearer', { session: false }, (error: unknown, user: AuthUser | false) => {
      if (error) return next(error);
      if (user) req.user = user;
      next();
    })(req, res, next);
  const open = expressScoping(o.resolver);

  const app = express();
  if (o.outer) app.use(expressScoping(o.outer));
  app.use(express.json());
  app.get(
    '/pages',
    required,
    open,
    forwardRejection(async (req, res) => {
      res.json({ ...whoami(req.tenant), ...(await pagesOf(o.db)) });
    }),
  );
  app.post(
    '/pages',
    required,
    open,
    forwardRejection(async (req, res) => {
      res.json({ ...whoami(req.tenant), page: await createPage(o.db, req.body?.title) });
    }),
  );
  const pages = forwardRejection(async (req, res) => {
    res.json({ ...whoami(req.tenant), ...(await pagesOf(o.db)) });
  });
  app.get('/optional/pages', optional, open, pages);
  app.get('/misordered/pages', open, required, pages);
  app.get(
    '/fail',
    required,
    open,
    forwardRejection(async () => {
      await Promise.resolve();
      throw new Error('handler failed');
    }),
  );
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    res.status(statusOf(error)).json(errorBody(error, req.tenant, 'error middleware'));
  });
  return app;
}

// ---- Koa (3 and 2) + koa-jwt + @koa/router --------------------------------------------------------

function koaAuthApp(o: AuthAppOptions): Koa {
  const required = koaJwt({ secret: JWT_SECRET });
  const optional = koaJwt({ secret: JWT_SECRET, passthrough: true });
  const open = koaScoping(o.resolver);
  const pages = async (ctx: Context) => {
    ctx.body = { ...whoami(ctx.state.tenant), ...(await pagesOf(o.db)) };
  };

  const app = new Koa();
  app.silent = true;
  app.use(async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (error) {
      ctx.status = statusOf(error);
      ctx.body = errorBody(error, ctx.state.tenant, 'error middleware');
    }
  });
  if (o.outer) app.use(koaScoping(o.outer));
  app.use(async (ctx, next) => {
    if (ctx.is('application/json')) (ctx.request as { body?: unknown }).body = await readJson(ctx);
    return next();
  });
  const router = new Router();
  router.get('/pages', required, open, pages);
  router.post('/pages', required, open, async (ctx) => {
    const title = (ctx.request as { body?: { title?: unknown } }).body?.title;
    ctx.body = { ...whoami(ctx.state.tenant), page: await createPage(o.db, title) };
  });
  router.get('/optional/pages', optional, open, pages);
  router.get('/misordered/pages', open, required, pages);
  router.get('/fail', required, open, async () => {
    await Promise.resolve();
    throw new Error('handler failed');
  });
  app.use(router.routes());
  return app;
}

function readJson(ctx: Context): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let text = '';
    ctx.req.setEncoding('utf8');
    ctx.req.on('data', (chunk: string) => {
      text += chunk;
    });
    ctx.req.on('end', () => resolve(text ? JSON.parse(text) : undefined));
    ctx.req.on('error', reject);
  });
}

// ---- Fastify (5 and 4) + @fastify/jwt -------------------------------------------------------------

type Staged = FastifyRequest & { stages?: Record<string, unknown> };

async function fastifyAuthApp(o: AuthAppOptions) {
  const app = Fastify();
  await app.register(fastifyJwt, { secret: JWT_SECRET });
  // The @fastify/jwt README's hook: answers 401 itself when the token does not verify.
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      await request.jwtVerify();
    } catch (error) {
      return reply.send(error);
    }
  };
  // Optional auth: an anonymous visitor goes on, marked as such (request.user no longer null).
  const optional = async (request: FastifyRequest) => {
    try {
      await request.jwtVerify();
    } catch {
      (request as { user: unknown }).user = undefined;
    }
  };
  await app.register(knexScopes, { resolveTenant: o.outer ?? null });
  const open = scopeHook(o.resolver);

  app.addHook('preValidation', (request, _reply, done) => {
    (request as Staged).stages = { preValidation: scopeNow() };
    done();
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    reply.header('x-onsend-scope', JSON.stringify(scopeNow()));
    done(null, payload);
  });
  app.setErrorHandler((error, request, reply) => {
    reply.code(statusOf(error)).send(errorBody(error, request.tenant, 'error handler'));
  });
  const pages = async (request: FastifyRequest) => ({
    ...whoami(request.tenant),
    stages: (request as Staged).stages,
    ...(await pagesOf(o.db)),
  });
  app.get('/pages', { onRequest: [authenticate, open] }, pages);
  app.post('/pages', { onRequest: [authenticate, open] }, async (request) => ({
    ...whoami(request.tenant),
    page: await createPage(o.db, (request.body as { title?: unknown } | undefined)?.title),
  }));
  app.get('/optional/pages', { onRequest: [optional, open] }, pages);
  app.get('/misordered/pages', { onRequest: [open, authenticate] }, pages);
  app.get('/pre/pages', { onRequest: [authenticate], preHandler: [open] }, pages);
  app.get('/fail', { onRequest: [authenticate, open] }, async () => {
    await Promise.resolve();
    throw new Error('handler failed');
  });
  await app.ready();
  return app;
}

export async function buildAuthApp(framework: Framework, o: AuthAppOptions): Promise<RunningApp> {
  const start = async (): Promise<RunningApp> => {
    if (framework === 'fastify') {
      const app = await fastifyAuthApp(o);
      await app.listen({ port: 0, host: '127.0.0.1' });
      return { server: app.server, close: () => app.close() };
    }
    const handler = framework === 'express' ? expressAuthApp(o) : koaAuthApp(o).callback();
    const server = await listenOn(createServer(handler));
    return { server, close: () => closeServer(server) };
  };
  return o.listenInScope ? scope(o.listenInScope, start) : start();
}
