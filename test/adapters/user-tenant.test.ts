// The tenant of the signed-in user (issue 22, item 4), on the three frameworks with their real
// auth middleware (support/auth-apps.ts): the scope opened route-level after auth, with no
// second lookup; anonymous visitors, users without a tenant and a misordered opener refused,
// each in its own way; a route-level opener stacked under an app-wide one.
import assert from 'node:assert/strict';
import { fromHeader, fromUser, type TenantResolver, tenantResolver, userTenant } from '@knex-scopes/core/http';
import Fastify from 'fastify';
import type { Knex } from 'knex';
import request from 'supertest';
import { forEachDialect } from '../support/databases';
import { FRAMEWORKS, type Framework, type RunningApp } from './support/apps';
import { type AuthUser, buildAuthApp, JWT_SECRET, tokenFor } from './support/auth-apps';
import { scopeNow } from './support/handlers';
import { clientFor } from './support/http-client';
import {
  createSchema,
  makeResolver,
  PAGES_PER_TENANT,
  type Probe,
  probeOn,
  scopes,
  type Tenant,
} from './support/schema';

const ACME: Tenant = { id: 1, slug: 'acme' };
const BETA: Tenant = { id: 2, slug: 'beta' };
const bearer = (tenant: Tenant | null) => `Bearer ${tokenFor(tenant)}`;

/** What `route` (an auth middleware, then the opener) says "mount first" for each framework. */
const MOUNT_FIRST: Record<Framework, RegExp> = {
  express: /after your auth middleware.*passport\.authenticate/,
  koa: /after your auth middleware.*jwt\(\{ secret \}\)/,
  fastify: /onRequest: \[fastify\.authenticate, scopeHook\(resolver\)\]/,
};

interface PagesBody {
  tenant: Tenant | number | null;
  scope: Record<string, unknown>;
  pages: { tenant_id: number; title: string }[];
  comments: { tenant_id: number }[];
  seen: Record<string, unknown>[];
}

function assertOnly(body: PagesBody, tenant: Tenant): void {
  assert.deepEqual(body.scope, { tenant: tenant.id });
  assert.ok(body.pages.length >= PAGES_PER_TENANT, `${body.pages.length} pages`);
  assert.deepEqual([...new Set(body.pages.map((p) => p.tenant_id))], [tenant.id]);
  assert.deepEqual([...new Set(body.comments.map((c) => c.tenant_id))], [tenant.id]);
  for (const seen of body.seen) assert.deepEqual(seen, { tenant: tenant.id });
}

