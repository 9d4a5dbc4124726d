// The example of packages/koa/README.md, kept compiling.

import { defineScopes } from '@knex-scopes/core';
import { firstOf, fromHeader, fromSubdomain, tenantResolver } from '@knex-scopes/core/http';
import { scopingMiddleware } from '@knex-scopes/koa';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import knex from 'knex';
import Koa from 'koa';
import type { Tenant } from './tenant';

const base = knex({ client: 'pg', connection: process.env.DATABASE_URL });
const scopes = defineScopes({
  tables: { pages: { tenant: 'tenant_id' }, comments: { tenant: 'page_id -> pages.tenant_id' } },
});
const db = scopes.wrap(base);

const resolveTenant = tenantResolver({
  from: firstOf(fromSubdomain({ baseDomain: 'example.com' }), fromHeader('x-tenant')),
  lookup: (slug) => base<Tenant>('tenants').where({ slug }).first(),
  cache: { ttl: 60_000, max: 1000 },
});

const app = new Koa();
app.use(scopingMiddleware(resolveTenant, { exempt: (ctx) => ctx.path === '/health' }));
app.use(bodyParser());
const router = new Router();
router.get('/pages', async (ctx) => {
  ctx.body = await db('pages').select();
});
router.get('/health', (ctx) => {
  ctx.body = 'ok';
});
app.use(router.routes());
