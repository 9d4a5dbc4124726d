// mode: 'report' lets violating queries run unchanged and reports one event per query; refusals
// and bypasses are published on diagnostics_channel (names in CHANNELS) and to the callbacks.
import assert from 'node:assert/strict';
import diagnostics_channel from 'node:diagnostics_channel';
import { ALL, CHANNELS, type ScopeEvent, scope, scopesDisabled, trustRaw } from '@knex-scopes/core';
import knexFactory, { type Knex } from 'knex';
import { col, createSchema, expectScopeError, makeScopes, seed } from './fixtures';

describe('scoped Knex: report mode and diagnostics [sqlite]', () => {
  let base: Knex;
  before(async () => {
    base = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    await createSchema(base);
    await seed(base);
  });
  after(() => base.destroy());

  function listen(name: string): { events: ScopeEvent[]; stop(): void } {
    const events: ScopeEvent[] = [];
    const fn = (message: unknown) => events.push(message as ScopeEvent);
    diagnostics_channel.subscribe(name, fn);
    return { events, stop: () => diagnostics_channel.unsubscribe(name, fn) };
  }

  it('report mode: a query that would be refused runs unchanged, with one event per query', async () => {
    const seen: ScopeEvent[] = [];
    const db = makeScopes({ mode: 'report', onViolation: (e) => seen.push(e) }).wrap(base);
    const channel = listen(CHANNELS.violation);
    try {
      const rows = await db('comments').join('pages', 'pages.id', 'comments.page_id').select('comments.body');
      assert.equal(rows.length, 4, 'ran unchanged: every tenant');
      assert.equal(seen.length, 1, 'one event for the query, not one per table');
      const event = seen[0] as ScopeEvent;
      assert.equal(event.kind, 'violation');
      assert.equal(event.code, 'SCOPE_MISSING');
      assert.deepEqual([...event.tables].sort(), ['comments', 'pages']);
      assert.deepEqual(event.dimensions, ['tenant']);
      assert.match(event.sql ?? '', /from `comments` inner join `pages`/);
      assert.doesNotMatch(event.sql ?? '', /tenant_id/);
      assert.match(event.stack, /report-mode\.test\.ts/);
      assert.equal(channel.events.length, 1);
      // raw SQL is reported, not refused
      const raw = await db.raw('select count(*) as n from pages');
      assert.equal(Number((raw as Array<{ n: number }>)[0]?.n), 4);
      assert.equal(seen.at(-1)?.code, 'RAW_SQL_REFUSED');
      // a foreign parent is reported with the SQL of the write, which then runs
      await scope({ tenant: 1 }, () => db('comments').insert({ page_id: 3, body: 'reported' }));
      assert.equal(seen.at(-1)?.code, 'CROSS_SCOPE_WRITE');
      assert.match(seen.at(-1)?.sql ?? '', /insert into `comments`/);
      assert.equal((await base('comments').where('body', 'reported')).length, 1);
      // a query inside a scope is filtered as usual and reports nothing
      const before = seen.length;
      assert.deepEqual(col(await scope({ tenant: 1 }, () => db('pages')), 'title'), ['p1-t1', 'p2-t1']);
      assert.equal(seen.length, before);
    } finally {
      channel.stop();
    }
  });

  it('enforce mode publishes refusals with code, table, dimensions and stack', async () => {
    const seen: ScopeEvent[] = [];
    const db = makeScopes({ onViolation: (e) => seen.push(e) }).wrap(base);
    const channel = listen(CHANNELS.refusal);
    try {
      await expectScopeError(db('replies'), 'SCOPE_MISSING');
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.kind, 'refusal');
      assert.deepEqual(seen[0]?.tables, ['replies']);
      assert.deepEqual(seen[0]?.dimensions, ['tenant']);
      assert.ok(seen[0]?.stack);
      assert.equal(channel.events.length, 1);
    } finally {
      channel.stop();
    }
  });

  it('publishes bypasses: scopesDisabled, ALL, trustRaw', async () => {
    const bypasses: ScopeEvent[] = [];
    const db = makeScopes({ onBypass: (e) => bypasses.push(e) }).wrap(base);
    await scopesDisabled(() => db('pages'));
    await scope({ tenant: ALL }, () => db('comments'));
    await scope({ tenant: 1 }, () => trustRaw(db.raw('select 1 from pages')));
    assert.deepEqual(
      bypasses.map((e) => [e.reason, e.tables.join(',')]),
      [
        ['scopes-disabled', 'pages'],
        ['all', 'comments'],
        ['trusted-raw', 'pages'],
      ],
    );
    assert.match(bypasses[0]?.sql ?? '', /select \* from `pages`/);
  });

  // issue 22: an event names the app's line that built the query, though `await db(…)` compiles
  // it from a microtask, where no frame of the app is left on the stack
  it("names the app's call site of an awaited query, a transaction's and a write's", async () => {
    const seen: ScopeEvent[] = [];
    const db = makeScopes({ mode: 'report', onViolation: (e) => seen.push(e) }).wrap(base);
    const here = `report-mode.test.ts:${callerLine() + 1}:`;
    await db('pages').where('id', 1);
    const inTrx = `report-mode.test.ts:${callerLine() + 1}:`;
    await db.transaction(async (trx) => trx('comments').where('id', 1));
    const write = `report-mode.test.ts:${callerLine() + 1}:`;
    await scope({ tenant: 1 }, () => db('comments').insert({ page_id: 3, body: 'x' }));
    const sites = seen.map((e) => e.callSite ?? '(none)');
    assert.equal(seen.length, 3, sites.join('\n'));
    assert.ok(sites[0]?.includes(here), `${sites[0]} ≠ ${here}`);
    assert.ok(sites[1]?.includes(inTrx), `${sites[1]} ≠ ${inTrx}`);
    assert.ok(sites[2]?.includes(write), `${sites[2]} ≠ ${write}`);
    await base('comments').where('body', 'x').del();
  });

  it('costs nothing when no one listens: a throwing observer cannot change a query', async () => {
    const db = makeScopes({
      onViolation: () => {
        throw new Error('observer bug');
      },
    }).wrap(base);
    await expectScopeError(db('pages'), 'SCOPE_MISSING');
  });
});

/** The line of the caller of this function, in this file. */
function callerLine(): number {
  const frame = new Error().stack?.split('\n')[2] ?? '';
  return Number(/report-mode\.test\.ts:(\d+):/.exec(frame)?.[1] ?? Number.NaN);
}