forEachDialect('http adapters: the tenant of the signed-in user', (testDb) => {
  let db: Knex;
  let probe: Probe;
  /** Every query the base instance ran (lookups included), to prove which did not run. */
  const queries: string[] = [];

  before(async () => {
    const base = testDb.knex();
    await createSchema(base);
    db = scopes.wrap(base);
    probe = probeOn(db);
    base.on('query', (q: { sql: string }) => queries.push(q.sql));
  });
  beforeEach(() => {
    probe.reset();
    queries.length = 0;
  });

  const fromTheUser = () => userTenant({ tenant: (user: AuthUser) => user.org });

  for (const framework of FRAMEWORKS) {
    describe(framework, () => {
      describe('userTenant: the tenant read off the user, no lookup', () => {
        let app: RunningApp;
        before(async () => {
          app = await buildAuthApp(framework, { db, resolver: fromTheUser() });
        });
        after(() => app.close());
        const get = (path: string) => request(app.server).get(path);

        it("a user of A gets exactly A's rows, one of B B's, and no query but the handler's ran", async () => {
          const a = await get('/pages').set('Authorization', bearer(ACME)).expect(200);
          assert.deepEqual(a.body.tenant, ACME);
          assertOnly(a.body, ACME);
          const b = await get('/pages').set('Authorization', bearer(BETA)).expect(200);
          assertOnly(b.body, BETA);
          assert.deepEqual(
            queries.filter((sql) => !/\b(pages|comments)\b/.test(sql)),
            [],
            'no tenant lookup, no other query',
          );
        });

        it("a write lands in the user's tenant", async () => {
          const res = await request(app.server)
            .post('/pages')
            .set('Authorization', bearer(BETA))
            .send({ title: `by ${framework}` })
            .expect(200);
          assert.equal(res.body.page.tenant_id, BETA.id);
          const row = await testDb.knex()('pages').where({ title: res.body.page.title }).first();
          assert.equal(Number(row.tenant_id), BETA.id);
        });

        it("no token: the auth middleware's own 401, and the route never runs", async () => {
          const res = await get('/pages').expect(401);
          assert.notEqual(res.body?.error, 'TENANT_USER_MISSING');
          assert.deepEqual(probe.scopedQueries, []);
        });

        it('an anonymous visitor the auth let through: 401 TENANT_USER_MISSING, no query', async () => {
          const res = await get('/optional/pages').expect(401);
          assert.equal(res.body.error, 'TENANT_USER_MISSING');
          assert.deepEqual(queries, []);
          // the same route with a token is served
          assertOnly((await get('/optional/pages').set('Authorization', bearer(ACME)).expect(200)).body, ACME);
        });

        it('a user without a tenant: 403 TENANT_USER_UNASSIGNED, never all tenants', async () => {
          const res = await get('/pages').set('Authorization', bearer(null)).expect(403);
          assert.equal(res.body.error, 'TENANT_USER_UNASSIGNED');
          assert.deepEqual(queries, []);
        });

        it('the opener mounted before auth: 500 MIDDLEWARE_ORDER saying what to mount first, no query', async () => {
          const res = await get('/misordered/pages').set('Authorization', bearer(ACME)).expect(500);
          assert.equal(res.body.code, 'MIDDLEWARE_ORDER');
          assert.match(res.body.error, MOUNT_FIRST[framework]);
          assert.deepEqual(res.body.scope, {});
          assert.deepEqual(queries, []);
        });

        it("a handler's error reaches the error handler, with the user's tenant", async () => {
          const res = await get('/fail').set('Authorization', bearer(BETA)).expect(500);
          assert.equal(res.body.error, 'handler failed');
          assert.equal(res.body.tenant, 'beta');
          // Express's error middleware and Fastify's error handler run inside the scope; Koa's
          // error middleware is mounted before the opener, so outside it (as documented)
          assert.deepEqual(res.body.scope, framework === 'koa' ? {} : { tenant: BETA.id });
        });

        it('50 interleaved requests of two tenants never see each other', async () => {
          const client = clientFor(app.server, 16);
          try {
            const tenants = Array.from({ length: 50 }, (_, i) => (i % 3 === 0 ? ACME : BETA));
            const replies = await Promise.all(
              tenants.map((tenant) => client.send({ path: '/pages', headers: { authorization: bearer(tenant) } })),
            );
            replies.forEach((reply, i) => {
              assert.equal(reply.status, 200, reply.text);
              assertOnly(JSON.parse(reply.text), tenants[i] as Tenant);
            });
          } finally {
            client.close();
          }
        });

        if (framework === 'fastify') {
          it('onRequest: [authenticate, scopeHook]: validation, handler and onSend in scope', async () => {
            const res = await get('/pages').set('Authorization', bearer(ACME)).expect(200);
            assert.deepEqual(res.body.stages, { preValidation: { tenant: 1 } });
            assert.deepEqual(JSON.parse(String(res.headers['x-onsend-scope'])), { tenant: 1 });
          });

          it('preHandler: [scopeHook]: handler and onSend in scope, validation before it not', async () => {
            const res = await get('/pre/pages').set('Authorization', bearer(BETA)).expect(200);
            assertOnly(res.body, BETA);
            assert.deepEqual(res.body.stages, { preValidation: {} });
            assert.deepEqual(JSON.parse(String(res.headers['x-onsend-scope'])), { tenant: 2 });
          });
        }
      });

      describe('fromUser: a key on the user, then the cached lookup', () => {
        let app: RunningApp;
        const lookups: string[] = [];
        before(async () => {
          const resolver = tenantResolver({
            from: fromUser((user: AuthUser) => user.orgSlug),
            cache: true,
            lookup: async (slug, { source }) => {
              lookups.push(`${source}:${slug}`);
              return (await testDb.knex()('tenants').where({ slug }).first()) as Tenant | undefined;
            },
            scopeValues: (tenant) => ({ tenant: Number(tenant.id) }),
          });
          app = await buildAuthApp(framework, { db, resolver });
        });
        after(() => app.close());
        const get = (path: string) => request(app.server).get(path);

        it('looks the key up once, then serves from the cache', async () => {
          for (const tenant of [ACME, ACME, BETA, ACME]) {
            assertOnly((await get('/pages').set('Authorization', bearer(tenant)).expect(200)).body, tenant);
          }
          assert.deepEqual(lookups, ['user:acme', 'user:beta']);
        });

        it('refuses the anonymous (401), the user without a key (403) and a misorder (500) alike', async () => {
          assert.equal((await get('/optional/pages').expect(401)).body.error, 'TENANT_USER_MISSING');
          const orphan = await get('/pages').set('Authorization', bearer(null)).expect(403);
          assert.equal(orphan.body.error, 'TENANT_USER_UNASSIGNED');
          const early = await get('/misordered/pages').set('Authorization', bearer(ACME)).expect(500);
          assert.equal(early.body.code, 'MIDDLEWARE_ORDER');
          assert.deepEqual(probe.scopedQueries, []);
        });
      });

      describe('stacked: an app-wide opener (X-Tenant), the user opener inside it', () => {
        let app: RunningApp;
        before(async () => {
          const outer = makeResolver(testDb.knex(), probe, fromHeader('x-tenant'));
          app = await buildAuthApp(framework, { db, resolver: fromTheUser(), outer });
        });
        after(() => app.close());
        const get = (path: string) => request(app.server).get(path);

        it('goes on when both name the same tenant', async () => {
          const res = await get('/pages').set('X-Tenant', 'beta').set('Authorization', bearer(BETA)).expect(200);
          assertOnly(res.body, BETA);
        });

        it('refuses a user of another tenant than the host/header named: 403 TENANT_CONFLICT, no query', async () => {
          const res = await get('/pages').set('X-Tenant', 'beta').set('Authorization', bearer(ACME)).expect(403);
          assert.equal(res.body.error, 'TENANT_CONFLICT');
          assert.doesNotMatch(res.body.message, /acme|beta|\b[12]\b/);
          assert.deepEqual(probe.scopedQueries, []);
        });
      });

      it('a server started inside a scope: that scope is not taken for an opener', async () => {
        const app = await buildAuthApp(framework, { db, resolver: fromTheUser(), listenInScope: { tenant: 2 } });
        try {
          const res = await request(app.server).get('/pages').set('Authorization', bearer(ACME)).expect(200);
          assertOnly(res.body, ACME);
        } finally {
          await app.close();
        }
      });
    });
  }

  describe('fastify: start-up checks', () => {
    const user = (): TenantResolver<unknown> => fromTheUser();

    it('the plugin with a user resolver and no @fastify/jwt before it fails at register()', async () => {
      const { knexScopes } = await import('@knex-scopes/fastify');
      const app = Fastify();
      await assert.rejects(
        async () => {
          await app.register(knexScopes, { resolveTenant: user() });
          await app.ready();
        },
        (error: Error & { code?: string }) =>
          error.code === 'MIDDLEWARE_ORDER' && /register @fastify\/jwt/.test(error.message),
      );
    });

    it('a route with scopeHook(user) where nothing decorates request.user fails when it is declared', async () => {
      const { knexScopes, scopeHook } = await import('@knex-scopes/fastify');
      const app = Fastify();
      await app.register(knexScopes, { resolveTenant: null });
      assert.throws(
        () => app.get('/x', { onRequest: [scopeHook(user())] }, async () => 'x'),
        (error: Error & { code?: string }) => error.code === 'MIDDLEWARE_ORDER',
      );
      await app.close();
    });

    it('the app-wide plugin after an app-wide auth hook opens the user scope for every route', async () => {
      const { knexScopes } = await import('@knex-scopes/fastify');
      const fastifyJwt = (await import('@fastify/jwt')).default;
      const app = Fastify();
      await app.register(fastifyJwt, { secret: JWT_SECRET });
      app.addHook('onRequest', async (req) => {
        await req.jwtVerify();
      });
      await app.register(knexScopes, { resolveTenant: user() });
      app.get('/pages', async () => ({ n: (await db('pages').select('tenant_id')).length, scope: scopeNow() }));
      const res = await app.inject({ url: '/pages', headers: { authorization: bearer(BETA) } });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json().scope, { tenant: 2 });
      await app.close();
    });
  });
});
