// A MySQL-family single-table UPDATE/DELETE through an FK path goes out as the multi-table write
// a hand-written query is (mysql-path-writes.ts, issue 26): `update comments inner join pages as
// ks_path_1 on ks_path_1.id = comments.page_id set comments.body = ? where ks_path_1.tenant_id = ?
// and comments.id = ?`, which MariaDB plans by key. Asserted: the SQL sent, the rows written and
// left, the shapes that keep the single-table form, and that SQLite and PostgreSQL send what they
// sent before. Every write speaks for tenant 1 (pages 1, 2; comments 1, 2; reply 1) unless it says
// otherwise.
import assert from 'node:assert/strict';
import { scope } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { asTenant1, col, expectScopeError, makeScopes, plain, recordQueries, useSeededDatabase } from './fixtures';

/** The path joined up to `pages`, schema-qualified or not. */
const joined = (sql: string | undefined) => /inner join (\w+\.)?pages as ks_path_\d on /.test(sql ?? '');
const PAGES_T1 = 'comments.page_id in (select pages.id from pages where pages.tenant_id = ?)';
const COMMENTS_T1 = `replies.comment_id in (select comments.id from comments where ${PAGES_T1})`;

forEachDialect('MySQL path writes in the multi-table form', (tdb) => {
  let base!: Knex;
  let db!: Knex;
  const mysql = tdb.dialect === 'mysql';
  useSeededDatabase(tdb, 'each', (b, d) => {
    base = b;
    db = d;
  });
  const t1 = asTenant1;

  /** The statements `fn` sends, identifiers unquoted and placeholders as `?`, and its result. */
  async function sent<T>(fn: () => PromiseLike<T> | T, k: Knex = db): Promise<{ sql: string[]; result: T }> {
    const log = recordQueries(k);
    try {
      const result = await fn();
      return { sql: log.sql.map((s) => plain(s).replace(/\$\d+/g, '?')), result };
    } finally {
      log.stop();
    }
  }
  const bodies = async () => (await base('comments').orderBy('id')).map((r) => `${r.id}:${r.body}`);
  const replies = async () => col(await base('replies'), 'id');

  it('updates by id through a path in the multi-table form on MySQL, as before elsewhere', async () => {
    const run = await sent(() => t1(() => db('comments').where({ id: 1 }).update({ body: 'x' })));
    assert.deepEqual(run.sql, [
      mysql
        ? 'update comments inner join pages as ks_path_1 on ks_path_1.id = comments.page_id set comments.body = ? ' +
          'where ks_path_1.tenant_id = ? and comments.id = ?'
        : `update comments set body = ? where ${PAGES_T1} and id = ?`,
    ]);
    assert.equal(Number(run.result), 1);
    // another tenant's row by id: nothing, in either form
    assert.equal(Number(await t1(() => db('comments').where({ id: 3 }).update({ body: 'y' }))), 0);
    assert.deepEqual(await bodies(), ['1:x', '2:c2-t1', '3:c3-t2', '4:c4-t3']);
  });

  it("deletes a comment's replies two hops down in the multi-table form on MySQL", async () => {
    const run = await sent(() => t1(() => db('replies').where({ comment_id: 1 }).del()));
    assert.deepEqual(run.sql, [
      mysql
        ? 'delete replies from replies inner join comments as ks_path_1 on ks_path_1.id = replies.comment_id ' +
          'inner join pages as ks_path_2 on ks_path_2.id = ks_path_1.page_id ' +
          'where ks_path_2.tenant_id = ? and replies.comment_id = ?'
        : `delete from replies where ${COMMENTS_T1} and comment_id = ?`,
    ]);
    assert.equal(Number(run.result), 1);
    // tenant 2's reply, named by its comment: left
    assert.equal(Number(await t1(() => db('replies').where({ comment_id: 3 }).del())), 0);
    assert.deepEqual(await replies(), ['2']);
  });

  it('returns the same counts: unchanged rows, every row of the tenant, no row', async () => {
    // mysql2 counts matched rows (CLIENT_FOUND_ROWS): a multi-table UPDATE counts them the same
    assert.equal(Number(await t1(() => db('comments').where({ id: 2 }).update({ body: 'c2-t1' }))), 1);
    assert.equal(Number(await t1(() => db('comments').update({ body: 'z' }).where('body', 'like', 'c%'))), 2);
    assert.equal(Number(await t1(() => db('comments').where({ id: 999 }).del())), 0);
    assert.deepEqual(await bodies(), ['1:z', '2:z', '3:c3-t2', '4:c4-t3']);
  });

  it('keeps several tenants, an empty scope and several dimensions exact', async () => {
    const both = await sent(() =>
      scope({ tenant: [1, 2] }, () => db('comments').whereIn('id', [1, 3, 4]).update({ body: 'w' })),
    );
    assert.equal(Number(both.result), 2);
    assert.equal(joined(both.sql[0]), mysql);
    assert.deepEqual(await bodies(), ['1:w', '2:c2-t1', '3:w', '4:c4-t3']);
    // an empty list is `1 = 0`: no path subquery, nothing to reshape
    const none = await sent(() => scope({ tenant: [] }, () => db('comments').update({ body: 'v' })));
    assert.equal(Number(none.result), 0);
    assert.doesNotMatch(none.sql[0] ?? '', /ks_path_/);
    // bookmarks: a path on tenant, a column on user; only u1's bookmark of page 1 goes
    const two = await sent(() => scope({ tenant: 1, user: 'u1' }, () => db('bookmarks').where({ page_id: 1 }).del()));
    assert.equal(Number(two.result), 1);
    assert.equal(joined(two.sql[0]), mysql);
    assert.deepEqual(col(await base('bookmarks'), 'id'), ['2', '3']);
  });

  it('sets a path key inside the one statement; a foreign parent writes nothing', async () => {
    const moved = await sent(() => t1(() => db('comments').where({ id: 1 }).update({ page_id: 2 })));
    assert.equal(moved.sql.length, 1, moved.sql.join('\n'));
    assert.match(
      moved.sql[0] ?? '',
      /and exists \(select pages\.id from pages where pages\.tenant_id = \? and pages\.id = \?\)$/,
    );
    assert.equal(joined(moved.sql[0]), mysql);
    assert.equal(Number(moved.result), 1);
    for (const page_id of [3, 999]) {
      await expectScopeError(
        t1(() => db('comments').where({ id: 2 }).update({ page_id })),
        'CROSS_SCOPE_WRITE',
      );
    }
    assert.deepEqual(col(await base('comments'), 'page_id'), ['2', '2', '3', '4']);
  });

  it('increments through a path, aliased and schema-qualified writes too', async () => {
    await base.schema.alterTable('comments', (t) => t.integer('votes').notNullable().defaultTo(0));
    const inc = await sent(() => t1(() => db('comments').increment('votes', 2)));
    assert.equal(Number(inc.result), 2);
    assert.equal(joined(inc.sql[0]), mysql);
    const aliased = await sent(() => t1(() => db('comments as c').where('c.id', 2).update({ body: 'a' })));
    assert.equal(Number(aliased.result), 1);
    assert.equal(joined(aliased.sql[0]), mysql);
    const schema = tdb.dialect === 'pg' ? 'public' : tdb.dialect === 'sqlite' ? 'main' : tdb.database();
    const schemed = await sent(() => t1(() => db.withSchema(schema).from('replies').where({ id: 1 }).del()));
    assert.equal(Number(schemed.result), 1);
    assert.equal(joined(schemed.sql[0]), mysql);
    assert.equal(Number(await t1(() => db.withSchema(schema).from('replies').where({ id: 2 }).del())), 0);
    assert.deepEqual(await bodies(), ['1:c1-t1', '2:a', '3:c3-t2', '4:c4-t3']);
    assert.deepEqual(
      (await base('comments').orderBy('id')).map((r) => Number(r.votes)),
      [2, 2, 0, 0],
    );
    assert.deepEqual(await replies(), ['2']);
  });

  it('keeps the single-table form where the multi-table one differs or is refused', async () => {
    const single = async (fn: () => unknown, rows: number) => {
      const run = await sent(() => t1(fn as () => PromiseLike<unknown>));
      assert.ok(!joined(run.sql.join('\n')), run.sql.join('\n'));
      assert.equal(Number(run.result), rows, run.sql.join('\n'));
    };
    // a subquery in the WHERE: one that reads the written table runs single-table on MariaDB and
    // is refused in a multi-table DELETE (ER_UPDATE_TABLE_USED); any subquery keeps that form
    await single(() => db('comments').whereIn('id', db('comments').select('id').where('body', 'c2-t1')).del(), 1);
    await base('comments').insert({ id: 2, page_id: 2, body: 'c2-t1' });
    await single(
      () => db('replies').whereIn('comment_id', db('comments').select('id').where('body', 'c1-t1')).del(),
      1,
    );
    // MySQL allows ORDER BY / LIMIT only in a single-table write (SQLite has no UPDATE … LIMIT)
    if (mysql) {
      await single(() => db('comments').orderBy('id').limit(1).update({ body: 'o' }), 1);
      await single(() => db('replies').limit(5).del(), 0);
    }
    // Knex writes `delete comments as c from …` for an aliased DELETE with a join, which MySQL
    // refuses (MariaDB 10.11 refuses its single-table `delete from comments as c` too, Knex or not)
    if (!mysql) await single(() => db('comments as c').where('c.id', 99).del(), 0);
    // a raw value could read a column another assignment sets (no assignment order in the multi-table form)
    await single(
      () =>
        db('comments')
          .where({ id: 2 })
          .update({ body: db.raw('lower(?)', ['R2']) }),
      1,
    );
    // so could a callback or a raw in the WHERE
    await single(
      () =>
        db('comments')
          .where((q) => q.where('id', 2).orWhere('id', 3))
          .update({ body: 'cb' }),
      1,
    );
    await single(() => db('comments').whereRaw('id = ?', [2]).update({ body: 'raw' }), 1);
    // a table aliased like the joined parents
    await single(() => db('comments as ks_path_1').where('ks_path_1.id', 2).update({ body: 'k' }), 1);
    assert.deepEqual(await bodies(), [mysql ? '1:o' : '1:c1-t1', '2:k', '3:c3-t2', '4:c4-t3']);
    assert.deepEqual(await replies(), ['2']);
  });

  it('keeps a joined write, a CTE and a self-reading subquery in their materialised form', async function () {
    if (!mysql) this.skip();
    const viaJoin = await sent(() =>
      t1(() => db('comments as c').join('pages as p', 'p.id', 'c.page_id').where('p.id', 2).update({ 'c.body': 'j' })),
    );
    assert.equal(Number(viaJoin.result), 1);
    assert.match(viaJoin.sql[0] ?? '', /ks_materialized/);
    assert.doesNotMatch(viaJoin.sql[0] ?? '', /ks_path_/);
    // (MariaDB 10.11 has no WITH before UPDATE: the SQL only)
    const withCte = t1(() =>
      db.with('recent', db.raw('select 1 as n')).from('comments').where({ id: 1 }).update({ body: 'c' }).toString(),
    );
    assert.match(withCte, /ks_materialized/);
    assert.doesNotMatch(withCte, /ks_path_/);
    // a subquery of the app's that reads the written table: its own filter materialised, the write single-table
    const self = await sent(() =>
      t1(() => db('comments').whereIn('id', db('comments').select('id').where('body', 'j')).update({ body: 's' })),
    );
    assert.equal(Number(self.result), 1);
    assert.match(self.sql[0] ?? '', /^update comments set body = \? where comments\.page_id in \(select pages\.id/);
    assert.match(self.sql[0] ?? '', /ks_materialized/);
    assert.deepEqual(await bodies(), ['1:c1-t1', '2:s', '3:c3-t2', '4:c4-t3']);
  });

  it('report mode: in scope, the same form; outside any, the write runs as the app wrote it', async () => {
    const reported: unknown[] = [];
    const reporting = makeScopes({ mode: 'report', onViolation: (e) => reported.push(e) }).wrap(base);
    const inScope = await sent(() => t1(() => reporting('comments').where({ id: 1 }).update({ body: 'r' })), reporting);
    assert.equal(Number(inScope.result), 1);
    assert.equal(joined(inScope.sql[0]), mysql);
    const outside = await sent(() => reporting('comments').where({ id: 3 }).update({ body: 'u' }), reporting);
    assert.deepEqual(outside.sql, ['update comments set body = ? where id = ?']);
    assert.ok(reported.length > 0);
    assert.deepEqual(await bodies(), ['1:r', '2:c2-t1', '3:u', '4:c4-t3']);
  });

  // An attacker's reading of the new shape: what could bind to a joined parent, or slip past it.
  describe('what could escape the multi-table form', () => {
    it("a parent's alias or name in the WHERE or the SET keeps the single-table form, where it names nothing", async () => {
      const before = await bodies();
      const pagesBefore = await base('pages').orderBy('id');
      for (const attack of [
        () => db('comments').where('ks_path_1.tenant_id', 2).update({ body: 'n' }),
        () => db('comments').where('pages.tenant_id', 2).update({ body: 'n' }),
        () => db('comments').where({ id: 1 }).update({ 'ks_path_1.tenant_id': 2 }),
        () => db('comments').where({ id: 1 }).update({ 'pages.title': 'owned' }),
        () => db('replies').where('ks_path_2.tenant_id', 2).del(),
      ]) {
        const log = recordQueries(db);
        await assert.rejects(async () => await t1(attack));
        log.stop();
        assert.ok(!log.sql.join('\n').includes('ks_path_1 on'), log.sql.join('\n'));
      }
      assert.deepEqual(await bodies(), before);
      assert.deepEqual(await base('pages').orderBy('id'), pagesBefore);
      assert.deepEqual(await replies(), ['1', '2']);
    });

    it("a column of the written table named like a parent's binds to the written table", async () => {
      // pages has `title` too: unqualified, `title` would be ambiguous (or a parent's) in a join
      await base.schema.alterTable('comments', (t) => t.string('title', 20).nullable());
      const run = await sent(() => t1(() => db('comments').whereNull('title').update({ title: 'mine' })));
      assert.equal(Number(run.result), 2);
      if (mysql)
        assert.match(
          run.sql[0] ?? '',
          /set comments\.title = \? where ks_path_1\.tenant_id = \? and comments\.title is null$/,
        );
      assert.deepEqual(
        (await base('comments').orderBy('id')).map((r) => r.title),
        ['mine', 'mine', null, null],
      );
      assert.deepEqual(col(await base('pages'), 'title'), ['p1-t1', 'p2-t1', 'p3-t2', 'p4-t3']);
    });

    it('a parent key that is not unique writes each row once, and counts it once', async () => {
      await base.schema.dropTableIfExists('members');
      await base.schema.dropTableIfExists('teams');
      await base.schema.createTable('teams', (t) => {
        t.integer('id').primary();
        t.string('code', 10).notNullable();
        t.integer('tenant_id').notNullable();
      });
      await base.schema.createTable('members', (t) => {
        t.integer('id').primary();
        t.string('team_code', 10).notNullable();
        t.integer('votes').notNullable();
      });
      // code `a` twice in tenant 1; `b` in tenant 2
      await base('teams').insert([
        { id: 1, code: 'a', tenant_id: 1 },
        { id: 2, code: 'a', tenant_id: 1 },
        { id: 3, code: 'b', tenant_id: 2 },
      ]);
      await base('members').insert([
        { id: 1, team_code: 'a', votes: 0 },
        { id: 2, team_code: 'b', votes: 0 },
        { id: 3, team_code: 'a', votes: 0 },
      ]);
      const teams = makeScopes({
        tables: { teams: { tenant: 'tenant_id' }, members: { tenant: 'team_code -> teams(code).tenant_id' } },
      }).wrap(base);
      const inc = await sent(() => t1(() => teams('members').increment('votes', 1)), teams);
      assert.equal(Number(inc.result), 2);
      assert.equal(inc.sql[0]?.includes('inner join teams as ks_path_1 on ks_path_1.code = members.team_code'), mysql);
      assert.equal(Number(await t1(() => teams('members').where({ id: 1 }).del())), 1);
      assert.deepEqual(
        (await base('members').orderBy('id')).map((r) => `${r.id}:${r.votes}`),
        ['2:0', '3:1'],
      );
      await base.schema.dropTable('members');
      await base.schema.dropTable('teams');
    });

    it('an OR of the app cannot loosen the filter: its WHERE is parenthesised as before', async () => {
      const run = await sent(() =>
        t1(() => db('comments').where({ id: 3 }).orWhere('id', 4).orWhere('body', 'like', 'c1%').update({ body: 'o' })),
      );
      assert.match(
        run.sql[0] ?? '',
        /and \((comments\.)?id = \? or (comments\.)?id = \? or (comments\.)?body like \?\)$/,
      );
      assert.equal(joined(run.sql[0]), mysql);
      assert.equal(Number(run.result), 1, "tenant 1's comment 1 alone");
      assert.deepEqual(await bodies(), ['1:o', '2:c2-t1', '3:c3-t2', '4:c4-t3']);
    });

    it('the path key set to a foreign parent, with another value, fails with nothing written', async () => {
      await expectScopeError(
        t1(() => db('comments').where({ id: 1 }).update({ body: 'q', page_id: 3 })),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(await bodies(), ['1:c1-t1', '2:c2-t1', '3:c3-t2', '4:c4-t3']);
    });

    it('a value that looks like SQL stays a value', async () => {
      const evil = "x') or 1=1 or ('";
      assert.equal(Number(await t1(() => db('comments').where('body', evil).update({ body: evil }))), 0);
      assert.equal(Number(await t1(() => db('comments').where({ id: 1 }).update({ body: evil }))), 1);
      assert.deepEqual(await bodies(), [`1:${evil}`, '2:c2-t1', '3:c3-t2', '4:c4-t3']);
    });
  });
});
