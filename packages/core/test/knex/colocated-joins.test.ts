// The colocateJoins option: joins of two tables that both carry the tenant column also equate
// it, under a value, a list and ALL; nullable sides and other shapes are left as they were.
import assert from 'node:assert/strict';
import { ALL, ScopeError, scope, scopesDisabled } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { makeScopes, plain, recordQueries, useSeededDatabase } from './fixtures';

forEachDialect('scoped Knex: colocateJoins', (tdb) => {
  let base: Knex;
  let db: Knex;
  let colocated: Knex;
  useSeededDatabase(tdb, 'once', (b, d) => {
    base = b;
    db = d;
    colocated = makeScopes({ colocateJoins: 'tenant' }).wrap(b);
  });

  async function sent<T>(k: Knex, fn: () => PromiseLike<T>): Promise<{ rows: T; sql: string }> {
    const rec = recordQueries(k);
    try {
      const rows = await fn();
      assert.equal(rec.sql.length, 1);
      return { rows, sql: plain(rec.sql[0] as string) };
    } finally {
      rec.stop();
    }
  }

  const pairs = (k: Knex) => () =>
    k('pages as a')
      .join('pages as b', 'b.id', '<>', 'a.id')
      .select('a.title as a', 'b.title as b')
      .orderBy(['a.id', 'b.id']);
  const asPairs = (rows: Array<{ a: string; b: string }>) => rows.map((r) => `${r.a}/${r.b}`);

  it('equates the tenant column of a join between two tables that carry it', async () => {
    const { rows, sql } = await sent(colocated, () => scope({ tenant: 1 }, pairs(colocated)));
    assert.match(
      sql,
      /inner join pages as b on b\.id <> a\.id and b\.tenant_id = (\?|\$\d) and b\.tenant_id = a\.tenant_id/,
    );
    assert.deepEqual(asPairs(rows), ['p1-t1/p2-t1', 'p2-t1/p1-t1']);
  });

  it('under a list of tenants and under ALL, joins rows of the same tenant only', async () => {
    const list = await sent(colocated, () => scope({ tenant: [1, 2] }, pairs(colocated)));
    assert.deepEqual(asPairs(list.rows), ['p1-t1/p2-t1', 'p2-t1/p1-t1']);
    const all = await sent(colocated, () => scope({ tenant: ALL }, pairs(colocated)));
    assert.match(all.sql, /on b\.id <> a\.id and b\.tenant_id = a\.tenant_id/);
    assert.deepEqual(asPairs(all.rows), ['p1-t1/p2-t1', 'p2-t1/p1-t1']);
    // without the option, a list joins across its tenants
    const plainList = await scope({ tenant: [1, 2] }, pairs(db));
    assert.equal(plainList.length, 6);
  });

  it('puts the equality in the ON clause of a left join, keeping its null-extended rows', async () => {
    const { rows, sql } = await sent(colocated, () =>
      scope({ tenant: 1 }, () =>
        colocated('pages as a')
          .leftJoin('pages as b', (j) => {
            j.on('b.id', '=', 'a.id').orOn('b.id', '=', base.raw('?', [99]));
          })
          .select('a.title as a', 'b.title as b')
          .orderBy('a.id'),
      ),
    );
    assert.match(
      sql,
      /left join pages as b on \(b\.id = a\.id or b\.id = (\?|\$\d)\) and b\.tenant_id = (\?|\$\d) and b\.tenant_id = a\.tenant_id/,
    );
    assert.deepEqual(rows, [
      { a: 'p1-t1', b: 'p1-t1' },
      { a: 'p2-t1', b: 'p2-t1' },
    ]);
  });

  it('never equates with a table a left join made nullable, nor through a path table', async () => {
    const { sql } = await sent(colocated, () =>
      scope({ tenant: 1 }, () =>
        colocated('comments as c')
          .leftJoin('pages as p', 'p.id', 'c.page_id')
          .join('tenants as t', 't.id', '=', 'c.id')
          .select('c.body'),
      ),
    );
    // tenants' column is `id`; the only earlier core table is comments, which has no tenant column
    assert.doesNotMatch(sql, /t\.id = p\.tenant_id/);
    assert.doesNotMatch(sql, /tenant_id = c\./);
  });

  it('leaves queries with scopes disabled untouched, and reads without joins', async () => {
    const disabled = await sent(colocated, () => scopesDisabled(pairs(colocated)));
    assert.doesNotMatch(disabled.sql, /tenant_id/);
    assert.equal(disabled.rows.length, 12);
    const single = await sent(colocated, () => scope({ tenant: 1 }, () => colocated('pages').select('id')));
    assert.doesNotMatch(single.sql, /tenant_id = [a-z]/);
  });

  it('equates the distribution dimension only: a user column stays as the app wrote it', async () => {
    const { rows, sql } = await sent(colocated, () =>
      scope({ tenant: 1, user: ALL }, () =>
        colocated('bookmarks as a').join('bookmarks as b', 'b.page_id', 'a.page_id').select('a.id as a', 'b.id as b'),
      ),
    );
    assert.doesNotMatch(sql, /user_id = a\.user_id/);
    const without = await scope({ tenant: 1, user: ALL }, () =>
      db('bookmarks as a').join('bookmarks as b', 'b.page_id', 'a.page_id').select('a.id as a', 'b.id as b'),
    );
    assert.equal(rows.length, 4);
    assert.deepEqual(rows, without);
  });

  it('is validated: a dimension some table declares', () => {
    assert.throws(
      () => makeScopes({ colocateJoins: 'tenants' }),
      (e: unknown) =>
        e instanceof ScopeError && e.code === 'INVALID_DEFINITION' && /"tenants" is not a dimension/.test(e.message),
    );
  });
});
