// The attack classes of issue #21, each closed as a class rather than one instance at a time.
// Every test speaks for tenant 1 (scope({ tenant: 1 })) and aims at tenant 2's (or 3's) rows, and
// asserts an outcome, never only "did not throw":
// - refused: a ScopeError (with the codes that are defensible), nothing written (a snapshot of
//   every table through the unscoped base, before and after) and, for anything but a parent
//   check, no SQL sent;
// - or it runs, and returns / changes exactly what the same query filtered by hand to tenant 1
//   returns / changes on the unscoped base (writes: run by hand in a rolled-back transaction).
// A shape a dialect does not have is skipped inside its test, with the reason next to it.
import assert from 'node:assert/strict';
import { defineScopes, isScopeError, type ScopeError, scope } from '@knex-scopes/core';
import knexFactory, { type Knex } from 'knex';
import { type Dialect, forEachDialect, type TestDb } from '../../../../test/support/databases';
import { bigints, changes, isParentCheck, norm, rowsOf, type Snapshot, show } from './attack-support';
import { asTenant1, makeScopes, recordQueries, useSeededDatabase } from './fixtures';

type Code = ScopeError['code'];
/** A refused write may name any of these; the point is that it is a ScopeError and nothing moved. */
const WRITE_CODES: readonly Code[] = ['CROSS_SCOPE_WRITE', 'UNSUPPORTED_QUERY', 'RAW_SQL_REFUSED', 'AMBIGUOUS_INSERT'];
/** Raw text that names a scoped table (or a shape that cannot be checked). */
const RAW_CODES: readonly Code[] = ['RAW_SQL_REFUSED', 'UNSUPPORTED_QUERY'];
const TABLES_IN_SNAPSHOT = ['tenants', 'pages', 'comments', 'replies', 'bookmarks', 'tags', 'page_tags'];
/** The database, not the library, refused an unbalanced or unterminated fragment. */
const SYNTAX_ERROR = /syntax|incomplete input|unterminated|unrecognized token|unclosed/i;

const ALL: readonly Dialect[] = ['sqlite', 'pg', 'mysql'];
const PG: readonly Dialect[] = ['pg'];
const SQLITE: readonly Dialect[] = ['sqlite'];
const MYSQL: readonly Dialect[] = ['mysql'];
const PG_SQLITE: readonly Dialect[] = ['pg', 'sqlite'];
const SQLITE_MYSQL: readonly Dialect[] = ['sqlite', 'mysql'];

/** One attack, built from the wrapped instance inside scope({ tenant: 1 }), expected refused. */
interface Attack {
  readonly name: string;
  readonly build: (db: Knex, dialect: Dialect, tdb: TestDb) => unknown;
  /** Where the shape exists (default: every dialect). */
  readonly dialects?: readonly Dialect[];
  readonly codes?: readonly Code[];
}

type Run = { ok: true; result: unknown; sql: string[] } | { ok: false; error: unknown; sql: string[] };

/** Adds tenant 1's filter by hand on the base instance; nothing on the wrapped one. */
type Own = (qb: Knex.QueryBuilder, table?: 'pages' | 'comments') => Knex.QueryBuilder;
const byHand: Own = (qb, table = 'pages') =>
  table === 'pages' ? qb.where('pages.tenant_id', 1) : qb.whereIn('comments.page_id', [1, 2]);
const asIs: Own = (qb) => qb;

class Harness {
  base!: Knex;
  db!: Knex;
  constructor(readonly tdb: TestDb) {}

  get dialect(): Dialect {
    return this.tdb.dialect;
  }

  /** Every row of every table, as the unscoped base (or a transaction) sees it. */
  async snapshot(k: Knex = this.base): Promise<Snapshot> {
    const out: Snapshot = {};
    for (const t of TABLES_IN_SNAPSHOT) out[t] = (await k(t).select('*')).map((r) => JSON.stringify(r, bigints)).sort();
    return out;
  }

  /** The rows tenant 1 does not own (or did not own at the seed), as the base sees them. */
  async foreignRows(): Promise<Snapshot> {
    const b = this.base;
    const rows = async (q: Knex.QueryBuilder) => (await q).map((r: object) => JSON.stringify(r, bigints)).sort();
    return {
      tenants: await rows(b('tenants').whereNot('id', 1)),
      pages: await rows(b('pages').whereNot('tenant_id', 1).orWhereIn('id', [3, 4])),
      comments: await rows(b('comments').whereNotIn('page_id', [1, 2]).orWhereIn('id', [3, 4])),
      replies: await rows(b('replies').whereNotIn('comment_id', [1, 2]).orWhere('id', 2)),
      bookmarks: await rows(b('bookmarks').whereNotIn('page_id', [1, 2]).orWhere('id', 3)),
      page_tags: await rows(b('page_tags').whereNotIn('page_id', [1, 2])),
    };
  }

  /** Runs `attack` as tenant 1 (executed inside the scope), recording the SQL the wrapped instance sends. */
  async attempt(attack: () => unknown): Promise<Run> {
    const log = recordQueries(this.db);
    try {
      const result = await asTenant1(async () => await attack());
      return { ok: true, result, sql: log.sql };
    } catch (error) {
      return { ok: false, error, sql: log.sql };
    } finally {
      log.stop();
    }
  }

  private sent(run: Run): string {
    return `\nSQL sent by the wrapped instance:\n  ${run.sql.join('\n  ') || '(none)'}`;
  }

  /** Asserts a ScopeError among `codes`, nothing written, and no SQL but parent-check SELECTs sent. */
  private assertRefusal(run: Run & { ok: false }, codes: readonly Code[], before: Snapshot, after: Snapshot): void {
    const { error } = run;
    if (!isScopeError(error)) {
      assert.fail(
        `expected a ScopeError (${codes.join(' | ')}), got: ${String(error)}${this.sent(run)}${changes(before, after)}`,
      );
    }
    assert.ok(
      codes.includes(error.code),
      `ScopeError ${error.code} (${error.message}) is not one of ${codes.join(' | ')}`,
    );
    assert.deepEqual(after, before, `a refused attack changed rows${changes(before, after)}`);
    if (error.code === 'CROSS_SCOPE_WRITE') {
      // a path check reads the parent, before the write or inside it; nothing else may reach the database
      const others = run.sql.filter((s) => !isParentCheck(s));
      assert.deepEqual(others, [], `SQL other than a parent check was sent before the refusal${this.sent(run)}`);
    } else {
      // a transaction's own BEGIN / ROLLBACK (and savepoints) carry no data
      const data = run.sql.filter((s) => !/^\s*(begin|start transaction|commit|rollback|savepoint|release)\b/i.test(s));
      assert.deepEqual(data, [], `SQL reached the database before the refusal${this.sent(run)}`);
    }
  }

  /** The attack must be refused with a ScopeError among `codes`, writing nothing. */
  async refused(attack: () => unknown, codes: readonly Code[]): Promise<void> {
    const before = await this.snapshot();
    const run = await this.attempt(attack);
    const after = await this.snapshot();
    if (run.ok) {
      assert.fail(
        `NOT REFUSED: the attack ran and returned ${show(run.result)}${this.sent(run)}${changes(before, after)}`,
      );
    }
    this.assertRefusal(run, codes, before, after);
  }

  /** What the hand-filtered query returns and leaves behind (a write runs in a rolled-back transaction). */
  private async handOutcome(hand: (base: Knex) => unknown, write: boolean) {
    if (!write) return { result: norm(await hand(this.base)), rows: await this.snapshot() };
    const trx = await this.base.transaction();
    try {
      const result = norm(await hand(trx));
      return { result, rows: await this.snapshot(trx) };
    } finally {
      await trx.rollback();
    }
  }

  /**
   * The scoped query must run and return / change exactly what `hand` (the same query with
   * tenant 1's filter written by hand, on the base) does. With `refusalOk`, a ScopeError that
   * wrote nothing is accepted too; with `syntaxErrorOk`, so is a database syntax error that wrote
   * nothing (an unbalanced fragment the database itself rejects cannot leak).
   */
  async sameAsHand(
    scoped: (db: Knex) => unknown,
    hand: (base: Knex) => unknown,
    opts: { write?: boolean; refusalOk?: readonly Code[]; syntaxErrorOk?: boolean } = {},
  ): Promise<void> {
    const expected = await this.handOutcome(hand, opts.write ?? false);
    const before = await this.snapshot();
    const run = await this.attempt(() => scoped(this.db));
    const after = await this.snapshot();
    if (!run.ok) {
      if (opts.refusalOk && isScopeError(run.error)) return this.assertRefusal(run, opts.refusalOk, before, after);
      if (opts.syntaxErrorOk && !isScopeError(run.error) && SYNTAX_ERROR.test(String(run.error))) {
        assert.deepEqual(after, before, `a failed statement changed rows${changes(before, after)}`);
        return;
      }
      assert.fail(`expected tenant 1's rows, got an error: ${String(run.error)}${this.sent(run)}`);
    }
    assert.deepEqual(
      { result: norm(run.result), rows: after },
      expected,
      `the scoped query differs from the hand-filtered one${this.sent(run)}${changes(expected.rows, after)}`,
    );
  }

  /** Refused, or it ran and tenant 1 is the only owner whose rows changed (for shapes with no hand form). */
  async refusedOrForeignUntouched(attack: () => unknown, check?: () => Promise<void>): Promise<void> {
    const before = await this.snapshot();
    const foreign = await this.foreignRows();
    const run = await this.attempt(attack);
    const after = await this.snapshot();
    if (!run.ok) return this.assertRefusal(run, WRITE_CODES, before, after);
    assert.deepEqual(
      await this.foreignRows(),
      foreign,
      `another tenant's rows changed${this.sent(run)}${changes(before, after)}`,
    );
    await check?.();
  }

  /** Refused, or every row it returns is one of `allowed` (compared as JSON). */
  async refusedOrWithin(attack: () => unknown, allowed: readonly object[]): Promise<void> {
    const before = await this.snapshot();
    const run = await this.attempt(attack);
    const after = await this.snapshot();
    if (!run.ok) return this.assertRefusal(run, RAW_CODES.concat(WRITE_CODES), before, after);
    const ok = new Set(allowed.map((r) => JSON.stringify(r, bigints)));
    const leaked = (rowsOf(run.result) as object[]).map((r) => JSON.stringify(r, bigints)).filter((r) => !ok.has(r));
    assert.deepEqual(leaked, [], `rows of another tenant were returned${this.sent(run)}`);
    assert.deepEqual(after, before);
  }
}

