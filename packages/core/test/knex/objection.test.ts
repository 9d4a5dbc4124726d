// Objection.js 3 bound to the scoped instance: every query it builds goes through the same
// compile seam (knex-internals.md §6 group 16).
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { CHANNELS, type ScopeEvent, scope } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { asTenant1, col, expectScopeError, plain, useSeededDatabase } from './fixtures';
import { Comment, Page } from './objection-models';

forEachDialect('scoped Knex: Objection.js', (tdb) => {
  let base: Knex;
  let db: Knex;
  let P: typeof Page;
  let C: typeof Comment;
  useSeededDatabase(tdb, 'once', (b, d) => {
    base = b;
    db = d;
    P = Page.bindKnex(db);
    C = Comment.bindKnex(db);
  });
  const t1 = asTenant1;

  it('filters query(), findById() and refuses without a scope', async () => {
    assert.deepEqual(col(await t1(() => P.query()), 'title'), ['p1-t1', 'p2-t1']);
    assert.equal(await t1(() => P.query().findById(3)), undefined);
    assert.equal((await t1(() => P.query().findById(1)))?.title, 'p1-t1');
    await expectScopeError(P.query(), 'SCOPE_MISSING');
    assert.match(
      plain(t1(() => P.query().where('id', 1).toKnexQuery().toString())),
      /from pages where tenant_id = 1 and id = 1$/,
    );
  });

  it('patches and deletes only rows in scope', async () => {
    assert.equal(await t1(() => P.query().patch({ title: 'x' }).where('id', 3)), 0);
    assert.equal(await t1(() => C.query().deleteById(4)), 0);
    assert.equal((await base('pages').where('id', 3).first())?.title, 'p3-t2');
    assert.equal((await base('comments')).length, 4);
  });

  it('filters $relatedQuery: has-many, belongs-to and many-to-many through a scoped join table', async () => {
    await t1(async () => {
      const page = await P.query().findById(1);
      assert.ok(page);
      assert.deepEqual(col(await page.$relatedQuery('comments'), 'body'), ['c1-t1']);
      const tags = await page.$relatedQuery('tags');
      assert.deepEqual(col(tags, 'name'), ['news']);
      const comment = await C.query().findById(2);
      assert.equal((await comment?.$relatedQuery('page'))?.title, 'p2-t1');
    });
    // a foreign page fetched unscoped and asked for its relations inside tenant 1 gets nothing
    const foreign = (await scope({ tenant: 2 }, () => P.query().findById(3))) as Page;
    assert.deepEqual(await t1(() => foreign.$relatedQuery('comments')), []);
    assert.deepEqual(await t1(() => foreign.$relatedQuery('tags')), []);
  });

  it('filters withGraphFetched, withGraphJoined, joinRelated and resultSize', async () => {
    const fetched = (await t1(() => P.query().withGraphFetched('[comments, tags]').orderBy('id'))) as Page[];
    assert.deepEqual(
      fetched.map((p) => [p.title, col(p.comments ?? [], 'body'), col(p.tags ?? [], 'name')]),
      [
        ['p1-t1', ['c1-t1'], ['news']],
        ['p2-t1', ['c2-t1'], ['misc']],
      ],
    );
    const joined = (await t1(() => P.query().withGraphJoined('comments').orderBy('pages.id'))) as Page[];
    assert.deepEqual(
      joined.map((p) => p.title),
      ['p1-t1', 'p2-t1'],
    );
    const related = await t1(() =>
      C.query().joinRelated('page').where('page.title', 'like', 'p%').select('comments.body'),
    );
    assert.deepEqual(col(related, 'body'), ['c1-t1', 'c2-t1']);
    assert.equal(await t1(() => C.query().resultSize()), 2);
  });

  it('filters inside Model.transaction', async () => {
    const n = await t1(() => P.transaction(async (trx) => C.query(trx).resultSize()));
    assert.equal(n, 2);
  });

  // issue 22 item 3: the app's line, also for a query built by Objection inside a transaction
  it("names the app's call site of a refused query, in and out of a transaction", async () => {
    const sites: string[] = [];
    const record = (message: unknown) => sites.push((message as ScopeEvent).callSite ?? '(none)');
    diagnostics_channel.subscribe(CHANNELS.refusal, record);
    const lines: number[] = [];
    // the line of line()'s caller: frame 2 of its stack
    const line = () => Number(/objection\.test\.ts:(\d+):/.exec(new Error().stack?.split('\n')[2] ?? '')?.[1]);
    try {
      lines.push(line() + 1);
      await P.query()
        .where('id', 1)
        .catch(() => undefined);
      await P.transaction(async (trx) => {
        lines.push(line() + 1);
        await C.query(trx)
          .where('id', 1)
          .catch(() => undefined);
      });
      await db.transaction(async (trx) => {
        lines.push(line() + 1);
        await P.query(trx)
          .findById(1)
          .catch(() => undefined);
      });
    } finally {
      diagnostics_channel.unsubscribe(CHANNELS.refusal, record);
    }
    assert.deepEqual(
      sites.map((site) => Number(/objection\.test\.ts:(\d+):/.exec(site)?.[1])),
      lines,
      sites.join('\n'),
    );
  });

  it('stamps the tenant on insert', async () => {
    const inserted = await t1(() => P.query().insert({ title: 'objection-new' }));
    const row = await base('pages').where('id', inserted.id).first();
    assert.equal(Number(row?.tenant_id), 1);
    await base('pages').where('id', inserted.id).del();
  });

  describe('writes', () => {
    it('insertGraph stamps the tenant and accepts children of the new parent; refuses relating a foreign parent', async () => {
      const graph = (await t1(() =>
        P.query().insertGraph({ title: 'graph', comments: [{ body: 'graph-c' }] } as never),
      )) as Page;
      const page = await base('pages').where('id', graph.id).first();
      assert.equal(Number(page?.tenant_id), 1);
      assert.deepEqual(col(await base('comments').where('page_id', graph.id), 'body'), ['graph-c']);
      await expectScopeError(
        t1(() => C.query().insertGraph({ body: 'evil', page: { id: 3 } } as never, { relate: true })),
        'CROSS_SCOPE_WRITE',
      );
      assert.equal((await base('comments').where('body', 'evil')).length, 0);
    });

    it('upsertGraph updates only in scope and cannot take over another tenant row', async () => {
      await t1(() =>
        P.query().upsertGraph({ id: 2, title: 'p2-upserted', comments: [{ id: 2, body: 'c2-upserted' }] } as never),
      );
      assert.equal((await base('pages').where('id', 2).first())?.title, 'p2-upserted');
      assert.equal((await base('comments').where('id', 2).first())?.body, 'c2-upserted');
      await assert.rejects(t1(() => P.query().upsertGraph({ id: 3, title: 'hijacked' } as never)));
      assert.equal((await base('pages').where('id', 3).first())?.title, 'p3-t2');
      // a child's FK in a has-many graph is set from its parent by Objection: it cannot be pointed elsewhere
      await t1(() => P.query().upsertGraph({ id: 1, comments: [{ id: 1, page_id: 3, body: 'moved' }] } as never));
      assert.equal(Number((await base('comments').where('id', 1).first())?.page_id), 1);
    });

    it('patch cannot move a row to another tenant', async () => {
      const page = (await t1(() => P.query().findById(1))) as Page;
      await expectScopeError(
        t1(() => page.$query().patch({ tenant_id: 2 } as never)),
        'CROSS_SCOPE_WRITE',
      );
      assert.equal(Number((await base('pages').where('id', 1).first())?.tenant_id), 1);
    });

    it('relate: many-to-many and belongs-to refuse a foreign parent', async () => {
      await t1(async () => {
        const page = (await P.query().findById(1)) as Page;
        await page.$relatedQuery('tags').relate(2);
      });
      assert.deepEqual(col(await base('page_tags').where('page_id', 1), 'tag_id'), ['1', '2']);
      const foreign = (await scope({ tenant: 2 }, () => P.query().findById(3))) as Page;
      await expectScopeError(
        t1(() => foreign.$relatedQuery('tags').relate(2)),
        'CROSS_SCOPE_WRITE',
      );
      const comment = (await t1(() => C.query().findById(1))) as Comment;
      await expectScopeError(
        t1(() => comment.$relatedQuery('page').relate(3)),
        'CROSS_SCOPE_WRITE',
      );
      assert.equal(Number((await base('comments').where('id', 1).first())?.page_id), 1);
      assert.deepEqual(col(await base('page_tags').where('page_id', 3), 'tag_id'), ['1']);
    });
  });
});
