// The helpers one by one, on an in-memory SQLite database.
import assert from 'node:assert/strict';
import { defineScopes, getScope, type ScopeEvent, scope, scopesDisabled } from '@knex-scopes/core';
import {
  assertRefused,
  inScope,
  knexSwitch,
  lifted,
  type RefusalRecorder,
  recordRefusals,
  scopedTest,
  transactionPerTest,
} from '@knex-scopes/testing';
import knex, { type Knex } from 'knex';

const scopes = defineScopes({ tables: { projects: { tenant: 'tenant_id' } } });

describe('testing: helpers', () => {
  let base: Knex;
  let db: Knex;
  const names = () => db('projects').orderBy('id').pluck('name');

  before(async () => {
    base = knex({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    await base.schema.createTable('projects', (t) => {
      t.increments('id');
      t.integer('tenant_id').notNullable();
      t.string('name');
    });
    db = scopes.wrap(base);
  });
  beforeEach(async () => {
    await base('projects').delete();
    await base('projects').insert([
      { tenant_id: 1, name: 'one' },
      { tenant_id: 2, name: 'two' },
    ]);
  });
  after(() => base.destroy());

  describe('inScope', () => {
    it('runs the body in the scope and returns its promise', async () => {
      const test = inScope({ tenant: 1 }, async () => ({ values: getScope().values, rows: await names() }));
      assert.deepEqual(await test(), { values: { tenant: 1 }, rows: ['one'] });
      assert.deepEqual(getScope().values, {}, 'the scope ends with the body');
    });

    it('keeps this and the arguments', () => {
      const test = inScope({ tenant: 1 }, function (this: { base: number }, add: number) {
        return this.base + add + Number(getScope().values.tenant);
      });
      assert.equal(test.call({ base: 10 }, 5), 16);
    });

    it(
      "works as mocha's test function: this.timeout() and all",
      inScope({ tenant: 2 }, async function () {
        this.timeout(4321);
        assert.equal(this.timeout(), 4321);
        assert.deepEqual(await names(), ['two']);
      }),
    );

    it('answers length, name and source as the body, which runners read', () => {
      const body = async function listsTwo(_done: unknown) {};
      const test = inScope({ tenant: 1 }, body);
      assert.equal(test.length, 1);
      assert.equal(test.name, 'listsTwo');
      assert.equal(test.toString(), body.toString());
    });

    it("calls the runner's callbacks outside the scope, their properties intact", () => {
      let seenInDone: unknown;
      const done = Object.assign(
        () => {
          seenInDone = getScope().values;
        },
        { task: 'the task' },
      );
      const test = inScope({ tenant: 1 }, (cb: typeof done) => {
        assert.deepEqual(getScope().values, { tenant: 1 });
        cb();
        return cb.task;
      });
      assert.equal(test(done), 'the task');
      assert.deepEqual(seenInDone, {}, 'done() ran outside the test scope');
    });

    it('refuses an invalid scope where the test is declared', () => {
      assert.throws(() => inScope({ tenant: { id: 1 } as never }, () => undefined), { code: 'INVALID_SCOPE_VALUE' });
    });
  });

  describe('scopedTest', () => {
    // A runner's API in miniature: what it declares, and its modifiers.
    function fakeRunner() {
      const declared: { title: string; fn: (...args: unknown[]) => unknown; rest: unknown[]; how: string }[] = [];
      const declare =
        (how: string) =>
        (title: string, ...rest: unknown[]) => {
          const fn = rest.find((arg) => typeof arg === 'function') as (...args: unknown[]) => unknown;
          declared.push({ title, fn, rest: rest.filter((arg) => arg !== fn), how });
          return `declared ${title}`;
        };
      const test = Object.assign(declare('test'), {
        only: declare('only'),
        skip: declare('skip'),
        each: (table: unknown[]) => (title: string, fn: (row: unknown) => unknown) => {
          for (const row of table) declare('each')(`${title} ${row}`, () => fn(row));
        },
        timeoutDefault: 5000,
      });
      return { test, declared };
    }

    it('runs every body it declares in the scope: plain, .only, .skip, .each, options and timeouts', async () => {
      const { test, declared } = fakeRunner();
      const scoped = scopedTest(test, { tenant: 2 });
      assert.equal(
        scoped('plain', async () => names()),
        'declared plain',
      );
      scoped('with options', { retry: 2 }, async () => names());
      scoped('with a timeout', async () => names(), 1000);
      scoped.only('only', async () => names());
      scoped.skip('skip', async () => names());
      scoped.each([1, 2])('row', async () => names());
      assert.equal(scoped.timeoutDefault, 5000);

      assert.deepEqual(
        declared.map((d) => `${d.how}: ${d.title} ${JSON.stringify(d.rest)}`),
        [
          'test: plain []',
          'test: with options [{"retry":2}]',
          'test: with a timeout [1000]',
          'only: only []',
          'skip: skip []',
          'each: row 1 []',
          'each: row 2 []',
        ],
      );
      for (const { fn } of declared) assert.deepEqual(await fn(), ['two']);
    });

    it('refuses an invalid scope where the file is loaded', () => {
      const { test } = fakeRunner();
      assert.throws(() => scopedTest(test, { tenant: Number.NaN }), { code: 'INVALID_SCOPE_VALUE' });
    });

    describe('over mocha’s own it', () => {
      const scopedIt = scopedTest(it, { tenant: 1 });

      scopedIt('runs the test in the scope', async function () {
        assert.equal(typeof this.timeout, 'function');
        assert.deepEqual(getScope().values, { tenant: 1 });
        assert.deepEqual(await names(), ['one']);
      });
    });
  });

  describe('lifted', () => {
    it('writes tenant_id as given, even in a test scoped to another tenant', async () => {
      const createProjects = lifted((rows: { tenant_id: number; name: string }[]) => db('projects').insert(rows));
      await scope({ tenant: 1 }, async () => {
        await createProjects([
          { tenant_id: 1, name: 'one-b' },
          { tenant_id: 2, name: 'two-b' },
        ]);
        // without it, the same write is refused
        await assert.rejects(db('projects').insert({ tenant_id: 2, name: 'x' }), { code: 'CROSS_SCOPE_WRITE' });
      });
      assert.deepEqual(await base('projects').orderBy('id').select('tenant_id', 'name'), [
        { tenant_id: 1, name: 'one' },
        { tenant_id: 2, name: 'two' },
        { tenant_id: 1, name: 'one-b' },
        { tenant_id: 2, name: 'two-b' },
      ]);
    });

    it('starts a lazy builder inside, with protection lifted', async () => {
      const allNames = lifted(() => db('projects').orderBy('id').pluck('name'));
      assert.deepEqual(await allNames(), ['one', 'two']);
    });

    it('lifts every method of a factory object, called on the object', async () => {
      class ProjectFactory {
        created = 0;
        create(tenant: number) {
          this.created += 1;
          return db('projects').insert({ tenant_id: tenant, name: `made ${this.created}` });
        }
      }
      const factory = new ProjectFactory();
      const factories = lifted(factory);
      await factories.create(2);
      await factories.create(1);
      assert.equal(factories.created, 2);
      assert.deepEqual(await base('projects').where('name', 'like', 'made%').orderBy('id').pluck('tenant_id'), [2, 1]);
    });
  });

  describe('assertRefused', () => {
    it('resolves to the refusal', async () => {
      const error = await assertRefused(() => names());
      assert.equal(error.code, 'SCOPE_MISSING');
      assert.equal(error.table, 'projects');
      assert.deepEqual(error.dimensions, ['tenant']);
    });

    it('runs with no scope, even inside a scoped test or with protection lifted', async () => {
      await scope({ tenant: 1 }, async () => {
        assert.equal((await assertRefused(() => names())).code, 'SCOPE_MISSING');
        assert.deepEqual(await names(), ['one'], 'the test scope is intact');
      });
      await scopesDisabled(async () => {
        assert.equal((await assertRefused(() => names())).code, 'SCOPE_MISSING');
      });
    });

    it('takes another code, for a path that opens its own scope', async () => {
      const error = await assertRefused(
        () => scope({ tenant: 1 }, () => db('projects').insert({ tenant_id: 2, name: 'x' })),
        'CROSS_SCOPE_WRITE',
      );
      assert.equal(error.code, 'CROSS_SCOPE_WRITE');
      assert.deepEqual(await base('projects').pluck('name'), ['one', 'two'], 'nothing written');
    });

    it('fails when the code path runs', async () => {
      await assert.rejects(
        assertRefused(() => scope({ tenant: 2 }, () => names())),
        (error: Error) =>
          error.name === 'AssertionError' &&
          /expected a ScopeError SCOPE_MISSING, but it ran and returned \["two"\]/.test(error.message),
      );
    });

    it('fails on another code, or another error', async () => {
      await assert.rejects(
        assertRefused(() => names(), 'CROSS_SCOPE_WRITE'),
        (error: Error) =>
          error.name === 'AssertionError' &&
          error.message.startsWith('expected a ScopeError CROSS_SCOPE_WRITE, got ScopeError SCOPE_MISSING'),
      );
      await assert.rejects(
        assertRefused(() => {
          throw new TypeError('not a refusal');
        }),
        (error: Error) =>
          error.name === 'AssertionError' &&
          error.message === 'expected a ScopeError SCOPE_MISSING, got TypeError: not a refusal',
      );
    });
  });

  describe('recordRefusals', () => {
    // Created here rather than when the file loads, so that earlier suites' refusals are not in it.
    let refusals: RefusalRecorder;
    before(() => {
      refusals = recordRefusals();
    });
    after(() => refusals.stop());
    afterEach(() => refusals.take());

    it('records a refusal the code under test caught, with the line that built the query', async () => {
      const swallowed = await names().catch(() => 'swallowed');
      assert.equal(swallowed, 'swallowed');
      const events = refusals.take();
      assert.deepEqual(
        events.map((e) => [e.kind, e.code, e.tables]),
        [['refusal', 'SCOPE_MISSING', ['projects']]],
      );
      assert.match(events[0]!.callSite ?? '', /helpers\.test\.ts:\d+:\d+$/);
      assert.deepEqual(refusals.take(), [], 'take() forgets what it returned');
    });

    it('assertNone() fails listing them, then forgets them', async () => {
      await names().catch(() => undefined);
      assert.throws(
        () => refusals.assertNone(),
        (error: Error) =>
          error.name === 'AssertionError' &&
          /^queries were refused during this test:\n {2}SCOPE_MISSING on projects at .*helpers\.test\.ts:\d+:\d+$/.test(
            error.message,
          ),
      );
      refusals.assertNone();
    });

    it('leaves out the refusals assertRefused() asked for', async () => {
      await assertRefused(() => names());
      await assertRefused(
        () => scope({ tenant: 1 }, () => db('projects').insert({ tenant_id: 2 })),
        'CROSS_SCOPE_WRITE',
      );
      assert.deepEqual(refusals.take(), []);
    });

    it("records report mode's violations, unless told refusals only", async () => {
      const reporting = defineScopes({ mode: 'report', tables: { projects: { tenant: 'tenant_id' } } }).wrap(base);
      const refusalsOnly = recordRefusals({ kinds: ['refusal'] });
      try {
        assert.deepEqual(await reporting('projects').orderBy('id').pluck('name'), ['one', 'two']);
        assert.deepEqual(
          refusals.take().map((e: ScopeEvent) => [e.kind, e.code]),
          [['violation', 'SCOPE_MISSING']],
        );
        assert.deepEqual(refusalsOnly.take(), []);
      } finally {
        refusalsOnly.stop();
      }
    });

    it('stop() ends the recording', async () => {
      const stopped = recordRefusals();
      stopped.stop();
      await names().catch(() => undefined);
      assert.deepEqual(stopped.take(), []);
      assert.equal(refusals.take().length, 1);
    });
  });

  describe('knexSwitch and transactionPerTest', () => {
    it('forwards the handle to the root, then to the transaction it is given', async () => {
      const dbSwitch = knexSwitch(db);
      const handle = dbSwitch.knex;
      assert.equal(dbSwitch.current(), db);
      assert.equal(handle.isTransaction, undefined);
      const trx = await dbSwitch.root.transaction();
      try {
        dbSwitch.use(trx);
        assert.equal(dbSwitch.current(), trx);
        assert.equal(handle.isTransaction, true);
        await lifted(() => handle('projects').insert({ tenant_id: 1, name: 'in trx' }))();
        assert.deepEqual(await scope({ tenant: 1 }, () => handle('projects').orderBy('id').pluck('name')), [
          'one',
          'in trx',
        ]);
        // The transaction is scoped: opened on the scoped instance.
        assert.equal((await assertRefused(() => handle('projects'))).code, 'SCOPE_MISSING');
      } finally {
        dbSwitch.use(undefined);
        await trx.rollback();
      }
      assert.equal(dbSwitch.current(), db);
      assert.deepEqual(await base('projects').orderBy('id').pluck('name'), ['one', 'two'], 'rolled back');
    });

    it('declares a beforeEach that opens the transaction and an afterEach that rolls it back', async () => {
      const hooks: { beforeEach?: () => Promise<void>; afterEach?: () => Promise<void> } = {};
      const used: (Knex.Transaction | undefined)[] = [];
      const testTransaction = transactionPerTest(
        {
          beforeEach: (fn) => {
            hooks.beforeEach = fn;
          },
          afterEach: (fn) => {
            hooks.afterEach = fn;
          },
        },
        { root: db, use: (trx) => used.push(trx) },
      );
      assert.throws(() => testTransaction.current(), /no test transaction is open/);
      await hooks.beforeEach!();
      const trx = testTransaction.current();
      assert.deepEqual(used, [trx]);
      await lifted(() => trx('projects').insert({ tenant_id: 2, name: 'in test' }))();
      await hooks.afterEach!();
      assert.deepEqual(used, [trx, undefined]);
      assert.equal(trx.isCompleted(), true);
      assert.deepEqual(await base('projects').orderBy('id').pluck('name'), ['one', 'two'], 'rolled back');

      // A test whose code committed the transaction itself: nothing left to roll back.
      await hooks.beforeEach!();
      await testTransaction.current().commit();
      await hooks.afterEach!();
      assert.deepEqual(used.length, 4);
    });

    it('scopes.wrap() refuses a transaction (INVALID_DEFINITION): open it on the scoped instance instead', async () => {
      const trx = await base.transaction();
      try {
        assert.throws(() => scopes.wrap(trx), { code: 'INVALID_DEFINITION' });
      } finally {
        await trx.rollback();
      }
    });
  });
});
