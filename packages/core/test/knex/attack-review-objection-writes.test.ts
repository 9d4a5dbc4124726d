// Attack review: Objection.js 3 writes that set an FK-path column must never point a row at a
// parent outside the active scope. Safe outcome: refusal with nothing written, or only tenant-1
// rows pointing at tenant-1 parents.
import assert from 'node:assert/strict';
import { scope } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { asTenant1, expectScopeError, useSeededDatabase } from './fixtures';
import { Comment, Page, Reply } from './objection-models';

const FOREIGN_PAGES = [3, 4];
const FOREIGN_COMMENTS = [3, 4];

forEachDialect('attack review: Objection writes', (tdb) => {
  let base: Knex;
  let P: typeof Page;
  let C: typeof Comment;
  let R: typeof Reply;
  useSeededDatabase(tdb, 'each', (b, d) => {
    base = b;
    P = Page.bindKnex(d);
    C = Comment.bindKnex(d);
    R = Reply.bindKnex(d);
  });
  const t1 = asTenant1;

  const norm = (rows: object[]) =>
    rows
      .map((r) =>
        JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)]))),
      )
      .sort();
  async function snapshot() {
    return {
      pages: norm(await base('pages').orderBy('id')),
      comments: norm(await base('comments').orderBy('id')),
      replies: norm(await base('replies').orderBy('id')),
    };
  }

  /** Must be refused with CROSS_SCOPE_WRITE and leave every table as it was. */
  async function expectRefusedNothingWritten(fn: () => unknown) {
    const before = await snapshot();
    await expectScopeError(() => t1(fn), 'CROSS_SCOPE_WRITE');
    assert.deepEqual(await snapshot(), before, 'something was written despite the refusal');
  }

  /**
   * Refusal (any error) or success are both acceptable as long as: no foreign row changed, no
   * row points at a foreign page/comment that did not before, and (on refusal) nothing was written.
   */
  async function expectSafe(fn: () => unknown, { strictOnRefusal = true } = {}) {
    const before = await snapshot();
    const beforeForeignComments = norm(await base('comments').whereIn('page_id', FOREIGN_PAGES));
    const beforeForeignReplies = norm(await base('replies').whereIn('comment_id', FOREIGN_COMMENTS));
    const beforeForeignPages = norm(await base('pages').whereNot('tenant_id', 1));
    let error: unknown;
    try {
      await t1(fn);
    } catch (e) {
      error = e;
    }
    assert.deepEqual(norm(await base('pages').whereNot('tenant_id', 1)), beforeForeignPages, 'foreign pages changed');
    assert.deepEqual(
      norm(await base('comments').whereIn('page_id', FOREIGN_PAGES)),
      beforeForeignComments,
      `comments under foreign pages changed (error: ${String(error)})`,
    );
    assert.deepEqual(
      norm(await base('replies').whereIn('comment_id', FOREIGN_COMMENTS)),
      beforeForeignReplies,
      `replies under foreign comments changed (error: ${String(error)})`,
    );
    // every comment/reply must point at an existing tenant-1 or pre-existing foreign parent
    const t1Pages = (await base('pages').where('tenant_id', 1)).map((p) => Number(p.id));
    for (const c of await base('comments').whereNotIn('id', FOREIGN_COMMENTS)) {
      if (c.page_id === null) continue;
      assert.ok(t1Pages.includes(Number(c.page_id)), `comment ${c.id} points at page ${c.page_id}`);
    }
    if (error !== undefined && strictOnRefusal) {
      assert.deepEqual(await snapshot(), before, `refused (${String(error)}) but something was written`);
    }
    return error;
  }

  describe('insertGraph', () => {
    it('a comment under a foreign page (page_id) is refused, nothing written', async () => {
      await expectRefusedNothingWritten(() => C.query().insertGraph({ body: 'evil', page_id: 3 } as never));
    });

    it('a comment under a foreign page (page_id as string) is refused', async () => {
      await expectRefusedNothingWritten(() => C.query().insertGraph({ body: 'evil', page_id: '3' } as never));
    });

    it('a comment related to a foreign page (relate: true, belongs-to) is refused', async () => {
      await expectRefusedNothingWritten(() =>
        C.query().insertGraph({ body: 'evil', page: { id: 4 } } as never, { relate: true }),
      );
    });

    it('a comment using #dbRef to a foreign page is refused', async () => {
      await expectRefusedNothingWritten(() => C.query().insertGraph({ body: 'evil', page: { '#dbRef': 3 } } as never));
    });

    it('an array of comments, one pointing at a foreign page, writes nothing foreign', async () => {
      const error = await expectSafe(
        () =>
          C.query().insertGraph([
            { body: 'ok', page_id: 1 },
            { body: 'evil', page_id: 3 },
          ] as never),
        { strictOnRefusal: false },
      );
      assert.ok(error, 'expected a refusal');
    });

    // Stricter than the per-statement guarantee: without a transaction, Objection may send one
    // INSERT per row (SQLite, MariaDB), so the refusal of row 2 cannot undo row 1.
    it('an array of comments, one pointing at a foreign page: refused, the foreign one never written', async () => {
      // Each statement is all or nothing. Objection sends one INSERT per row on SQLite and MariaDB
      // (one multi-row INSERT on PostgreSQL): outside a transaction the rows before the refused
      // one stay, as with any failing graph (docs/transactions-and-objection.md: wrap graphs in
      // Model.transaction(), below, and the whole graph rolls back).
      const error = await expectSafe(
        () =>
          C.query().insertGraph([
            { body: 'ok', page_id: 1 },
            { body: 'evil', page_id: 3 },
          ] as never),
        { strictOnRefusal: false },
      );
      assert.ok(error, 'expected a refusal');
    });

    it('a new page with nested comments, one related to a foreign comment (relate) does not steal it', async () => {
      await expectSafe(
        () =>
          P.query().insertGraph({ title: 'g', comments: [{ body: 'ok' }, { id: 3 }] } as never, {
            relate: true,
          }),
        { strictOnRefusal: false },
      );
    });

    it('a new page with nested comments carrying their own foreign page_id: overridden or refused', async () => {
      await expectSafe(
        () => P.query().insertGraph({ title: 'g', comments: [{ body: 'ok' }, { body: 'evil', page_id: 3 }] } as never),
        { strictOnRefusal: false },
      );
    });

    it('nested comment with its own belongs-to relate of a foreign page inside a page graph is refused', async () => {
      await expectSafe(
        () =>
          P.query().insertGraph(
            { title: 'g', comments: [{ body: 'ok', replies: [{ body: 'r', comment: { id: 3 } }] }] } as never,
            { relate: true },
          ),
        { strictOnRefusal: false },
      );
    });

    it('#id/#ref: comment referencing a new tenant-1 page is allowed and stamped', async () => {
      await t1(() =>
        C.query().insertGraph(
          [
            { body: 'refd', page: { '#id': 'np', title: 'ref-page' } },
            { body: 'refd2', page: { '#ref': 'np' } },
          ] as never,
          { allowRefs: true },
        ),
      );
      const page = await base('pages').where('title', 'ref-page').first();
      assert.equal(Number(page?.tenant_id), 1);
      const rows = await base('comments').whereIn('body', ['refd', 'refd2']);
      assert.equal(rows.length, 2);
      for (const r of rows) assert.equal(Number(r.page_id), Number(page?.id));
    });

    it('#ref in a property (page_id: "#ref{x.id}") to a foreign page is refused', async () => {
      await expectSafe(() =>
        C.query().insertGraph(
          [
            { '#id': 'c0', body: 'anchor', page_id: 3 },
            { body: 'evil', page_id: '#ref{c0.page_id}' },
          ] as never,
          { allowRefs: true },
        ),
      );
    });

    it('#ref to a page node that tries to carry tenant_id 2 is refused or stamped to tenant 1', async () => {
      await expectSafe(() =>
        C.query().insertGraph(
          [
            { body: 'x', page: { '#id': 'np', title: 'evil-page', tenant_id: 2 } },
            { body: 'y', page: { '#ref': 'np' } },
          ] as never,
          { allowRefs: true },
        ),
      );
      assert.equal((await base('pages').where('title', 'evil-page').whereNot('tenant_id', 1)).length, 0);
    });

    it('a reply under a foreign comment (two hops) is refused', async () => {
      await expectRefusedNothingWritten(() => R.query().insertGraph({ body: 'evil', comment_id: 3 } as never));
      await expectRefusedNothingWritten(() =>
        R.query().insertGraph({ body: 'evil', comment: { id: 4 } } as never, { relate: true }),
      );
    });
  });

  describe('upsertGraph', () => {
    it('re-pointing an existing comment to a foreign page (page_id) is refused', async () => {
      await expectSafe(() => C.query().upsertGraph({ id: 1, body: 'c1-t1', page_id: 3 } as never));
      assert.equal(Number((await base('comments').where('id', 1).first())?.page_id), 1);
    });

    it('re-pointing an existing comment via belongs-to relate is refused', async () => {
      await expectSafe(() => C.query().upsertGraph({ id: 1, page: { id: 3 } } as never, { relate: true }));
      assert.equal(Number((await base('comments').where('id', 1).first())?.page_id), 1);
    });

    it('relate: true on has-many does not take over a foreign comment', async () => {
      await expectSafe(() =>
        P.query().upsertGraph({ id: 1, comments: [{ id: 1 }, { id: 3 }] } as never, { relate: true, noDelete: true }),
      );
      assert.equal(Number((await base('comments').where('id', 3).first())?.page_id), 3);
    });

    it('inserting a new comment via upsertGraph with foreign page_id is refused', async () => {
      await expectSafe(() => C.query().upsertGraph({ body: 'evil', page_id: 4 } as never, { insertMissing: true }));
    });

    it('upsertGraph root in-scope, nested belongs-to relate of a foreign page on a reply->comment is refused', async () => {
      await expectSafe(() =>
        C.query().upsertGraph({ id: 1, replies: [{ id: 1, comment: { id: 3 } }] } as never, {
          relate: true,
          noDelete: true,
        }),
      );
      assert.equal(Number((await base('replies').where('id', 1).first())?.comment_id), 1);
    });
  });

  describe('$relatedQuery', () => {
    it("page1.$relatedQuery('comments').relate(foreign comment) does not steal it", async () => {
      await expectSafe(async () => {
        const page = (await P.query().findById(1)) as Page;
        await page.$relatedQuery('comments').relate(3);
      });
      assert.equal(Number((await base('comments').where('id', 3).first())?.page_id), 3);
    });

    it("foreignPage.$relatedQuery('comments').relate(own comment) is refused", async () => {
      const foreign = (await scope({ tenant: 2 }, () => P.query().findById(3))) as Page;
      await expectRefusedNothingWritten(() => foreign.$relatedQuery('comments').relate(1));
    });

    it("foreignPage.$relatedQuery('comments').insert(...) is refused", async () => {
      const foreign = (await scope({ tenant: 2 }, () => P.query().findById(3))) as Page;
      await expectRefusedNothingWritten(() => foreign.$relatedQuery('comments').insert({ body: 'evil' } as never));
    });

    it("Page.relatedQuery('comments').for(3).insert(...) is refused", async () => {
      await expectRefusedNothingWritten(() =>
        P.relatedQuery('comments')
          .for(3)
          .insert({ body: 'evil' } as never),
      );
    });

    it("Page.relatedQuery('comments').for(4).relate(1) is refused", async () => {
      await expectRefusedNothingWritten(() => P.relatedQuery('comments').for(4).relate(1));
    });

    it("own page.$relatedQuery('comments').insert with page_id override to foreign is refused or overridden", async () => {
      await expectSafe(
        async () => {
          const page = (await P.query().findById(1)) as Page;
          await page.$relatedQuery('comments').insert({ body: 'evil', page_id: 3 } as never);
        },
        { strictOnRefusal: true },
      );
    });

    it("foreign comment.$relatedQuery('replies').insert is refused", async () => {
      const foreign = (await scope({ tenant: 2 }, () => C.query().findById(3))) as Comment;
      await expectRefusedNothingWritten(() => foreign.$relatedQuery('replies').insert({ body: 'evil' } as never));
    });

    it("own comment.$relatedQuery('page').relate(foreign) is refused", async () => {
      await expectRefusedNothingWritten(async () => {
        const c = (await C.query().findById(2)) as Comment;
        await c.$relatedQuery('page').relate(4);
      });
    });
  });

  describe('patch / update of page_id', () => {
    it('$query().patch({ page_id: foreign }) is refused', async () => {
      await expectRefusedNothingWritten(async () => {
        const c = (await C.query().findById(1)) as Comment;
        await c.$query().patch({ page_id: 3 } as never);
      });
    });

    it('$query().update(...) with foreign page_id is refused', async () => {
      await expectRefusedNothingWritten(async () => {
        const c = (await C.query().findById(1)) as Comment;
        await c.$query().update({ id: 1, body: 'moved', page_id: 4 } as never);
      });
    });

    it('$set + $query().patch() is refused', async () => {
      await expectRefusedNothingWritten(async () => {
        const c = (await C.query().findById(1)) as Comment;
        c.$set({ page_id: 3 });
        await c.$query().patch();
      });
    });

    it('patchAndFetchById / updateAndFetchById with foreign page_id are refused', async () => {
      await expectRefusedNothingWritten(() => C.query().patchAndFetchById(1, { page_id: 3 } as never));
      await expectRefusedNothingWritten(() => C.query().updateAndFetchById(2, { body: 'moved', page_id: 4 } as never));
    });

    it('bulk patch of page_id to a foreign page is refused', async () => {
      await expectRefusedNothingWritten(() => C.query().patch({ page_id: 3 } as never));
    });

    it('patch page_id via raw/subquery to a foreign page is refused', async () => {
      await expectRefusedNothingWritten(() =>
        C.query()
          .patch({ page_id: C.raw('?', [3]) } as never)
          .where('id', 1),
      );
      await expectSafe(() =>
        C.query()
          .patch({ page_id: P.query().select('id').where('title', 'p3-t2') } as never)
          .where('id', 1),
      );
    });

    it('insert with page_id as raw/subquery to a foreign page is refused', async () => {
      await expectSafe(() => C.query().insert({ body: 'evil', page_id: C.raw('?', [3]) } as never));
      await expectSafe(() => C.query().insert({ body: 'evil2', page_id: C.raw('3') } as never));
    });

    it('reply re-pointed to a foreign comment via patch is refused', async () => {
      await expectRefusedNothingWritten(async () => {
        const r = (await R.query().findById(1)) as Reply;
        await r.$query().patch({ comment_id: 3 } as never);
      });
    });

    it('patching a tenant-1 comment to a valid tenant-1 page still works', async () => {
      await t1(async () => {
        const c = (await C.query().findById(1)) as Comment;
        await c.$query().patch({ page_id: 2 } as never);
      });
      assert.equal(Number((await base('comments').where('id', 1).first())?.page_id), 2);
    });
  });

  describe('inside Model.transaction()', () => {
    it('insertGraph of a comment under a foreign page is refused and rolled back', async () => {
      await expectRefusedNothingWritten(() =>
        P.transaction(async (trx) => {
          await C.query(trx).insert({ body: 'legit', page_id: 1 } as never);
          await C.query(trx).insertGraph({ body: 'evil', page_id: 3 } as never);
        }),
      );
    });

    it('page with nested comments, one pointing elsewhere via relate, rolls back', async () => {
      await expectSafe(() =>
        P.transaction(async (trx) =>
          C.query(trx).insertGraph(
            [
              { body: 'ok', page: { id: 1 } },
              { body: 'evil', page: { id: 3 } },
            ] as never,
            { relate: true },
          ),
        ),
      );
    });

    it('upsertGraph re-pointing to a foreign page is refused in a transaction', async () => {
      await expectSafe(() => P.transaction(async (trx) => C.query(trx).upsertGraph({ id: 2, page_id: 4 } as never)));
      assert.equal(Number((await base('comments').where('id', 2).first())?.page_id), 2);
    });

    it('$relatedQuery relate/insert on a foreign page are refused in a transaction', async () => {
      const foreign = (await scope({ tenant: 2 }, () => P.query().findById(3))) as Page;
      await expectRefusedNothingWritten(() =>
        P.transaction(async (trx) => foreign.$relatedQuery('comments', trx).relate(1)),
      );
      await expectRefusedNothingWritten(() =>
        P.transaction(async (trx) => foreign.$relatedQuery('comments', trx).insert({ body: 'evil' } as never)),
      );
    });

    it('$query(trx).patch / update of page_id to a foreign page are refused', async () => {
      await expectRefusedNothingWritten(() =>
        P.transaction(async (trx) => {
          const c = (await C.query(trx).findById(1)) as Comment;
          await c.$query(trx).patch({ page_id: 3 } as never);
        }),
      );
      await expectRefusedNothingWritten(() =>
        P.transaction(async (trx) => {
          const c = (await C.query(trx).findById(1)) as Comment;
          await c.$query(trx).update({ id: 1, body: 'x', page_id: 4 } as never);
        }),
      );
    });

    it('transaction started outside the scope, writes inside scope: still refused', async () => {
      const before = await snapshot();
      await expectScopeError(
        () =>
          P.transaction(async (trx) =>
            t1(() =>
              C.query(trx)
                .patch({ page_id: 3 } as never)
                .where('id', 1),
            ),
          ),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(await snapshot(), before);
    });
  });
});
