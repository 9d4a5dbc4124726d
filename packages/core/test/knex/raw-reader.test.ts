// The raw reader (core/src/knex/raw): raw SQL is read, not grepped. Every name that is not
// provably a column qualifier counts, in every dialect's quoting and comments; what could escape
// its slot is a problem. The corpus is ../shared/research/raw-sql-readers.md's, which three SQL
// parsers got wrong in places; the reader must never miss a table in it (it may over-approximate).
import assert from 'node:assert/strict';
import { defineScopes, isScopeError, scope } from '@knex-scopes/core';
import knexFactory from 'knex';
import { type RawLike, registerBuilderBaseOf } from '../../dist/knex/knex-internals';
import { expandRaw } from '../../dist/knex/raw/expand-raw';
import { readSql } from '../../dist/knex/raw/read-sql';
import type { SqlFamily } from '../../dist/knex/raw/sql-dialect';
import { foldName } from '../../dist/knex/table-names';

const corpus: Record<Exclude<SqlFamily, 'unknown'>, Array<[string, string[]]>> = {
  pg: [
    ['select * from posts', ['posts']],
    ['SELECT * FROM "posts" AS p JOIN public.comments c ON c.post_id = p.id', ['posts', 'comments']],
    ['select * from (select 1) x, posts p', ['posts']],
    ['select * from a join b on 1=1, posts p', ['a', 'b', 'posts']],
    ['with sites(id) as (select 1) select * from sites', ['sites']],
    ['with recursive t(n) as (select 1 union all select n+1 from t where n<3) select * from t, sites', ['sites']],
    ['select /* from secret */ id from posts -- , users\n where 1=1', ['posts']],
    ['select $$ from secret $$, $tag$x$tag$ from posts', ['posts']],
    ['select * from POSTS', ['posts']],
    ['update posts set x = 1 from users u where u.id = posts.user_id', ['posts', 'users']],
    ['delete from posts using users where users.id = posts.user_id', ['posts', 'users']],
    ['insert into posts (id) select id from drafts returning id', ['posts', 'drafts']],
    [
      'select * from only posts, lateral (select * from comments where comments.pid = posts.id) c',
      ['posts', 'comments'],
    ],
    ['select * from (a join b on true) join c on true', ['a', 'b', 'c']],
    ["select E'\\' from users' from posts", ['posts']],
    ["select * from posts where x = 'it''s from users'", ['posts']],
    ['select 1 /* /* */ , x from secret */ from posts', ['posts']],
    ['table posts', ['posts']],
    ["select 'posts'::regclass", ['posts']],
    ["select * from query_to_xml('select * from posts', true, false, '')", ['posts']],
    ['select row_to_json(posts) from x', ['posts']],
    ['select * from (posts)', ['posts']],
    ['select * from "PoStS"', ['posts']],
    ['select * from ｐｏｓｔｓ', ['posts']],
  ],
  sqlite: [
    ['select * from (posts)', ['posts']],
    ["select * from 'posts'", ['posts']],
    ['select * from [posts] join `comments` on 1 join "users" on 1', ['posts', 'comments', 'users']],
    ['update or replace posts set x = 1', ['posts']],
    ['insert or ignore into posts (id) values (?)', ['posts']],
    ['select * from main.posts', ['posts']],
    ['select * from (select 1) x, posts p', ['posts']],
    ['select * from posts indexed by idx where id = ?', ['posts']],
    ['replace into posts (id) values (1)', ['posts']],
    ['select 1 /* from x */ from posts -- from y', ['posts']],
    ['select * from posts where id in (select id from (comments))', ['posts', 'comments']],
    ['select * from POSTS natural join "Comments"', ['posts', 'comments']],
    ['select * from (with sites as (select 1) select * from sites) s, sites', ['sites']],
    ['select * from/**/posts', ['posts']],
  ],
  mysql: [
    ['select * from `posts` p join comments c on c.pid = p.id', ['posts', 'comments']],
    ['select * from (posts)', ['posts']],
    ['select 1 # from secret\nfrom posts', ['posts']],
    ['select * from mydb.posts', ['posts']],
    ['update posts p join users u on u.id = p.uid set p.x = 1', ['posts', 'users']],
    ['delete p from posts p join users u on u.id = p.uid', ['posts', 'users']],
    ['with sites as (select 1) select * from sites', ['sites']],
    ["select * from posts where x = 'a\\' from users'", ['posts']],
    ['replace into posts (id) values (1)', ['posts']],
    ['select 1 --1, (select x from secret) as y\nfrom posts', ['posts', 'secret']],
    ['select * from posts where x = "a" or 1 = 1', ['posts']],
  ],
};

