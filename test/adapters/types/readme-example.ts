// The example of packages/express/README.md, kept compiling. The Koa and Fastify READMEs share
// its first half (schema, resolver): readme-koa.ts and readme-fastify.ts import it from here.
import { defineScopes } from '@knex-scopes/core';
import { firstOf, fromHeader, fromSubdomain, tenantResolver } from '@knex-scopes/core/http';
import { scopingMiddleware } from '@knex-scopes/express';
import express from 'express';
import session from 'express-session';
import knex from 'knex';
import type { Tenant } from './tenant';

const base = knex({ client: 'pg', connection: process.env.DATABASE_URL });
const scopes = defineScopes({
  tables: { pages: { tenant: 'tenant_id' }, comments: { tenant: 'page_id -> pages.tenant_id' } },
});
export const db = scopes.wrap(base);

export const resolveTenant = tenantResolver({
  from: firstOf(fromSubdomain({ baseDomain: 'example.com' }), fromHeader('x-tenant')),
  lookup: (slug) => base<Tenant>('tenants').where({ slug }).first(),
  cache: { ttl: 60_000, max: 1000 },
});

const app = express();
app.set('trust proxy', 'loopback');
app.use(session({ secret: 'secret', resave: false, saveUninitialized: false }));
app.use(scopingMiddleware(resolveTenant, { exempt: (req) => req.path === '/health' }));
app.use(express.json());
app.get('/pages', async (_req, res) => {
  res.json(await db('pages').select());
});
