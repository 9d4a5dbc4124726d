// PostgreSQL reads of a table two hops or more down a path take the filter as an inner join to the
// filtered parent keys (path-joins.ts); every other read, and the other dialects, keep
// `fk in (select …)`. Asserted on the SQL sent and on the rows, which must be a hand-filtered
// query's whichever form is sent.
import assert from 'node:assert/strict';
import { ALL, scope, scopesDisabled } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { col, plain, recordQueries, useSeededDatabase } from './fixtures';

const JOINED =
  /inner join \(select comments\.id from comments where comments\.page_id in \(select pages\.id from pages where pages\.tenant_id (?:= \$\d+|in \([^)]*\))\)\) as ks_path_1 \(ks_key\) on ks_path_1\.ks_key = (\w+)\.comment_id/;
const IN_FORM = /comment_id in \(select comments\.id from comments where comments\.page_id in \(select /;

forEachDialect('scoped Knex: deep paths as joins on PostgreSQL', (tdb) => {
  let base: Knex;
  let db: Knex;
  useSeededDatabase(tdb, 'once', (b, d) => {
    base = b;
    db = d;
  });
  const pg = tdb.dialect === 'pg';

  async function sent<T>(
    fn: () => PromiseLike<T>,
    tenant: number | number[] | typeof ALL = 1,
  ): Promise<{ rows: T; sql: string }> {
    const rec = recordQueries(db);
    try {
      const rows = await scope({ tenant }, fn);
      assert.equal(rec.sql.length, 1);
      return { rows, sql: plain(rec.sql[0] as string) };
    } finally {
      rec.stop();
    }
  }

  /** The join form on PostgreSQL (qualified by `qualifier`), `in (select …)` elsewhere. */
  function assertJoined(sql: string, qualifier = 'replies'): void {
    if (!pg) {
      assert.match(sql, IN_FORM);
      assert.doesNotMatch(sql, /ks_path/);
      return;
    }
    const m = JOINED.exec(sql);
    assert.ok(m, sql);
    assert.equal(m[1], qualifier);
    assert.doesNotMatch(sql, IN_FORM);
    // ahead of every join of the app's
    assert.equal(sql.indexOf(' join '), sql.indexOf(' inner join (select comments.id') + ' inner'.length);
  }

  function assertInForm(sql: string): void {
    assert.match(sql, IN_FORM);
    assert.doesNotMatch(sql, /ks_path/);
  }

  describe('joined on PostgreSQL', () => {
    it('a count, for every tenant, a list of tenants and an empty one', async () => {
      const count = (tenant: number | number[]) => sent(() => db('replies').count({ n: '*' }).first(), tenant);
      for (const [tenant, n] of [
        [1, 1],
        [2, 1],
        [3, 0],
        [[1, 2], 2],
        [[3], 0],
      ] as const) {
        const { rows, sql } = await count(tenant as number | number[]);
        assertJoined(sql);
        assert.equal(Number((rows as { n: unknown }).n), n, `tenant ${JSON.stringify(tenant)}`);
      }
      const none = await count([]);
      assert.match(none.sql, /1 = 0/);
      assert.equal(Number((none.rows as { n: unknown }).n), 0);
    });

    it('a page of named columns; unqualified names still bind to the app table', async () => {
      const { rows, sql } = await sent(() =>
        db('replies').select('id', 'body').where('id', '>', 0).orderBy('id', 'desc').limit(50),
      );
      assertJoined(sql);
      assert.deepEqual(col(rows, 'body'), ['r1-t1']);
      const t2 = await sent(() => db('replies').select('body').orderBy('id'), 2);
      assert.deepEqual(col(t2.rows, 'body'), ['r2-t2']);
    });

    it('an alias, first(), pluck(), an aggregate grouped by a bare name, distinct', async () => {
      const aliased = await sent(() => db('replies as r').select('r.body').where('r.id', 1));
      assertJoined(aliased.sql, 'r');
      assert.deepEqual(col(aliased.rows, 'body'), ['r1-t1']);
      const first = await sent(() => db('replies').first('body'));
      assertJoined(first.sql);
      assert.equal((first.rows as { body: string }).body, 'r1-t1');
      const plucked = await sent(() => db('replies').pluck('body'), 2);
      assertJoined(plucked.sql);
      assert.deepEqual(plucked.rows, ['r2-t2']);
      const grouped = await sent(() => db('replies').select('comment_id').count({ n: '*' }).groupBy('comment_id'));
      assertJoined(grouped.sql);
      assert.deepEqual(
        (grouped.rows as Array<{ comment_id: unknown; n: unknown }>).map((r) => [Number(r.comment_id), Number(r.n)]),
        [[1, 1]],
      );
      const distinct = await sent(() => db('replies').distinct('comment_id'));
      assertJoined(distinct.sql);
      assert.deepEqual(col(distinct.rows, 'comment_id'), ['1']);
    });

    it("ahead of the app's joins, whatever their type", async () => {
      const left = await sent(() =>
        db('replies as r').leftJoin('comments as c', 'c.id', 'r.comment_id').select('r.body', 'c.body as comment'),
      );
      assertJoined(left.sql, 'r');
      assert.deepEqual(left.rows, [{ body: 'r1-t1', comment: 'c1-t1' }]);
      const cross = await sent(() =>
        db('replies')
          .crossJoin('tags' as never)
          .select('replies.body', 'tags.name')
          .orderBy('name'),
      );
      assertJoined(cross.sql);
      assert.deepEqual(col(cross.rows, 'name'), ['misc', 'news']);
      assert.deepEqual(col(cross.rows, 'body'), ['r1-t1', 'r1-t1']);
    });
  });

  describe('kept as `in (select …)`', () => {
    it('in a subquery, a union arm and a derived table (whose names an enclosing query could capture)', async () => {
      const sub = await sent(() => db('comments').whereIn('id', db('replies').select('comment_id')).select('body'));
      assert.doesNotMatch(sub.sql, /ks_path/);
      assert.deepEqual(col(sub.rows, 'body'), ['c1-t1']);
      const union = await sent(
        () =>
          db('replies')
            .select('body')
            .union((qb) => qb.select('body').from('replies')),
        2,
      );
      // the statement's own FROM is joined, the union arm keeps `in (select …)`
      if (pg) assert.equal(union.sql.match(/ks_path_1 \(ks_key\)/g)?.length, 1);
      assert.match(union.sql, IN_FORM);
      assert.deepEqual(col(union.rows, 'body'), ['r2-t2']);
      const derived = await sent(() => db.from(db('replies').select('id', 'body').as('x')).select('x.body'));
      assertInForm(derived.sql);
      assert.deepEqual(col(derived.rows, 'body'), ['r1-t1']);
    });

    it('a FROM of two tables (a join would attach to the last one)', async () => {
      const pair = await sent(() => db.from({ r: 'replies', t: 'tags' }).select('r.body', 't.name'));
      assertInForm(pair.sql);
      assert.deepEqual(col(pair.rows, 'body'), ['r1-t1', 'r1-t1']);
    });

    it('select *, and a raw column, which could show the derived column', async () => {
      const star = await sent(() => db('replies'));
      assertInForm(star.sql);
      assert.deepEqual(Object.keys(star.rows[0] as object).sort(), ['body', 'comment_id', 'id']);
      const starred = await sent(() => db('replies').select('*'));
      assertInForm(starred.sql);
      const raw = await sent(() => db('replies').select(db.raw('count(*) as n')));
      assertInForm(raw.sql);
      assert.equal(Number((raw.rows as Array<{ n: unknown }>)[0]?.n), 1);
    });

    it('a locking read (the parents would be locked too)', async function () {
      if (tdb.dialect === 'sqlite') this.skip(); // no row locks
      const rows = await scope({ tenant: 1 }, () =>
        db.transaction(async (trx) => {
          const rec = recordQueries(db);
          try {
            const out = await trx('replies').select('body').forUpdate();
            assertInForm(plain(rec.sql.find((s) => s.includes('replies')) as string));
            return out;
          } finally {
            rec.stop();
          }
        }),
      );
      assert.deepEqual(col(rows, 'body'), ['r1-t1']);
    });

    it('a table one hop down, and a joined (not FROM) reference', async () => {
      const oneHop = await sent(() => db('comments').count({ n: '*' }).first());
      assert.doesNotMatch(oneHop.sql, /ks_path/);
      assert.match(oneHop.sql, /page_id in \(select pages\.id/);
      assert.equal(Number((oneHop.rows as { n: unknown }).n), 2);
      const joined = await sent(() =>
        db('tags').leftJoin('replies', 'replies.id', 'tags.id').select('tags.name', 'replies.body').orderBy('tags.id'),
      );
      assert.doesNotMatch(joined.sql, /ks_path/);
      assert.deepEqual(
        (joined.rows as Array<{ name: string; body: string | null }>).map((r) => [r.name, r.body]),
        [
          ['news', 'r1-t1'],
          ['misc', null],
        ],
      );
    });

    it('no filter at all under ALL and scopesDisabled()', async () => {
      const all = await sent(() => db('replies').count({ n: '*' }).first(), ALL);
      assert.doesNotMatch(all.sql, /ks_path|comment_id in/);
      assert.equal(Number((all.rows as { n: unknown }).n), 2);
      const off = await scopesDisabled(() => db('replies').count({ n: '*' }).first());
      assert.equal(Number((off as { n: unknown }).n), 2);
    });
  });

  it('the rows of the hand-written join, tenant by tenant', async () => {
    for (const tenant of [1, 2, 3]) {
      const scoped = await scope({ tenant }, () => db('replies').select('id', 'body').orderBy('id'));
      const hand = await base('replies as r')
        .join('comments as c', 'c.id', 'r.comment_id')
        .join('pages as p', 'p.id', 'c.page_id')
        .where('p.tenant_id', tenant)
        .select('r.id', 'r.body')
        .orderBy('r.id');
      assert.deepEqual(scoped, hand);
    }
  });
});
