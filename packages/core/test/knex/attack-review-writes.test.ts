// Review of the in-statement FK-path parent checks (in-statement-checks.ts, guarded-insert.ts,
// parent-conditions.ts, affected-rows.ts, parent-checks.ts sendCheckedWrite). Every test speaks for
// tenant 1 and asserts the SAFE outcome: either refused (any error) with NOTHING written, or
// accepted with no tenant-1 row pointing at another tenant's parent and no other tenant's row
// touched. A failing test is a finding.
import assert from 'node:assert/strict';
import { scope } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { type Dialect, forEachDialect } from '../../../../test/support/databases';
import { asTenant1, useSeededDatabase } from './fixtures';

const TABLES = ['pages', 'comments', 'replies', 'bookmarks', 'page_tags'];
type Snap = Record<string, string[]>;
const big = (_k: string, v: unknown) => (typeof v === 'bigint' ? String(v) : v);

forEachDialect('attack review writes', (tdb) => {
  let base!: Knex;
  let db!: Knex;
  const dialect: Dialect = tdb.dialect;
  useSeededDatabase(tdb, 'each', (b, d) => {
    base = b;
    db = d;
  });

  async function snapshot(): Promise<Snap> {
    const out: Snap = {};
    for (const t of TABLES) out[t] = (await base(t).select('*')).map((r) => JSON.stringify(r, big)).sort();
    return out;
  }

  /** No row of tenant 1 points at a page of tenants 2/3 other than the seeded ones; seeded foreign rows intact. */
  async function invariant(before: Snap): Promise<void> {
    const comments = await base('comments').select('*').orderBy('id');
    for (const c of comments) {
      const id = Number(c.id);
      if (id === 3) assert.deepEqual([Number(c.page_id), c.body], [3, 'c3-t2'], 'tenant 2 comment 3 touched');
      else if (id === 4) assert.deepEqual([Number(c.page_id), c.body], [4, 'c4-t3'], 'tenant 3 comment 4 touched');
      else
        assert.ok(
          c.page_id === null || [1, 2].includes(Number(c.page_id)),
          `comment ${id} points at page ${String(c.page_id)} (cross-tenant write)`,
        );
    }
    const replies = await base('replies').select('*');
    for (const r of replies) {
      if (Number(r.id) === 2) assert.equal(Number(r.comment_id), 3);
      else
        assert.ok(
          [1, 2].includes(Number(r.comment_id)) || Number(r.comment_id) > 4,
          `reply ${r.id} -> ${r.comment_id}`,
        );
    }
    const after = await snapshot();
    assert.deepEqual(after.pages, before.pages, 'pages changed');
  }

  /**
   * Runs `attack` as tenant 1 (or `state`). Refused (any error) must leave every table unchanged;
   * accepted must keep the invariant. Returns the outcome for extra assertions.
   */
  async function attempt(
    attack: () => unknown,
    state: Record<string, unknown> = { tenant: 1 },
  ): Promise<{ ok: boolean; error?: unknown; result?: unknown; before: Snap; after: Snap }> {
    const before = await snapshot();
    let ok = true;
    let error: unknown;
    let result: unknown;
    try {
      result = await scope(state as never, async () => await attack());
    } catch (e) {
      ok = false;
      error = e;
    }
    const after = await snapshot();
    if (!ok)
      assert.deepEqual(after, before, `refused (${String((error as Error)?.message).slice(0, 200)}) but written`);
    else await invariant(before);
    return { ok, error, result, before, after };
  }

  // ---------------------------------------------------------------- key spellings
  const KEYS: Array<[string, unknown]> = [
    ['string 3', '3'],
    ['bigint 3', 3n],
    ['space 3', ' 3'],
    ['3 space', '3 '],
    ['03', '03'],
    ['3.0', '3.0'],
    ['+3', '+3'],
    ['3e0', '3e0'],
    ['0.3e1', '0.3e1'],
    ['3abc', '3abc'],
    ['1abc', '1abc'],
    ['2.5', '2.5'],
    ['2.5 number', 2.5],
    ['1.9999999999999999999', '1.9999999999999999999'],
    ['2.9999999999999999', '2.9999999999999999'],
    ['0x3', '0x3'],
    ['true', true],
    ['NaN', Number.NaN],
  ];
  for (const [name, key] of KEYS) {
    it(`insert one row with page_id ${name}`, async () => {
      await attempt(() => db('comments').insert({ page_id: key, body: 'k' }));
    });
    it(`update one row with page_id ${name}`, async () => {
      await attempt(() => db('comments').where('id', 1).update({ page_id: key }));
    });
    it(`batch insert with page_id ${name} and 1`, async () => {
      await attempt(() =>
        db('comments').insert([
          { page_id: 1, body: 'a' },
          { page_id: key, body: 'b' },
        ]),
      );
    });
  }

  // ---------------------------------------------------------------- affected-row count tricks
  it('batch insert ignore: a conflicting row with key "01" and a new row (refused but written?)', async function () {
    if (dialect === 'mysql') this.skip(); // MySQL batches keep the pre-check
    const out = await attempt(() =>
      db('comments')
        .insert([
          { id: 1, page_id: '01', body: 'dup' },
          { id: 50, page_id: 2, body: 'new' },
        ])
        .onConflict('id')
        .ignore(),
    );
    if (out.ok) assert.ok(out.after.comments?.some((r) => r.includes('"new"')));
  });

  it('batch insert ignore: key " 2" with a conflicting row', async function () {
    if (dialect === 'mysql') this.skip();
    await attempt(() =>
      db('comments')
        .insert([
          { id: 2, page_id: 1, body: 'dup' },
          { id: 51, page_id: ' 2', body: 'new' },
        ])
        .onConflict('id')
        .ignore(),
    );
  });

  it('single insert ignore conflicting with key "01" (nothing written, any answer)', async () => {
    await attempt(() => db('comments').insert({ id: 1, page_id: '01', body: 'dup' }).onConflict('id').ignore());
  });

  it('upsert merge: re-point tenant 2 comment 3 onto page 1', async function () {
    if (dialect === 'mysql') this.skip(); // merge refused on MySQL
    await attempt(() => db('comments').insert({ id: 3, page_id: 1, body: 'stolen' }).onConflict('id').merge());
  });

  it('upsert merge batch: foreign target row left alone, new row written', async function () {
    if (dialect === 'mysql') this.skip();
    await attempt(() =>
      db('comments')
        .insert([
          { id: 3, page_id: 1, body: 'stolen' },
          { id: 52, page_id: 2, body: 'new' },
        ])
        .onConflict('id')
        .merge(),
    );
  });

  it('upsert merge batch with key "02" and a foreign target row', async function () {
    if (dialect === 'mysql') this.skip();
    await attempt(() =>
      db('comments')
        .insert([
          { id: 3, page_id: 1, body: 'stolen' },
          { id: 53, page_id: '02', body: 'new' },
        ])
        .onConflict('id')
        .merge(),
    );
  });

  it('upsert merge with an explicit foreign page_id', async function () {
    if (dialect === 'mysql') this.skip();
    await attempt(() => db('comments').insert({ id: 1, page_id: 1, body: 'x' }).onConflict('id').merge({ page_id: 3 }));
  });

  it('upsert merge with a raw page_id expression', async function () {
    if (dialect === 'mysql') this.skip();
    await attempt(() =>
      db('comments')
        .insert({ id: 1, page_id: 1, body: 'x' })
        .onConflict('id')
        .merge({ page_id: db.raw('?? + 2', ['excluded.page_id']) }),
    );
  });

  it('upsert merge with a where on the merge', async function () {
    if (dialect === 'mysql') this.skip();
    await attempt(() =>
      db('comments').insert({ id: 3, page_id: 1, body: 'x' }).onConflict('id').merge().where('comments.id', 3),
    );
  });

  it('insert returning with a foreign parent', async () => {
    await attempt(() => db('comments').insert({ page_id: 3, body: 'x' }).returning('id'));
  });

  it('update matching several rows with a foreign parent', async () => {
    await attempt(() => db('comments').whereIn('id', [1, 2, 3, 4]).update({ page_id: 3 }));
  });

  it('update with unchanged value (MySQL affectedRows) then foreign', async () => {
    await attempt(() => db('comments').where('id', 1).update({ page_id: 1, body: 'c1-t1' }));
    await attempt(() => db('comments').where('id', 1).update({ page_id: 4 }));
  });

  // ---------------------------------------------------------------- placement of the condition
  const WHERES: Array<[string, (q: Knex.QueryBuilder) => Knex.QueryBuilder]> = [
    ['orWhere', (q) => q.where('id', 1).orWhere('id', 2)],
    ['orWhereRaw 1=1', (q) => q.where('id', 1).orWhereRaw('1 = 1')],
    ['whereRaw with or', (q) => q.whereRaw('id = 1 or id = 2')],
    ['whereRaw trailing line comment', (q) => q.whereRaw('id = 1 --')],
    ['whereRaw trailing hash comment', (q) => q.whereRaw('id = 1 #')],
    ['whereRaw open block comment', (q) => q.whereRaw('id = 1 /*')],
    ['grouped or', (q) => q.where((w) => w.where('id', 1).orWhere('id', 3))],
    ['orWhereNotNull', (q) => q.where('id', 1).orWhereNotNull('id')],
    ['whereNot', (q) => q.whereNot('id', 9)],
    ['orWhereExists', (q) => q.where('id', 1).orWhereExists(db('tags').select('id'))],
    ['limit', (q) => q.where('id', 1).limit(1)],
    ['orderBy limit', (q) => q.where('id', '>', 0).orderBy('id').limit(2)],
    ['no where', (q) => q],
    ['orWhere first', (q) => q.orWhere('id', 1)],
    ['whereIn empty or', (q) => q.whereIn('id', []).orWhere('id', 1)],
  ];
  for (const [name, shape] of WHERES) {
    // `#` is a comment only on MySQL; elsewhere the statement does not parse (and the harness's
    // router check fails the run for it)
    const only = (fn: () => Promise<void>) =>
      async function (this: Mocha.Context) {
        if (name.includes('hash') && dialect !== 'mysql') this.skip();
        await fn();
      };
    it(
      `update page_id to foreign with ${name}`,
      only(async () => {
        await attempt(() => shape(db('comments')).update({ page_id: 3 }));
      }),
    );
    it(
      `update page_id to own with ${name} (no foreign row reached)`,
      only(async () => {
        await attempt(() => shape(db('comments')).update({ page_id: 2 }));
      }),
    );
  }

  // ---------------------------------------------------------------- column spellings, tables, schemas
  it('insert with PAGE_ID (case variant)', async function () {
    if (dialect === 'pg') this.skip(); // quoted identifiers are case-sensitive there
    await attempt(() => db('comments').insert({ PAGE_ID: 3, body: 'x' }));
  });
  it('update with Page_Id (case variant)', async function () {
    if (dialect === 'pg') this.skip();
    await attempt(() => db('comments').where('id', 1).update({ Page_Id: 3 }));
  });
  it('update with qualified comments.page_id', async function () {
    if (dialect !== 'mysql') this.skip();
    await attempt(() => db('comments').where('id', 1).update({ 'comments.page_id': 3 }));
  });
  it('insert into aliased table', async () => {
    await attempt(() => db('comments as c').insert({ page_id: 3, body: 'x' }));
  });
  it('update aliased table', async () => {
    await attempt(() => db('comments as c').where('c.id', 1).update({ page_id: 3 }));
  });
  it('insert withSchema public', async function () {
    if (dialect !== 'pg') this.skip();
    await attempt(() =>
      db('comments')
        .withSchema('public')
        .insert([
          { page_id: 1, body: 'a' },
          { page_id: 3, body: 'b' },
        ]),
    );
  });
  it('insert with table name in other case', async function () {
    if (dialect === 'pg') this.skip();
    await attempt(() => db('COMMENTS').insert({ page_id: 3, body: 'x' }));
  });
  it('update with table name in other case', async function () {
    if (dialect === 'pg') this.skip();
    await attempt(() => db('Comments').where('id', 1).update({ page_id: 3 }));
  });

  // ---------------------------------------------------------------- values objects
  it('insert row with a getter that answers 1 then 3', async () => {
    let n = 0;
    const row = {
      body: 'g',
      get page_id() {
        return n++ === 0 ? 1 : 3;
      },
    };
    await attempt(() => db('comments').insert(row));
  });
  it('update with a getter that answers 1 then 3', async () => {
    let n = 0;
    const values = {
      get page_id() {
        return n++ === 0 ? 1 : 3;
      },
    };
    await attempt(() => db('comments').where('id', 2).update(values));
  });
  it('insert a Proxy row', async () => {
    let n = 0;
    const row = new Proxy({ body: 'p', page_id: 1 } as Record<string, unknown>, {
      get: (t, k) => (k === 'page_id' ? (n++ === 0 ? 1 : 3) : t[k as string]),
    });
    await attempt(() => db('comments').insert(row));
  });
  it('insert a batch whose array mutates (toJSON-free): second read differs', async () => {
    const rows = [
      { page_id: 1, body: 'a' },
      { page_id: 2, body: 'b' },
    ];
    const q = db('comments').insert(rows);
    await attempt(async () => {
      const sql = q.toSQL(); // compile once (collects keys 1, 2)
      void sql;
      rows[1]!.page_id = 3; // then change the row before the run compiles again
      return await q;
    });
  });
  it('increment page_id', async () => {
    await attempt(() => db('comments').where('id', 1).increment('page_id', 2));
  });
  it('update with increment of page_id', async () => {
    await attempt(() => db('comments').where('id', 1).update({ body: 'x' }).increment('page_id', 2));
  });
  it('update page_id to a subquery builder', async () => {
    await attempt(() =>
      db('comments')
        .where('id', 1)
        .update({ page_id: db('pages').select('id').where('id', 1) }),
    );
  });
  it('insert of a builder (INSERT … SELECT with constants)', async () => {
    await attempt(() => db('comments').insert(db('pages').select(db.raw('3'), db.raw("'x'")).where('id', 1)));
  });
  it('insert with undefined body (DEFAULT, pre-check) and foreign key', async () => {
    await attempt(() => db('comments').insert({ page_id: 3, body: 'x', id: undefined }));
  });
  it('insert a null key batch plus foreign', async () => {
    await attempt(() =>
      db('comments').insert([
        { page_id: null, body: 'a' },
        { page_id: 3, body: 'b' },
      ]),
    );
  });
  it('insert batch same key twice plus foreign', async () => {
    await attempt(() =>
      db('comments').insert([
        { page_id: 1, body: 'a' },
        { page_id: '1', body: 'b' },
        { page_id: 1n, body: 'c' },
        { page_id: 3, body: 'd' },
      ]),
    );
  });
  it('insert batch keys 1, "01", 2, 3 (distinct strings, one foreign)', async () => {
    await attempt(() =>
      db('comments').insert([
        { page_id: 1, body: 'a' },
        { page_id: '01', body: 'b' },
        { page_id: 2, body: 'c' },
        { page_id: 3, body: 'd' },
      ]),
    );
  });
  it('insert batch of 600 rows, last foreign', async () => {
    const rows = Array.from({ length: 600 }, (_, i) => ({ page_id: i === 599 ? 3 : 1 + (i % 2), body: `b${i}` }));
    await attempt(() => db('comments').insert(rows));
  });
  it('insert batch of 1200 distinct keys, one foreign', async () => {
    const rows = Array.from({ length: 1200 }, (_, i) => ({ page_id: i === 0 ? 3 : 1000 + i, body: `b${i}` }));
    await attempt(() => db('comments').insert(rows));
  });
  it('insert batch of 500 rows with 3 columns, one foreign (binding limit)', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => ({ id: 1000 + i, page_id: i === 250 ? 4 : 1, body: `b${i}` }));
    await attempt(() => db('comments').insert(rows));
  });

  // ---------------------------------------------------------------- two hops, multi-dimension, lists, ALL
  it('reply onto tenant 2 comment', async () => {
    await attempt(() => db('replies').insert({ comment_id: 3, body: 'x' }));
  });
  it('reply batch one foreign', async () => {
    await attempt(() =>
      db('replies').insert([
        { comment_id: 1, body: 'x' },
        { comment_id: 3, body: 'y' },
      ]),
    );
  });
  it('re-point reply to foreign comment', async () => {
    await attempt(() => db('replies').where('id', 1).update({ comment_id: 4 }));
  });
  it('bookmarks (tenant + user) onto foreign page in user scope', async () => {
    await attempt(() => db('bookmarks').insert({ page_id: 3, user_id: 'u1' }), { tenant: 1, user: 'u1' });
  });
  it('tenant list [1, 3]: page 3 (tenant 2) refused', async () => {
    await attempt(
      () =>
        db('comments').insert([
          { page_id: 4, body: 'ok' },
          { page_id: 3, body: 'no' },
        ]),
      {
        tenant: [1, 3],
      },
    );
  });

  // ---------------------------------------------------------------- transactions, savepoints, streams, CTEs
  it('refused write in a transaction, then commit', async () => {
    const before = await snapshot();
    await asTenant1(async () => {
      await db.transaction(async (trx) => {
        await trx('comments')
          .insert({ page_id: 3, body: 'x' })
          .catch(() => undefined);
        await trx.transaction(async (sp) => {
          await sp('comments')
            .where('id', 1)
            .update({ page_id: 4 })
            .catch(() => undefined);
        });
      });
    }).catch(() => undefined);
    assert.deepEqual(await snapshot(), before);
  });
  it('streamed insert returning with a foreign parent', async function () {
    if (dialect === 'mysql') this.skip();
    await attempt(
      () =>
        new Promise((resolve, reject) => {
          const s = db('comments').insert({ page_id: 3, body: 's' }).returning('id').stream();
          s.on('data', () => undefined);
          s.on('error', reject);
          s.on('end', resolve);
        }),
    );
  });
  it('CTE update on comments inside a top-level insert', async function () {
    if (dialect !== 'pg') this.skip();
    await attempt(() =>
      db('comments')
        .with('x', db('comments').where('id', 1).update({ page_id: 3 }).returning('id'))
        .insert({ page_id: 1, body: 'ok' }),
    );
  });
  it('CTE insert inside a top-level update', async function () {
    if (dialect !== 'pg') this.skip();
    await attempt(() =>
      db('comments')
        .with('x', db('comments').insert({ page_id: 3, body: 'evil' }).returning('id'))
        .where('id', 2)
        .update({ page_id: 1 }),
    );
  });
  it('CTE insert with a foreign parent in a select', async function () {
    if (dialect !== 'pg') this.skip();
    await attempt(() =>
      db
        .with('x', db('comments').insert({ page_id: 3, body: 'evil' }).returning('id'))
        .select('*')
        .from('x'),
    );
  });
  it('CTE with own parent next to a top-level insert with the same key column (merged checks)', async function () {
    if (dialect !== 'pg') this.skip();
    await attempt(() =>
      db('comments')
        .with('x', db('comments').where('id', 2).update({ page_id: 4 }).returning('id'))
        .insert([
          { page_id: 1, body: 'a' },
          { page_id: 2, body: 'b' },
        ]),
    );
  });
  it('joined update (MySQL) to a foreign page', async function () {
    if (dialect !== 'mysql') this.skip();
    await attempt(() =>
      db('comments')
        .join('pages', 'pages.id', 'comments.page_id')
        .where('comments.id', 1)
        .update({ 'comments.page_id': 3 }),
    );
  });
  it('updateFrom (PG) to a foreign page', async function () {
    if (dialect !== 'pg') this.skip();
    await attempt(() =>
      db('comments')
        .updateFrom('pages')
        .where('comments.id', 1)
        .whereRaw('?? = ??', ['pages.id', 'comments.page_id'])
        .update({ page_id: 3 }),
    );
  });
  it('report mode still writes and reports, unrelated to enforce (sanity: enforce default)', async () => {
    await attempt(() => db('comments').insert({ page_id: 4, body: 'x' }));
  });
});
