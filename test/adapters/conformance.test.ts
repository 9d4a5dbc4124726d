// One conformance suite for the three adapters: the same app (support/*-app.ts) on Express, Koa
// and Fastify, the same requests, the same expected statuses, bodies, rows and scopes; on the
// scoped Knex over every available test database.
import assert from 'node:assert/strict';
import { Agent, get as httpGet } from 'node:http';
import type { AddressInfo } from 'node:net';
import { scope } from '@knex-scopes/core';
import { fromPath, fromSession } from '@knex-scopes/core/http';
import type { Knex } from 'knex';
import request from 'supertest';
import { forEachDialect } from '../support/databases';
import { buildApp, FRAMEWORKS, type Framework, type RunningApp } from './support/apps';
import { type LifecycleLog, STREAM_CHUNKS } from './support/handlers';
import { createSchema, makeResolver, PAGES_PER_TENANT, type Probe, probeOn, scopes } from './support/schema';

const ACME = { tenant: 1 };
const BETA = { tenant: 2 };
// Koa 3 sends a web ReadableStream body (Blob, Response too); Koa 2 has no such body type (it
// would serialise the stream as JSON), so /stream-web is Koa 3's only (docs/framework-versions.md).
const KOA_WEB_STREAMS = Number((require('koa/package.json') as { version: string }).version.split('.')[0]) >= 3;

