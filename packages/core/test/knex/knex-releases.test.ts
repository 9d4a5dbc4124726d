// What differs between the supported Knex releases (docs/knex-versions.md) and how core handles
// it (core/src/knex/compiler-quirks.ts): each test states what the release under test must do,
// so `npm run test:knex -- <release>` checks the probe against the known fix versions.
import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { asTenant1, col, expectScopeError, useSeededDatabase } from './fixtures';

const [major = 0, minor = 0, patch = 0] = (require('knex/package.json') as { version: string }).version
  .split('.')
  .map(Number);
const atLeast = (a: number, b: number, c: number) => (major !== a ? major > a : minor !== b ? minor > b : patch >= c);

forEachDialect('scoped Knex: differences between Knex releases', (tdb) => {
  let base: Knex;
  let db: Knex;
  const dialect = tdb.dialect;
  useSeededDatabase(tdb, 'each', (b, d) => {
    base = b;
    db = d;
  });
  const titles = async (ids: number[]) => col(await base('pages').whereIn('id', ids), 'title');

  // knex#6185: before 3.3.0, a multi-row SQLite upsert compiles without its merge().where()
  it('guards a multi-row upsert, or refuses it where Knex would drop the guard', async () => {
    const dropsGuard = dialect === 'sqlite' && !atLeast(3, 3, 0);
    const upsert = () =>
      db('pages')
        .insert([
          { id: 3, title: 'stolen' },
          { id: 1, title: 'renamed' },
        ])
        .onConflict('id')
        .merge(['title']);
    if (dialect === 'mysql') await expectScopeError(asTenant1(upsert), 'UNSUPPORTED_QUERY', /ON DUPLICATE KEY/);
    else if (dropsGuard) await expectScopeError(asTenant1(upsert), 'UNSUPPORTED_QUERY', /2 rows at once.*#6185/);
    else await asTenant1(upsert);
    assert.deepEqual(await titles([1, 3]), [dialect === 'mysql' || dropsGuard ? 'p1-t1' : 'renamed', 'p3-t2'].sort());
    if (dialect === 'mysql') return;
    // one row per query keeps its guard on every release; lifted, there is no guard to lose
    await asTenant1(() => db('pages').insert({ id: 3, title: 'stolen' }).onConflict('id').merge(['title']));
    assert.deepEqual(await titles([3]), ['p3-t2']);
  });

  // knex#6412 (MySQL, SQLite: fixed in 3.2.7), #6438 (PostgreSQL: 3.3.0): a DELETE's WHERE
  // bound before its joined sources, so their values could swap places
  it('deletes through an inner join on every release, its filters in WHERE where Knex binds joins late', async function () {
    if (dialect === 'sqlite') this.skip(); // SQLite cannot delete with a join
    const del = () =>
      db('replies').join('comments', 'comments.id', 'replies.comment_id').where('comments.body', 'c3-t2').del();
    assert.equal(Number(await asTenant1(del)), 0);
    const sql = asTenant1(() => del().toSQL().toNative());
    const late = dialect === 'mysql' ? !atLeast(3, 2, 7) : !atLeast(3, 3, 0);
    if (dialect === 'mysql') {
      // inner-join filters: in ON where the bindings keep their order, in WHERE where they do not
      assert.match(sql.sql, late ? /on `comments`.`id` = `replies`.`comment_id` where/ : /`comment_id` and /);
    }
    assert.equal((await base('replies')).length, 2);
    // a left join's filters cannot move to WHERE: with values on both sides, refused there
    const orphans = () => db('pages').leftJoin('comments as c', 'c.page_id', 'pages.id').whereNull('c.id').del();
    if (dialect === 'mysql' && late)
      await expectScopeError(asTenant1(orphans), 'UNSUPPORTED_QUERY', /out of text order/);
  });

  it('refuses a DELETE joining a subquery with values, or an UPDATE … FROM one, where Knex would misbind them', async function () {
    if (dialect === 'sqlite') this.skip();
    const late = dialect === 'mysql' ? !atLeast(3, 2, 7) : !atLeast(3, 3, 0);
    // the app's value (a request's) that would take the tenant's place: tenant 2's comment
    const del = () =>
      db('comments')
        .join(base('tags').where('name', 'news').as('t'), 't.id', 'comments.page_id')
        .where('comments.id', 2)
        .del();
    if (late) {
      await expectScopeError(asTenant1(del), 'UNSUPPORTED_QUERY', /out of text order/);
    } else {
      await asTenant1(del);
    }
    assert.equal((await base('comments')).length, 4, 'page 1 has tag 1 but comment 2 is on page 2: nothing to delete');
    if (dialect !== 'pg') return;
    const update = () =>
      (db('comments').update({ body: 'x' }) as unknown as { updateFrom(t: unknown): Knex.QueryBuilder })
        .updateFrom(base('tags').where('name', 'news').as('t'))
        .whereRaw('t.id = comments.page_id')
        .where('comments.body', 'c1-t1');
    if (!atLeast(3, 3, 0)) {
      await expectScopeError(asTenant1(update), 'UNSUPPORTED_QUERY', /UPDATE … FROM a subquery/);
      assert.deepEqual(col(await base('comments'), 'body'), ['c1-t1', 'c2-t1', 'c3-t2', 'c4-t3']);
    } else {
      assert.equal(Number(await asTenant1(update)), 1);
      assert.deepEqual(col(await base('comments'), 'body'), ['c2-t1', 'c3-t2', 'c4-t3', 'x']);
    }
  });
});
