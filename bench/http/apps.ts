// The three variants of the same app on each framework, for bench/http/run.ts: one read of a
// scoped table per request, the tenant from the X-Tenant header, tenants cached in memory.
//   hand     a hand-written tenant filter, no AsyncLocalStorage
//   als      the same, the tenant carried in an AsyncLocalStorage of its own
//   adapter  @knex-scopes/<framework> + the scoped Knex
//   knex     (with --split) the hand-written middleware opening core's scope + the scoped Knex,
//            to tell the adapter's share of the cost from the scoped Knex's
//   adapter-hand (for bench:profile) the adapter, the query filtered by hand by the tenant it
//            resolved, through the plain Knex: the adapter's share seen from the other side
//   als-again (with --aa) a second, identical als server: what the harness reads between two
//            equal variants is its resolution on this machine
import { AsyncLocalStorage } from 'node:async_hooks';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { defineScopes, scopeStorage } from '@knex-scopes/core';
import { fromHeader, tenantResolver } from '@knex-scopes/core/http';
import { scopingMiddleware as expressScoping } from '@knex-scopes/express';
import { knexScopes } from '@knex-scopes/fastify';
import { scopingMiddleware as koaScoping } from '@knex-scopes/koa';
import express, { type NextFunction, type Request, type Response } from 'express';
import Fastify from 'fastify';
import type { Knex } from 'knex';
import Koa from 'koa';

export type Framework = 'express' | 'koa' | 'fastify';
export const VARIANTS = ['hand', 'als', 'adapter', 'knex', 'als-again', 'adapter-hand'] as const;
export type Variant = (typeof VARIANTS)[number];
/** A plain Node request handler: the harness puts its own server in front. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

interface Tenant {
  readonly id: number;
  readonly slug: string;
}

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** What the hand-written variants do in place of the adapter: validate, look up (cached). */
function handResolver(knex: Knex) {
  const cache = new Map<string, Tenant | undefined>();
  return async (key: string | undefined): Promise<Tenant | undefined> => {
    if (key === undefined || !SLUG.test(key)) return undefined;
    if (!cache.has(key)) cache.set(key, (await knex('tenants').where({ slug: key }).first()) as Tenant | undefined);
    return cache.get(key);
  };
}

/** How an app is built besides its framework and variant. */
export interface AppOptions {
  /**
   * The adapter's lookup cache TTL, ms (default: the library's, 60 s). bench:instructions
   * raises it: under valgrind a minute passes within a few thousand requests, and the hand
   * variants' cache never expires.
   */
  readonly lookupTtl?: number;
}

function scopedParts(knex: Knex, options: AppOptions) {
  const db = defineScopes({ tables: { pages: { tenant: 'tenant_id' } } }).wrap(knex);
  const resolveTenant = tenantResolver({
    from: fromHeader('x-tenant'),
    lookup: (slug) => knex<Tenant>('tenants').where({ slug }).first(),
    cache: options.lookupTtl === undefined ? true : { ttl: options.lookupTtl },
  });
  return { db, resolveTenant };
}

/** How a hand-written variant carries the tenant into the rest of the request. */
function carrier(variant: Variant, knex: Knex) {
  const als = new AsyncLocalStorage<Tenant>();
  const scoped = defineScopes({ tables: { pages: { tenant: 'tenant_id' } } }).wrap(knex);
  return {
    run<R>(tenant: Tenant, next: () => R): R {
      if (variant === 'als') return als.run(tenant, next);
      if (variant === 'knex')
        return scopeStorage().run(Object.freeze({ enabled: true, values: { tenant: tenant.id } }), next);
      return next();
    },
    pages(tenant: Tenant | undefined) {
      if (variant === 'knex') return scopedPages(scoped);
      return pagesOf(knex, ((variant === 'als' ? als.getStore() : tenant) as Tenant).id);
    },
  };
}

const pagesOf = (knex: Knex, tenantId: number) =>
  knex('pages').where('tenant_id', tenantId).select('id', 'title').orderBy('id').limit(10);
