// Bypasses found by a review after the attack classes of #21 were closed (attack-classes.test.ts).
// Every test speaks for tenant 1 (scope({ tenant: 1 })) and aims at tenant 2's (or 3's) rows, with
// public Knex APIs only, and asserts an outcome: refused with a ScopeError, nothing written and no
// data SQL sent. A shape a dialect does not have is skipped inside its test, with the reason.
//
// A  write guards: a database-qualified column key (`db.pages.tenant_id`) escapes rowKeysOf() (MySQL)
// B  dynamic SQL the raw reader misses: PostgreSQL ts_stat()/ts_rewrite(), MariaDB EXECUTE
//    IMMEDIATE inside BEGIN NOT ATOMIC
// C  objects Knex compiles as SQL that the walk or the raw expander does not read: class instances,
//    arrays with named properties, objects duck-typed as builders, raws marked `isRawInstance: 1`
// D  checked once, compiled again: an on(function) callback and a getter that answer differently
//    the second time
// E  DDL through the scoped instance: createView() with a raw body reading a scoped table
import assert from 'node:assert/strict';
import { isScopeError, type ScopeError } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { type Dialect, forEachDialect } from '../../../../test/support/databases';
import { bigints, changes, isParentCheck, type Snapshot, show } from './attack-support';
import { asTenant1, recordQueries, useSeededDatabase } from './fixtures';

type Code = ScopeError['code'];
const WRITE_CODES: readonly Code[] = ['CROSS_SCOPE_WRITE', 'UNSUPPORTED_QUERY', 'RAW_SQL_REFUSED', 'AMBIGUOUS_INSERT'];
const RAW_CODES: readonly Code[] = ['RAW_SQL_REFUSED', 'UNSUPPORTED_QUERY'];
const TABLES_IN_SNAPSHOT = ['tenants', 'pages', 'comments', 'replies', 'bookmarks', 'tags', 'page_tags'];

const ALL: readonly Dialect[] = ['sqlite', 'pg', 'mysql'];
const PG: readonly Dialect[] = ['pg'];
const MYSQL: readonly Dialect[] = ['mysql'];

/** One attack, built from the wrapped instance inside scope({ tenant: 1 }), expected refused. */
interface Attack {
  readonly name: string;
  readonly build: (db: Knex, ctx: { dialect: Dialect; database: string }) => unknown;
  readonly dialects?: readonly Dialect[];
  readonly codes?: readonly Code[];
}

