// The concurrency soak: 2 000 concurrent requests over 50 tenants on each framework, random
// delays inside handlers (timers, immediates, database queries, body parsing), every response
// checked to hold only its own tenant's rows, then the database checked for misattributed writes.
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { forEachDialect } from '../support/databases';
import { buildApp, FRAMEWORKS } from './support/apps';
import { STREAM_CHUNKS } from './support/handlers';
import { type Call, clientFor, type Reply } from './support/http-client';
import { createSchema, makeResolver, PAGES_PER_TENANT, probeOn, scopes, slugOf, TENANT_COUNT } from './support/schema';

const REQUESTS = 2000;
// Bounded: SQLite only unless KNEX_SCOPES_SOAK_DIALECTS=all (PostgreSQL and MariaDB add a real
// connection pool, about 4 s per framework each).
const SOAK_ALL = process.env.KNEX_SCOPES_SOAK_DIALECTS === 'all';

type Kind = 'header' | 'subdomain' | 'path' | 'post' | 'stream' | 'public' | 'unknown';

interface Planned {
  readonly kind: Kind;
  readonly tenant: number;
  readonly call: Call;
}

function hostFor(slug: string, i: number): string {
  const variants = [
    `${slug}.example.test`,
    `${slug.toUpperCase()}.EXAMPLE.test`,
    `${slug}.example.test:8443`,
    `${slug}.example.test.`,
  ];
  return variants[i % variants.length] as string;
}

function plan(i: number): Planned {
  const tenant = 1 + Math.floor(Math.random() * TENANT_COUNT);
  const slug = slugOf(tenant);
  const roll = Math.random();
  const header = { 'x-tenant': slug };
  if (roll < 0.22) return { kind: 'header', tenant, call: { path: '/pages', headers: header } };
  if (roll < 0.42) return { kind: 'subdomain', tenant, call: { path: '/pages', headers: { host: hostFor(slug, i) } } };
  if (roll < 0.57) return { kind: 'path', tenant, call: { path: `/t/${slug}/pages` } };
  if (roll < 0.72) {
    const pad = 'p'.repeat(500 + Math.floor(Math.random() * 8_000));
    return {
      kind: 'post',
      tenant,
      call: { method: 'POST', path: '/pages', headers: header, json: { title: `soak ${slug}`, pad } },
    };
  }
  if (roll < 0.84) return { kind: 'stream', tenant, call: { path: '/stream', headers: header } };
  if (roll < 0.93) return { kind: 'public', tenant: 0, call: { path: '/public/health', headers: header } };
  return { kind: 'unknown', tenant: 0, call: { path: '/pages', headers: { 'x-tenant': `ghost${i % 7}` } } };
}

/** Why a response is wrong, or undefined when it holds exactly its tenant's data. */
function wrong(planned: Planned, reply: Reply): string | undefined {
  if (reply.headers['x-pre-scope'] !== '{}') return `a scope before the adapter: ${reply.headers['x-pre-scope']}`;
  const { kind, tenant } = planned;
  if (kind === 'unknown') return reply.status === 404 ? undefined : `status ${reply.status}`;
  if (reply.status !== 200) return `status ${reply.status}: ${reply.text.slice(0, 200)}`;
  if (kind === 'stream') {
    const tenants = new Set(
      reply.text
        .trim()
        .split('\n')
        .map((line) => line.split(' ')[0]),
    );
    const lines = reply.text.trim().split('\n').length;
    return lines === STREAM_CHUNKS && tenants.size === 1 && tenants.has(String(tenant))
      ? undefined
      : `stream chunks from ${[...tenants]}`;
  }
  const body = JSON.parse(reply.text);
  if (kind === 'public')
    return body.query === 'SCOPE_MISSING' && Object.keys(body.scope).length === 0
      ? undefined
      : 'public route in a scope';
  const scopes = [body.scope, ...(body.seen ?? []), ...Object.values(body.stages ?? {})];
  if (!scopes.every((s: { tenant?: number }) => s.tenant === tenant && Object.keys(s).length === 1)) {
    return `scopes ${JSON.stringify(scopes)}`;
  }
  if (kind === 'post') return body.page.tenant_id === tenant ? undefined : `inserted for ${body.page.tenant_id}`;
  const rows = [...body.pages, ...body.comments] as { tenant_id: number }[];
  if (body.pages.length < PAGES_PER_TENANT || rows.some((row) => row.tenant_id !== tenant)) {
    return `rows of ${[...new Set(rows.map((row) => row.tenant_id))]}`;
  }
  return undefined;
}

forEachDialect('http adapters: concurrency soak', (testDb) => {
  if (testDb.dialect !== 'sqlite' && !SOAK_ALL) return;
  let db: Knex;

  before(async () => {
    await createSchema(testDb.knex());
    db = scopes.wrap(testDb.knex());
  });

  for (const framework of FRAMEWORKS) {
    it(`${framework}: ${REQUESTS} concurrent requests over ${TENANT_COUNT} tenants, none reaches another tenant`, async function () {
      this.timeout(60_000);
      const probe = probeOn(db);
      const app = await buildApp(framework, { resolver: makeResolver(testDb.knex(), probe, undefined, true), db });
      const client = clientFor(app.server, 256);
      const started = Date.now();
      try {
        const planned = Array.from({ length: REQUESTS }, (_, i) => plan(i));
        const replies = await Promise.all(planned.map((p) => client.send(p.call)));
        const failures = planned
          .map((p, i) => [p, wrong(p, replies[i] as Reply)] as const)
          .filter(([, why]) => why !== undefined);
        const knex = testDb.knex();
        const written = (await knex('pages').where('title', 'like', 'soak %').select('tenant_id', 'title')) as {
          tenant_id: number;
          title: string;
        }[];
        const misattributed = written.filter((row) => !row.title.startsWith(`soak ${slugOf(Number(row.tenant_id))} `));
        console.log(
          `      [soak] ${framework} on ${testDb.dialect}: ${REQUESTS} requests in ${Date.now() - started} ms, ` +
            `${failures.length} wrong-tenant responses, ${misattributed.length} misattributed writes of ${written.length}`,
        );
        assert.deepEqual(
          failures.slice(0, 5).map(([p, why]) => `${p.kind} ${p.tenant}: ${why}`),
          [],
        );
        assert.equal(misattributed.length, 0);
        await knex('comments')
          .whereIn('page_id', knex('pages').where('title', 'like', 'soak %').select('id'))
          .del();
        await knex('pages').where('title', 'like', 'soak %').del();
      } finally {
        client.close();
        await app.close();
      }
    });
  }
});
