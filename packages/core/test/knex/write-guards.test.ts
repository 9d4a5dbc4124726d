// Write guards (SPEC §4): no write verb can create, move or point a row outside the scope.
import assert from 'node:assert/strict';
import { ALL, defineScopes, scope, scopesDisabled, trustRaw } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { asTenant1, col, expectScopeError, makeScopes, recordQueries, useSeededDatabase } from './fixtures';

forEachDialect('scoped Knex: write guards', (tdb) => {
  let base: Knex;
  let db: Knex;
  const dialect = tdb.dialect;
  const hasReturning = dialect !== 'mysql';
  useSeededDatabase(tdb, 'each', (b, d) => {
    base = b;
    db = d;
  });
  const t1 = asTenant1;
  /** Every row of every scoped table, to prove a refused write changed nothing. */
  const snapshot = async () => {
    const out: Record<string, unknown[]> = {};
    for (const t of ['tenants', 'pages', 'comments', 'replies', 'bookmarks', 'page_tags']) {
      out[t] = (await base(t).select('*')).map((r) => JSON.stringify(r)).sort();
    }
    return out;
  };

  // issue 22: the owners' own table, `orgs: { tenant: 'id' }`, whose key the database generates
  describe('INSERT into the tenant table itself', () => {
    let orgs: Knex;
    beforeEach(async () => {
      await base.schema.dropTableIfExists('orgs');
      await base.schema.createTable('orgs', (t) => {
        t.increments('id');
        t.string('name', 20).notNullable();
      });
      await base('orgs').insert([{ name: 'one' }, { name: 'two' }]);
      orgs = defineScopes({ tables: { orgs: { tenant: 'id' } } }).wrap(base);
    });
    afterEach(() => base.schema.dropTableIfExists('orgs'));

    it('never stamps the key: a new org inside one org is refused, and says how to create one', async () => {
      const error = await expectScopeError(
        scope({ tenant: 1 }, () => orgs('orgs').insert({ name: 'three' })),
        'AMBIGUOUS_INSERT',
        /own key.*scope\(\{ tenant: ALL \}/,
      );
      assert.equal(error.column, 'id');
      assert.deepEqual(col(await base('orgs').orderBy('id'), 'name'), ['one', 'two']);
    });

    it('creates an org under ALL or with scopes disabled, the database generating its key', async () => {
      await scope({ tenant: ALL }, () => orgs('orgs').insert({ name: 'three' }));
      await scopesDisabled(() => orgs('orgs').insert({ name: 'four' }));
      assert.deepEqual(col(await base('orgs').orderBy('id'), 'name'), ['four', 'one', 'three', 'two']);
      assert.equal((await base('orgs').distinct('id')).length, 4);
    });

    it('checks a given key like any tenant value', async () => {
      await expectScopeError(
        scope({ tenant: 1 }, () => orgs('orgs').insert({ id: 9, name: 'x' })),
        'CROSS_SCOPE_WRITE',
      );
      await expectScopeError(
        scope({ tenant: [1, 2] }, () => orgs('orgs').insert({ name: 'x' })),
        'AMBIGUOUS_INSERT',
      );
      assert.equal((await base('orgs')).length, 2);
    });
  });

  describe('INSERT into a table with its own tenant column', () => {
    it('stamps a missing tenant on a copy; the caller object is untouched; returning shows it', async () => {
      const row = { title: 'new' };
      if (hasReturning) {
        const [inserted] = await t1(() => db('pages').insert(row).returning('*'));
        assert.equal(Number(inserted.tenant_id), 1);
      } else {
        await t1(() => db('pages').insert(row));
      }
      assert.deepEqual(row, { title: 'new' });
      assert.deepEqual(col(await base('pages').where('title', 'new'), 'tenant_id'), ['1']);
    });

    it('accepts a value inside the scope, refuses one outside, writing nothing', async () => {
      await t1(() => db('pages').insert({ title: 'own', tenant_id: 1 }));
      const before = await snapshot();
      const error = await expectScopeError(
        t1(() => db('pages').insert({ title: 'evil', tenant_id: 2 })),
        'CROSS_SCOPE_WRITE',
        /"tenant_id" = 2 is outside the active scope on "tenant"/,
      );
      assert.equal(error.table, 'pages');
      assert.equal(error.column, 'tenant_id');
      // the fields say what the message says, and the status what a framework should answer
      assert.equal(error.value, 2);
      assert.equal(error.status, 403);
      assert.equal(error.expose, true);
      assert.deepEqual(await snapshot(), before);
    });

    it('refuses an insert without a value when the scope holds several keys or ALL', async () => {
      await expectScopeError(
        scope({ tenant: [1, 2] }, () => db('pages').insert({ title: 'x' })),
        'AMBIGUOUS_INSERT',
      );
      await expectScopeError(
        scope({ tenant: ALL }, () => db('pages').insert({ title: 'x' })),
        'AMBIGUOUS_INSERT',
      );
      await scope({ tenant: [1, 2] }, () => db('pages').insert({ title: 'explicit', tenant_id: 2 }));
      await scope({ tenant: ALL }, () => db('pages').insert({ title: 'explicit-all', tenant_id: 3 }));
      assert.deepEqual(col(await base('pages').where('title', 'like', 'explicit%'), 'tenant_id'), ['2', '3']);
    });

    it('checks every row of a multi-row insert; one bad row refuses the statement', async () => {
      const before = await snapshot();
      await expectScopeError(
        t1(() => db('pages').insert([{ title: 'a' }, { title: 'b', tenant_id: 1 }, { title: 'c', tenant_id: 3 }])),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(await snapshot(), before);
      await t1(() => db('pages').insert([{ title: 'a' }, { title: 'b', tenant_id: 1 }]));
      assert.deepEqual(col(await base('pages').whereIn('title', ['a', 'b']), 'tenant_id'), ['1', '1']);
    });

    it('refuses INSERT … SELECT and raw inserts into a scoped table', async () => {
      await expectScopeError(
        t1(() => db('pages').insert(db('pages').select('tenant_id', 'title'))),
        'UNSUPPORTED_QUERY',
      );
      await expectScopeError(
        t1(() => db.raw('insert into pages (tenant_id, title) values (2, ?)', ['x'])),
        'RAW_SQL_REFUSED',
      );
    });
  });

  describe('INSERT or UPDATE of an FK path column', () => {
    it('accepts a parent in scope, refuses a parent of another tenant or a missing one', async () => {
      await t1(() => db('comments').insert({ page_id: 2, body: 'ok' }));
      const before = await snapshot();
      const foreign = await expectScopeError(
        t1(() => db('comments').insert({ page_id: 3, body: 'evil' })),
        'CROSS_SCOPE_WRITE',
        /"page_id" = "3" does not reference a row of "pages" visible in the active scope/,
      );
      assert.equal(foreign.column, 'page_id');
      await expectScopeError(
        t1(() => db('comments').insert({ page_id: 999, body: 'ghost' })),
        'CROSS_SCOPE_WRITE',
      );
      await expectScopeError(
        t1(() => db('replies').insert({ comment_id: 3, body: 'evil' })),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(await snapshot(), before);
    });

    it('checks a whole batch with one extra query per statement', async () => {
      const log = recordQueries(db);
      await t1(() =>
        db('comments').insert([
          { page_id: 1, body: 'b1' },
          { page_id: 2, body: 'b2' },
          { page_id: 1, body: 'b3' },
        ]),
      );
      log.stop();
      assert.equal(log.sql.length, 2, log.sql.join('\n'));
      assert.match(log.sql[0] ?? '', /select/i);
      const before = await snapshot();
      await expectScopeError(
        t1(() =>
          db('comments').insert([
            { page_id: 1, body: 'fine' },
            { page_id: 4, body: 'evil' },
          ]),
        ),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(await snapshot(), before);
    });

    it('leaves null to the column: nullable accepts, NOT NULL is the database error', async () => {
      await t1(() => db('comments').insert({ page_id: null, body: 'orphan' }));
      assert.equal((await base('comments').where('body', 'orphan')).length, 1);
      await assert.rejects(t1(() => db('replies').insert({ comment_id: null, body: 'x' })));
      assert.equal((await base('replies')).length, 2);
    });

    it('sees a parent inserted earlier in the same transaction', async () => {
      await t1(() =>
        db.transaction(async (trx) => {
          const ids = await trx('pages').insert({ title: 'in-trx' }, ['id']);
          const id = Number(typeof ids[0] === 'object' ? (ids[0] as { id: number }).id : ids[0]);
          await trx('comments').insert({ page_id: id, body: 'child-in-trx' });
        }),
      );
      assert.equal((await base('comments').where('body', 'child-in-trx')).length, 1);
    });

    it('refuses pointing an existing row at a foreign parent with UPDATE', async () => {
      const before = await snapshot();
      const foreign = await expectScopeError(
        t1(() => db('comments').update({ page_id: 3 }).where('id', 1)),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(foreign.value, [3]); // the keys the message names
      await expectScopeError(
        t1(() => db('comments').update({ page_id: db.raw('3') })),
        'CROSS_SCOPE_WRITE',
      );
      await expectScopeError(
        t1(() => db('comments').increment('page_id', 1)),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(await snapshot(), before);
      assert.equal(Number(await t1(() => db('comments').update({ page_id: 2 }).where('id', 1))), 1);
    });

    it('writes a raw value for a scope column only when trustRaw() vouches for it, as a bypass', async () => {
      const bypasses: string[] = [];
      const vouched = makeScopes({ onBypass: (e) => bypasses.push(`${e.reason}:${e.tables.join()}`) }).wrap(base);
      await expectScopeError(
        t1(() => vouched('pages').insert({ title: 'r', tenant_id: db.raw('1') })),
        'CROSS_SCOPE_WRITE',
      );
      await t1(() => vouched('pages').insert({ title: 'trusted', tenant_id: trustRaw(db.raw('1')) }));
      await t1(() =>
        vouched('comments')
          .update({ page_id: trustRaw(db.raw('2')) })
          .where('id', 1),
      );
      assert.deepEqual(col(await base('pages').where('title', 'trusted'), 'tenant_id'), ['1']);
      assert.deepEqual(col(await base('comments').where('id', 1), 'page_id'), ['2']);
      assert.deepEqual(bypasses, ['trusted-raw:pages', 'trusted-raw:comments']);
    });

    it('checks a two-dimension table on both of its dimensions', async () => {
      await scope({ tenant: 1, user: 'u9' }, () => db('bookmarks').insert({ page_id: 2, user_id: 'u9' }));
      await expectScopeError(
        scope({ tenant: 1, user: 'u9' }, () => db('bookmarks').insert({ page_id: 3, user_id: 'u9' })),
        'CROSS_SCOPE_WRITE',
      );
      await expectScopeError(
        scope({ tenant: 1, user: 'u9' }, () => db('bookmarks').insert({ page_id: 2, user_id: 'u1' })),
        'CROSS_SCOPE_WRITE',
      );
    });
  });

  describe('upserts', () => {
    it('never overwrites another tenant row (guarded DO UPDATE), or refuses where it cannot be guarded', async () => {
      const upsert = () => db('pages').insert({ id: 3, title: 'stolen' }).onConflict('id').merge();
      if (dialect === 'mysql') {
        await expectScopeError(t1(upsert), 'UNSUPPORTED_QUERY', /ON DUPLICATE KEY UPDATE/);
      } else {
        await t1(upsert);
      }
      const row = await base('pages').where('id', 3).first();
      assert.equal(row?.title, 'p3-t2');
      assert.equal(Number(row?.tenant_id), 2);
      if (dialect !== 'mysql') {
        await t1(() => db('pages').insert({ id: 1, title: 'renamed' }).onConflict('id').merge(['title']));
        assert.equal((await base('pages').where('id', 1).first())?.title, 'renamed');
        // a path table is guarded the same way
        await t1(() => db('comments').insert({ id: 3, page_id: 1, body: 'stolen' }).onConflict('id').merge());
        assert.equal((await base('comments').where('id', 3).first())?.body, 'c3-t2');
      }
    });

    it('lets onConflict().ignore() through', async () => {
      await t1(() => db('pages').insert({ id: 3, title: 'ignored' }).onConflict('id').ignore());
      assert.equal((await base('pages').where('id', 3).first())?.title, 'p3-t2');
    });
  });

  describe('hostile forms', () => {
    // A form posts ids chosen by the client. Each payload gets a typed error and changes nothing.
    const payloads: Array<[string, () => Knex.QueryBuilder]> = [
      ['pages: another tenant', () => db('pages').insert({ title: 'x', tenant_id: 2 })],
      ['pages: a string tenant', () => db('pages').insert({ title: 'x', tenant_id: 'abc' })],
      ['pages: an object tenant', () => db('pages').insert({ title: 'x', tenant_id: { id: 2 } as never })],
      ['pages: update into another tenant', () => db('pages').update({ tenant_id: 2 })],
      ['comments: another tenant page', () => db('comments').insert({ page_id: 3, body: 'x' })],
      ['comments: a missing page', () => db('comments').insert({ page_id: 12345, body: 'x' })],
      ['comments: a string page id', () => db('comments').insert({ page_id: 'abc', body: 'x' })],
      ['comments: an array page id', () => db('comments').insert({ page_id: [1, 3] as never, body: 'x' })],
      ['comments: move to another tenant page', () => db('comments').update({ page_id: 4 })],
      ['replies: another tenant comment', () => db('replies').insert({ comment_id: 3, body: 'x' })],
      ['bookmarks: another tenant page', () => db('bookmarks').insert({ page_id: 3, user_id: 'u1' })],
      ['page_tags: another tenant page', () => db('page_tags').insert({ page_id: 4, tag_id: 1 })],
      [
        'comments: a huge batch with one foreign row',
        () =>
          db('comments').insert(
            Array.from({ length: 1000 }, (_, i) => ({ page_id: i === 777 ? 3 : 1 + (i % 2), body: `h${i}` })),
          ),
      ],
    ];
    for (const [label, payload] of payloads) {
      it(`${label}: typed error, database unchanged`, async () => {
        const before = await snapshot();
        await expectScopeError(
          scope({ tenant: 1, user: 'u1' }, () => payload()),
          'CROSS_SCOPE_WRITE',
        );
        assert.deepEqual(await snapshot(), before);
      });
    }

    it('delete and upsert payloads naming another tenant row change nothing', async () => {
      const before = await snapshot();
      for (const table of ['pages', 'comments', 'replies', 'bookmarks']) {
        assert.equal(Number(await scope({ tenant: 1, user: 'u1' }, () => db(table).del().where('id', 3))), 0, table);
      }
      assert.equal(Number(await t1(() => db('page_tags').del().where('page_id', 3))), 0);
      if (dialect !== 'mysql') {
        await t1(() => db('pages').insert({ id: 4, title: 'taken', tenant_id: 1 }).onConflict('id').merge());
        await t1(() => db('replies').insert({ id: 2, comment_id: 1, body: 'taken' }).onConflict('id').merge());
      }
      assert.deepEqual(await snapshot(), before);
    });

    it('a large valid batch goes through with a single check query', async () => {
      const size = dialect === 'sqlite' ? 400 : 1000; // Knex writes SQLite batches as a compound SELECT (max 500 terms)
      const log = recordQueries(db);
      await t1(() =>
        db('comments').insert(Array.from({ length: size }, (_, i) => ({ page_id: 1 + (i % 2), body: `ok${i}` }))),
      );
      log.stop();
      assert.equal(log.sql.length, 2);
      assert.equal(Number((await base('comments').count('* as n'))[0]?.n), 4 + size);
    });

    it('scopesDisabled() writes what it is told (an explicit, greppable bypass)', async () => {
      await scopesDisabled(() => db('comments').insert({ page_id: 3, body: 'admin' }));
      assert.equal((await base('comments').where('body', 'admin')).length, 1);
    });
  });
});