forEachDialect('attack review', (tdb) => {
  let base!: Knex;
  let db!: Knex;
  useSeededDatabase(tdb, 'each', (b, d) => {
    base = b;
    db = d;
  });

  async function snapshot(): Promise<Snapshot> {
    const out: Snapshot = {};
    for (const t of TABLES_IN_SNAPSHOT)
      out[t] = (await base(t).select('*')).map((r) => JSON.stringify(r, bigints)).sort();
    return out;
  }

  /** Refused with a ScopeError among `codes`, nothing written, no data SQL sent (parent-check SELECTs aside). */
  async function refused(attack: () => unknown, codes: readonly Code[]): Promise<void> {
    const before = await snapshot();
    const log = recordQueries(db);
    let outcome: { ok: true; result: unknown } | { ok: false; error: unknown };
    try {
      outcome = { ok: true, result: await asTenant1(async () => await attack()) };
    } catch (error) {
      outcome = { ok: false, error };
    } finally {
      log.stop();
    }
    const after = await snapshot();
    const sent = `\nSQL sent by the wrapped instance:\n  ${log.sql.join('\n  ') || '(none)'}`;
    if (outcome.ok)
      assert.fail(`NOT REFUSED: the attack ran and returned ${show(outcome.result)}${sent}${changes(before, after)}`);
    const { error } = outcome;
    if (!isScopeError(error))
      assert.fail(
        `expected a ScopeError (${codes.join(' | ')}), got: ${String(error)}${sent}${changes(before, after)}`,
      );
    assert.ok(
      codes.includes(error.code),
      `ScopeError ${error.code} (${error.message}) is not one of ${codes.join(' | ')}`,
    );
    assert.deepEqual(after, before, `a refused attack changed rows${changes(before, after)}`);
    const data = log.sql.filter((s) =>
      error.code === 'CROSS_SCOPE_WRITE'
        ? !isParentCheck(s)
        : !/^\s*(begin|start transaction|commit|rollback|savepoint|release)\b/i.test(s),
    );
    assert.deepEqual(data, [], `SQL reached the database before the refusal${sent}`);
  }

  function refusals(attacks: readonly Attack[], codes: readonly Code[]): void {
    for (const attack of attacks) {
      it(`refuses ${attack.name}`, async function () {
        // the shape does not exist in this dialect's SQL (see the attack's `dialects`)
        if (!(attack.dialects ?? ALL).includes(tdb.dialect)) this.skip();
        await refused(
          () => attack.build(db, { dialect: tdb.dialect, database: tdb.database() }),
          attack.codes ?? codes,
        );
      });
    }
  }

  // MySQL accepts `db.table.column` in SET. rowKeysOf() (rewrite.ts) compares the whole qualifier
  // (`ks_x.pages`) with the reference's alias/name (`pages`), finds no match, and drops the key, so
  // guardAssignments() never sees the tenant column or the path key.
  describe('A write guards: database-qualified column keys', () => {
    refusals(
      [
        {
          name: "update({ 'db.pages.tenant_id': 2 }) moving tenant 1's page to tenant 2",
          dialects: MYSQL, // PostgreSQL and SQLite reject a qualified SET target
          build: (d, { database }) =>
            d('pages')
              .where('id', 1)
              .update({ [`${database}.pages.tenant_id`]: 2 }),
        },
        {
          name: "increment('db.pages.tenant_id') moving tenant 1's page to tenant 2",
          dialects: MYSQL,
          build: (d, { database }) => d('pages').where('id', 1).increment(`${database}.pages.tenant_id`, 1),
        },
        {
          name: "update({ 'db.comments.page_id': 3 }) re-parenting tenant 1's comment onto tenant 2's page",
          dialects: MYSQL,
          build: (d, { database }) =>
            d('comments')
              .where('id', 1)
              .update({ [`${database}.comments.page_id`]: 3 }),
        },
        {
          name: "a joined update setting 'db.pages.tenant_id' of the joined page",
          dialects: MYSQL,
          build: (d, { database }) =>
            d('comments')
              .join('pages', 'pages.id', 'comments.page_id')
              .where('comments.id', 1)
              .update({ [`${database}.pages.tenant_id`]: 2 }),
        },
      ],
      WRITE_CODES,
    );
  });

  // The reader refuses query_to_xml & co. and EXECUTE/PREPARE at the start of a statement, and reads
  // strings that look like SQL; these run SQL assembled at run time (`'pa' || 'ges'`) all the same.
  describe('B dynamic SQL the raw reader misses', () => {
    refusals(
      [
        {
          // ts_stat(sqlquery text) runs its argument: every word of every tenant's titles
          name: "PostgreSQL ts_stat('select … from pa' || 'ges')",
          dialects: PG,
          build: (d) => d.raw("select word from ts_stat('select to_tsvector(''simple'', title) from pa' || 'ges')"),
        },
        {
          // the same through an E'' string: its \x escapes are not decoded by the reader either
          name: "PostgreSQL ts_stat(E'select … from \\x70ages')",
          dialects: PG,
          build: (d) => d.raw("select word from ts_stat(E'select to_tsvector(\\'simple\\', title) from \\x70ages')"),
        },
        {
          // ts_rewrite(query, select text) runs its second argument
          name: "PostgreSQL ts_rewrite(q, 'select … from pa' || 'ges')",
          dialects: PG,
          build: (d) =>
            d.raw(
              "select ts_rewrite('a'::tsquery, 'select to_tsquery(''simple'', ''a''), " +
                "to_tsquery(''simple'', replace(title, ''-'', '''')) from pa' || 'ges where id = 3')::text as q",
            ),
        },
        {
          // EXECUTE is refused only at the start of a statement; inside a compound statement it runs
          name: "MariaDB begin not atomic execute immediate concat('select … from pa', 'ges'); end",
          dialects: MYSQL,
          build: (d) => d.raw("begin not atomic execute immediate concat('select title from pa', 'ges'); end"),
        },
      ],
      RAW_CODES,
    );
  });

  // Knex's wrap() compiles any object (parseObject: for…in over its keys, class instances and arrays
  // included) and treats anything with a truthy isRawInstance as a raw (unwrapRaw). The walk
  // (walk.ts) only enters plain objects and array indices and skips whatever isBuilder() duck-types
  // as a builder; isRaw() wants isRawInstance === true; expand-raw.ts skips named bindings that
  // duck-type as a builder. Each raw below names `pages` and runs unread.
  describe('C objects Knex compiles that the walk or the expander does not read', () => {
    refusals(
      [
        {
          name: 'a class instance of column → raw in select()',
          build: (d) => {
            class Columns {
              top = d.raw('(select max(title) from pages)');
            }
            return d('tags')
              .select(new Columns() as never)
              .limit(1);
          },
        },
        {
          name: 'a class instance of alias → raw in from()',
          build: (d) => {
            class Source {
              p = d.raw('(select * from pages)');
            }
            return d.from(new Source() as never).select('p.title');
          },
        },
        {
          name: 'an array with a named property holding a raw, in select()',
          build: (d) =>
            d('tags')
              .select([Object.assign([], { top: d.raw('(select max(title) from pages)') })] as never)
              .limit(1),
        },
        {
          name: 'named bindings whose object also has _statements/_single (duck-typed as a builder)',
          build: (d) => d.raw('select title from :t:', { t: 'pages', _statements: [], _single: {} }),
        },
        {
          name: 'a raw-like object with isRawInstance: 1 in select()',
          build: (d) =>
            d('tags')
              .select({
                isRawInstance: 1,
                toSQL: () => ({ sql: '(select max(title) from pages) as top', bindings: [] }),
              } as never)
              .limit(1),
        },
      ],
      RAW_CODES,
    );
  });

  // The walk reads a part, Knex reads it again when it compiles: anything that answers differently
  // the second time is sent unread.
  describe('D checked once, compiled again', () => {
    // walk.ts runs an on(function) callback once, on a scratch clause, and the compile uses what
    // it produced: a callback that answers differently the second time is never asked again
    it('compiles an on(function) callback from the one run that was read', async () => {
      let calls = 0;
      const log = recordQueries(db);
      const rows = await asTenant1(() =>
        db('tags')
          .join('page_tags', function () {
            this.on(function () {
              if (calls++ === 0) this.on('page_tags.tag_id', '=', 'tags.id');
              else this.on(db.raw('exists (select 1 from pages where pages.id = 3 and pages.title = ?)', ['p3-t2']));
            });
          })
          .select('tags.*'),
      ).finally(() => log.stop());
      assert.equal(calls, 1);
      assert.doesNotMatch(log.sql.join('\n'), /exists \(select 1 from pages/);
      const hand = await base('tags')
        .join('page_tags', 'page_tags.tag_id', 'tags.id')
        .whereIn('page_tags.page_id', [1, 2])
        .select('tags.*');
      assert.deepEqual(show(rows), show(hand));
    });

    refusals(
      [
        {
          name: 'a select() object whose getter returns a raw naming pages on its second read',
          build: (d) => {
            let reads = 0;
            return d('tags')
              .select({
                get top() {
                  return reads++ === 0 ? 'name' : d.raw('(select max(title) from pages)');
                },
              } as never)
              .limit(1);
          },
        },
      ],
      RAW_CODES,
    );
  });

  // checkSchemaSteps() (scoped-client.ts) refuses DDL on scoped tables and reads schema.raw(), but a
  // view's body is compiled by Knex's ViewCompiler with toString(): a raw body is never read.
  describe('E DDL through the scoped instance', () => {
    afterEach(async () => {
      await base.schema.dropViewIfExists('review_leak');
    });

    it("refuses createView() with a raw body reading pages (the view then serves every tenant's rows)", async () => {
      await refused(
        () =>
          db.schema.createView('review_leak', (view) =>
            view.as(db.raw('select id, tenant_id, title from pages') as never),
          ),
        RAW_CODES,
      );
      // had it run, tenant 1 reads every tenant's pages through an unscoped name
      const views = await base.raw(
        tdb.dialect === 'sqlite'
          ? "select name from sqlite_master where type = 'view' and name = 'review_leak'"
          : "select table_name from information_schema.views where table_name = 'review_leak'",
      );
      const rows = tdb.dialect === 'pg' ? views.rows : tdb.dialect === 'mysql' ? views[0] : views;
      assert.equal(rows.length, 0, 'the view reading pages was created');
    });
  });
});