describe('the raw reader', () => {
  for (const [family, cases] of Object.entries(corpus) as Array<[SqlFamily, Array<[string, string[]]>]>) {
    it(`finds every table of the research corpus (${family}), however it is written`, () => {
      for (const [sql, tables] of cases) {
        const names = readSql(sql, family, false).names.map(foldName);
        for (const t of tables)
          assert.ok(names.includes(t), `${family}: ${JSON.stringify(sql)} → ${names.join(', ')} lacks ${t}`);
      }
    });
  }

  it("reads a SQLite string where it stands for a table, a fragment's first token too (found by the fuzzer)", () => {
    for (const fragment of ["'pages' as a0", "x, 'pages'", "('pages')"]) {
      assert.ok(readSql(fragment, 'sqlite', true).names.includes('pages'), fragment);
    }
    // PostgreSQL and MySQL never take a string for a table: a value there
    assert.ok(!readSql("'pages' as a0", 'pg', true).names.includes('pages'));
  });

  it('reads a MySQL executable comment as a problem, and a double-quoted text both ways', () => {
    assert.match(readSql('select * from t /*!50000 , posts */', 'mysql', false).problems.join(), /executable comment/);
    // under ANSI_QUOTES "posts" is a name
    assert.ok(readSql('select * from t where a = "posts"', 'mysql', false).names.includes('posts'));
    assert.ok(readSql('select * from t where a = "POSTS"', 'mysql', false).names.map(foldName).includes('posts'));
  });

  it('reads a backslash in a PostgreSQL string both ways (standard_conforming_strings off)', () => {
    // on: one string, then `, posts`; off: the string runs on and is never closed
    const r = readSql("select 'a\\', posts from t", 'pg', false);
    assert.ok(r.names.includes('posts'));
    assert.ok(r.problems.length > 0);
  });

  it('lets column qualifiers, values and prose through', () => {
    for (const family of ['pg', 'sqlite', 'mysql'] as const) {
      const r = readSql(
        "pages.title like ? and pages.* is not null and note = 'my pages' and commentable_type = 'pages' and t in ('x', 'y')",
        family,
        true,
      );
      assert.deepEqual(
        r.names.filter((n) => n === 'pages'),
        [],
        family,
      );
      assert.deepEqual(r.problems, [], family);
    }
  });

  it('finds fragments that could escape their slot', () => {
    const problems = (sql: string, family: SqlFamily = 'pg') => readSql(sql, family, true).problems.join('; ');
    assert.match(problems('1 = 0) or (1 = 1'), /closing parenthesis/);
    assert.match(problems('(1 = 1'), /opening parenthesis/);
    assert.match(problems('1 = 1 --'), /line comment/);
    assert.match(problems('1 = 1 # x', 'mysql'), /line comment/);
    assert.match(problems('1 = 1; delete from t'), /statement separator/);
    assert.match(problems("a = 'x"), /unterminated string/);
    assert.match(problems('a = 1 /* x'), /unterminated comment/);
    assert.match(problems('U&"\\0070ages"'), /Unicode/);
    assert.equal(problems('1 = 1 -- note\n'), '');
    assert.equal(problems('(a) = (b)'), '');
  });

  it('splices every binding form the way Knex does before reading', () => {
    const k = knexFactory({ client: 'pg' });
    const protos = { raw: Object.getPrototypeOf(k.raw('')), ref: Object.getPrototypeOf(k.ref('x')) };
    registerBuilderBaseOf(k.queryBuilder()); // as wrap() does: builders are told by Knex's own base
    const text = (raw: unknown) => expandRaw(raw as RawLike, '"', protos).text;
    assert.equal(text(k.raw('select * from ?', [k.ref('pages')])), 'select * from "pages"');
    assert.equal(text(k.raw('select * from ?', [k.raw('pages')])), 'select * from pages');
    assert.equal(text(k.raw('select * from ??', [['pages', 'comments']])), 'select * from "pages", "comments"');
    assert.equal(text(k.raw('select * from ??', [{ p: 'public.pages' }])), 'select * from "public"."pages" as "p"');
    assert.equal(text(k.raw('select * from :t:', { t: 'pages' })), 'select * from "pages"');
    assert.equal(text(k.raw('select * from :t', { t: k.raw('pages') })), 'select * from pages');
    assert.equal(text(k.raw('select * from (?) x', [k('pages')])), 'select * from ((?)) x');
    assert.equal(text(k.raw('select ? where a = ?', [1, 'pages'])), 'select ? where a = ?');
    assert.equal(text(k.raw('x').wrap('(select * from pages) ', '')), '(select * from pages) x');
    assert.match(String(expandRaw(k.raw('? ?', [1]) as unknown as RawLike, '"', protos).problem), /bindings/);
    // a raw that would send something else than what is read
    const swapped = k.raw('1') as unknown as RawLike & { toSQL: unknown };
    swapped.toSQL = () => ({ sql: 'select * from pages', bindings: [] });
    assert.match(String(expandRaw(swapped, '"', protos).problem), /not Knex’s own/);
    let reads = 0;
    const getter = k.raw('1') as unknown as RawLike;
    Object.defineProperty(getter, 'sql', { get: () => (reads++ === 0 ? '1' : 'select * from pages') });
    assert.match(String(expandRaw(getter, '"', protos).problem), /not Knex’s own/);
    class Sneaky extends (Object.getPrototypeOf(k.raw('')).constructor as new (c: unknown) => object) {}
    const sub = Object.assign(new Sneaky((k as unknown as { client: unknown }).client), { sql: '1', bindings: [] });
    assert.match(String(expandRaw(sub as unknown as RawLike, '"', protos).problem), /not Knex’s own/);
    void k.destroy();
  });

  it('matches names as the app maps them: an identifier binding goes through wrapIdentifier', () => {
    const snake = (v: string) => v.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const base = knexFactory({
      client: 'better-sqlite3',
      useNullAsDefault: true,
      connection: { filename: ':memory:' },
      wrapIdentifier: (value, orig) => orig(snake(value)),
    });
    const db = defineScopes({ tables: { blog_pages: { tenant: 'tenant_id' } } }).wrap(base);
    for (const binding of ['blogPages', 'BLOG_PAGES', 'blog_pages']) {
      assert.throws(
        () => scope({ tenant: 1 }, () => db('tags').whereRaw('exists (select 1 from ??)', [binding]).toSQL()),
        (e: unknown) => isScopeError(e, 'RAW_SQL_REFUSED'),
        binding,
      );
    }
    void base.destroy();
  });
});