/** Registers one `it` per attack, each expecting a refusal. */
function refusals(h: Harness, attacks: readonly Attack[], codes: readonly Code[]): void {
  for (const attack of attacks) {
    it(`refuses ${attack.name}`, async function () {
      // the shape does not exist in this dialect's SQL (see the attack's `dialects`)
      if (!(attack.dialects ?? ALL).includes(h.dialect)) this.skip();
      await h.refused(() => attack.build(h.db, h.dialect, h.tdb), attack.codes ?? codes);
    });
  }
}

forEachDialect('attack classes (#21)', (tdb) => {
  const h = new Harness(tdb);
  const dialect = tdb.dialect;
  useSeededDatabase(tdb, 'each', (b, d) => {
    h.base = b;
    h.db = d;
  });
  /** A page and a comment of tenant 2 that nothing references, so REPLACE / DELETE would not hit a foreign key. */
  const addChildlessForeignRows = async () => {
    await h.base('pages').insert({ id: 60, tenant_id: 2, title: 'p60-t2' });
  };

  // Class 1 (#21): an upsert's UPDATE half must neither move a row to another tenant, nor
  // re-parent it, nor touch another tenant's conflicting row; MySQL's REPLACE INTO must not
  // delete another tenant's row.
  describe('1 upserts', () => {
    refusals(
      h,
      [
        {
          name: 'merge({ tenant_id: 2 }) moving tenant 1 page to tenant 2',
          build: (db) =>
            db('pages').insert({ id: 1, tenant_id: 1, title: 'x' }).onConflict('id').merge({ tenant_id: 2 }),
        },
        {
          name: "merge({ tenant_id: db.raw('2') })",
          build: (db) =>
            db('pages')
              .insert({ id: 1, tenant_id: 1, title: 'x' })
              .onConflict('id')
              .merge({ tenant_id: db.raw('2') }),
        },
        {
          name: "merge({ tenant_id: db.raw('tenant_id + 1') }), an expression naming no table",
          build: (db) =>
            db('pages')
              .insert({ id: 1, tenant_id: 1, title: 'x' })
              .onConflict('id')
              .merge({ tenant_id: db.raw('tenant_id + 1') }),
        },
        {
          name: 'merge({ TENANT_ID: 2 }), the tenant column in another case',
          // PostgreSQL quotes "TENANT_ID" as another (missing) column: the shape exists only where names fold
          dialects: SQLITE_MYSQL,
          build: (db) =>
            db('pages')
              .insert({ id: 1, tenant_id: 1, title: 'x' })
              .onConflict('id')
              .merge({ TENANT_ID: 2 } as never),
        },
        {
          name: 'comments merge({ page_id: <tenant 2 page> }), a re-parent through the FK path',
          build: (db) => db('comments').insert({ id: 1, page_id: 1, body: 'x' }).onConflict('id').merge({ page_id: 3 }),
        },
        {
          name: 'replies merge({ comment_id: <tenant 2 comment> }), a two-hop path',
          build: (db) =>
            db('replies').insert({ id: 1, comment_id: 1, body: 'x' }).onConflict('id').merge({ comment_id: 3 }),
        },
        {
          name: "merge(['tenant_id']) with insert values carrying tenant 2",
          build: (db) => db('pages').insert({ id: 1, tenant_id: 2, title: 'x' }).onConflict('id').merge(['tenant_id']),
        },
        {
          name: 'merge() with insert values carrying tenant 2',
          build: (db) => db('pages').insert({ id: 1, tenant_id: 2, title: 'x' }).onConflict('id').merge(),
        },
        {
          name: "comments merge(['page_id']) with an insert value naming tenant 2's page",
          build: (db) => db('comments').insert({ id: 1, page_id: 3, body: 'x' }).onConflict('id').merge(['page_id']),
        },
        {
          name: 'upsert() (REPLACE INTO) carrying tenant 2',
          // Knex has .upsert() only on the MySQL client
          dialects: MYSQL,
          build: (db) => (db('pages') as unknown as Upsert).upsert({ id: 61, tenant_id: 2, title: 'x' }),
        },
        {
          name: "upsert() (REPLACE INTO) of a comment on tenant 2's page",
          dialects: MYSQL,
          build: (db) => (db('comments') as unknown as Upsert).upsert({ id: 70, page_id: 3, body: 'x' }),
        },
      ],
      WRITE_CODES,
    );

    // the conflicting row is tenant 2's: refused, or a guarded DO UPDATE that leaves it alone
    const conflicts: Array<{ name: string; scoped: (db: Knex) => unknown; hand: (b: Knex) => unknown }> = [
      {
        name: 'merge() on tenant 2 page id',
        scoped: (db) => db('pages').insert({ id: 3, title: 'stolen' }).onConflict('id').merge(),
        hand: (b) =>
          b('pages')
            .insert({ id: 3, tenant_id: 1, title: 'stolen' })
            .onConflict('id')
            .merge()
            .where('pages.tenant_id', 1),
      },
      {
        name: "merge(['title']) on tenant 2 page id, tenant given",
        scoped: (db) => db('pages').insert({ id: 3, tenant_id: 1, title: 'stolen' }).onConflict('id').merge(['title']),
        hand: (b) =>
          b('pages')
            .insert({ id: 3, tenant_id: 1, title: 'stolen' })
            .onConflict('id')
            .merge(['title'])
            .where('pages.tenant_id', 1),
      },
      {
        name: 'merge({ title }) on tenant 3 page id',
        scoped: (db) => db('pages').insert({ id: 4, title: 'stolen' }).onConflict('id').merge({ title: 'stolen' }),
        hand: (b) =>
          b('pages')
            .insert({ id: 4, tenant_id: 1, title: 'stolen' })
            .onConflict('id')
            .merge({ title: 'stolen' })
            .where('pages.tenant_id', 1),
      },
      {
        name: 'a batch: one new row, one conflicting with tenant 2',
        scoped: (db) =>
          db('pages')
            .insert([
              { id: 50, title: 'new' },
              { id: 3, title: 'stolen' },
            ])
            .onConflict('id')
            .merge(),
        hand: (b) =>
          b('pages')
            .insert([
              { id: 50, tenant_id: 1, title: 'new' },
              { id: 3, tenant_id: 1, title: 'stolen' },
            ])
            .onConflict('id')
            .merge()
            .where('pages.tenant_id', 1),
      },
      {
        name: "merge().where(a) .orWhere(tenant 2's id): the user's DO UPDATE WHERE must stay ANDed",
        scoped: (db) =>
          db('pages')
            .insert({ id: 3, title: 'stolen' })
            .onConflict('id')
            .merge()
            .where('pages.id', 0)
            .orWhere('pages.id', 3),
        hand: (b) =>
          b('pages')
            .insert({ id: 3, tenant_id: 1, title: 'stolen' })
            .onConflict('id')
            .merge()
            .where('pages.tenant_id', 1)
            .where((q) => q.where('pages.id', 0).orWhere('pages.id', 3)),
      },
      {
        name: "merge().whereRaw('1 = 1 or 1 = 1') on tenant 2's id",
        scoped: (db) =>
          db('pages').insert({ id: 3, title: 'stolen' }).onConflict('id').merge().whereRaw('1 = 1 or 1 = 1'),
        hand: (b) =>
          b('pages')
            .insert({ id: 3, tenant_id: 1, title: 'stolen' })
            .onConflict('id')
            .merge()
            .where('pages.tenant_id', 1)
            .whereRaw('(1 = 1 or 1 = 1)'),
      },
      {
        name: "comments merge() on tenant 2's comment id (path table)",
        scoped: (db) => db('comments').insert({ id: 3, page_id: 1, body: 'stolen' }).onConflict('id').merge(),
        hand: (b) =>
          b('comments')
            .insert({ id: 3, page_id: 1, body: 'stolen' })
            .onConflict('id')
            .merge()
            .whereIn('comments.page_id', b('pages').select('id').where('tenant_id', 1)),
      },
    ];
    for (const c of conflicts) {
      it(`does not update another tenant's conflicting row: ${c.name}`, async () => {
        if (dialect === 'mysql') {
          // no guarded ON DUPLICATE KEY UPDATE exists by hand: refused, or another tenant's rows untouched
          await h.refusedOrForeignUntouched(() => c.scoped(h.db));
        } else {
          await h.sameAsHand(c.scoped, c.hand, { write: true, refusalOk: WRITE_CODES });
        }
      });
    }

    it("upsert() (REPLACE INTO) never deletes/replaces tenant 2's row with the same id", async function () {
      if (dialect !== 'mysql') this.skip(); // Knex has .upsert() only on the MySQL client
      await addChildlessForeignRows();
      await h.refusedOrForeignUntouched(() =>
        (h.db('pages') as unknown as Upsert).upsert({ id: 60, tenant_id: 1, title: 'stolen' }),
      );
      await h.refusedOrForeignUntouched(() => (h.db('pages') as unknown as Upsert).upsert({ id: 60, title: 'stolen' }));
      // tenant 3's comment 4 has no replies: REPLACE would delete it without a foreign-key error
      await h.refusedOrForeignUntouched(() =>
        (h.db('comments') as unknown as Upsert).upsert({ id: 4, page_id: 1, body: 'stolen' }),
      );
    });

    it('upsert() (REPLACE INTO) of a new row is stamped with tenant 1, or refused', async function () {
      if (dialect !== 'mysql') this.skip(); // Knex has .upsert() only on the MySQL client
      await h.refusedOrForeignUntouched(
        () => (h.db('pages') as unknown as Upsert).upsert({ id: 61, title: 'fresh' }),
        async () => {
          const row = await h.base('pages').where('id', 61).first();
          assert.equal(Number(row?.tenant_id), 1, 'a row written by REPLACE INTO was not stamped with tenant 1');
        },
      );
    });
  });

  // Class 2 (#21): two keys of one row object naming the same column in different case. SQLite
  // and MySQL fold column names (the last assignment wins), so a check that reads only the
  // exact-case key lets the other through. PostgreSQL quotes each key as a distinct column.
  describe('2 column names differing only in case', () => {
    refusals(
      h,
      [
        {
          name: 'insert({ title, tenant_id: 1, TENANT_ID: 2 })',
          // MySQL rejects a column named twice in INSERT; PostgreSQL has no TENANT_ID column
          dialects: SQLITE,
          build: (db) => db('pages').insert({ title: 'x', tenant_id: 1, TENANT_ID: 2 } as never),
        },
        {
          name: 'insert({ title, TENANT_ID: 2 }) (no exact-case key: stamping must not be the answer)',
          dialects: SQLITE_MYSQL,
          build: (db) => db('pages').insert({ title: 'x', TENANT_ID: 2 } as never),
        },
        {
          name: 'insert({ title, Tenant_Id: 2 })',
          dialects: SQLITE_MYSQL,
          build: (db) => db('pages').insert({ title: 'x', Tenant_Id: 2 } as never),
        },
        {
          name: 'a batch whose second row carries TENANT_ID: 2',
          dialects: SQLITE_MYSQL,
          build: (db) =>
            db('pages').insert([
              { title: 'a', tenant_id: 1 },
              { title: 'b', TENANT_ID: 2 },
            ] as never),
        },
        {
          name: 'update({ Tenant_Id: 2 })',
          dialects: SQLITE_MYSQL,
          build: (db) => db('pages').update({ Tenant_Id: 2 } as never),
        },
        {
          name: 'update({ tenant_id: 1, TENANT_ID: 2 })',
          dialects: SQLITE_MYSQL,
          build: (db) => db('pages').update({ tenant_id: 1, TENANT_ID: 2 } as never),
        },
        {
          name: "update({ 'pages.tenant_id': 2 }), a qualified column",
          // only MySQL accepts a qualified column in SET / an INSERT column list
          dialects: MYSQL,
          build: (db) => db('pages').update({ 'pages.tenant_id': 2 } as never),
        },
        {
          name: "insert({ title, 'pages.tenant_id': 2 }), a qualified column",
          dialects: MYSQL,
          build: (db) => db('pages').insert({ title: 'x', 'pages.tenant_id': 2 } as never),
        },
        {
          name: "increment('TENANT_ID', 1)",
          dialects: SQLITE_MYSQL,
          build: (db) => db('pages').increment('TENANT_ID', 1),
        },
        {
          name: 'comments insert({ page_id: 1, PAGE_ID: 3, body })',
          dialects: SQLITE,
          build: (db) => db('comments').insert({ page_id: 1, PAGE_ID: 3, body: 'x' } as never),
        },
        {
          name: 'comments insert({ PAGE_ID: 3, body })',
          dialects: SQLITE_MYSQL,
          build: (db) => db('comments').insert({ PAGE_ID: 3, body: 'x' } as never),
        },
        {
          name: 'comments update({ page_id: 1, PAGE_ID: 3 })',
          dialects: SQLITE_MYSQL,
          build: (db) => db('comments').update({ page_id: 1, PAGE_ID: 3 } as never),
        },
        {
          name: 'comments update({ Page_Id: 3 })',
          dialects: SQLITE_MYSQL,
          build: (db) => db('comments').update({ Page_Id: 3 } as never),
        },
        {
          name: 'replies insert({ COMMENT_ID: 3, body })',
          dialects: SQLITE_MYSQL,
          build: (db) => db('replies').insert({ COMMENT_ID: 3, body: 'x' } as never),
        },
      ],
      WRITE_CODES,
    );
  });

  // Class 3 (#21): insert bodies and written values the library cannot read as a literal: raw
  // bodies, function bodies, raw / ref / sub-query values and counters on the tenant column or
  // a path key. Each can move or create a row outside the scope.
  describe('3 raw insert bodies and non-literal values for scope columns', () => {
    refusals(
      h,
      [
        {
          name: 'insert(db.raw("(tenant_id, title) values (2, \'evil\')"))',
          build: (db) => db('pages').insert(db.raw("(tenant_id, title) values (2, 'evil')")),
        },
        {
          name: 'insert(db.raw("(tenant_id, title) select 2, \'evil\'"))',
          build: (db) => db('pages').insert(db.raw("(tenant_id, title) select 2, 'evil'")),
        },
        {
          name: 'insert(function () { this.select(...) }), a function body (INSERT … SELECT)',
          build: (db) =>
            db('pages').insert(function (this: Knex.QueryBuilder) {
              this.select(db.raw("52 as id, 2 as tenant_id, 'evil' as title, 0 as views"));
            } as never),
        },
        {
          name: "insert({ title, tenant_id: db.raw('2') })",
          build: (db) => db('pages').insert({ title: 'x', tenant_id: db.raw('2') }),
        },
        {
          name: "insert({ title, tenant_id: db.raw('?', [2]) })",
          build: (db) => db('pages').insert({ title: 'x', tenant_id: db.raw('?', [2]) }),
        },
        {
          name: "insert({ title, tenant_id: db('tags').max('id') }), a sub-query on an unscoped table (= 2)",
          build: (db) => db('pages').insert({ title: 'x', tenant_id: db('tags').max('id') as never }),
        },
        {
          name: "comments insert({ page_id: db.raw('3'), body })",
          build: (db) => db('comments').insert({ page_id: db.raw('3'), body: 'x' }),
        },
        {
          name: "comments insert({ page_id: db('tags').sum('id'), body }) (= 3)",
          build: (db) => db('comments').insert({ page_id: db('tags').sum('id') as never, body: 'x' }),
        },
        {
          name: "update({ tenant_id: db.raw('1+1') })",
          build: (db) => db('pages').update({ tenant_id: db.raw('1+1') }),
        },
        {
          name: "update({ tenant_id: db('tags').max('id') })",
          build: (db) => db('pages').update({ tenant_id: db('tags').max('id') as never }),
        },
        {
          name: "update({ tenant_id: db.ref('id') }) on page 2 (moves it to tenant 2)",
          build: (db) =>
            db('pages')
              .where('id', 2)
              .update({ tenant_id: db.ref('id') as never }),
        },
        {
          name: "comments update({ page_id: db.raw('id + 2') }) on comment 1 (re-parents it to page 3)",
          build: (db) =>
            db('comments')
              .where('id', 1)
              .update({ page_id: db.raw('id + 2') }),
        },
        {
          name: "increment('tenant_id', 1)",
          build: (db) => db('pages').increment('tenant_id', 1),
        },
        {
          name: 'increment({ tenant_id: 1 })',
          build: (db) => db('pages').increment({ tenant_id: 1 }),
        },
        {
          name: "decrement('tenant_id', -1)",
          build: (db) => db('pages').decrement('tenant_id', -1),
        },
        {
          name: "update({ title }).increment('tenant_id', 1)",
          build: (db) => db('pages').update({ title: 'x' }).increment('tenant_id', 1),
        },
        {
          name: "replies increment('comment_id', 2) (reply 1 → comment 3)",
          build: (db) => db('replies').increment('comment_id', 2),
        },
      ],
      WRITE_CODES,
    );
  });

  // Class 4 (#21): a raw fragment in any slot of a builder is raw SQL: naming a scoped table it
  // is refused; the same slot with a harmless body runs and returns tenant 1's rows only.
  describe('4 raw fragments in builder slots', () => {
    interface Slot {
      name: string;
      /** Where the slot exists at all. */
      dialects?: readonly Dialect[];
      /** Where the hostile body is valid SQL (MariaDB takes only constants in LIMIT/OFFSET). */
      evilDialects?: readonly Dialect[];
      q: (k: Knex, r: Knex.Raw, own: Own) => unknown;
      evil: string | ((d: Dialect) => string);
      harmless: string | ((d: Dialect) => string);
      write?: boolean;
    }
    const text = (s: string | ((d: Dialect) => string)) => (typeof s === 'string' ? s : s(dialect));
    const COUNT = '(select count(*) from pages) as n';
    const MAX = '(select max(id) from pages)';
    const slots: Slot[] = [
      {
        name: 'insert … returning(raw)',
        dialects: PG_SQLITE, // Knex's MySQL client has no RETURNING
        q: (k, r) =>
          k('pages')
            .insert({ id: 50, tenant_id: 1, title: 'new' })
            .returning(r as never),
        evil: COUNT,
        harmless: '1 as n',
        write: true,
      },
      {
        name: 'update … returning(raw)',
        dialects: PG_SQLITE,
        q: (k, r, own) =>
          own(k('pages'))
            .update({ title: 'upd' })
            .returning(r as never),
        evil: COUNT,
        harmless: '1 as n',
        write: true,
      },
      {
        name: 'delete … returning(raw)',
        dialects: PG_SQLITE,
        q: (k, r, own) =>
          own(k('comments').where('comments.id', 2), 'comments')
            .del()
            .returning(r as never),
        evil: '(select body from comments where id = 3) as b',
        harmless: '1 as n',
        write: true,
      },
      {
        name: 'jsonExtract(raw, path)',
        q: (k, r, own) =>
          own(k('pages'))
            .select('id')
            .jsonExtract(r as never, '$.a', 'a'),
        evil: (d) =>
          d === 'pg'
            ? "(select jsonb_build_object('a', title) from pages where tenant_id = 2 limit 1)"
            : "(select json_object('a', title) from pages where tenant_id = 2 limit 1)",
        harmless: (d) => (d === 'pg' ? `'{"a": 1}'::jsonb` : "json_object('a', 1)"),
      },
      {
        name: 'offset(raw)',
        evilDialects: PG_SQLITE,
        q: (k, r, own) =>
          own(k('pages'))
            .select('id')
            .orderBy('id')
            .offset(r as never),
        evil: '(select count(*) from pages where tenant_id = 2)',
        harmless: '1',
      },
      {
        name: 'rowNumber(alias, raw window)',
        q: (k, r, own) => own(k('pages')).select('id').rowNumber('rn', r),
        evil: `order by ${MAX}`,
        harmless: 'order by id',
      },
      {
        name: 'rank(alias, raw window)',
        q: (k, r, own) => own(k('pages')).select('id').rank('rk', r),
        evil: 'partition by (select count(*) from comments) order by id',
        harmless: 'partition by tenant_id order by id',
      },
      {
        name: 'groupByRaw',
        q: (k, r, own) =>
          own(k('pages'))
            .select('tenant_id')
            .count('* as n')
            .groupByRaw(r as never),
        evil: 'tenant_id, (select count(*) from pages)',
        harmless: 'tenant_id',
      },
      {
        name: 'groupBy(raw)',
        q: (k, r, own) =>
          own(k('pages'))
            .select('tenant_id')
            .count('* as n')
            .groupBy(r as never),
        evil: 'tenant_id, (select count(*) from pages)',
        harmless: 'tenant_id',
      },
      {
        name: 'havingRaw',
        q: (k, r, own) =>
          own(k('pages'))
            .select('tenant_id')
            .count('* as n')
            .groupBy('tenant_id')
            .havingRaw(r as never),
        evil: 'count(*) < (select count(*) from pages)',
        harmless: 'count(*) > 0',
      },
      {
        name: 'orderByRaw',
        q: (k, r, own) =>
          own(k('pages'))
            .select('id')
            .orderByRaw(r as never),
        evil: `${MAX}, id`,
        harmless: 'id',
      },
      {
        name: 'orderBy(raw)',
        q: (k, r, own) =>
          own(k('pages'))
            .select('id')
            .orderBy(r as never),
        evil: MAX,
        harmless: 'id',
      },
      {
        name: 'select(raw)',
        q: (k, r, own) => own(k('pages')).select('id', r),
        evil: COUNT,
        harmless: '1 as n',
      },
      {
        name: 'select(raw) with no FROM',
        q: (k, r) => k.select(r),
        evil: COUNT,
        harmless: '1 as n',
      },
      {
        name: 'first(column, raw)',
        q: (k, r, own) => own(k('pages')).orderBy('id').first('id', r),
        evil: COUNT,
        harmless: '1 as n',
      },
      {
        name: 'columns({ n: raw })',
        q: (k, r, own) => own(k('pages')).columns('id', { n: r } as never),
        evil: '(select count(*) from pages)',
        harmless: '1',
      },
      {
        name: "select(db.raw('? as n', [raw])), a raw inside a raw's bindings",
        q: (k, r, own) => own(k('pages')).select('id', k.raw('? as n', [r])),
        evil: '(select count(*) from pages)',
        harmless: '1',
      },
      {
        name: 'count({ n: raw })',
        q: (k, r, own) => own(k('pages')).count({ n: r } as never),
        evil: MAX,
        harmless: 'id',
      },
      {
        name: "where('id', raw)",
        q: (k, r, own) => own(k('pages')).select('id').where('id', r),
        evil: '(select max(id) from pages where tenant_id = 2)',
        harmless: '1',
      },
      {
        name: 'where({ id: raw })',
        q: (k, r, own) => own(k('pages')).select('id').where({ id: r }),
        evil: '(select max(id) from pages where tenant_id = 2)',
        harmless: '1',
      },
      {
        name: 'where(raw)',
        q: (k, r, own) => own(k('pages')).select('id').where(r),
        evil: 'id in (select id from pages)',
        harmless: 'id > 0',
      },
      {
        name: 'where(callback with a raw value)',
        q: (k, r, own) =>
          own(k('pages'))
            .select('id')
            .where((qb) => {
              qb.where('id', r);
            }),
        evil: '(select max(id) from pages where tenant_id = 2)',
        harmless: '1',
      },
      {
        name: "whereIn('id', raw)",
        q: (k, r, own) =>
          own(k('pages'))
            .select('id')
            .whereIn('id', r as never),
        evil: 'select id from pages',
        harmless: 'select 1',
      },
      {
        name: "whereIn('id', [raw])",
        q: (k, r, own) =>
          own(k('pages'))
            .select('id')
            .whereIn('id', [r] as never),
        evil: MAX,
        harmless: '1',
      },
      {
        name: "whereBetween('id', [raw, 10])",
        q: (k, r, own) =>
          own(k('pages'))
            .select('id')
            .whereBetween('id', [r, 10] as never),
        evil: '(select min(id) from pages where tenant_id = 2)',
        harmless: '0',
      },
      {
        name: 'whereExists(raw)',
        q: (k, r, own) =>
          own(k('pages'))
            .select('id')
            .whereExists(r as never),
        evil: 'select 1 from pages where tenant_id = 2',
        harmless: 'select 1',
      },
      {
        name: "whereLike('title', raw)",
        // Knex's MySQL whereLike adds COLLATE utf8_bin, which MariaDB's utf8mb4 tables reject
        dialects: PG_SQLITE,
        evilDialects: ALL,
        q: (k, r, own) =>
          own(k('pages'))
            .select('id')
            .whereLike('title', r as never),
        evil: '(select title from pages where tenant_id = 2)',
        harmless: "'p%'",
      },
      {
        name: 'join(raw, …)',
        q: (k, r, own) =>
          own(k('pages'))
            .select('pages.id')
            .join(r as never, 'x.id', 'pages.id'),
        evil: '(select id from pages where tenant_id = 2) as x',
        harmless: '(select 1 as id) as x',
      },
      {
        name: 'leftJoin(raw, …)',
        q: (k, r, own) =>
          own(k('pages'))
            .select('pages.id', 'x.id as xid')
            .leftJoin(r as never, 'x.id', 'pages.id'),
        evil: '(select id from pages) as x',
        harmless: '(select 1 as id) as x',
      },
      {
        name: 'crossJoin(raw)',
        q: (k, r, own) =>
          own(k('pages'))
            .select('pages.id', 'x.n')
            .crossJoin(r as never),
        evil: '(select count(*) as n from pages) as x',
        harmless: '(select 1 as n) as x',
      },
      {
        name: 'joinRaw',
        q: (k, r, own) =>
          own(k('pages'))
            .select('pages.id')
            .joinRaw((r as unknown as { sql: string }).sql),
        evil: 'join (select id from pages) as x on x.id = pages.id',
        harmless: 'join (select 1 as id) as x on x.id = pages.id',
      },
      {
        name: 'join(table, on(raw))',
        q: (k, r, own) =>
          own(k('pages'))
            .select('pages.id', 'tags.name')
            .join('tags', (j) => {
              j.on(r as never);
            }),
        evil: 'tags.id in (select id from pages)',
        harmless: 'tags.id = pages.id',
      },
      {
        name: 'fromRaw',
        q: (k, r) => k.select('x.id').fromRaw(r as never),
        evil: '(select id from pages) as x',
        harmless: '(select 1 as id) as x',
      },
      {
        name: 'from(raw)',
        q: (k, r) => k.select('x.id').from(r as never),
        evil: '(select id from pages) as x',
        harmless: '(select 1 as id) as x',
      },
      {
        name: "with('x', raw)",
        q: (k, r) => k.with('x', r).select('x.id').from('x'),
        evil: 'select id from pages',
        harmless: 'select 1 as id',
      },
      {
        name: 'union(raw)',
        q: (k, r, own) =>
          own(k('pages'))
            .select('id')
            .union(r as never),
        evil: 'select id from pages',
        harmless: 'select 99',
      },
      {
        name: 'unionAll([raw])',
        q: (k, r, own) =>
          own(k('pages'))
            .select('id')
            .unionAll([r] as never),
        evil: 'select id from pages',
        harmless: 'select 99',
      },
      {
        name: 'distinctOn(raw)',
        dialects: PG, // DISTINCT ON is PostgreSQL's
        q: (k, r, own) =>
          own(k('pages'))
            .distinctOn(r as never)
            .select('id'),
        evil: '(select count(*) from pages)',
        harmless: 'id',
      },
      {
        name: 'update({ title: raw }) reading another tenant of the same table',
        q: (k, r, own) => own(k('pages')).update({ title: r }),
        evil: '(select title from pages where tenant_id = 2 limit 1)',
        harmless: 'upper(title)',
        write: true,
      },
      {
        name: 'update({ title: raw }) reading another scoped table',
        q: (k, r, own) => own(k('pages')).update({ title: r }),
        evil: '(select body from comments where id = 3)',
        harmless: 'upper(title)',
        write: true,
      },
      {
        name: 'insert({ title: raw })',
        q: (k, r) => k('pages').insert({ id: 50, tenant_id: 1, title: r }),
        evil: '(select body from comments where id = 3)',
        harmless: "'new'",
        write: true,
      },
      {
        name: 'onConflict().merge({ title: raw })',
        dialects: PG_SQLITE, // merge on MySQL is refused as a whole (see class 1)
        q: (k, r, own) =>
          own(k('pages').insert({ id: 1, tenant_id: 1, title: 'x' }).onConflict('id').merge({ title: r }) as never),
        evil: '(select title from pages where tenant_id = 2 limit 1)',
        harmless: "'merged'",
        write: true,
      },
      {
        name: 'onConflict().merge().whereRaw(raw)',
        dialects: PG_SQLITE,
        q: (k, r, own) =>
          own(
            k('pages')
              .insert({ id: 1, tenant_id: 1, title: 'x' })
              .onConflict('id')
              .merge()
              .whereRaw(r as never) as never,
          ),
        evil: 'exists (select 1 from pages where tenant_id = 2)',
        harmless: '1 = 1',
        write: true,
      },
    ];
    for (const slot of slots) {
      it(`refuses ${slot.name} naming a scoped table`, async function () {
        // the slot does not exist in this dialect, or the hostile body is not valid SQL there
        if (!(slot.evilDialects ?? slot.dialects ?? ALL).includes(dialect)) this.skip();
        await h.refused(() => slot.q(h.db, h.db.raw(text(slot.evil)), asIs), RAW_CODES);
      });
      it(`runs ${slot.name} with a harmless body, tenant 1's rows only`, async function () {
        if (!(slot.dialects ?? ALL).includes(dialect)) this.skip(); // the slot does not exist in this dialect
        await h.sameAsHand(
          (db) => slot.q(db, db.raw(text(slot.harmless)), asIs),
          (b) => slot.q(b, b.raw(text(slot.harmless)), byHand),
          { write: slot.write ?? false },
        );
      });
    }

    it('limit(raw): Knex drops a non-integer limit, so no raw reaches the database', async () => {
      // Knex parses limit() with parseInt and ignores a raw (a warning): refused, or run without it
      const run = await h.attempt(() =>
        h
          .db('pages')
          .select('id')
          .orderBy('id')
          .limit(h.db.raw('(select count(*) from pages)') as never),
      );
      if (!run.ok) {
        assert.ok(isScopeError(run.error), String(run.error));
        assert.deepEqual(run.sql, []);
        return;
      }
      assert.ok(
        run.sql.every((s) => !/count/i.test(s)),
        run.sql.join('\n'),
      );
      assert.deepEqual(norm(run.result), norm(await h.base('pages').select('id').where('tenant_id', 1)));
    });

    it('increment(column, raw): Knex coerces the amount with parseFloat, so no raw can ride on it', async () => {
      const sql = asTenant1(() =>
        h
          .db('pages')
          .increment('views', h.db.raw('(select count(*) from pages)') as never)
          .toString(),
      );
      assert.doesNotMatch(sql, /count/i, sql);
    });

    it('hintComment cannot close its comment (Knex refuses */), and a plain hint still runs', async () => {
      const before = await h.snapshot();
      const run = await h.attempt(() => h.db('tags').hintComment('x */ * from pages /*').select('id'));
      assert.equal(run.ok, false, 'a hint closing its comment ran');
      assert.deepEqual(run.sql, []);
      assert.deepEqual(await h.snapshot(), before);
      await h.sameAsHand(
        (db) => db('pages').hintComment('NO_INDEX(pages)').select('id'),
        (b) => b('pages').hintComment('NO_INDEX(pages)').select('id').where('tenant_id', 1),
      );
    });
  });

  // Class 5 (#21): a table name can reach raw SQL through a binding (?, ??, :name, :name:) of any
  // type (string, array, object, ref, raw, a raw nested in a raw), and be spelled qualified,
  // quoted or in another case.
  describe('5 table names through bindings and spellings', () => {
    const qualified = (d: Dialect, tdb2: TestDb) => (d === 'pg' ? 'public' : d === 'sqlite' ? 'main' : tdb2.database());
    refusals(
      h,
      [
        {
          name: "raw('select * from ?', [db.ref('pages')])",
          build: (db) => db.raw('select * from ?', [db.ref('pages')]),
        },
        {
          name: "raw('select * from ?', [db.raw('pages')])",
          build: (db) => db.raw('select * from ?', [db.raw('pages')]),
        },
        {
          name: "raw('select * from ??', [['pages']]), an array",
          build: (db) => db.raw('select * from ??', [['pages']]),
        },
        {
          name: "raw('select * from ??', [{ p: 'pages' }]), an object",
          build: (db) => db.raw('select * from ??', [{ p: 'pages' }] as never),
        },
        {
          name: "raw('select * from ??', [db.raw('pages')])",
          build: (db) => db.raw('select * from ??', [db.raw('pages')]),
        },
        {
          name: "raw('select * from ??', [db.ref('pages')])",
          build: (db) => db.raw('select * from ??', [db.ref('pages')]),
        },
        { name: "raw('select * from ??', ['pages as p'])", build: (db) => db.raw('select * from ??', ['pages as p']) },
        {
          name: "raw('select * from :t:', { t: 'pages' })",
          build: (db) => db.raw('select * from :t:', { t: 'pages' }),
        },
        {
          name: "raw('select * from :t:', { t: ['pages'] })",
          build: (db) => db.raw('select * from :t:', { t: ['pages'] }),
        },
        {
          name: "raw('select * from :t:', { t: { p: 'pages' } })",
          build: (db) => db.raw('select * from :t:', { t: { p: 'pages' } } as never),
        },
        {
          name: "raw('select * from :t', { t: db.raw('pages') })",
          build: (db) => db.raw('select * from :t', { t: db.raw('pages') }),
        },
        {
          name: "raw('select * from :t', { t: db.ref('pages') })",
          build: (db) => db.raw('select * from :t', { t: db.ref('pages') }),
        },
        {
          name: "raw('select * from ?', [db.raw('??', ['pages'])]), an identifier binding nested in a raw binding",
          build: (db) => db.raw('select * from ?', [db.raw('??', ['pages'])]),
        },
        {
          name: "raw('select * from ?', [db.raw(':t:', { t: 'pages' })])",
          build: (db) => db.raw('select * from ?', [db.raw(':t:', { t: 'pages' })]),
        },
        {
          name: "raw('select * from ??', ['<schema>.pages'])",
          build: (db, d, t) => db.raw('select * from ??', [`${qualified(d, t)}.pages`]),
        },
        { name: "fromRaw('??', ['pages'])", build: (db) => db.select('*').fromRaw('??', ['pages'] as never) },
        {
          name: "fromRaw('?', [db.ref('pages')])",
          build: (db) => db.select('*').fromRaw('?', [db.ref('pages')] as never),
        },
        {
          name: "fromRaw('?', [db.raw('pages')])",
          build: (db) => db.select('*').fromRaw('?', [db.raw('pages')] as never),
        },
        {
          name: "fromRaw(':t:', { t: 'pages' })",
          build: (db) => db.select('*').fromRaw(':t:', { t: 'pages' } as never),
        },
        { name: "from(db.raw('??', ['pages']))", build: (db) => db.select('*').from(db.raw('??', ['pages'])) },
        {
          name: "joinRaw('join ?? on 1 = 1', ['pages'])",
          build: (db) => db('tags').joinRaw('join ?? on 1 = 1', ['pages']),
        },
        {
          name: "joinRaw('join ? on 1 = 1', [db.ref('pages')])",
          build: (db) => db('tags').joinRaw('join ? on 1 = 1', [db.ref('pages')]),
        },
        {
          name: "joinRaw('join :t: on 1 = 1', { t: 'pages' })",
          build: (db) => db('tags').joinRaw('join :t: on 1 = 1', { t: 'pages' } as never),
        },
        {
          name: "whereRaw('exists (select 1 from ??)', ['comments'])",
          build: (db) => db('tags').whereRaw('exists (select 1 from ??)', ['comments']),
        },
        {
          name: "whereRaw('exists (select 1 from ?)', [db.ref('comments')])",
          build: (db) => db('tags').whereRaw('exists (select 1 from ?)', [db.ref('comments')]),
        },
        {
          name: "whereRaw('exists (select 1 from ?)', [db.raw('comments')])",
          build: (db) => db('tags').whereRaw('exists (select 1 from ?)', [db.raw('comments')]),
        },
        {
          name: "whereRaw('exists (select 1 from :t:)', { t: 'comments' })",
          build: (db) => db('tags').whereRaw('exists (select 1 from :t:)', { t: 'comments' } as never),
        },
        {
          name: "select(db.raw('(select count(*) from ??) as n', ['pages']))",
          build: (db) => db('tags').select(db.raw('(select count(*) from ??) as n', ['pages'])),
        },
        {
          name: "select(db.raw('(select count(*) from ?) as n', [db.ref('pages')]))",
          build: (db) => db('tags').select(db.raw('(select count(*) from ?) as n', [db.ref('pages')])),
        },
        {
          name: "select({ n: db.raw('(select count(*) from :t:)', { t: 'pages' }) })",
          build: (db) => db('tags').select({ n: db.raw('(select count(*) from :t:)', { t: 'pages' }) } as never),
        },
        { name: 'public.pages', dialects: PG, build: (db) => db.raw('select * from public.pages') },
        { name: '"public"."pages"', dialects: PG, build: (db) => db.raw('select * from "public"."pages"') },
        { name: 'main.pages', dialects: SQLITE, build: (db) => db.raw('select * from main.pages') },
        { name: '"main"."pages"', dialects: SQLITE, build: (db) => db.raw('select * from "main"."pages"') },
        {
          name: '<database>.pages',
          dialects: MYSQL,
          build: (db, _d, t) => db.raw(`select * from ${t.database()}.pages`),
        },
        {
          name: '`<database>`.`pages`',
          dialects: MYSQL,
          build: (db, _d, t) => db.raw(`select * from \`${t.database()}\`.\`pages\``),
        },
        // MySQL reads "…" as a string literal (ANSI_QUOTES off)
        { name: '"pages"', dialects: PG_SQLITE, build: (db) => db.raw('select * from "pages"') },
        { name: '`pages`', dialects: SQLITE_MYSQL, build: (db) => db.raw('select * from `pages`') },
        { name: '[pages]', dialects: SQLITE, build: (db) => db.raw('select * from [pages]') },
        // MariaDB here has lower_case_table_names = 0: PAGES is another (missing) table
        { name: 'PAGES', dialects: PG_SQLITE, build: (db) => db.raw('select * from PAGES') },
        { name: 'Pages', dialects: PG_SQLITE, build: (db) => db.raw('select * from Pages') },
        // PostgreSQL: "PAGES" quoted is another table; SQLite folds quoted names too
        { name: '"PAGES"', dialects: SQLITE, build: (db) => db.raw('select * from "PAGES"') },
        { name: '[PAGES]', dialects: SQLITE, build: (db) => db.raw('select * from [PAGES]') },
        {
          name: 'U&"\\0070ages", a Unicode-escaped identifier',
          dialects: PG,
          build: (db) => db.raw('select * from U&"\\0070ages"'),
        },
        {
          name: 'U&"!0070ages" UESCAPE \'!\'',
          dialects: PG,
          build: (db) => db.raw(`select * from U&"!0070ages" UESCAPE '!'`),
        },
        {
          name: 'update U&"\\0070ages" set …, a write through a Unicode-escaped identifier',
          dialects: PG,
          build: (db) => db.raw(`update U&"\\0070ages" set title = 'pwned'`),
        },
      ],
      RAW_CODES,
    );
  });

  // Class 6 (#21): raw SQL shapes a table-position scan misreads: parentheses, FROM lists after a
  // derived table / join / function call, dialect-only statements and quoting, comments the
  // scan and the database read differently, dynamic SQL, several statements.
  describe('6 SQL shapes that hide a table', () => {
    refusals(
      h,
      [
        // PostgreSQL does not allow a lone table in parentheses
        { name: 'select * from (pages)', dialects: SQLITE_MYSQL, build: (db) => db.raw('select * from (pages)') },
        {
          name: 'select … from (pages p cross join tags t)',
          build: (db) => db.raw('select p.* from (pages p cross join tags t)'),
        },
        {
          name: 'a join to (pages)',
          dialects: SQLITE_MYSQL,
          build: (db) => db.raw('select p.* from tags t join (pages p) on 1 = 1'),
        },
        {
          name: 'select … from (select 1) x, pages p',
          build: (db) => db.raw('select p.* from (select 1 as one) x, pages p'),
        },
        {
          name: 'select … from tags c join tags t on 1 = 1, pages p (a FROM list after a join)',
          build: (db) => db.raw('select p.* from tags c join tags t on 1 = 1, pages p'),
        },
        {
          name: 'select … from comments c join tenants t on 1=1, pages p',
          build: (db) => db.raw('select * from comments c join tenants t on 1=1, pages p'),
        },
        {
          name: 'a FROM list after a function call: generate_series(1, 1) g, pages p',
          dialects: PG,
          build: (db) => db.raw('select p.* from generate_series(1, 1) g, pages p'),
        },
        {
          name: "a FROM list after a function call: json_each('[1]') j, pages p",
          dialects: SQLITE,
          build: (db) => db.raw("select p.* from json_each('[1]') j, pages p"),
        },
        {
          name: 'a FROM list after json_table(…) j, pages p',
          dialects: MYSQL,
          build: (db) => db.raw(`select p.* from json_table('[1]', '$[*]' columns (a int path '$')) j, pages p`),
        },
        {
          name: 'a FROM list after tablesample system (100), pages p',
          dialects: PG,
          build: (db) => db.raw('select p.* from tags tablesample system (100), pages p'),
        },
        {
          name: 'a FROM list after a column alias list: tags t(a, b), pages p',
          dialects: PG,
          build: (db) => db.raw('select p.* from tags t(a, b), pages p'),
        },
        {
          name: 'a FROM list after an index hint: tags use index (), pages p',
          dialects: MYSQL,
          build: (db) => db.raw('select p.* from tags use index () , pages p'),
        },
        {
          name: 'tags straight_join pages',
          dialects: MYSQL,
          build: (db) => db.raw('select p.* from tags straight_join pages p'),
        },
        {
          name: "select * from 'pages' (a string read as a name)",
          dialects: SQLITE,
          build: (db) => db.raw("select * from 'pages'"),
        },
        ...['replace', 'ignore', 'abort', 'fail', 'rollback'].map(
          (verb): Attack => ({
            name: `update or ${verb} pages set …`,
            dialects: SQLITE,
            build: (db) => db.raw(`update or ${verb} pages set title = 'pwned'`),
          }),
        ),
        {
          name: 'insert or replace into pages … (replaces tenant 2 row 3)',
          dialects: SQLITE,
          build: (db) => db.raw("insert or replace into pages (id, tenant_id, title) values (3, 1, 'pwned')"),
        },
        {
          name: 'insert or ignore into pages …',
          dialects: SQLITE,
          build: (db) => db.raw("insert or ignore into pages (id, tenant_id, title) values (50, 2, 'pwned')"),
        },
        {
          name: 'replace into pages …',
          dialects: SQLITE_MYSQL,
          build: (db) => db.raw("replace into pages (id, tenant_id, title) values (50, 2, 'pwned')"),
        },
        { name: 'select * from/**/pages', build: (db) => db.raw('select * from/**/pages') },
        { name: 'select * from tags,/**/pages', build: (db) => db.raw('select * from tags,/**/pages') },
        {
          name: 'select * from tags join/* x */pages on 1 = 1',
          build: (db) => db.raw('select * from tags join/* x */pages on 1 = 1'),
        },
        {
          name: 'a MySQL executable comment /*! , pages */',
          dialects: MYSQL,
          build: (db) => db.raw('select t.name from tags t /*! , pages */'),
        },
        {
          name: 'a versioned executable comment /*!50000 , pages */',
          dialects: MYSQL,
          build: (db) => db.raw('select t.name from tags t /*!50000 , pages */'),
        },
        {
          name: 'a MariaDB executable comment /*M! , pages */',
          dialects: MYSQL,
          build: (db) => db.raw('select t.name from tags t /*M! , pages */'),
        },
        {
          name: 'MySQL --1 is not a comment: select title, 1--1 from pages',
          dialects: MYSQL,
          build: (db) => db.raw('select title, 1--1 from pages'),
        },
        {
          name: "a MySQL # comment hiding a quote: tags # '\\n, pages -- '",
          dialects: MYSQL,
          build: (db) => db.raw("select * from tags # '\n, pages -- '"),
        },
        {
          name: "a backslash-escaped quote: '\\'' … from pages … '",
          dialects: MYSQL,
          build: (db) => db.raw("select '\\'' as q, p.title from pages p where '1' = '1'"),
        },
        {
          name: 'a double-quoted string with a backslash: "\\"" … from pages -- "',
          dialects: MYSQL,
          build: (db) => db.raw('select "\\"" as q, p.title from pages p -- "'),
        },
        {
          name: "an E'\\'' string",
          dialects: PG,
          build: (db) => db.raw("select E'\\'' as q, p.title from pages p where '1' = '1'"),
        },
        {
          name: "a dollar-quoted string holding a quote: $$'$$",
          dialects: PG,
          build: (db) => db.raw("select $$'$$ as q, p.title from pages p where '1' = '1'"),
        },
        {
          name: "a tagged dollar quote: $a$'$a$",
          dialects: PG,
          build: (db) => db.raw("select $a$'$a$ as q, p.title from pages p where '1' = '1'"),
        },
        {
          name: "a nested comment: /* /* */ ' */ , pages -- '",
          dialects: PG,
          build: (db) => db.raw("select t.name from tags t /* /* */ ' */ , pages -- '"),
        },
        {
          name: 'a -- comment ended by \\r (PostgreSQL ends it there)',
          dialects: PG,
          build: (db) => db.raw('select t.name from tags t --\r, pages'),
        },
        {
          name: 'a sub-query in an array subscript: (array[…])[(select count(*) from pages)]',
          dialects: PG,
          build: (db) => db.raw('select (array[1,2,3,4,5,6,7,8])[(select count(*) from pages)] as n'),
        },
        { name: 'TABLE pages', dialects: PG, build: (db) => db.raw('table pages') },
        {
          name: 'exists (TABLE pages)',
          dialects: PG,
          build: (db) => db.raw('select * from tags where exists (table pages)'),
        },
        {
          name: "table_to_xml('pages', …), a table named in a string",
          dialects: PG,
          build: (db) => db.raw("select table_to_xml('pages', true, false, '') as x"),
        },
        {
          name: "table_to_xml('pages'::regclass, …)",
          dialects: PG,
          build: (db) => db.raw("select table_to_xml('pages'::regclass, true, false, '') as x"),
        },
        {
          name: "query_to_xml('select * from pages', …), dynamic SQL in a literal",
          dialects: PG,
          build: (db) => db.raw("select query_to_xml('select * from pages', true, false, '') as x"),
        },
        {
          name: "query_to_xml('select * from ' || 'pa' || 'ges', …), dynamic SQL no scan can read",
          dialects: PG,
          build: (db) => db.raw("select query_to_xml('select * from ' || 'pa' || 'ges', true, false, '') as x"),
        },
        {
          name: 'a DO block executing built SQL',
          dialects: PG,
          build: (db) => db.raw("do $$ begin execute 'upd' || 'ate pa' || 'ges set title = ''pwned'''; end $$"),
        },
        // dynamic SQL and whole-schema dumps: the table's name never appears as written
        {
          name: "query_to_xml(format('select * from %I', 'pag' || 'es'), …)",
          dialects: PG,
          build: (db) => db.raw("select query_to_xml(format('select * from %I', 'pag' || 'es'), true, false, '') as x"),
        },
        {
          name: "query_to_xml(E'select * from \\x70ages', …), an escaped name in an E string",
          dialects: PG,
          build: (db) => db.raw("select query_to_xml(E'select * from \\x70ages', true, false, '') as x"),
        },
        {
          name: 'table_to_xml(<oid looked up in pg_class>, …), a table named by no name',
          dialects: PG,
          build: (db) =>
            db.raw(
              "select table_to_xml((select c.oid from pg_class c where c.relname like 'pag_s')::regclass, true, false, '') as x",
            ),
        },
        {
          name: "schema_to_xml('public', …), every table of the schema",
          dialects: PG,
          build: (db) => db.raw("select schema_to_xml('public', true, false, '') as x"),
        },
        {
          name: 'database_to_xml(…), every table of the database',
          dialects: PG,
          build: (db) => db.raw("select database_to_xml(true, false, '') as x"),
        },
        {
          name: "EXECUTE IMMEDIATE concat('select * from pa', 'ges')",
          dialects: MYSQL,
          build: (db) => db.raw("execute immediate concat('select * from pa', 'ges')"),
        },
        {
          name: "EXECUTE IMMEDIATE concat('update pa', 'ges set …')",
          dialects: MYSQL,
          build: (db) => db.raw("execute immediate concat('update pa', 'ges set title = ''pwned''')"),
        },
        { name: 'select 1; delete from pages', build: (db) => db.raw('select 1; delete from pages') },
        {
          name: 'select 1; update "pages" set … (several statements, PostgreSQL runs both)',
          dialects: PG,
          build: (db) => db.raw(`select 1; update "pages" set title = 'pwned'`),
        },
      ],
      RAW_CODES,
    );
  });

  // Class 7 (#21): a name that the filter's own sub-query resolves: a CTE named like a scoped
  // table captures `select id from pages where tenant_id = ?` of a path filter.
  describe('7 CTEs and aliases named like scoped tables', () => {
    const tenant1Bodies = [{ body: 'c1-t1' }, { body: 'c2-t1' }];
    const reads: Array<{ name: string; dialects?: readonly Dialect[]; build: (db: Knex) => unknown }> = [
      {
        name: "raw 'with pages(id, tenant_id, title, views) as (…) select * from (?) x' around db('comments')",
        build: (db) =>
          db.raw("with pages(id, tenant_id, title, views) as (select 3, 1, 'x', 0) select body from (?) x", [
            db('comments').select('body'),
          ]),
      },
      {
        name: "raw 'with pages as (select 3 as id, 1 as tenant_id) …' around db('comments')",
        build: (db) =>
          db.raw('with pages as (select 3 as id, 1 as tenant_id) select body from (?) x', [
            db('comments').select('body'),
          ]),
      },
      {
        name: "raw 'with recursive pages …' around db('comments')",
        build: (db) =>
          db.raw('with recursive pages as (select 3 as id, 1 as tenant_id) select body from (?) x', [
            db('comments').select('body'),
          ]),
      },
      {
        name: "builder .with('pages', raw) then comments",
        build: (db) => db.with('pages', db.raw('select 3 as id, 1 as tenant_id')).select('body').from('comments'),
      },
      {
        name: "builder .with('pages', builder on an unscoped table) then comments",
        build: (db) =>
          db
            .with('pages', db('tags').select(db.raw('id + 2 as id'), db.raw('1 as tenant_id')))
            .select('body')
            .from('comments'),
      },
      {
        name: "builder .with('PAGES', raw) (SQLite folds CTE names)",
        build: (db) => db.with('PAGES', db.raw('select 3 as id, 1 as tenant_id')).select('body').from('comments'),
      },
      {
        name: "builder .withRecursive('pages', raw)",
        build: (db) =>
          db.withRecursive('pages', db.raw('select 3 as id, 1 as tenant_id')).select('body').from('comments'),
      },
      {
        name: "builder .withMaterialized('pages', raw)",
        dialects: PG_SQLITE, // Knex has MATERIALIZED CTEs only there
        build: (db) =>
          db.withMaterialized('pages', db.raw('select 3 as id, 1 as tenant_id')).select('body').from('comments'),
      },
      {
        name: "builder .withNotMaterialized('pages', raw)",
        dialects: PG_SQLITE,
        build: (db) =>
          db.withNotMaterialized('pages', db.raw('select 3 as id, 1 as tenant_id')).select('body').from('comments'),
      },
      {
        name: "a CTE 'pages' in a sub-query around comments",
        build: (db) =>
          db
            .select('body')
            .from(db.with('pages', db.raw('select 3 as id, 1 as tenant_id')).select('body').from('comments').as('x')),
      },
      {
        name: "a derived table aliased 'pages' joined to comments",
        build: (db) =>
          db
            .select('comments.body')
            .from(db('tags').select(db.raw('id + 2 as id'), db.raw('1 as tenant_id')).as('pages'))
            .join('comments', 'comments.page_id', 'pages.id'),
      },
      {
        name: "comments aliased 'pages'",
        build: (db) => db('comments as pages').select('pages.body'),
      },
      {
        name: "pages aliased 'comments' joined to comments aliased 'pages' (swapped aliases)",
        build: (db) =>
          db('pages as comments').join('comments as pages', 'pages.page_id', 'comments.id').select('pages.body'),
      },
    ];
    for (const r of reads) {
      it(`refuses or returns no other tenant's comment: ${r.name}`, async function () {
        if (!(r.dialects ?? ALL).includes(dialect)) this.skip(); // the shape does not exist in this dialect
        await h.refusedOrWithin(() => r.build(h.db), tenant1Bodies);
      });
    }
    refusals(
      h,
      [
        {
          name: 'raw alias: select * from comments as pages',
          build: (db) => db.raw('select * from comments as pages'),
        },
      ],
      RAW_CODES,
    );
    const writes: Array<{ name: string; dialects?: readonly Dialect[]; build: (db: Knex) => unknown }> = [
      {
        name: "update comments under .with('pages', raw)",
        // MariaDB has no WITH before UPDATE / DELETE
        dialects: PG_SQLITE,
        build: (db) =>
          db.with('pages', db.raw('select 3 as id, 1 as tenant_id')).from('comments').update({ body: 'pwned' }),
      },
      {
        name: "delete page_tags under .with('pages', raw)",
        dialects: PG_SQLITE,
        build: (db) => db.with('pages', db.raw('select 3 as id, 1 as tenant_id')).from('page_tags').del(),
      },
    ];
    for (const w of writes) {
      it(`refuses or changes no other tenant's row: ${w.name}`, async function () {
        if (!(w.dialects ?? ALL).includes(dialect)) this.skip(); // the shape does not exist in this dialect
        await h.refusedOrForeignUntouched(() => w.build(h.db));
      });
    }
  });

  // Class 8 (#21): a raw fragment that closes the parenthesis the filter relies on, comments out
  // what follows it, or ORs around it. Each must stay ANDed to the filter: tenant 1's rows only,
  // or a refusal; an unbalanced fragment the database rejects as a syntax error is safe too.
  describe('8 raw fragments breaking out of their parentheses', () => {
    const own = (b: Knex) => b('pages').select('id').where('tenant_id', 1);
    /** One escaping fragment in a read, an update and a delete: the filter must hold in each. */
    const inEveryVerb = (fragment: string) => [
      {
        name: `whereRaw('${fragment}')`,
        scoped: (db: Knex) => db('pages').select('id').whereRaw(fragment),
        hand: own,
        syntaxErrorOk: true,
      },
      {
        name: `update … whereRaw('${fragment}')`,
        scoped: (db: Knex) => db('pages').update({ title: 'pwned' }).whereRaw(fragment),
        hand: (b: Knex) => b('pages').update({ title: 'pwned' }).where('tenant_id', 1),
        write: true,
        syntaxErrorOk: true,
      },
      {
        name: `delete page_tags … whereRaw('${fragment}')`,
        scoped: (db: Knex) => db('page_tags').del().whereRaw(fragment),
        hand: (b: Knex) => b('page_tags').del().whereIn('page_id', [1, 2]),
        write: true,
        syntaxErrorOk: true,
      },
    ];
    const cases: Array<{
      name: string;
      dialects?: readonly Dialect[];
      scoped: (db: Knex) => unknown;
      hand: (b: Knex) => unknown;
      write?: boolean;
      syntaxErrorOk?: boolean;
    }> = [
      {
        name: "whereRaw('1 = 0) or (1 = 1')",
        scoped: (db) => db('pages').select('id').whereRaw('1 = 0) or (1 = 1'),
        hand: own,
        syntaxErrorOk: true,
      },
      ...inEveryVerb('1 = 1) or (1 = 1'),
      {
        name: "havingRaw('count(*) = 0) or (count(*) > 0')",
        scoped: (db) =>
          db('pages')
            .select('tenant_id')
            .count('* as n')
            .groupBy('tenant_id')
            .havingRaw('count(*) = 0) or (count(*) > 0'),
        hand: (b) => b('pages').select('tenant_id').count('* as n').where('tenant_id', 1).groupBy('tenant_id'),
        syntaxErrorOk: true,
      },
      {
        name: "leftJoin('pages', on(db.raw('tags.id = pages.id) or (1 = 1')))",
        scoped: (db) =>
          db('tags')
            .select('tags.name', 'pages.title')
            .leftJoin('pages', (j) => {
              j.on(db.raw('tags.id = pages.id) or (1 = 1'));
            }),
        hand: (b) =>
          b('tags')
            .select('tags.name', 'pages.title')
            .leftJoin('pages', (j) => {
              j.on(b.raw('(tags.id = pages.id) or (1 = 1)')).andOnVal('pages.tenant_id', '=', 1);
            }),
        syntaxErrorOk: true,
      },
      {
        name: "leftJoin('pages', on(…).orOnVal('pages.tenant_id', 2))",
        scoped: (db) =>
          db('tags')
            .select('tags.name', 'pages.title')
            .leftJoin('pages', (j) => {
              j.on('tags.id', '=', 'pages.id').orOnVal('pages.tenant_id', '=', 2);
            }),
        hand: (b) =>
          b('tags')
            .select('tags.name', 'pages.title')
            .leftJoin('pages', (j) => {
              j.on((jj) => {
                jj.on('tags.id', '=', 'pages.id').orOnVal('pages.tenant_id', '=', 2);
              }).andOnVal('pages.tenant_id', '=', 1);
            }),
      },
      {
        name: "leftJoin('pages', on(db.raw('1 = 1 --')))",
        scoped: (db) =>
          db('tags')
            .select('tags.name', 'pages.title')
            .leftJoin('pages', (j) => {
              j.on(db.raw('1 = 1 --'));
            }),
        hand: (b) =>
          b('tags')
            .select('tags.name', 'pages.title')
            .leftJoin('pages', (j) => {
              j.on(b.raw('1 = 1')).andOnVal('pages.tenant_id', '=', 1);
            }),
        syntaxErrorOk: true,
      },
      {
        name: "joinRaw('cross join tags --'), a comment swallowing the WHERE",
        scoped: (db) => db('pages').select('pages.id', 'tags.id as tag').joinRaw('cross join tags --'),
        hand: (b) =>
          b('pages')
            .select('pages.id', 'tags.id as tag')
            .crossJoin('tags' as never)
            .where('pages.tenant_id', 1),
        syntaxErrorOk: true,
      },
      {
        name: "where('id', 0).orWhereRaw('1 = 1')",
        scoped: (db) => db('pages').select('id').where('id', 0).orWhereRaw('1 = 1'),
        hand: own,
      },
      {
        name: "where('id', 0).orWhere('tenant_id', 2)",
        scoped: (db) => db('pages').select('id').where('id', 0).orWhere('tenant_id', 2),
        hand: (b) => b('pages').select('id').where('tenant_id', 1).where('id', 0),
      },
      {
        name: "orWhere(db.raw('1 = 1')) alone",
        scoped: (db) => db('pages').select('id').orWhere(db.raw('1 = 1')),
        hand: own,
      },
      ...inEveryVerb('1 = 1 --'),
      {
        name: "whereRaw('1 = 1) --')",
        scoped: (db) => db('pages').select('id').whereRaw('1 = 1) --'),
        hand: own,
        syntaxErrorOk: true,
      },
      {
        name: "whereRaw('1 = 1 #'), MySQL's comment",
        dialects: MYSQL,
        scoped: (db) => db('pages').select('id').whereRaw('1 = 1 #'),
        hand: own,
        syntaxErrorOk: true,
      },
      {
        name: "whereRaw('1 = 1 /*'), an unterminated comment (SQLite ends it at the end of input)",
        scoped: (db) => db('pages').select('id').whereRaw('1 = 1 /*'),
        hand: own,
        syntaxErrorOk: true,
      },
      {
        name: "whereRaw('true or 1 = 1')",
        scoped: (db) => db('pages').select('id').whereRaw('true or 1 = 1'),
        hand: own,
      },
      {
        name: "a sub-query: whereIn('id', db('comments').select('page_id').whereRaw('1 = 1 or 1 = 1'))",
        scoped: (db) =>
          db('tags').select('id').whereIn('id', db('comments').select('page_id').whereRaw('1 = 1 or 1 = 1')),
        hand: (b) =>
          b('tags')
            .select('id')
            .whereIn('id', b('comments').select('page_id').whereIn('page_id', [1, 2])),
      },
    ];
    for (const c of cases) {
      it(`keeps the filter ANDed: ${c.name}`, async function () {
        if (!(c.dialects ?? ALL).includes(dialect)) this.skip(); // the shape does not exist in this dialect
        await h.sameAsHand(c.scoped, c.hand, {
          write: c.write ?? false,
          refusalOk: RAW_CODES,
          syntaxErrorOk: c.syntaxErrorOk ?? false,
        });
      });
    }
  });

  // (9, #21) A path whose parent table has more dimensions than the child: the child's insert is
  // checked on the child's dimensions only. It must not be refused for a dimension the child
  // does not have.
  describe('9 no false refusal through a parent with more dimensions', () => {
    const scopes9 = defineScopes({
      tables: { docs: { tenant: 'tenant_id', user: 'user_id' }, notes: { tenant: 'doc_id -> docs.tenant_id' } },
    });
    let db9: Knex;
    beforeEach(async () => {
      const b = h.base;
      await b.schema.dropTableIfExists('notes');
      await b.schema.dropTableIfExists('docs');
      await b.schema.createTable('docs', (t) => {
        t.integer('id').primary();
        t.integer('tenant_id').notNullable();
        t.string('user_id', 20).notNullable();
      });
      await b.schema.createTable('notes', (t) => {
        t.increments('id');
        t.integer('doc_id').notNullable().references('docs.id');
        t.string('body', 50).notNullable();
      });
      await b('docs').insert([
        { id: 1, tenant_id: 1, user_id: 'u1' },
        { id: 2, tenant_id: 2, user_id: 'u2' },
      ]);
      await b('notes').insert([
        { doc_id: 1, body: 'n1-t1' },
        { doc_id: 2, body: 'n2-t2' },
      ]);
      db9 = scopes9.wrap(b);
    });
    const notes = async () =>
      (await h.base('notes').select('doc_id', 'body')).map((r) => `${r.doc_id}:${r.body}`).sort();

    it("inserts a note on tenant 1's doc with only the tenant scope open", async () => {
      await scope({ tenant: 1 }, () => db9('notes').insert({ doc_id: 1, body: 'mine' }));
      assert.deepEqual(await notes(), ['1:mine', '1:n1-t1', '2:n2-t2']);
    });

    it("refuses a note on tenant 2's doc with CROSS_SCOPE_WRITE, writing nothing", async () => {
      const before = await notes();
      const run = await scope({ tenant: 1 }, async () => {
        try {
          await db9('notes').insert({ doc_id: 2, body: 'evil' });
          return undefined;
        } catch (error) {
          return error;
        }
      });
      assert.ok(isScopeError(run, 'CROSS_SCOPE_WRITE'), `expected CROSS_SCOPE_WRITE, got ${String(run)}`);
      assert.deepEqual(await notes(), before);
    });

    it("re-parents a note within tenant 1's docs, refuses tenant 2's", async () => {
      await scope({ tenant: 1 }, () => db9('notes').insert({ doc_id: 1, body: 'move-me' }));
      const updated = await scope({ tenant: 1 }, () => db9('notes').where('body', 'move-me').update({ doc_id: 1 }));
      assert.equal(Number(updated), 1);
      const before = await notes();
      const run = await scope({ tenant: 1 }, async () => {
        try {
          await db9('notes').where('body', 'move-me').update({ doc_id: 2 });
          return undefined;
        } catch (error) {
          return error;
        }
      });
      assert.ok(isScopeError(run, 'CROSS_SCOPE_WRITE'), `expected CROSS_SCOPE_WRITE, got ${String(run)}`);
      assert.deepEqual(await notes(), before);
    });

    it("reads tenant 1's notes only, with only the tenant scope open", async () => {
      const rows = await scope({ tenant: 1 }, () => db9('notes').select('body'));
      assert.deepEqual(
        rows.map((r) => r.body),
        ['n1-t1'],
      );
    });
  });

  // 11: bypasses found while writing this file, beyond the list of #21.
  describe('11 bypasses beyond #21', () => {
    refusals(
      h,
      [
        // the wrapped instance's schema builder runs raw SQL as it is given
        { name: "db.schema.raw('select * from pages')", build: (db) => db.schema.raw('select * from pages') },
        {
          name: "db.schema.raw('select title from ??', ['pages'])",
          build: (db) => (db.schema as unknown as SchemaRaw).raw('select title from ??', ['pages']),
        },
        {
          name: 'db.schema.raw("update pages set title = \'pwned\'")',
          build: (db) => db.schema.raw("update pages set title = 'pwned'"),
        },
        {
          name: "trx.schema.raw('select * from pages') in a transaction of the wrapped instance",
          build: (db) => db.transaction((trx) => trx.schema.raw('select * from pages')),
        },
        // DDL that reaches every tenant's rows, through the scoped instance (it belongs on the base)
        { name: "db.schema.dropTable('page_tags')", build: (db) => db.schema.dropTable('page_tags') },
        { name: "db.schema.renameTable('PAGE_TAGS', 'x')", build: (db) => db.schema.renameTable('PAGE_TAGS', 'x') },
        {
          name: "db.schema.alterTable('pages', drop column)",
          build: (db) => db.schema.alterTable('pages', (t) => t.dropColumn('views')),
        },
        // MySQL multi-table UPDATE: SET may name a column of a joined table, not only of the target
        {
          name: "comments join pages update({ 'pages.tenant_id': 2 }), the joined table's tenant column",
          dialects: MYSQL,
          build: (db) =>
            db('comments')
              .join('pages', 'pages.id', 'comments.page_id')
              .update({ 'pages.tenant_id': 2 } as never),
        },
        {
          name: "replies join comments update({ 'comments.page_id': 3 }), the joined table's path key",
          dialects: MYSQL,
          build: (db) =>
            db('replies')
              .join('comments', 'comments.id', 'replies.comment_id')
              .update({ 'comments.page_id': 3 } as never),
        },
      ],
      WRITE_CODES.concat(RAW_CODES),
    );

    it('refuses reading column values of every tenant from pg_stats (PostgreSQL catalog statistics)', async function () {
      if (dialect !== 'pg') this.skip(); // pg_stats is PostgreSQL's
      await h.base.raw('analyze'); // what autovacuum does on its own
      await h.refused(
        () => h.db.raw("select attname, histogram_bounds::text as h from pg_stats where tablename like 'pag_s'"),
        RAW_CODES,
      );
    });

    it('refuses PREPARE … FROM concat(…) then EXECUTE in one transaction (MySQL dynamic SQL)', async function () {
      if (dialect !== 'mysql') this.skip(); // PREPARE FROM an expression is MySQL's
      const before = await h.snapshot();
      const run = await h.attempt(() =>
        h.db.transaction(async (trx) => {
          await trx.raw("prepare s from concat('select * from pa', 'ges')");
          return trx.raw('execute s');
        }),
      );
      assert.equal(run.ok, false, `NOT REFUSED: returned ${run.ok ? show(run.result) : ''}`);
      assert.ok(!run.ok && isScopeError(run.error), `expected a ScopeError, got ${run.ok ? '' : String(run.error)}`);
      assert.deepEqual(await h.snapshot(), before);
    });
  });

  // (10, #21) Knex's own warnings must not be multiplied by the wrapper's compiles.
  describe('10 knex warnings through the wrapped instance', () => {
    const withLoggingKnex = async (fn: (k: Knex, warnings: string[]) => Promise<void>) => {
      const warnings: string[] = [];
      const k = knexFactory({ ...tdb.config(), log: { warn: (m: string) => warnings.push(String(m)) } });
      try {
        await fn(k, warnings);
      } finally {
        await k.destroy();
      }
    };
    const returningWarnings = (warnings: string[]) => warnings.filter((m) => /returning/i.test(m));

    it('logs the MySQL .returning() warning once for a first toSQL(), like plain Knex', async function () {
      if (dialect !== 'mysql') this.skip(); // only Knex's MySQL client warns: the others support RETURNING
      await withLoggingKnex(async (k, warnings) => {
        k('pages').insert({ title: 'plain' }).returning('id').toSQL();
        assert.equal(returningWarnings(warnings).length, 1, 'plain Knex itself');
        warnings.length = 0;
        const w = makeScopes().wrap(k);
        const sql = asTenant1(() => w('pages').insert({ title: 'x' }).returning('id').toSQL());
        assert.match(String((sql as { sql: string }).sql), /insert into/i);
        assert.equal(returningWarnings(warnings).length, 1, warnings.join('\n'));
      });
    });

    it('logs it once for one execution, like plain Knex, and stamps the row', async function () {
      if (dialect !== 'mysql') this.skip(); // only Knex's MySQL client warns
      await withLoggingKnex(async (k, warnings) => {
        await k('tags').insert({ id: 9, name: 'plain' }).returning('id');
        const plain = returningWarnings(warnings).length;
        warnings.length = 0;
        const w = makeScopes().wrap(k);
        await asTenant1(() => w('pages').insert({ title: 'warned' }).returning('id'));
        assert.equal(returningWarnings(warnings).length, plain, warnings.join('\n'));
        assert.equal(Number((await h.base('pages').where('title', 'warned').first())?.tenant_id), 1);
      });
    });
  });
});

/** Knex's MySQL-only `.upsert()` (REPLACE INTO), absent from its typings. */
interface Upsert {
  upsert(values: Record<string, unknown>): Knex.QueryBuilder;
}

/** Knex's SchemaBuilder.raw takes bindings too, absent from its typings. */
interface SchemaRaw {
  raw(sql: string, bindings: readonly unknown[]): unknown;
}
