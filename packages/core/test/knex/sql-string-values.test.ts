// A bound value with a toSqlString() method is raw SQL to mysql2 (sql-escaper writes what it
// returns, unescaped, at the top of a binding, in a list, a Set, or an object's or Map's values):
// refused on every dialect, in every slot, before anything is sent.
import assert from 'node:assert/strict';
import { scope } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { carriesSqlString } from '../../src/knex/sql-string-values';
import { expectScopeError, recordQueries, useSeededDatabase } from './fixtures';

const sqlString = (sql: string) => ({ toSqlString: () => sql });

describe('carriesSqlString()', () => {
  it('finds the method at the top, in lists, Sets, Maps and plain objects, on any object', () => {
    const view = new Uint16Array(0) as Uint16Array & { toSqlString?: () => string };
    view.toSqlString = () => '1';
    const date = new Date() as Date & { toSqlString?: () => string };
    date.toSqlString = () => '1';
    class Inherited {
      toSqlString() {
        return '1';
      }
    }
    for (const value of [
      sqlString('1'),
      view,
      date,
      new Inherited(),
      [1, sqlString('1')],
      new Set([sqlString('1')]),
      new Map([['a', sqlString('1')]]),
      new Map([[sqlString('1'), 1]]),
      { a: { b: sqlString('1') } },
      [[[[[[[[[[1]]]]]]]]]], // deeper than it reads: as if it held one
    ]) {
      assert.equal(carriesSqlString(value), true, String(value));
    }
    for (const value of [
      1,
      'x',
      null,
      undefined,
      new Date(),
      Buffer.from('x'),
      new Uint8Array(1),
      [1, 'a'],
      { a: 1 },
    ]) {
      assert.equal(carriesSqlString(value), false, String(value));
    }
  });

  it('takes a getter that throws for one that could answer anything', () => {
    const tricky = Object.defineProperty({}, 'toSqlString', {
      get() {
        throw new Error('no');
      },
    });
    assert.equal(carriesSqlString(tricky), true);
  });
});

forEachDialect('scoped Knex: values with toSqlString() are refused', (tdb) => {
  let base: Knex;
  let db: Knex;
  useSeededDatabase(tdb, 'each', (b, d) => {
    base = b;
    db = d;
  });

  const evil = () => sqlString('(select title from pages where tenant_id = 2)');

  async function refusedUnsent(attack: () => PromiseLike<unknown>, code: 'UNSUPPORTED_QUERY' | 'RAW_SQL_REFUSED') {
    const rec = recordQueries(db);
    try {
      await expectScopeError(() => scope({ tenant: 1 }, attack), code, /toSqlString/);
      assert.deepEqual(rec.sql, []);
    } finally {
      rec.stop();
    }
  }

  it('as an UPDATE value, an INSERT value, a merge value and a WHERE value', async () => {
    await refusedUnsent(
      () =>
        db('pages')
          .where({ id: 1 })
          .update({ title: evil() as never }),
      'UNSUPPORTED_QUERY',
    );
    await refusedUnsent(
      () =>
        db('comments')
          .where({ id: 1 })
          .update({ body: evil() as never }),
      'UNSUPPORTED_QUERY',
    );
    await refusedUnsent(() => db('pages').insert({ title: evil() as never }), 'UNSUPPORTED_QUERY');
    await refusedUnsent(() => db('comments').insert({ page_id: 1, body: evil() as never }), 'UNSUPPORTED_QUERY');
    await refusedUnsent(() => db('comments').insert([{ page_id: 1, body: evil() as never }]), 'UNSUPPORTED_QUERY');
    await refusedUnsent(
      () =>
        db('pages')
          .whereIn('id', [1, evil() as never])
          .select('title'),
      'UNSUPPORTED_QUERY',
    );
    await refusedUnsent(
      () =>
        db('pages')
          .where('id', new Set([evil()]) as never)
          .select('title'),
      'UNSUPPORTED_QUERY',
    );
    if (tdb.dialect !== 'mysql') {
      await refusedUnsent(
        () =>
          db('pages')
            .insert({ id: 1, title: 'x' })
            .onConflict('id')
            .merge({ title: evil() as never }),
        'UNSUPPORTED_QUERY',
      );
    }
    assert.deepEqual(
      (await base('pages').where({ id: 1 })).map((p) => p.title),
      ['p1-t1'],
    );
  });

  it('as a binding of a raw, also nested in one', async () => {
    await refusedUnsent(() => db.raw('select ? as x', [evil()]), 'RAW_SQL_REFUSED');
    await refusedUnsent(
      () =>
        db('pages')
          .select('id')
          .whereRaw('title = ?', [[evil()] as never]),
      'RAW_SQL_REFUSED',
    );
  });

  it('leaves plain values, Dates and buffers alone', async () => {
    const rows = await scope({ tenant: 1 }, () =>
      db('pages').whereIn('id', [1, 2]).where('title', '<>', 'zzz').select('title').orderBy('id'),
    );
    assert.deepEqual(
      rows.map((r) => r.title),
      ['p1-t1', 'p2-t1'],
    );
    await scope({ tenant: 1 }, () => db('comments').insert({ page_id: 1, body: 'new' }));
    assert.equal((await base('comments').where({ body: 'new' })).length, 1);
  });
});
