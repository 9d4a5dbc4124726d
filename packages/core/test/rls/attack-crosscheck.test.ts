// Issue 23 × issue 21: the raw-SQL attack classes of the hardening issue, each sent through the
// scoped instance *with trustRaw* (the app-level net lifted on purpose) while the RLS bridge is on,
// as tenant 1 and as a role that is not the owner: none returns a row of another tenant, none
// writes there. The database is the net. (The one thing RLS driven by a setting cannot stop,
// SQL that sets the setting itself, is pinned down at the end: docs/rls.md, threat model.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { defineScopes, scope, trustRaw } from '@knex-scopes/core';
import knex, { type Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { createSchema, seed, TABLES } from '../knex/fixtures';

const scopes = defineScopes({ tables: TABLES, rls: { setting: 'knex_scopes.scope' } });

/** Values only rows of tenants 2 and 3 hold (titles, bodies, tenant names). */
const FOREIGN = /-t2|-t3|globex|initech/;

type Attack = { name: string; build: (db: Knex) => unknown };
const t = (db: Knex, sql: string, bindings?: readonly unknown[]) =>
  trustRaw(bindings ? db.raw(sql, bindings as Knex.RawBinding[]) : db.raw(sql));

const ATTACKS: Attack[] = [
  // 2, 5: names in other spellings, through bindings
  ...[
    'select * from pages',
    'select * from PAGES',
    'select * from "pages"',
    'select * from "public"."pages"',
    'select * from public.pages',
    'select * from U&"\\0070ages"',
    `select * from U&"!0070ages" UESCAPE '!'`,
    'select * from/**/pages',
    'select * from tags,/**/pages',
    'select * from tags join/* x */pages on 1 = 1',
    "select t.name from tags t /* /* */ ' */ , pages -- '",
    'select t.name, p.title from tags t --\r, pages p',
    'select title, 1--1 from pages',
    'table pages',
    'table comments',
    'table replies',
    'table tenants',
    'select * from tags where exists (table pages)',
    // 6: shapes that hide a table
    'select p.* from (pages p cross join tags t)',
    'select p.* from (select 1 as one) x, pages p',
    'select p.* from tags c join tags t on 1 = 1, pages p',
    'select * from comments c join tenants t on 1=1, pages p',
    'select p.* from generate_series(1, 1) g, pages p',
    'select p.* from tags tablesample system (100), pages p',
    'select p.* from tags t(a, b), pages p',
    "select $$'$$ as q, p.title from pages p where '1' = '1'",
    "select $a$'$a$ as q, p.title from pages p where '1' = '1'",
    "select E'\\'' as q, p.title from pages p where '1' = '1'",
    'select "\\"" as q, p.title from pages p -- "',
    // 7: CTEs and aliases named like scoped tables
    'with pages as (select * from comments) select * from pages',
    'with x as (select * from pages) select * from x',
    'with recursive r as (select * from replies) select * from r',
    'select * from comments as pages',
    'select c.body, r.body as reply from comments c left join replies r on r.comment_id = c.id',
    // dynamic SQL and whole-schema readers
    "select query_to_xml('select * from pages', true, false, '')::text as x",
    "select query_to_xml('select * from ' || 'pa' || 'ges', true, false, '')::text as x",
    "select query_to_xml(format('select * from %I', 'pag' || 'es'), true, false, '')::text as x",
    "select table_to_xml('pages', true, false, '')::text as x",
    "select table_to_xml('comments'::regclass, true, false, '')::text as x",
    "select schema_to_xml('public', true, false, '')::text as x",
    "select database_to_xml(true, false, '')::text as x",
    "select attname, histogram_bounds::text as h, most_common_vals::text as v from pg_stats where tablename in ('pages', 'comments')",
    // 3: raw insert bodies and non-literal values for scope columns
    "insert into pages (id, tenant_id, title) values (51, 2, 'evil')",
    "insert into pages (id, tenant_id, title) select 52, 2, 'evil'",
    "insert into pages (id, tenant_id, title) select 53, tenant_id + 1, 'evil' from pages",
    "insert into comments (id, page_id, body) values (51, 3, 'evil')",
    "insert into replies (id, comment_id, body) values (51, 3, 'evil')",
    "insert into bookmarks (id, page_id, user_id) values (51, 3, 'u1')",
    // 1: upserts
    "insert into pages (id, tenant_id, title) values (3, 1, 'pwned') on conflict (id) do update set title = 'pwned'",
    "insert into pages (id, tenant_id, title) values (1, 1, 'x') on conflict (id) do update set tenant_id = 2",
    // updates and deletes of every kind
    "update pages set title = 'pwned'",
    "update pages set title = 'pwned' where tenant_id = 2",
    'update pages set tenant_id = 2 where id = 1',
    'update comments set page_id = 3 where id = 1',
    'update U&"\\0070ages" set title = \'pwned\'',
    "update comments set body = 'pwned' from pages where pages.id = comments.page_id",
    'delete from page_tags',
    'delete from replies',
    'delete from bookmarks using pages where pages.id = bookmarks.page_id',
    "select 1; update pages set title = 'pwned'",
    "do $$ begin execute 'upd' || 'ate pa' || 'ges set title = ''pwned'''; end $$",
    "do $$ begin execute 'insert into pages (id, tenant_id, title) values (54, 2, ''evil'')'; end $$",
    "merge into pages p using (select 3 as id) s on p.id = s.id when matched then update set title = 'pwned'",
    'prepare s as select * from pages; execute s; deallocate s',
  ].map((sql): Attack => ({ name: sql, build: (db) => t(db, sql) })),
  // 5: table names through bindings
  { name: "select * from ?? ['pages']", build: (db) => t(db, 'select * from ??', ['pages']) },
  { name: "select * from ?? ['public.comments']", build: (db) => t(db, 'select * from ??', ['public.comments']) },
  // 4, 8: raw fragments in builder slots of a global table's query
  {
    name: 'select((select title from pages where id = 3))',
    build: (db) => db('tags').select('name', t(db, '(select title from pages where id = 3) as leaked')),
  },
  {
    name: 'whereRaw(exists (select 1 from pages where tenant_id = 2))',
    build: (db) => db('tags').whereRaw(t(db, 'exists (select 1 from pages where tenant_id = 2)')),
  },
  {
    name: 'joinRaw(cross join pages)',
    build: (db) =>
      db('tags')
        .select('tags.name', 'pages.title')
        .joinRaw(t(db, 'cross join pages') as never),
  },
  { name: 'fromRaw(pages)', build: (db) => db.select('*').fromRaw(t(db, 'pages') as never) },
  {
    name: "whereRaw('1 = 1) or (1 = 1') on a scoped table",
    build: (db) => db('pages').whereRaw(t(db, '1 = 1) or (1 = 1')),
  },
  {
    name: 'trx.raw(trustRaw(…)) inside a transaction',
    build: (db) => db.transaction((trx) => t(trx, 'select * from comments')),
  },
];

forEachDialect('RLS bridge × the attack classes of #21', (tdb) => {
  if (tdb.dialect !== 'pg') return;
  const role = `ks_rls_atk_${randomBytes(4).toString('hex')}`;
  let owner: Knex;
  let app: Knex;
  let db: Knex;

  before(async () => {
    owner = tdb.knex();
    await createSchema(owner);
    await seed(owner);
    await owner.raw('analyze'); // pg_stats holds every tenant's values
    await scopes.rlsMigration().up(owner);
    await owner.raw(`create role ${role} login nosuperuser nobypassrls`);
    await owner.raw(`grant select, insert, update, delete on all tables in schema public to ${role}`);
    await owner.raw(`grant usage on all sequences in schema public to ${role}`);
    const config = tdb.config();
    app = knex({ ...config, connection: { ...(config.connection as object), user: role } });
    db = scopes.wrap(app);
  });

  after(async () => {
    await app?.destroy();
    await owner.raw(`drop owned by ${role}`);
    await owner.raw(`drop role ${role}`);
  });

  /** Every row of tenants 2 and 3, as the owner sees them. */
  const foreign = async (): Promise<string[]> => {
    const theirs = 'select id from pages where tenant_id <> 1';
    const queries = [
      'select * from tenants where id <> 1',
      'select * from pages where tenant_id <> 1',
      `select * from comments where page_id is null or page_id in (${theirs})`,
      `select * from replies where comment_id in (select id from comments where page_id in (${theirs}))`,
      `select * from bookmarks where page_id in (${theirs})`,
      `select * from page_tags where page_id in (${theirs})`,
    ];
    const out: string[] = [];
    for (const q of queries) for (const row of (await owner.raw(q)).rows) out.push(`${q}: ${JSON.stringify(row)}`);
    return out.sort();
  };

  it("sees tenant 1's own rows through the same channel (the checks below are not vacuous)", async () => {
    const own = (await scope({ tenant: 1 }, () => t(db, 'table pages'))) as unknown as {
      rows: Array<{ title: string }>;
    };
    assert.deepEqual(own.rows.map((r) => r.title).sort(), ['p1-t1', 'p2-t1']);
    const xml = (await scope({ tenant: 1 }, () =>
      t(db, "select query_to_xml('select * from comments', true, false, '')::text as x"),
    )) as unknown as { rows: Array<{ x: string }> };
    assert.match(xml.rows[0]?.x ?? '', /c1-t1/);
  });

  for (const where of ['autocommit', 'inside a transaction'] as const) {
    for (const attack of ATTACKS) {
      it(`returns no row of another tenant and writes nothing there (${where}): ${attack.name}`, async () => {
        const before = await foreign();
        let result: unknown;
        try {
          result = await scope({ tenant: 1 }, () =>
            where === 'autocommit'
              ? (attack.build(db) as Promise<unknown>)
              : db.transaction((trx) => attack.build(trx as Knex) as Promise<unknown>),
          );
        } catch (error) {
          result = { refused: (error as Error).name }; // its message quotes the attack's SQL
        }
        const text = JSON.stringify(result) ?? '';
        assert.doesNotMatch(text, FOREIGN, `returned another tenant's data: ${text.slice(0, 400)}`);
        assert.deepEqual(await foreign(), before, "another tenant's rows changed");
      });
    }
  }

  it('known gap (threat model): SQL that sets the setting itself is not stopped by RLS', async () => {
    const leaked = await scope({ tenant: 1 }, () =>
      t(db, `select set_config('knex_scopes.scope', '{"enabled":false}', true); select title from pages`),
    );
    const rows = (leaked as unknown as Array<{ rows: Array<{ title: string }> }>)[1]?.rows ?? [];
    assert.ok(
      rows.some((r) => /-t2/.test(r.title)),
      'the documented gap closed? update docs/rls.md',
    );
    // ...but only for that one transaction: the next statement runs with its own scope again
    const next = (await scope({ tenant: 1 }, () => t(db, 'select title from pages'))) as unknown as {
      rows: Array<{ title: string }>;
    };
    assert.doesNotMatch(JSON.stringify(next.rows), FOREIGN);
  });
});
