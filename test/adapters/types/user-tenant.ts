// The tenant of the signed-in user: fromUser/userTenant typed by the declared user, usable
// route-level by the three adapters (Fastify's scopeHook in onRequest and preHandler).
import fastifyJwt from '@fastify/jwt';
import { ALL } from '@knex-scopes/core';
import { fromUser, tenantResolver, userTenant } from '@knex-scopes/core/http';
import { scopingMiddleware as expressScoping } from '@knex-scopes/express';
import { knexScopes, scopeHook } from '@knex-scopes/fastify';
import { scopingMiddleware as koaScoping } from '@knex-scopes/koa';
import Router from '@koa/router';
import express from 'express';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import koaJwt from 'koa-jwt';
import passport from 'passport';
import type { Tenant } from './tenant';

declare module '@knex-scopes/core/http' {
  interface TenantTypes {
    user: { orgSlug: string; organization: Tenant | null; admin?: boolean };
  }
}

// The declared user types the accessors: no annotation needed.
export const fromOrg = userTenant({ tenant: (user) => user.organization });
export const bySlug = tenantResolver({
  from: fromUser((user) => user.orgSlug),
  lookup: async (slug): Promise<Tenant | undefined> => ({ id: 1, slug }),
});
// A key, or ALL only when returned explicitly, is a tenant too; another shape needs scopeValues.
export const claim = userTenant({ tenant: (user) => (user.admin ? ALL : user.orgSlug) });
userTenant({ tenant: (user) => user.organization, scopeValues: (org) => ({ tenant: org.id, region: 'eu' }) });
// @ts-expect-error a tenant without an id (nor a key) needs scopeValues
userTenant({ tenant: () => ({ org: 7 }) });
// @ts-expect-error the declared user has no such field
userTenant({ tenant: (user) => user.orgId });
// @ts-expect-error the accessor is required
userTenant({});
// @ts-expect-error fromUser gives a key: a string, a number or a bigint
fromUser((user) => user.organization);

// Express: route-level, after Passport.
const app = express();
app.get('/projects', passport.authenticate('bearer', { session: false }), expressScoping(fromOrg), (req, res) => {
  res.json(req.tenant?.slug);
});
app.use(expressScoping(bySlug, { statuses: { unauthenticated: 401, unassigned: 404, conflict: 409 } }));

// Koa: route-level, after koa-jwt.
const router = new Router();
router.get('/projects', koaJwt({ secret: 's' }), koaScoping(fromOrg), (ctx) => {
  ctx.body = ctx.state.tenant?.slug;
});

// Fastify: the hook in the route's onRequest after its auth, or in preHandler.
export async function main() {
  const fastify = Fastify();
  await fastify.register(fastifyJwt, { secret: 's' });
  const authenticate = async (request: FastifyRequest, reply: FastifyReply) => {
    await request.jwtVerify().catch((error) => reply.send(error));
  };
  await fastify.register(knexScopes, { resolveTenant: null });
  // @ts-expect-error resolveTenant is required (null: routes open the scope themselves)
  await fastify.register(knexScopes, { onRejected: () => undefined });
  fastify.get('/a', { onRequest: [authenticate, scopeHook(fromOrg)] }, async (request) => request.tenant?.slug);
  fastify.get(
    '/b',
    { onRequest: authenticate, preHandler: scopeHook(bySlug, { statuses: { conflict: 409 } }) },
    async () => 'b',
  );
  // @ts-expect-error a tenant resolver is required
  scopeHook();
}
