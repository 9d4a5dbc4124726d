// The example of packages/fastify/README.md, kept compiling (inside a function: no top-level await in CommonJS).
import { defineScopes } from '@knex-scopes/core';
import { firstOf, fromHeader, fromSubdomain, tenantResolver } from '@knex-scopes/core/http';
import { knexScopes } from '@knex-scopes/fastify';
import Fastify from 'fastify';
import knex from 'knex';
import type { Tenant } from './tenant';

export async function readmeFastify() {
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

  const app = Fastify({ trustProxy: '127.0.0.1' });
  await app.register(knexScopes, { resolveTenant });
  app.get('/pages', async () => db('pages').select());
  app.get('/health', { config: { knexScopes: { exempt: true } } }, async () => 'ok');
  await app.listen({ port: 3000 });
}
