// The SQL shapes a Citus deployment needs (docs/citus.md), asserted on the SQL sent and on the
// rows: with colocateJoins a full outer join puts each scoped table in a filtered derived table;
// on PostgreSQL an upsert that merges the tenant column with the scope's key sends it as
// `excluded.tenant_id`, and anything it cannot prove equal is left as written.
import assert from 'node:assert/strict';
import { scope, trustRaw } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { makeScopes, plain, recordQueries, useSeededDatabase } from './fixtures';

forEachDialect('scoped Knex: Citus shapes', (tdb) => {
  let base: Knex;
  let db: Knex;
  let colocated: Knex;
  useSeededDatabase(tdb, 'each', (b, d) => {
    base = b;
    db = d;
    colocated = makeScopes({ colocateJoins: 'tenant' }).wrap(b);
  });

  async function sent<T>(k: Knex, fn: () => PromiseLike<T>): Promise<{ rows: T; sql: string[] }> {
    const rec = recordQueries(k);
    try {
      return { rows: await fn(), sql: rec.sql.map(plain) };
    } finally {
      rec.stop();
    }
  }

  it('with colocateJoins, a full outer join filters each side in a derived table, with the same rows', async function () {
    if (tdb.dialect === 'mysql') this.skip(); // no full joins
    const query = (k: Knex) => () =>
      scope({ tenant: 1 }, () =>
        k('pages as p')
          .fullOuterJoin('comments as c', 'c.page_id', 'p.id')
          .select('p.title', 'c.body')
          .orderBy(['p.title', 'c.body']),
      );
    const { rows, sql } = await sent(colocated, query(colocated));
    const without = await query(db)();
    assert.deepEqual(rows, without);
    assert.deepEqual(
      rows.map((r) => `${r.title}/${r.body}`),
      ['p1-t1/c1-t1', 'p2-t1/c2-t1'],
    );
    if (tdb.dialect === 'pg') {
      assert.match(
        sql[0] as string,
        /from \(select \* from pages where pages\.tenant_id = \$\d\) as p full outer join \(select \* from comments/,
      );
      assert.doesNotMatch(sql[0] as string, /is null/);
    }
  });

  it('on PostgreSQL, a right join filters its preserved table without the absence test, with the same rows', async function () {
    if (tdb.dialect !== 'pg') this.skip();
    await base('comments').insert({ id: 60, page_id: null, body: 'orphan' });
    const { rows, sql } = await sent(db, () =>
      scope({ tenant: 1 }, () =>
        db('comments as c')
          .rightJoin('pages as p', 'p.id', 'c.page_id')
          .select('p.title', 'c.body')
          .orderBy(['p.title', 'c.body']),
      ),
    );
    // p is on the preserved side of its own join and no later join drops it: its filter alone
    assert.match(sql[0] as string, / and \(p\.tenant_id = \$\d+\) order by/);
    assert.doesNotMatch(sql[0] as string, /\(p\.\*\) is not distinct from null/);
    assert.match(sql[0] as string, /\(c\.\*\) is not distinct from null/);
    const hand = await base('pages as p')
      .leftJoin(
        base('comments').whereIn('page_id', base('pages').select('id').where('tenant_id', 1)).as('c'),
        'c.page_id',
        'p.id',
      )
      .where('p.tenant_id', 1)
      .select('p.title', 'c.body')
      .orderBy(['p.title', 'c.body']);
    assert.deepEqual(rows, hand);
  });

  it('on PostgreSQL, merge() of the scope’s own tenant key is sent as excluded.tenant_id and updates the row', async function () {
    if (tdb.dialect !== 'pg') this.skip();
    const { sql } = await sent(db, () =>
      scope({ tenant: 1 }, () =>
        db('pages').insert({ id: 1, title: 'upserted' }).onConflict('id').merge({ title: 'merged', tenant_id: 1 }),
      ),
    );
    assert.match(
      sql[0] as string,
      /do update set title = \$\d+, ?tenant_id = excluded\.tenant_id where pages\.tenant_id = \$\d+/,
    );
    assert.deepEqual(await base('pages').where('id', 1).first(), { id: 1, tenant_id: 1, title: 'merged', views: 0 });
  });

  it('leaves merge() as written where the inserted rows may hold another value, or the scope several', async function () {
    if (tdb.dialect !== 'pg') this.skip();
    const vouched = await sent(db, () =>
      scope({ tenant: 1 }, () =>
        db('pages')
          .insert({ id: 90, title: 'raw', tenant_id: trustRaw(base.raw('?', [1])) })
          .onConflict('id')
          .merge({ tenant_id: 1 }),
      ),
    );
    assert.match(vouched.sql[0] as string, /do update set tenant_id = \$\d+ where/);
    const listed = await sent(db, () =>
      scope({ tenant: [1, 2] }, () =>
        db('pages').insert({ id: 91, title: 'listed', tenant_id: 1 }).onConflict('id').merge({ tenant_id: 1 }),
      ),
    );
    assert.match(listed.sql[0] as string, /do update set tenant_id = \$\d+ where/);
  });
});