const scopedPages = (db: Knex) => db('pages').select('id', 'title').orderBy('id').limit(10);
/** What an adapter variant reads, given the tenant the adapter resolved. */
const adapterPages = (variant: Variant, db: Knex, knex: Knex, tenant: unknown) =>
  variant === 'adapter-hand' ? pagesOf(knex, (tenant as Tenant).id) : scopedPages(db);
const isAdapter = (variant: Variant) => variant === 'adapter' || variant === 'adapter-hand';

function expressApp(variant: Variant, knex: Knex, options: AppOptions): Handler {
  const app = express();
  if (isAdapter(variant)) {
    const { db, resolveTenant } = scopedParts(knex, options);
    app.use(expressScoping(resolveTenant));
    app.get('/pages', async (req, res) => {
      res.json(await adapterPages(variant, db, knex, req.tenant));
    });
    return app;
  }
  const resolve = handResolver(knex);
  const carry = carrier(variant, knex);
  app.use((req: Request & { tenant?: unknown }, res: Response, next: NextFunction) => {
    resolve(req.get('x-tenant')).then((tenant) => {
      if (!tenant) return void res.status(404).json({ error: 'unknown tenant' });
      req.tenant = tenant;
      carry.run(tenant, () => next());
    }, next);
  });
  app.get('/pages', async (req, res) => {
    res.json(await carry.pages((req as { tenant?: Tenant }).tenant));
  });
  return app;
}

function koaApp(variant: Variant, knex: Knex, options: AppOptions): Handler {
  const app = new Koa();
  if (isAdapter(variant)) {
    const { db, resolveTenant } = scopedParts(knex, options);
    app.use(koaScoping(resolveTenant));
    app.use(async (ctx) => {
      if (ctx.path === '/pages') ctx.body = await adapterPages(variant, db, knex, ctx.state.tenant);
    });
    return app.callback();
  }
  const resolve = handResolver(knex);
  const carry = carrier(variant, knex);
  app.use(async (ctx, next) => {
    const tenant = await resolve(ctx.get('x-tenant') || undefined);
    if (!tenant) {
      ctx.status = 404;
      ctx.body = { error: 'unknown tenant' };
      return;
    }
    ctx.state.tenant = tenant;
    return carry.run(tenant, next);
  });
  app.use(async (ctx) => {
    if (ctx.path === '/pages') ctx.body = await carry.pages(ctx.state.tenant as Tenant);
  });
  return app.callback();
}

async function fastifyApp(variant: Variant, knex: Knex, options: AppOptions): Promise<Handler> {
  let handler: Handler | undefined;
  const app = Fastify({
    serverFactory: (h) => {
      handler = h;
      return createServer(h);
    },
  });
  if (isAdapter(variant)) {
    const { db, resolveTenant } = scopedParts(knex, options);
    await app.register(knexScopes, { resolveTenant });
    app.get('/pages', async (request) => adapterPages(variant, db, knex, request.tenant));
    await app.ready();
    return handler as Handler;
  }
  const resolve = handResolver(knex);
  const carry = carrier(variant, knex);
  app.decorateRequest('handTenant', null);
  app.addHook('onRequest', (request, reply, done) => {
    const header = request.headers['x-tenant'];
    resolve(typeof header === 'string' ? header : undefined).then((tenant) => {
      if (!tenant) return void reply.code(404).send({ error: 'unknown tenant' });
      (request as unknown as { handTenant: Tenant }).handTenant = tenant;
      carry.run(tenant, () => done());
    }, done);
  });
  app.get('/pages', async (request) => carry.pages((request as unknown as { handTenant: Tenant }).handTenant));
  await app.ready();
  return handler as Handler;
}

export async function buildHandler(
  framework: Framework,
  given: Variant,
  knex: Knex,
  options: AppOptions = {},
): Promise<Handler> {
  const variant = given === 'als-again' ? 'als' : given;
  if (framework === 'express') return expressApp(variant, knex, options);
  if (framework === 'koa') return koaApp(variant, knex, options);
  return fastifyApp(variant, knex, options);
}
