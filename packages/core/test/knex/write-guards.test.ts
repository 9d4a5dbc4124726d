// Write guards (SPEC §4): no write verb can create, move or point a row outside the scope.
import assert from 'node:assert/strict';
import {
  ALL,
  defineScopes,
  type ScopeError,
  type ScopeEvent,
  scope,
  scopesDisabled,
  trustRaw,
} from '@knex-scopes/core';
import type { Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import {
  asTenant1,
  col,
  expectScopeError,
  makeScopes,
  plain,
  recordQueries,
  TABLES,
  useSeededDatabase,
} from './fixtures';

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

    it('checks a whole batch inside its one statement (MySQL: with one query before it), all or nothing', async () => {
      const log = recordQueries(db);
      await t1(() =>
        db('comments').insert([
          { page_id: 1, body: 'b1' },
          { page_id: 2, body: 'b2' },
          { page_id: 1, body: 'b3' },
        ]),
      );
      log.stop();
      if (dialect === 'mysql') {
        assert.equal(log.sql.length, 2, log.sql.join('\n'));
        assert.match(log.sql[0] ?? '', /^select /i);
      } else {
        assert.equal(log.sql.length, 1, log.sql.join('\n'));
        assert.match(log.sql[0] ?? '', /^insert into .* select .* where \(select count\(distinct /i);
      }
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

    it('a large valid batch goes through as one statement that checks its parents, or after one check', async () => {
      const size = dialect === 'sqlite' ? 400 : 1000; // Knex writes SQLite batches as a compound SELECT (max 500 terms)
      const log = recordQueries(db);
      await t1(() =>
        db('comments').insert(Array.from({ length: size }, (_, i) => ({ page_id: 1 + (i % 2), body: `ok${i}` }))),
      );
      log.stop();
      // MySQL/MariaDB: a batch keeps the query before the write (in-statement-checks.ts says why)
      assert.equal(log.sql.length, dialect === 'mysql' ? 2 : 1, log.sql.map((s) => s.slice(0, 60)).join('\n'));
      assert.equal(Number((await base('comments').count('* as n'))[0]?.n), 4 + size);
    });

    it('scopesDisabled() writes what it is told (an explicit, greppable bypass)', async () => {
      await scopesDisabled(() => db('comments').insert({ page_id: 3, body: 'admin' }));
      assert.equal((await base('comments').where('body', 'admin')).length, 1);
    });
  });

  // issue 26: the parent check travels inside the write where the dialect allows it
  describe('FK-path checks inside the write', () => {
    /** `fn`'s result and the statements the wrapped instance sent for it. */
    const sent = async <T>(fn: () => PromiseLike<T>, on: Knex = db): Promise<{ result: T; sql: string[] }> => {
      const log = recordQueries(on);
      try {
        return { result: await fn(), sql: log.sql };
      } finally {
        log.stop();
      }
    };
    /** A batch: one statement that checks its parents; on MySQL/MariaDB the check, then the write. */
    const checkedBatch = (sql: string[]) => {
      if (dialect !== 'mysql') return oneStatement(sql, 'insert');
      assert.equal(sql.length, 2, sql.join('\n'));
      assert.match(sql[0] ?? '', /^select /i);
      assert.match(sql[1] ?? '', /^insert .* values /i);
    };
    const oneStatement = (sql: string[], verb: 'insert' | 'update') => {
      assert.equal(sql.length, 1, sql.join('\n'));
      assert.match(sql[0] ?? '', new RegExp(`^${verb} `, 'i'));
      assert.match(
        sql[0] ?? '',
        /\bexists \(select|\(select count\(distinct /i,
        'the parent check is in the statement',
      );
    };
    /** A pg Result without what two runs may not share (the parsers are per connection). */
    const pgShape = (r: unknown) => {
      const { command, rowCount, oid, rows, fields } = r as Record<string, unknown>;
      return {
        command,
        rowCount,
        oid,
        rows,
        fields: (fields as unknown[]).length,
        keys: Object.keys(r as object).sort(),
      };
    };

    it('a one-row INSERT or UPDATE of a path column is one statement: no SELECT goes before it', async () => {
      const insert = await sent(() => t1(() => db('comments').insert({ page_id: 2, body: 'one' })));
      oneStatement(insert.sql, 'insert');
      const update = await sent(() => t1(() => db('comments').where('id', 1).update({ page_id: 2 })));
      oneStatement(update.sql, 'update');
      assert.equal(Number(update.result), 1);
      // what toSQL() shows is what runs
      const shown = t1(() => db('comments').insert({ page_id: 2, body: 'one' }).toSQL());
      assert.equal(plain(shown.sql).replace(/\$\d+/g, '?'), plain(insert.sql[0] ?? '').replace(/\$\d+/g, '?'));
      assert.deepEqual(col(await base('comments').where('body', 'one'), 'page_id'), ['2']);
      assert.deepEqual(col(await base('comments').where('id', 1), 'page_id'), ['2']);
    });

    it('a foreign or missing parent writes nothing and throws as before, after the one write', async () => {
      const before = await snapshot();
      for (const page_id of [3, 999, '3']) {
        const log = recordQueries(db);
        const error = await expectScopeError(
          t1(() => db('comments').insert({ page_id, body: 'evil' })),
          'CROSS_SCOPE_WRITE',
          new RegExp(`"page_id" = "${page_id}" does not reference a row of "pages" visible in the active scope`),
        );
        log.stop();
        assert.deepEqual(error.value, [page_id]);
        assert.equal(error.column, 'page_id');
        // the write (which wrote nothing), then the check that names the key
        assert.equal(log.sql.length, 2, log.sql.join('\n'));
        assert.match(log.sql[0] ?? '', /^insert /i);
        assert.match(log.sql[1] ?? '', /^select /i);
      }
      await expectScopeError(
        t1(() => db('comments').where('id', 1).update({ page_id: 4 })),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(await snapshot(), before);
    });

    it('a batch is all or nothing: one foreign parent among many writes no row', async () => {
      const before = await snapshot();
      const rows = Array.from({ length: 50 }, (_, i) => ({ page_id: i === 37 ? 3 : 1 + (i % 2), body: `b${i}` }));
      await expectScopeError(
        t1(() => db('comments').insert(rows)),
        'CROSS_SCOPE_WRITE',
        /"page_id" = "3"/,
      );
      await expectScopeError(
        t1(() =>
          db('comments').insert([
            { page_id: 999, body: 'x' },
            { page_id: 1, body: 'y' },
          ]),
        ),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(await snapshot(), before);
      const ok = await sent(() => t1(() => db('comments').insert(rows.map((r) => ({ ...r, page_id: 2 })))));
      checkedBatch(ok.sql);
      assert.equal((await base('comments').where('body', 'like', 'b%')).length, 50);
      // knex#6185: before Knex 3.3.0 a SQLite batch upsert is refused (knex-releases.test.ts)
      const [major = 0, minor = 0] = (require('knex/package.json') as { version: string }).version
        .split('.')
        .map(Number);
      const batchUpserts = dialect === 'pg' || (dialect === 'sqlite' && (major > 3 || (major === 3 && minor >= 3)));
      if (batchUpserts) {
        // a batch upsert: all or nothing too, and its DO UPDATE still leaves other tenants' rows alone
        const upsert = (page_id: number) =>
          db('comments')
            .insert([
              { id: 1, page_id: 2, body: 'merged' },
              { id: 3, page_id: 2, body: 'stolen' },
              { id: 900, page_id, body: 'new' },
            ])
            .onConflict('id')
            .merge(['body']);
        const before = await snapshot();
        await expectScopeError(
          t1(() => upsert(4)),
          'CROSS_SCOPE_WRITE',
        );
        assert.deepEqual(await snapshot(), before);
        const merged = await sent(() => t1(() => upsert(1)));
        // fewer rows than given (the other tenant's row left alone), but some: every parent was in
        // scope (the condition is all or nothing), so no check follows
        assert.equal(merged.sql.length, 1);
        assert.deepEqual(col(await base('comments').whereIn('id', [1, 3, 900]).orderBy('id'), 'body'), [
          'c3-t2',
          'merged',
          'new',
        ]);
      }
    });

    it('returns what plain Knex returns: insert ids, the PostgreSQL result, returning rows, counts', async () => {
      // plain and scoped in turn: INSERT … SELECT takes the next id, neither skipping nor reusing one
      const results: unknown[] = [];
      for (const k of [base, db, base, db])
        results.push(await t1(() => k('comments').insert({ page_id: 1, body: 'ret' })));
      const batch: unknown[] = [];
      for (const k of [base, db]) {
        batch.push(await t1(() => k('comments').insert([1, 2, 1].map((page_id) => ({ page_id, body: 'batch' })))));
      }
      if (dialect === 'pg') {
        for (const r of results) assert.deepEqual(pgShape(r), pgShape(results[0]));
        assert.deepEqual(pgShape(batch[1]), pgShape(batch[0]));
        assert.equal((results[1] as { rowCount: number }).rowCount, 1);
      } else {
        const ids = results.map((r) => Number((r as number[])[0]));
        for (let i = 1; i < ids.length; i++) assert.equal(ids[i], (ids[i - 1] as number) + 1, `ids ${ids.join()}`);
        assert.deepEqual(col(await base('comments').whereIn('id', ids), 'body'), ['ret', 'ret', 'ret', 'ret']);
        // SQLite answers the last id of a batch, MySQL the first: either way 3 apart
        const [p, q] = batch.map((r) => Number((r as number[])[0]));
        assert.equal((q as number) - (p as number), 3);
      }
      if (hasReturning) {
        const rows = async (k: Knex) =>
          t1(() =>
            k('comments')
              .insert([2, 1].map((page_id) => ({ page_id, body: 'returned' })))
              .returning(['page_id', 'body']),
          );
        assert.deepEqual(await rows(db), await rows(base));
        const one = async (k: Knex) => t1(() => k('comments').insert({ page_id: 2, body: 'r1' }).returning('body'));
        assert.deepEqual(await one(db), await one(base));
        const updated = async (k: Knex, id: number) =>
          t1(() => k('comments').where('id', id).update({ page_id: 2 }).returning(['id', 'page_id']));
        assert.deepEqual(await updated(db, 1), await updated(base, 1));
        assert.deepEqual(await updated(db, 999), await updated(base, 999));
      }
      // counts: one row, and none (no such row, or not in scope: the row of another tenant)
      for (const id of [1, 999, 3]) {
        const count = async (k: Knex) => t1(() => k('comments').where('id', id).update({ page_id: 1 }));
        const scoped = await count(db);
        assert.equal(Number(scoped), id === 1 ? 1 : 0);
        if (id !== 3) assert.deepEqual(scoped, await count(base));
      }
      // a conflict left alone: the follow-up check finds the parent in scope and returns the result as is
      const ignored = async (k: Knex) =>
        t1(() => k('comments').insert({ id: 1, page_id: 2, body: 'dup' }).onConflict('id').ignore());
      const plainIgnored = await ignored(base);
      const scopedIgnored = await sent(() => ignored(db));
      if (dialect === 'pg') assert.deepEqual(pgShape(scopedIgnored.result), pgShape(plainIgnored));
      else assert.deepEqual(scopedIgnored.result, plainIgnored);
      assert.equal(
        scopedIgnored.sql.length,
        2,
        'the write, then the check that tells a conflict from a foreign parent',
      );
    });

    it('checks typed values through the PostgreSQL row type: json, dates, booleans, numbers', async () => {
      await base.schema.dropTableIfExists('notes');
      await base.schema.createTable('notes', (t) => {
        t.increments('id');
        t.integer('page_id').notNullable();
        t.json('meta');
        t.timestamp('at', { useTz: false });
        t.boolean('done');
        t.float('score');
        t.string('label', 20);
      });
      const scoped = defineScopes({ tables: { ...TABLES, notes: { tenant: 'page_id -> pages.tenant_id' } } }).wrap(
        base,
      );
      const at = new Date('2026-01-02T03:04:05.000Z');
      const rows = (label: string) => [
        { page_id: 1, meta: JSON.stringify({ a: [1, 2] }), at, done: true, score: 1.5, label },
        { page_id: 2, meta: JSON.stringify({ b: null }), at, done: false, score: -2, label },
        { page_id: 1, meta: null, at: null, done: null, score: null, label },
      ];
      const one = await sent(() => t1(() => scoped('notes').insert(rows('scoped'))), scoped);
      checkedBatch(one.sql);
      await base('notes').insert(rows('plain'));
      const read = async (label: string) =>
        (await base('notes').where('label', label).orderBy('id')).map(({ id: _, label: __, ...rest }) => rest);
      assert.deepEqual(await read('scoped'), await read('plain'));
      await expectScopeError(
        t1(() => scoped('notes').insert([...rows('x'), { ...rows('x')[0]!, page_id: 4 }])),
        'CROSS_SCOPE_WRITE',
      );
      assert.equal((await base('notes').where('label', 'x')).length, 0);
      await base.schema.dropTable('notes');
    });

    it('sees a parent inserted earlier in the transaction, and a refusal leaves the transaction usable', async () => {
      await t1(() =>
        db.transaction(async (trx) => {
          const [row] = await trx('pages').insert({ title: 'trx-parent' }, ['id']);
          const id = Number(typeof row === 'object' ? (row as { id: number }).id : row);
          const child = await sent(() => trx('comments').insert({ page_id: id, body: 'trx-child' }), trx);
          oneStatement(child.sql, 'insert');
          await expectScopeError(trx('comments').insert({ page_id: 3, body: 'trx-evil' }), 'CROSS_SCOPE_WRITE');
          // nothing failed in the database: PostgreSQL has not aborted the transaction
          await trx('comments').insert({ page_id: id, body: 'trx-after' });
          await trx('comments').where('body', 'trx-child').update({ page_id: id });
        }),
      );
      assert.deepEqual(col(await base('comments').where('body', 'like', 'trx-%'), 'body'), ['trx-after', 'trx-child']);
    });

    it('report mode keeps the check before the write, which still runs and is reported', async () => {
      const seen: ScopeEvent[] = [];
      const reporting = makeScopes({ mode: 'report', onViolation: (e) => seen.push(e) }).wrap(base);
      const run = await sent(() => t1(() => reporting('comments').insert({ page_id: 3, body: 'reported' })), reporting);
      assert.equal(run.sql.length, 2, run.sql.join('\n'));
      assert.match(run.sql[0] ?? '', /^select /i);
      assert.match(run.sql[1] ?? '', /^insert .* values/i);
      assert.equal(seen.at(-1)?.code, 'CROSS_SCOPE_WRITE');
      assert.equal((await base('comments').where('body', 'reported')).length, 1);
      const moved = await sent(() => t1(() => reporting('comments').where('id', 1).update({ page_id: 4 })), reporting);
      assert.equal(moved.sql.length, 2);
      assert.equal(Number(moved.result), 1);
      assert.equal(seen.length, 2);
      assert.deepEqual(col(await base('comments').where('id', 1), 'page_id'), ['4']);
    });

    it('checks a two-hop parent through its own path: a reply to a comment of a tenant page', async () => {
      const ok = await sent(() => t1(() => db('replies').insert({ comment_id: 2, body: 'hop' })));
      oneStatement(ok.sql, 'insert');
      assert.match(
        plain(ok.sql[0] ?? ''),
        /exists \(select comments\.id from comments where comments\.page_id in \(select pages\.id from pages where pages\.tenant_id = /,
      );
      const before = await snapshot();
      await expectScopeError(
        t1(() => db('replies').insert({ comment_id: 3, body: 'evil' })),
        'CROSS_SCOPE_WRITE',
      );
      await expectScopeError(
        t1(() => db('replies').where('id', 1).update({ comment_id: 4 })),
        'CROSS_SCOPE_WRITE',
      );
      await expectScopeError(
        t1(() =>
          db('replies').insert([
            { comment_id: 1, body: 'a' },
            { comment_id: 4, body: 'b' },
          ]),
        ),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(await snapshot(), before);
      const moved = await sent(() => t1(() => db('replies').where('id', 1).update({ comment_id: 2 })));
      oneStatement(moved.sql, 'update');
      assert.equal(Number(moved.result), 1);
    });

    it('an UPDATE that matches no row returns 0 as before; one whose parent is foreign throws', async () => {
      const none = await sent(() => t1(() => db('comments').where('id', 999).update({ page_id: 2 })));
      assert.equal(Number(none.result), 0);
      assert.equal(none.sql.length, 2, 'the update, then the check that tells "no such row" from a foreign parent');
      const before = await snapshot();
      // an OR or a raw in the app's WHERE cannot take the check's place
      await expectScopeError(
        t1(() => db('comments').where('id', 1).orWhere('id', 2).update({ page_id: 3 })),
        'CROSS_SCOPE_WRITE',
      );
      await expectScopeError(
        t1(() => db('comments').whereRaw('id = 1 or 1 = 1').update({ page_id: 4 })),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(await snapshot(), before);
      const both = await sent(() => t1(() => db('comments').where('id', 1).orWhere('id', 3).update({ page_id: 2 })));
      oneStatement(both.sql, 'update');
      assert.equal(Number(both.result), 1, "comment 3 is tenant 2's: not updated");
    });

    it('checks every dimension and a scope of several tenants inside the write', async () => {
      const two = await sent(() =>
        scope({ tenant: [1, 2] }, () => db('comments').insert({ page_id: 3, body: 'listed' })),
      );
      oneStatement(two.sql, 'insert');
      await expectScopeError(
        scope({ tenant: [1, 2] }, () => db('comments').insert({ page_id: 4, body: 'x' })),
        'CROSS_SCOPE_WRITE',
      );
      const mark = await sent(() =>
        scope({ tenant: 1, user: 'u9' }, () => db('bookmarks').insert({ page_id: 2, user_id: 'u9' })),
      );
      oneStatement(mark.sql, 'insert');
      await expectScopeError(
        scope({ tenant: 1, user: 'u9' }, () => db('bookmarks').insert({ page_id: 3, user_id: 'u9' })),
        'CROSS_SCOPE_WRITE',
      );
      await expectScopeError(
        scope({ tenant: [], user: 'u9' }, () => db('bookmarks').insert({ page_id: 2, user_id: 'u9' })),
        'CROSS_SCOPE_WRITE',
      );
    });

    it('checks a parent keyed by another column, and a schema-qualified write', async () => {
      await base.schema.dropTableIfExists('doc_notes');
      await base.schema.dropTableIfExists('docs');
      await base.schema.createTable('docs', (t) => {
        t.increments('id');
        t.string('slug', 20).notNullable().unique();
        t.integer('tenant_id').notNullable();
      });
      await base.schema.createTable('doc_notes', (t) => {
        t.increments('id');
        t.string('doc_slug', 20).notNullable();
        t.string('body', 20);
      });
      await base('docs').insert([
        { slug: 'mine', tenant_id: 1 },
        { slug: 'theirs', tenant_id: 2 },
      ]);
      const scoped = defineScopes({
        tables: { docs: { tenant: 'tenant_id' }, doc_notes: { tenant: 'doc_slug -> docs(slug).tenant_id' } },
      }).wrap(base);
      const ok = await sent(() => t1(() => scoped('doc_notes').insert({ doc_slug: 'mine', body: 'a' })), scoped);
      oneStatement(ok.sql, 'insert');
      assert.match(plain(ok.sql[0] ?? ''), /docs\.slug = /);
      await expectScopeError(
        t1(() => scoped('doc_notes').insert({ doc_slug: 'theirs', body: 'b' })),
        'CROSS_SCOPE_WRITE',
      );
      await expectScopeError(
        t1(() =>
          scoped('doc_notes').insert([
            { doc_slug: 'mine', body: 'c' },
            { doc_slug: 'nope', body: 'd' },
          ]),
        ),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(col(await base('doc_notes'), 'body'), ['a']);
      await base.schema.dropTable('doc_notes');
      await base.schema.dropTable('docs');

      const schema = dialect === 'pg' ? 'public' : dialect === 'sqlite' ? 'main' : tdb.database();
      const schemed = await sent(() =>
        t1(() =>
          db
            .withSchema(schema)
            .table('comments')
            .insert([
              { page_id: 1, body: 's1' },
              { page_id: 2, body: 's2' },
            ]),
        ),
      );
      checkedBatch(schemed.sql);
      await expectScopeError(
        t1(() => db.withSchema(schema).table('comments').insert({ page_id: 3, body: 's3' })),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(col(await base('comments').where('body', 'like', 's_'), 'body'), ['s1', 's2']);
    });

    it('keeps the check before the write for a shape the statement cannot carry', async () => {
      // Knex writes DEFAULT for an undefined value, which INSERT … SELECT has no place for
      const run = await sent(() =>
        t1(() => db('comments').insert({ page_id: 3, body: undefined as unknown as string })).catch((e: unknown) => e),
      );
      assert.equal((run.result as ScopeError).code, 'CROSS_SCOPE_WRITE');
      assert.equal(run.sql.length, 1);
      assert.match(run.sql[0] ?? '', /^select /i);
    });

    if (dialect === 'pg') {
      it('checks the parents a data-modifying CTE sets, before the statement that holds it', async () => {
        const before = await snapshot();
        const cte = () =>
          db
            .with('moved', (qb) => qb.from('comments').where('id', 1).update({ page_id: 3 }).returning('id'))
            .select('*')
            .from('moved');
        await expectScopeError(t1(cte), 'CROSS_SCOPE_WRITE');
        assert.deepEqual(await snapshot(), before);
        const ok = await t1(() =>
          db
            .with('moved', (qb) => qb.from('comments').where('id', 1).update({ page_id: 2 }).returning('id'))
            .select('*')
            .from('moved'),
        );
        assert.deepEqual(col(ok, 'id'), ['1']);
      });

      it('checks every parent before a streamed write (its rows are not counted)', async () => {
        const streamed = async (page_id: number) => {
          const out: unknown[] = [];
          await t1(async () => {
            for await (const row of db('comments').insert({ page_id, body: 'streamed' }).returning('body').stream()) {
              out.push(row);
            }
          });
          return out;
        };
        assert.deepEqual(await streamed(2), [{ body: 'streamed' }]);
        await expectScopeError(streamed(3), 'CROSS_SCOPE_WRITE');
        assert.equal((await base('comments').where('body', 'streamed')).length, 1);
      });
    }
  });
});