forEachDialect('http adapters: conformance', (testDb) => {
  let db: Knex;
  let probe: Probe;

  before(async () => {
    await createSchema(testDb.knex());
    db = scopes.wrap(testDb.knex());
    probe = probeOn(db);
  });

  const resolver = (from?: Parameters<typeof makeResolver>[2]) => makeResolver(testDb.knex(), probe, from);

  for (const framework of FRAMEWORKS) {
    describe(framework, () => {
      let app: RunningApp;
      const lifecycle: LifecycleLog = new Map();
      const get = (path: string) => request(app.server).get(path);
      const post = (path: string) => request(app.server).post(path);

      before(async () => {
        app = await buildApp(framework, { resolver: resolver(), db, lifecycle });
      });
      after(() => app.close());
      beforeEach(() => probe.reset());

      describe('resolution and statuses', () => {
        it('resolves a header, opens exactly that scope, and code before the adapter sees none', async () => {
          const res = await get('/whoami').set('X-Tenant', 'acme').expect(200);
          assert.deepEqual(res.body.tenant, 'acme');
          assert.deepEqual(res.body.scope, ACME);
          assert.deepEqual(JSON.parse(res.headers['x-pre-scope']), {});
        });

        it('resolves a subdomain whatever its case, port or trailing dot', async () => {
          for (const host of [
            'beta.example.test',
            'BETA.Example.TEST',
            'beta.example.test:8443',
            'beta.example.test.',
          ]) {
            const res = await get('/whoami').set('Host', host).expect(200);
            assert.deepEqual(res.body.scope, BETA, host);
          }
        });

        it('resolves a path segment before the header and the host', async () => {
          const res = await get('/t/beta/whoami').set('X-Tenant', 'acme').set('Host', 'acme.example.test').expect(200);
          assert.equal(res.body.tenant, 'beta');
        });

        it('answers 400 without a key: no lookup, no scoped query, no handler', async () => {
          const res = await get('/pages').set('Host', 'example.test').expect(400);
          assert.equal(res.body.error, 'TENANT_KEY_MISSING');
          assert.match(res.headers['content-type'], /application\/json/);
          assert.deepEqual([probe.lookups, probe.scopedQueries], [[], []]);
        });

        it('answers 400 for an invalid key without looking it up', async () => {
          const res = await get('/pages').set('X-Tenant', "acme' OR '1'='1").expect(400);
          assert.equal(res.body.error, 'TENANT_KEY_INVALID');
          assert.deepEqual([probe.lookups, probe.scopedQueries], [[], []]);
        });

        it('answers 404 for an unknown tenant, with one lookup and no scoped query', async () => {
          const res = await get('/pages').set('X-Tenant', 'nobody').expect(404);
          assert.deepEqual(res.body, { error: 'TENANT_NOT_FOUND', message: 'No tenant for the key from header.' });
          assert.deepEqual([probe.lookups, probe.scopedQueries], [['nobody'], []]);
        });

        it('sends a failing lookup to the framework error path, outside any scope', async () => {
          const res = await get('/pages').set('X-Tenant', 'explode').expect(500);
          assert.equal(res.body.error, 'tenant lookup failed');
          assert.deepEqual(res.body.scope, {});
          assert.equal(res.body.tenant, null);
          assert.deepEqual(probe.scopedQueries, []);
        });
      });

      describe('hostile input', () => {
        const cases: [string, Record<string, string | string[]>, number, string | undefined][] = [
          ['a foreign base domain', { Host: 'acme.evil.test' }, 400, 'TENANT_KEY_MISSING'],
          [
            'the base domain as a suffix of another',
            { Host: 'acme.example.test.evil.test' },
            400,
            'TENANT_KEY_MISSING',
          ],
          ['the apex', { Host: 'example.test' }, 400, 'TENANT_KEY_MISSING'],
          ['a reserved label', { Host: 'www.example.test' }, 400, 'TENANT_KEY_MISSING'],
          ['an IPv4 literal', { Host: '127.0.0.1:3000' }, 400, 'TENANT_KEY_MISSING'],
          ['an IPv6 literal with a port', { Host: '[::1]:3000' }, 400, 'TENANT_KEY_MISSING'],
          ['nested labels', { Host: 'acme.beta.example.test' }, 400, 'TENANT_KEY_INVALID'],
          ['userinfo in Host', { Host: 'beta@acme.example.test' }, 400, 'TENANT_KEY_INVALID'],
          ['a comma list in Host', { Host: 'acme.example.test, beta.example.test' }, 400, 'TENANT_KEY_INVALID'],
          ['Latin-1 bytes in Host', { Host: 'café.example.test' }, 400, 'TENANT_KEY_INVALID'],
          ['a slash in Host', { Host: 'acme.example.test/../beta' }, 400, 'TENANT_KEY_INVALID'],
          [
            'an untrusted X-Forwarded-Host',
            { Host: 'acme.example.test', 'X-Forwarded-Host': 'beta.example.test' },
            200,
            'acme',
          ],
          ['a punycode tenant label', { Host: 'xn--caf-dma.example.test' }, 200, 'xn--caf-dma'],
          ['an overlong header key', { 'X-Tenant': 'a'.repeat(64) }, 400, 'TENANT_KEY_INVALID'],
          ['a huge header key', { 'X-Tenant': 'a'.repeat(8000) }, 400, 'TENANT_KEY_INVALID'],
          ['SQL in the header', { 'X-Tenant': "beta'; DELETE FROM pages; --" }, 400, 'TENANT_KEY_INVALID'],
          ['an upper-case header key', { 'X-Tenant': 'ACME' }, 400, 'TENANT_KEY_INVALID'],
          ['a repeated header', { 'X-Tenant': ['acme', 'beta'] }, 400, 'TENANT_KEY_INVALID'],
          ['an empty header', { 'X-Tenant': '' }, 400, 'TENANT_KEY_INVALID'],
        ];
        for (const [what, headers, status, expected] of cases) {
          it(`${what}: ${status} ${expected}`, async () => {
            let req = get('/pages');
            for (const [name, value] of Object.entries(headers)) req = req.set(name, value);
            const res = await req.expect(status);
            if (status === 200) {
              assert.equal(res.body.tenant, expected);
              assert.ok(res.body.pages.every((p: { tenant_id: number }) => p.tenant_id === res.body.scope.tenant));
            } else {
              assert.equal(res.body.error, expected);
              assert.deepEqual(probe.scopedQueries, []);
            }
            if (status === 400) assert.deepEqual(probe.lookups, []);
          });
        }

        const paths: [string, string][] = [
          ['path traversal', '/t/../beta/whoami'],
          ['an encoded slash', '/t/acme%2Fbeta/whoami'],
          ['encoded dots', '/t/%2e%2e/whoami'],
          ['an encoded letter', '/t/%61cme/whoami'],
          ['upper case', '/t/ACME/whoami'],
          ['SQL', "/t/acme'--/whoami"],
        ];
        for (const [what, path] of paths) {
          it(`${what} in a path key: 400 before any lookup`, async () => {
            const res = await get(path).set('X-Tenant', 'acme');
            assert.equal(res.status, 400, `${path}: ${res.text}`);
            assert.equal(res.body.error, 'TENANT_KEY_INVALID');
            assert.deepEqual(probe.lookups, []);
          });
        }
      });

      describe('the scope covers the whole request', () => {
        it('scoped reads return only the tenant rows, through a join too, after every await', async () => {
          const res = await get('/pages').set('X-Tenant', 'beta').expect(200);
          assert.equal(res.body.pages.length, PAGES_PER_TENANT);
          assert.ok(res.body.pages.every((p: { tenant_id: number }) => p.tenant_id === 2));
          assert.equal(res.body.comments.length, PAGES_PER_TENANT);
          assert.ok(res.body.comments.every((c: { tenant_id: number }) => c.tenant_id === 2));
          assert.deepEqual(res.body.seen, [BETA, BETA, BETA]);
        });

        it('a JSON body of 64 KB+ is parsed in the scope and an insert is stamped with the tenant', async () => {
          const pad = 'x'.repeat(70_000);
          const res = await post('/pages').set('X-Tenant', 'acme').send({ title: 'hello', pad }).expect(200);
          assert.equal(res.body.page.tenant_id, 1);
          assert.ok(res.body.bytes > 70_000);
          assert.deepEqual(Object.values(res.body.stages), [ACME]);
        });

        for (const [kind, type, payload] of [
          ['urlencoded', 'application/x-www-form-urlencoded', `a=${'y'.repeat(70_000)}`],
          ['text', 'text/plain', 'z'.repeat(70_000)],
        ] as const) {
          it(`a ${kind} body of 64 KB+ is parsed in the scope`, async () => {
            const res = await post('/echo').set('X-Tenant', 'beta').set('Content-Type', type).send(payload).expect(200);
            assert.deepEqual(res.body.scope, BETA);
            assert.deepEqual(Object.values(res.body.stages), [BETA]);
            assert.ok(res.body.bytes >= 70_000);
          });
        }

        if (framework !== 'fastify') {
          it('a multipart upload is parsed in the scope', async () => {
            const file = Buffer.alloc(100_000, 1);
            const res = await post('/upload').set('X-Tenant', 'beta').attach('file', file, 'f.bin').expect(200);
            assert.deepEqual(res.body.scope, BETA);
            assert.equal(res.body.bytes, 100_000);
          });
        }

        it('a malformed body reaches the error handler inside the scope', async () => {
          const res = await post('/echo').set('X-Tenant', 'acme').set('Content-Type', 'application/json').send('{"a":');
          assert.equal(res.status, 400);
          assert.deepEqual(res.body.scope, ACME);
        });

        for (const kind of ['sync', 'async']) {
          it(`a ${kind} throw reaches the error handler inside the scope, with the tenant`, async () => {
            const res = await get(`/fail/${kind}`).set('X-Tenant', 'beta').expect(500);
            assert.equal(res.body.error, `${kind} failure`);
            assert.deepEqual(res.body.scope, BETA);
            assert.equal(res.body.tenant, 'beta');
          });
        }

        it('an unknown route reaches the not-found handler inside the scope', async () => {
          const res = await get('/nowhere').set('X-Tenant', 'beta').expect(404);
          assert.deepEqual(res.body, { notFound: true, scope: BETA, tenant: 'beta' });
        });

        it('an unknown route with an unknown tenant is the adapter 404', async () => {
          const res = await get('/nowhere').set('X-Tenant', 'nobody').expect(404);
          assert.equal(res.body.error, 'TENANT_NOT_FOUND');
        });

        const streams = framework === 'koa' && KOA_WEB_STREAMS ? ['/stream', '/stream-web'] : ['/stream'];
        for (const path of streams) {
          it(`every chunk of a streamed response (${path}) is produced in the scope`, async () => {
            const [a, b] = await Promise.all([
              get(path).set('X-Tenant', 'acme').buffer(true).expect(200),
              get(path).set('X-Tenant', 'beta').buffer(true).expect(200),
            ]);
            for (const [res, id] of [
              [a, '1'],
              [b, '2'],
            ] as const) {
              const lines = res.text.trim().split('\n');
              assert.equal(lines.length, STREAM_CHUNKS);
              assert.deepEqual([...new Set(lines.map((line) => line.split(' ')[0]))], [id]);
            }
          });
        }

        it('a client that aborts mid-stream crashes nothing; the next request is served in its scope', async () => {
          const { port } = app.server.address() as AddressInfo;
          await new Promise<void>((resolve, reject) => {
            const req = httpGet(
              { host: '127.0.0.1', port, path: '/stream', headers: { 'x-tenant': 'acme' } },
              (res) => {
                res.once('data', () => {
                  req.destroy();
                  resolve();
                });
              },
            );
            req.on('error', (error: NodeJS.ErrnoException) =>
              error.code === 'ECONNRESET' ? resolve() : reject(error),
            );
          });
          await new Promise((resolve) => setTimeout(resolve, 150)); // the generator notices the abort
          const res = await get('/whoami').set('X-Tenant', 'beta').expect(200);
          assert.deepEqual(res.body.scope, BETA);
        });

        if (framework !== 'koa') {
          it('response lifecycle callbacks (finish / onSend / onResponse) run in the scope', async () => {
            const res = await get('/whoami').set('X-Tenant', 'beta').set('X-Request-Id', `${framework}-1`).expect(200);
            if (framework === 'fastify') assert.deepEqual(JSON.parse(res.headers['x-onsend-scope']), BETA);
            for (let i = 0; i < 50 && !lifecycle.has(`${framework}-1`); i++) await new Promise((r) => setTimeout(r, 5));
            assert.deepEqual(lifecycle.get(`${framework}-1`), BETA);
          });
        }
      });

      describe('exempt routes', () => {
        for (const path of ['/public/health', '/signup']) {
          it(`${path} runs without a scope: no lookup, and a scoped query there throws`, async () => {
            const res = await get(path).set('X-Tenant', 'acme').expect(200);
            assert.deepEqual(res.body.scope, {});
            assert.equal(res.body.tenant, null);
            assert.equal(res.body.query, 'SCOPE_MISSING');
            assert.deepEqual(probe.lookups, []);
          });
        }
      });

      describe('isolation', () => {
        it('keep-alive requests on one socket never see the previous request scope', async () => {
          const agent = new Agent({ keepAlive: true, maxSockets: 1 });
          try {
            const sequence = ['acme', null, 'beta', 'nobody', 'acme', null];
            for (const tenant of sequence) {
              const path = tenant === null ? '/public/health' : '/whoami';
              let req = get(path).agent(agent);
              if (tenant !== null) req = req.set('X-Tenant', tenant);
              const res = await req;
              assert.deepEqual(JSON.parse(res.headers['x-pre-scope']), {}, `before the adapter, ${tenant}`);
              if (tenant === null) assert.deepEqual(res.body.scope, {});
            }
          } finally {
            agent.destroy();
          }
        });

        it('a server started inside a scope, called from inside one, does not leak it', async () => {
          const outer = { tenant: 999, region: 'leak' };
          const leaky = await buildApp(framework, { resolver: resolver(), db, listenInScope: outer });
          try {
            await scope(outer, async () => {
              const res = await request(leaky.server).get('/whoami').set('X-Tenant', 'acme').expect(200);
              assert.deepEqual(res.body.scope, ACME);
              const open = await request(leaky.server).get('/public/health').expect(200);
              assert.deepEqual(open.body.scope, {});
              assert.equal(open.body.query, 'SCOPE_MISSING');
              const failed = await request(leaky.server).get('/whoami').set('X-Tenant', 'explode').expect(500);
              assert.equal(failed.body.tenant, null);
              // Koa hands the error to middleware *before* the adapter, which runs in whatever
              // context the server gave it; Express and Fastify handle it inside the adapter's.
              if (framework !== 'koa') assert.deepEqual(failed.body.scope, {});
            });
          } finally {
            await leaky.close();
          }
        });
      });

      describe('options', () => {
        it('refuses to start without a tenant resolver or with a bad status', async () => {
          const refused = (e: unknown) => (e as { code?: string }).code === 'INVALID_DEFINITION';
          await assert.rejects(buildApp(framework, { resolver: undefined as never, db }), refused);
          const badStatus = { resolver: resolver(), db, statuses: { notFound: 200 } };
          await assert.rejects(buildApp(framework, badStatus), refused);
        });

        it('statuses are configurable', async () => {
          const custom = await buildApp(framework, {
            resolver: resolver(),
            db,
            statuses: { missing: 401, invalid: 422, notFound: 403 },
          });
          try {
            await request(custom.server).get('/whoami').expect(401);
            await request(custom.server).get('/whoami').set('X-Tenant', 'BAD KEY').expect(422);
            await request(custom.server).get('/whoami').set('X-Tenant', 'nobody').expect(403);
          } finally {
            await custom.close();
          }
        });

        it('a rejection handler answers instead of the default JSON', async () => {
          const custom = await buildApp(framework, { resolver: resolver(), db, customRejection: true });
          try {
            const res = await request(custom.server).get('/pages').set('X-Tenant', 'nobody').expect(410);
            assert.equal(res.text, 'custom TENANT_NOT_FOUND');
            assert.deepEqual(probe.scopedQueries, []);
          } finally {
            await custom.close();
          }
        });

        it('trusted X-Forwarded-Host is used; a list of them is refused, whichever entry the framework picks', async () => {
          const proxied = await buildApp(framework, { resolver: resolver(), db, trustProxy: true });
          try {
            const one = await request(proxied.server)
              .get('/whoami')
              .set('Host', 'acme.example.test')
              .set('X-Forwarded-Host', 'beta.example.test')
              .expect(200);
            assert.equal(one.body.tenant, 'beta');
            const list = await request(proxied.server)
              .get('/whoami')
              .set('Host', 'internal.example.test')
              .set('X-Forwarded-Host', 'acme.example.test, beta.example.test')
              .expect(400);
            assert.equal(list.body.error, 'TENANT_KEY_INVALID');
          } finally {
            await proxied.close();
          }
        });

        it('a route param resolves the tenant where the framework mounts it', async () => {
          const params = await buildApp(framework, {
            resolver: resolver(fromPath({ param: 'tenant' })),
            db,
            paramRoutes: true,
          });
          try {
            const ok = await request(params.server).get('/p/beta/pages').expect(200);
            assert.deepEqual(ok.body.scope, BETA);
            assert.ok(ok.body.pages.every((p: { tenant_id: number }) => p.tenant_id === 2));
            for (const bad of ['/p/beta%2Facme/whoami', '/p/BETA/whoami', '/p/..%2Fbeta/whoami']) {
              const res = await request(params.server).get(bad);
              assert.equal(res.status, 400, `${bad}: ${res.text}`);
            }
            await request(params.server).get('/p/nobody/whoami').expect(404);
          } finally {
            await params.close();
          }
        });
      });

      describe('sessions', () => {
        const sessionResolver = () => resolver(fromSession('tenantSlug'));

        it('resolves from the session; wrong types are 400, logged out is 400, never another tenant', async () => {
          const app2 = await buildApp(framework, { resolver: sessionResolver(), db, session: 'before' });
          try {
            const agent = request.agent(app2.server);
            await agent.get('/whoami').expect(400);
            await agent.post('/public/login').send({ value: 'beta' }).expect(200);
            const res = await agent.get('/pages').expect(200);
            assert.deepEqual(res.body.scope, BETA);
            assert.ok(res.body.pages.every((p: { tenant_id: number }) => p.tenant_id === 2));
            for (const value of [{ id: 'acme' }, ['acme'], true, 'ACME', 'acme, beta']) {
              await agent.post('/public/login').send({ value }).expect(200);
              const wrong = await agent.get('/whoami');
              assert.equal(wrong.status, 400, JSON.stringify(value));
              assert.equal(wrong.body.error, 'TENANT_KEY_INVALID');
            }
            await agent.post('/public/login').send({ value: 1 }).expect(200);
            const numeric = await agent.get('/whoami').expect(404);
            assert.equal(numeric.body.error, 'TENANT_NOT_FOUND');
          } finally {
            await app2.close();
          }
        });

        it('a session resolver mounted before the session middleware fails and says what to mount first', async () => {
          if (framework === 'fastify') {
            await assert.rejects(
              buildApp(framework, { resolver: sessionResolver(), db, session: 'after' }),
              /register @fastify\/cookie and @fastify\/session before knexScopes/,
            );
            return;
          }
          const store = framework === 'koa' ? 'external' : undefined;
          const misordered = await buildApp(framework, {
            resolver: sessionResolver(),
            db,
            session: 'after',
            sessionStore: store,
          });
          try {
            const res = await request(misordered.server).get('/whoami').expect(500);
            const name = framework === 'express' ? 'express-session' : 'koa-session';
            assert.match(res.body.error, new RegExp(`mount ${name} .* before scopingMiddleware`));
            assert.equal(res.body.code, 'MIDDLEWARE_ORDER');
          } finally {
            await misordered.close();
          }
        });

        if (framework === 'koa') {
          it('koa: a cookie session reads correctly even when mounted after the adapter', async () => {
            const lazy = await buildApp(framework, { resolver: sessionResolver(), db, session: 'after' });
            try {
              const agent = request.agent(lazy.server);
              await agent.post('/public/login').send({ value: 'beta' }).expect(200);
              const res = await agent.get('/whoami').expect(200);
              assert.deepEqual(res.body.scope, BETA);
            } finally {
              await lazy.close();
            }
          });

          it('koa: an external-store session mounted first resolves', async () => {
            const external = await buildApp(framework, {
              resolver: sessionResolver(),
              db,
              session: 'before',
              sessionStore: 'external',
            });
            try {
              const agent = request.agent(external.server);
              await agent.post('/public/login').send({ value: 'acme' }).expect(200);
              const res = await agent.get('/whoami').expect(200);
              assert.deepEqual(res.body.scope, ACME);
            } finally {
              await external.close();
            }
          });
        }

        it('without any session middleware, the session resolver fails loudly too', async () => {
          const build = buildApp(framework as Framework, { resolver: sessionResolver(), db });
          if (framework === 'fastify') {
            await assert.rejects(build, (e: { code?: string }) => e.code === 'MIDDLEWARE_ORDER');
            return;
          }
          const none = await build;
          try {
            const res = await request(none.server).get('/whoami').expect(500);
            assert.equal(res.body.code, 'MIDDLEWARE_ORDER');
          } finally {
            await none.close();
          }
        });
      });
    });
  }
});
