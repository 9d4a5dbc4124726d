// Path filters that an inner join implies are left out (implied-filters.ts); every shape where
// the implication does not hold keeps them. Asserted on the SQL sent and on the rows, which
// must be those of a hand-filtered query.
import assert from 'node:assert/strict';
import { scope } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { asTenant1, col, plain, recordQueries, useSeededDatabase } from './fixtures';

/** How many scope predicates a statement holds: tenant columns and path subqueries. */
function predicates(sql: string): { tenant: number; paths: number } {
  const s = plain(sql);
  return {
    tenant: (s.match(/tenant_id (=|in) /g) ?? []).length,
    paths: (s.match(/\b(page_id|comment_id) in \(select /g) ?? []).length,
  };
}

forEachDialect('scoped Knex: filters implied by inner joins', (tdb) => {
  let base: Knex;
  let db: Knex;
  useSeededDatabase(tdb, 'once', (b, d) => {
    base = b;
    db = d;
  });

  async function sent<T>(fn: () => PromiseLike<T>, tenant: number | number[] = 1): Promise<{ rows: T; sql: string }> {
    const rec = recordQueries(db);
    try {
      const rows = await scope({ tenant }, fn);
      assert.equal(rec.sql.length, 1);
      return { rows, sql: rec.sql[0] as string };
    } finally {
      rec.stop();
    }
  }

  describe('left out', () => {
    it('a chain of inner joins up to the tenant table keeps one predicate, with the rows of a hand-written join', async () => {
      const { rows, sql } = await sent(() =>
        db('replies as r')
          .join('comments as c', 'c.id', 'r.comment_id')
          .join('pages as p', 'p.id', 'c.page_id')
          .select('r.body', 'c.body as comment', 'p.title')
          .orderBy('r.id'),
      );
      assert.deepEqual(predicates(sql), { tenant: 1, paths: 0 });
      const hand = await base('replies as r')
        .join('comments as c', 'c.id', 'r.comment_id')
        .join('pages as p', 'p.id', 'c.page_id')
        .where('p.tenant_id', 1)
        .select('r.body', 'c.body as comment', 'p.title')
        .orderBy('r.id');
      assert.deepEqual(rows, hand);
      assert.deepEqual(rows, [{ body: 'r1-t1', comment: 'c1-t1', title: 'p1-t1' }]);
    });

    it('whichever side the FROM is, whichever way the equality is written, and in a count', async () => {
      const fromParent = await sent(() =>
        db('pages as p').join('comments as c', 'p.id', '=', 'c.page_id').select('c.body').orderBy('c.id'),
      );
      assert.deepEqual(predicates(fromParent.sql), { tenant: 1, paths: 0 });
      assert.deepEqual(col(fromParent.rows, 'body'), ['c1-t1', 'c2-t1']);
      const counted = await sent(() =>
        db('comments as c').innerJoin('pages as p', { 'c.page_id': 'p.id' }).count({ n: '*' }).first(),
      );
      assert.deepEqual(predicates(counted.sql), { tenant: 1, paths: 0 });
      assert.equal(Number((counted.rows as { n: unknown }).n), 2);
    });

    it('for a reference joined to a parent that keeps a path filter of its own', async () => {
      // replies → comments, with no pages: the comments' filter stays and vouches for replies
      const { rows, sql } = await sent(() =>
        db('replies as r').join('comments as c', 'c.id', 'r.comment_id').select('r.body'),
      );
      assert.deepEqual(predicates(sql), { tenant: 1, paths: 1 });
      assert.match(plain(sql), /c\.page_id in \(select/);
      assert.deepEqual(col(rows, 'body'), ['r1-t1']);
    });

    it('for a scope of several tenants, and on one dimension of two', async () => {
      const many = await sent(
        () => db('comments as c').join('pages as p', 'p.id', 'c.page_id').select('c.body'),
        [1, 2],
      );
      assert.deepEqual(predicates(many.sql), { tenant: 1, paths: 0 });
      assert.deepEqual(col(many.rows, 'body'), ['c1-t1', 'c2-t1', 'c3-t2']);
      const rec = recordQueries(db);
      const rows = await scope({ tenant: 1, user: 'u1' }, () =>
        db('bookmarks as b').join('pages as p', 'p.id', 'b.page_id').select('b.id'),
      );
      rec.stop();
      const sql = plain(rec.sql[0] as string);
      assert.deepEqual(predicates(sql), { tenant: 1, paths: 0 });
      assert.match(sql, /b\.user_id = /, 'the other dimension keeps its filter');
      assert.deepEqual(col(rows, 'id'), ['1']);
    });
  });

  describe('kept', () => {
    const kept = async (build: () => Knex.QueryBuilder, expected: string[], column = 'body') => {
      const { rows, sql } = await sent(build);
      assert.match(plain(sql), /c\.page_id in \(select/, `the comments filter stays: ${sql}`);
      assert.deepEqual(col(rows as object[], column), expected);
    };

    it('under a left join, whose ON clause filters nothing', async () => {
      await kept(
        () => db('comments as c').leftJoin('pages as p', 'p.id', 'c.page_id').select('c.body'),
        ['c1-t1', 'c2-t1'],
      );
    });

    it('when the ON clause holds an OR, another operator, another column or a value', async () => {
      await kept(
        () =>
          db('comments as c')
            .join('pages as p', (j) => {
              j.on('p.id', '=', 'c.page_id').orOn('p.id', '=', 'c.id');
            })
            .select('c.body'),
        ['c1-t1', 'c2-t1'],
      );
      await kept(
        () => db('comments as c').join('pages as p', 'p.id', '>=', 'c.page_id').distinct('c.body'),
        ['c1-t1', 'c2-t1'],
      );
      await kept(() => db('comments as c').join('pages as p', 'p.id', 'c.id').select('c.body'), ['c1-t1', 'c2-t1']);
      await kept(
        () =>
          db('comments as c')
            .join('pages as p', (j) => {
              j.onVal('p.id', '=', 1);
            })
            .select('c.body'),
        ['c1-t1', 'c2-t1'],
      );
    });

    it('when the equality is in the WHERE, the parent is a derived table, or the FROM a comma join', async () => {
      await kept(
        () =>
          whereColumn(
            db('comments as c').join('pages as p', (j) => {
              j.on('p.id', '>', db.raw('0'));
            }),
            'p.id',
            'c.page_id',
          ).select('c.body'),
        ['c1-t1', 'c2-t1'],
      );
      await kept(
        () => db('comments as c').join(db('pages').select('id').as('p'), 'p.id', 'c.page_id').select('c.body'),
        ['c1-t1', 'c2-t1'],
      );
      await kept(
        () => whereColumn(db.from({ c: 'comments', p: 'pages' }), 'p.id', 'c.page_id').select('c.body'),
        ['c1-t1', 'c2-t1'],
      );
    });

    it('when two references share a qualifier in another case, or the parent is in another schema', () => {
      const sql = scope({ tenant: 1 }, () =>
        db('comments as c').join('pages as C', 'C.id', 'c.page_id').select('c.body').toString(),
      );
      assert.match(plain(sql), /c\.page_id in \(select/);
      const schema = tdb.dialect === 'pg' ? 'public' : 'other';
      const other = scope({ tenant: 1 }, () =>
        db('comments as c').join(`${schema}.pages as p`, 'p.id', 'c.page_id').select('c.body').toString(),
      );
      assert.match(plain(other), /c\.page_id in \(select/);
    });

    it('for two references of the same table joined on their path column: neither vouches for the other', async () => {
      const { rows, sql } = await sent(() =>
        db('comments as a').join('comments as b', 'b.page_id', 'a.page_id').select('a.body'),
      );
      assert.equal(predicates(sql).paths, 2);
      assert.deepEqual(col(rows, 'body'), ['c1-t1', 'c2-t1']);
    });

    it('when the joined table is not the parent of the path', async () => {
      // replies.comment_id = pages.id is a join, but not the path replies → comments
      const { sql } = await sent(() => db('replies as r').join('pages as p', 'p.id', 'r.comment_id').select('r.body'));
      // kept: as `in (select …)`, or on PostgreSQL as a join to the parent keys (path-joins.ts)
      assert.match(plain(sql), /r\.comment_id in \(select|ks_path_1\.ks_key = r\.comment_id/);
    });
  });

  it('under asTenant1, the same rows as before for every join shape of the seeded data', async () => {
    const rows = await asTenant1(() =>
      db('page_tags as pt')
        .join('pages as p', 'p.id', 'pt.page_id')
        .join('comments as c', 'c.page_id', 'p.id')
        .leftJoin('replies as r', 'r.comment_id', 'c.id')
        .select('pt.tag_id', 'c.body', 'r.body as reply')
        .orderBy(['pt.tag_id', 'c.body']),
    );
    assert.deepEqual(
      rows.map((r) => `${r.tag_id}/${r.body}/${r.reply}`),
      ['1/c1-t1/r1-t1', '2/c2-t1/null'],
    );
  });
});

/** Knex's `whereColumn()`, which its typings leave out. */
function whereColumn(q: Knex.QueryBuilder, a: string, b: string): Knex.QueryBuilder {
  return (q as unknown as { whereColumn(a: string, b: string): Knex.QueryBuilder }).whereColumn(a, b);
}
