// Transactions, the async context, and the infrastructure around a wrapped instance
// (knex-internals.md §6 groups 11, 15, 17).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { defineScopes, SUPPORTED_KNEX_RANGE, scope } from '@knex-scopes/core';
import knexFactory, { type Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { asTenant1, col, expectScopeError, makeScopes, plain, TABLES, useSeededDatabase } from './fixtures';

forEachDialect('scoped Knex: transactions and async context', (tdb) => {
  let base: Knex;
  let db: Knex;
  const dialect = tdb.dialect;
  useSeededDatabase(tdb, 'once', (b, d) => {
    base = b;
    db = d;
  });
  const t1 = asTenant1;

  describe('transactions', () => {
    it('filters in callback-style transactions and refuses without a scope', async () => {
      const rows = await t1(() => db.transaction((trx) => trx('comments').select('body')));
      assert.deepEqual(col(rows, 'body'), ['c1-t1', 'c2-t1']);
      await expectScopeError(
        db.transaction((trx) => trx('pages')),
        'SCOPE_MISSING',
      );
    });

    it('filters in promise-style transactions, transactionProvider, nested transactions and savepoints', async () => {
      await t1(async () => {
        const trx = await db.transaction();
        try {
          assert.deepEqual(col(await trx('replies'), 'body'), ['r1-t1']);
          await trx.transaction(async (inner) => {
            assert.deepEqual(col(await inner('pages'), 'title'), ['p1-t1', 'p2-t1']);
            const sp = await (inner.savepoint as unknown as () => Promise<Knex.Transaction>)();
            assert.deepEqual(col(await sp('comments'), 'body'), ['c1-t1', 'c2-t1']);
            await sp.rollback();
          });
        } finally {
          await trx.rollback();
        }
        const provider = db.transactionProvider();
        const ptrx = await provider();
        assert.deepEqual(col(await ptrx('pages'), 'title'), ['p1-t1', 'p2-t1']);
        await ptrx.commit();
      });
    });

    it('applies the compiling client: transacting() in both directions', async () => {
      await t1(async () => {
        await db.transaction(async (trx) => {
          // a builder of the unscoped base instance run on a scoped transaction is filtered
          assert.deepEqual(col(await base('pages').transacting(trx), 'title'), ['p1-t1', 'p2-t1']);
        });
        await base.transaction(async (trx) => {
          // a scoped builder run on an unscoped transaction is compiled by the unscoped client:
          // the documented rule is that the transaction decides (open transactions on the wrapped instance)
          assert.equal((await db('pages').transacting(trx)).length, 4);
        });
      });
    });

    it('covers batchInsert (its own transaction) with stamping', async () => {
      await t1(() => db.batchInsert('pages', [{ title: 'b1' }, { title: 'b2' }], 1));
      const rows = await base('pages').whereIn('title', ['b1', 'b2']);
      assert.deepEqual(col(rows, 'tenant_id'), ['1', '1']);
      await base('pages').whereIn('title', ['b1', 'b2']).del();
    });

    it('works with the scope opened inside or outside the transaction', async () => {
      const outside = await t1(() => db.transaction((trx) => trx('pages').count('* as n')));
      const inside = await db.transaction((trx) => scope({ tenant: 2 }, () => trx('pages').count('* as n')));
      assert.equal(Number(outside[0]?.n), 2);
      assert.equal(Number(inside[0]?.n), 1);
    });
  });

  describe('async context', () => {
    it('keeps concurrent scopes apart on a pool of one connection', async () => {
      const single = makeScopes().wrap(knexFactory({ ...tdb.config(), pool: { min: 1, max: 1 } }));
      try {
        const flows = Array.from({ length: 24 }, (_, i) => {
          const tenant = (i % 3) + 1;
          return scope({ tenant }, async () => {
            await new Promise((r) => setTimeout(r, (i * 7) % 5));
            const rows = await single('pages').select('tenant_id');
            await new Promise((r) => setImmediate(r));
            const comments = await single('comments')
              .join('pages', 'pages.id', 'comments.page_id')
              .select('pages.tenant_id');
            return [...rows, ...comments].every((r) => Number(r.tenant_id) === tenant) ? 'ok' : `leak in flow ${i}`;
          });
        });
        assert.deepEqual(new Set(await Promise.all(flows)), new Set(['ok']));
      } finally {
        await single.destroy();
      }
    });

    it('refuses a builder built in one scope and run in another; keeps its scope when run outside', async () => {
      const built = scope({ tenant: 1 }, () => db('pages').select('title'));
      // scope() starts lazy thenables, so it returned a promise of rows here
      assert.deepEqual(col(await built, 'title'), ['p1-t1', 'p2-t1']);
      const builder = scope({ tenant: 1 }, () => {
        const q = db('pages').select('title');
        return { q };
      }).q;
      await expectScopeError(
        scope({ tenant: 2 }, async () => builder),
        'SCOPE_MISMATCH',
        /built in scope \{tenant=1\} and runs in scope \{tenant=2\}/,
      );
      assert.deepEqual(col(await builder, 'title'), ['p1-t1', 'p2-t1'], 'run outside any scope: keeps tenant 1');
      const unscopedBuilt = db('pages').select('title');
      assert.deepEqual(col(await scope({ tenant: 2 }, async () => unscopedBuilt), 'title'), ['p3-t2']);
    });

    it('runs a helper that returns an un-awaited builder in the helper scope', async () => {
      const helper = () => db('pages').select('title');
      assert.deepEqual(col(await scope({ tenant: 3 }, helper), 'title'), ['p4-t3']);
    });

    it('overrides the ambient scope per query with withScope() and withScopesDisabled()', async () => {
      assert.deepEqual(col(await db('pages').withScope({ tenant: 2 }), 'title'), ['p3-t2']);
      assert.deepEqual(col(await t1(() => db('pages').withScope({ tenant: [2, 3] })), 'title'), ['p3-t2', 'p4-t3']);
      assert.equal((await t1(() => db('comments').withScopesDisabled())).length, 4);
      assert.equal((await db('comments').withScopesDisabled()).length, 4);
      await expectScopeError(() => db('pages').withScope({ tenant: null as never }), 'INVALID_SCOPE_VALUE');
    });

    it('keeps the scope in timers and EventEmitter callbacks that start queries', async () => {
      const emitter = new EventEmitter();
      const fromTimer = await scope(
        { tenant: 2 },
        () => new Promise((resolve) => setTimeout(() => resolve(db('pages')), 2)),
      );
      assert.deepEqual(col(fromTimer as Array<Record<string, unknown>>, 'title'), ['p3-t2']);
      const fromEmitter = scope(
        { tenant: 3 },
        () => new Promise((resolve) => emitter.once('go', () => resolve(db('pages')))),
      );
      setImmediate(() => scope({ tenant: 3 }, () => emitter.emit('go')));
      assert.deepEqual(col((await fromEmitter) as Array<Record<string, unknown>>, 'title'), ['p4-t3']);
    });

    it('filters stream()', async () => {
      const rows = await t1(
        () =>
          new Promise<Array<Record<string, unknown>>>((resolve, reject) => {
            const out: Array<Record<string, unknown>> = [];
            const stream = db('comments').select('body').stream();
            stream.on('data', (row: Record<string, unknown>) => out.push(row));
            stream.on('end', () => resolve(out));
            stream.on('error', reject);
          }),
      );
      assert.deepEqual(col(rows, 'body'), ['c1-t1', 'c2-t1']);
      const refused = await new Promise<Error>((resolve) => {
        const stream = db('pages').stream();
        stream.on('error', resolve);
        stream.on('data', () => resolve(new Error('a row arrived without a scope')));
      });
      assert.match(refused.message, /A scope on dimension\(s\) tenant/);
    });
  });

  describe('infrastructure', () => {
    it('leaves the base instance unscoped for migrations and seeds', async () => {
      assert.equal((await base('pages')).length, 4);
      assert.equal(plain(base('pages').toString()), 'select * from pages');
    });

    it('leaves columnInfo, hasTable and the schema builder alone', async () => {
      const info = await t1(() => db('pages').columnInfo());
      assert.ok('tenant_id' in info);
      assert.equal(await db.schema.hasTable('pages'), true);
      assert.ok(await db('pages').columnInfo('title'));
    });

    it('shares the pool with the base instance', () => {
      const pool = (k: Knex) => (k.client as { pool?: unknown }).pool;
      assert.ok(pool(db));
      assert.equal(pool(db), pool(base));
    });

    it('closes the shared pool when the wrapped instance is destroyed', async () => {
      const own = knexFactory({ ...tdb.config() });
      const wrapped = makeScopes().wrap(own);
      assert.equal((await own('tags')).length, 2);
      const pool = (own.client as { pool?: { destroyed?: boolean } }).pool;
      assert.equal(pool?.destroyed, false);
      await wrapped.destroy();
      assert.equal(pool?.destroyed, true, "the base instance's pool is the same pool, now destroyed");
    });

    it('refuses to wrap twice, and anything that is not a Knex instance', () => {
      assert.throws(() => makeScopes().wrap(db), /already wrapped/);
      assert.throws(() => makeScopes().wrap({} as Knex), /takes a Knex instance/);
    });

    it('refuses a transaction with a ScopeError that says to open it on the wrapped instance', async () => {
      const trx = await base.transaction();
      try {
        assert.throws(
          () => makeScopes().wrap(trx),
          (e: Error & { code?: string }) =>
            e.code === 'INVALID_DEFINITION' &&
            /not a transaction/.test(e.message) &&
            /db\.transaction\(\)/.test(e.message),
        );
      } finally {
        await trx.rollback();
      }
    });

    it(`accepts the Knex versions the contract tests cover (${SUPPORTED_KNEX_RANGE})`, () => {
      assert.equal(dialect.length > 0, true);
    });
  });
});

describe('scoped Knex: definitions and lifecycle', () => {
  it('validates table declarations at defineScopes() time', () => {
    const bad = (tables: unknown, message: RegExp) =>
      assert.throws(
        () => defineScopes({ tables: tables as never }),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'INVALID_DEFINITION');
          assert.match(e.message, message);
          return true;
        },
      );
    bad({ comments: { tenant: 'page_id -> pages.tenant_id' } }, /unknown parent table "pages"/);
    bad({ pages: { tenant: 'tenant_id' }, comments: { tenant: 'page_id -> pages' } }, /malformed path segment "pages"/);
    bad({ pages: { tenant: 'tenant id' } }, /must start with a column name/);
    bad(
      { pages: { tenant: 'tenant_id' }, comments: { tenant: 'page_id -> pages.owner_id' } },
      /continues differently from the declaration of "pages"/,
    );
    bad({ a: { tenant: 'b_id -> b.a_id -> a.tenant_id' }, b: { tenant: 'x' } }, /visits table "a" twice \(a cycle\)/);
    bad(
      { pages: { user: 'user_id' }, comments: { tenant: 'page_id -> pages.tenant_id' } },
      /declares no "tenant" dimension/,
    );
    bad({ pages: {} }, /declares no dimension/);
    bad(null, /must be an object/);
    assert.throws(() => defineScopes({ tables: TABLES, mode: 'warn' as never }), /mode must be 'enforce' or 'report'/);
  });

  it('accepts keys other than id with table(key)', () => {
    const scopes = defineScopes({
      tables: { pages: { tenant: 'tenant_id' }, comments: { tenant: 'page_uuid -> pages(uuid).tenant_id' } },
    });
    const db = scopes.wrap(knexFactory({ client: 'pg' }));
    const sql = scope({ tenant: 1 }, () => db('comments').toString());
    assert.equal(
      plain(sql),
      'select * from comments where page_uuid in (select pages.uuid from pages where pages.tenant_id = 1)',
    );
  });

  it('compares table names after the identifier mapper (snake_case mappers cannot bypass)', () => {
    const { knexSnakeCaseMappers } = require('objection') as typeof import('objection');
    const scopes = defineScopes({ tables: { blogPages: { tenant: 'tenantId' } } });
    const db = scopes.wrap(knexFactory({ client: 'pg', ...knexSnakeCaseMappers() }));
    for (const name of ['blog_pages', 'blogPages']) {
      const sql = scope({ tenant: 7 }, () => db(name).toString());
      assert.match(plain(sql), /from blog_pages where tenant_id = 7$/, `${name}: ${sql}`);
    }
  });
});
