// Raw SQL cannot be filtered: raw text naming a scoped table is refused while enforcing
// (knex-internals.md §6 group 13); builders inside raw bindings are filtered; trustRaw() is the
// explicit, per-statement escape hatch.
import assert from 'node:assert/strict';
import { scopesDisabled, trustRaw } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { asTenant1, col, expectScopeError, recordQueries, useSeededDatabase } from './fixtures';

forEachDialect('scoped Knex: raw SQL', (tdb) => {
  let base: Knex;
  let db: Knex;
  useSeededDatabase(tdb, 'once', (b, d) => {
    base = b;
    db = d;
  });
  const t1 = asTenant1;
  const rowsOf = (result: unknown): Array<Record<string, unknown>> => {
    if (Array.isArray(result)) return (Array.isArray(result[0]) ? result[0] : result) as Array<Record<string, unknown>>;
    return ((result as { rows?: unknown[] }).rows ?? []) as Array<Record<string, unknown>>;
  };

  it('refuses a raw statement naming a scoped table, in or out of a scope, sending nothing', async () => {
    const log = recordQueries(db);
    const error = await expectScopeError(
      t1(() => db.raw('select * from pages')),
      'RAW_SQL_REFUSED',
      /trustRaw/,
    );
    assert.equal(error.table, 'pages');
    await expectScopeError(db.raw('SELECT c.body FROM tags t, comments c'), 'RAW_SQL_REFUSED');
    await expectScopeError(
      t1(() => db.raw('update pages set title = ?', ['x'])),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db.raw('delete from replies')),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db.raw('insert into pages (tenant_id, title) values (2, ?)', ['x'])),
      'RAW_SQL_REFUSED',
    );
    log.stop();
    assert.deepEqual(log.sql, []);
  });

  it('sees table names behind ?? and :name: identifier bindings', async () => {
    await expectScopeError(
      t1(() => db.raw('select * from ??', ['pages'])),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db.raw('select * from :t:', { t: 'comments' })),
      'RAW_SQL_REFUSED',
    );
  });

  it('runs raw SQL that names no scoped table, or names one only as a column qualifier', async () => {
    assert.deepEqual(col(rowsOf(await db.raw('select name from tags')), 'name'), ['misc', 'news']);
    const rows = await t1(() => db('pages').whereRaw('pages.title like ?', ['p1%']));
    assert.deepEqual(col(rows, 'title'), ['p1-t1']);
  });

  it('filters builders passed as raw bindings', async () => {
    const result = await t1(() => db.raw('select count(*) as n from (?) as sub', [db('comments').select('id')]));
    assert.equal(Number(rowsOf(result)[0]?.n), 2);
  });

  it('refuses raw fragments: fromRaw, from(raw), raw columns, whereRaw, joinRaw, havingRaw, orderByRaw', async () => {
    await expectScopeError(
      t1(() => db.select('*').fromRaw('pages')),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db.select('*').from(db.raw('pages as p'))),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db('tags').select(db.raw('(select title from pages where pages.id = tags.id) as t'))),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db('tags').whereRaw('id in (select tag_id from page_tags)')),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db('tags').joinRaw('left join comments on comments.id = tags.id')),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db('tags').groupBy('id').havingRaw('count(*) < (select count(*) from replies)')),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db('tags').orderByRaw('(select max(id) from comments)')),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db('tags').where('id', db.raw('(select min(page_id) from bookmarks)'))),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db('tags').where('id', '=', db.raw('(?)', [db.raw('select 1 from pages')]))),
      'RAW_SQL_REFUSED',
    );
  });

  it('finds raws inside select objects, order objects and join on() callbacks', async () => {
    await expectScopeError(
      t1(() => db('tags').select({ n: db.raw('(select count(*) from pages)') })),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db('tags').orderBy([{ column: db.raw('(select max(id) from comments)') as never, order: 'desc' }])),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() =>
        db('tags as t').join('tags as u', function () {
          this.on('u.id', '=', 't.id').andOn(db.raw('u.id in (select tag_id from page_tags)'));
        }),
      ),
      'RAW_SQL_REFUSED',
    );
    const fine = await t1(() =>
      db('tags as t').join('tags as u', function () {
        this.on('u.id', '=', 't.id').andOn(db.raw('u.name = t.name'));
      }),
    );
    assert.equal(fine.length, 2);
  });

  it('treats knex.ref() as a name, filtered like a string', async () => {
    const rows = await t1(() => db.select('*').from(db.ref('pages')));
    assert.deepEqual(col(rows, 'title'), ['p1-t1', 'p2-t1']);
  });

  it('lets trustRaw() through, per statement, and scopesDisabled() too', async () => {
    // the mark is per statement: a new raw of the same text is not trusted
    const marked = trustRaw(db.raw('select count(*) as n from pages'));
    await expectScopeError(
      t1(() => db.raw((marked as unknown as { sql: string }).sql)),
      'RAW_SQL_REFUSED',
    );
    const n = await t1(() => trustRaw(db.raw('select count(*) as n from pages')));
    assert.equal(Number(rowsOf(n)[0]?.n), 4, 'a trusted raw runs unfiltered: the caller vouched for it');
    const fragment = await t1(() => db('tags').whereRaw(trustRaw(db.raw('id in (select tag_id from page_tags)'))));
    assert.equal(fragment.length, 2);
    const disabled = await scopesDisabled(() => db.raw('select count(*) as n from comments'));
    assert.equal(Number(rowsOf(disabled)[0]?.n), 4);
  });

  it('refuses raw subqueries among the values an insert or update writes', async () => {
    const steal = () => db.raw('(select title from pages where id = 3)');
    await expectScopeError(
      t1(() => db('tags').insert({ id: 9, name: steal() })),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db('pages').update({ title: steal() })),
      'RAW_SQL_REFUSED',
    );
    await expectScopeError(
      t1(() => db('pages').insert([{ title: 'a' }, { title: steal() }])),
      'RAW_SQL_REFUSED',
    );
    assert.equal((await base('tags')).length, 2);
    // a builder as a value is filtered, not refused
    const copy = () =>
      db('pages')
        .update({ title: db('pages').select('title').where('id', 3).first() })
        .where('id', 1);
    assert.match(
      t1(() => copy().toString()),
      /set .title. = \(select .title. from .pages. where .pages.\..tenant_id. = 1 and/,
    );
    // page 3 is invisible in tenant 1: the subquery yields null, which the NOT NULL column rejects
    await assert.rejects(t1(copy), /null/i);
    assert.equal((await base('pages').where('id', 1).first())?.title, 'p1-t1');
  });

  it('refuses insert of raw values into a scoped table column', async () => {
    await expectScopeError(
      t1(() => db('pages').insert({ title: 'x', tenant_id: db.raw('2') })),
      'CROSS_SCOPE_WRITE',
    );
  });

  it('does not check knex.schema.raw (a documented gap: use the unwrapped instance for DDL)', async () => {
    await t1(() => db.schema.raw('create table raw_gap (id integer)'));
    await base.schema.dropTable('raw_gap');
  });
});
