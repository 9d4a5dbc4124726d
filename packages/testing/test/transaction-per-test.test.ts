// The transaction-per-test recipe, end to end on every available database: an Express app (with
// Objection) on a module-level handle, each test inside one transaction that the app's queries,
// its tenant lookup and its own transactions all go through, rolled back after the test.
import assert from 'node:assert/strict';
import { defineScopes } from '@knex-scopes/core';
import { fromHeader, tenantResolver } from '@knex-scopes/core/http';
import { scopingMiddleware } from '@knex-scopes/express';
import {
  assertRefused,
  type KnexSwitch,
  knexSwitch,
  lifted,
  type RefusalRecorder,
  recordRefusals,
  transactionPerTest,
} from '@knex-scopes/testing';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Knex } from 'knex';
import { Model } from 'objection';
import request from 'supertest';
import { forEachDialect } from '../../../test/support/databases';

const scopes = defineScopes({ tables: { projects: { tenant: 'tenant_id' } } });

/** The app under test: every query, the tenant lookup included, through `db`. */
function makeApp(db: Knex, Project: typeof Model, lookupDb: Knex = db): express.Express {
  const app = express();
  app.use(express.json());
  app.use(
    scopingMiddleware(
      tenantResolver({
        from: fromHeader('x-tenant'),
        lookup: (slug) => lookupDb('tenants').where({ slug }).first<{ id: number; slug: string } | undefined>(),
      }),
    ),
  );
  app.get('/projects', async (_req, res) => {
    res.json(await db('projects').orderBy('id').pluck('name'));
  });
  app.get('/orm/projects', async (_req, res) => {
    const rows = (await Project.query().orderBy('id')) as unknown as { name: string }[];
    res.json(rows.map((row) => row.name));
  });
  // App code with a transaction of its own: a savepoint inside the test's transaction.
  app.post('/projects', async (req, res) => {
    await db.transaction(async (trx) => {
      await trx('projects').insert({ name: req.body.name });
      if (req.body.fail) throw new Error('the app rolled back its own transaction');
    });
    res.status(201).json(await db('projects').orderBy('id').pluck('name'));
  });
  app.use((error: Error, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).json({ error: error.message });
  });
  return app;
}

forEachDialect('testing: transaction per test, Express + Objection', (testDb) => {
  // What an app's db module exports, built once the suite's database exists.
  let dbSwitch: KnexSwitch;
  let app: express.Express;
  let refusals: RefusalRecorder;
  class Project extends Model {
    static override tableName = 'projects';
  }
  const tenantIds: Record<string, number> = {};

  // A factory: across tenants, with protection lifted, through the app's handle.
  const seed = lifted(async () => {
    const db = dbSwitch.knex;
    await db('tenants').insert([{ slug: 'acme' }, { slug: 'globex' }]);
    for (const row of await db('tenants').select<{ id: number; slug: string }[]>('id', 'slug')) {
      tenantIds[row.slug] = Number(row.id);
    }
    await db('projects').insert([
      { tenant_id: tenantIds.acme, name: 'Rocket skates' },
      { tenant_id: tenantIds.globex, name: 'World domination' },
      { tenant_id: tenantIds.acme, name: 'Giant magnet' },
    ]);
  });

  before(async () => {
    const base = testDb.knex();
    await base.schema.createTable('tenants', (t) => {
      t.increments('id');
      t.string('slug').notNullable().unique();
    });
    await base.schema.createTable('projects', (t) => {
      t.increments('id');
      t.integer('tenant_id').notNullable().references('tenants.id');
      t.string('name').notNullable();
    });
    dbSwitch = knexSwitch(scopes.wrap(base));
    Project.knex(dbSwitch.knex);
    app = makeApp(dbSwitch.knex, Project);
    refusals = recordRefusals();
  });
  after(() => refusals.stop());

  describe('inside each test’s transaction', () => {
    // The switch exists once before() ran: hand over a target that reads it then.
    const testTransaction = transactionPerTest(
      { beforeEach, afterEach },
      {
        get root() {
          return dbSwitch.root;
        },
        use: (trx) => dbSwitch.use(trx),
      },
    );
    beforeEach(() => seed());
    afterEach(() => refusals.assertNone());

    it('the app answers from rows a factory wrote in the test transaction, each tenant its own', async () => {
      assert.equal(dbSwitch.current(), testTransaction.current());
      const acme = await request(app).get('/projects').set('X-Tenant', 'acme').expect(200);
      const globex = await request(app).get('/projects').set('X-Tenant', 'globex').expect(200);
      const orm = await request(app).get('/orm/projects').set('X-Tenant', 'acme').expect(200);
      assert.deepEqual(acme.body, ['Rocket skates', 'Giant magnet']);
      assert.deepEqual(globex.body, ['World domination']);
      assert.deepEqual(orm.body, ['Rocket skates', 'Giant magnet']);
      await request(app).get('/projects').set('X-Tenant', 'initech').expect(404);
      await request(app).get('/projects').expect(400);
    });

    if (testDb.dialect !== 'sqlite') {
      // (On SQLite the one connection is the test's: a second one would wait for it.)
      it('a tenant lookup through a second connection cannot see them: why the lookup goes through the handle', async () => {
        const unscopedLookup = makeApp(dbSwitch.knex, Project, testDb.knex());
        const response = await request(unscopedLookup).get('/projects').set('X-Tenant', 'acme').expect(404);
        assert.equal(response.body.error, 'TENANT_NOT_FOUND');
        assert.deepEqual(await testDb.knex()('projects').pluck('name'), [], 'uncommitted, so invisible');
      });
    }

    it('app code that opens a transaction gets a savepoint: its commit and its rollback hold', async () => {
      const added = await request(app).post('/projects').set('X-Tenant', 'acme').send({ name: 'Anvil' }).expect(201);
      assert.deepEqual(added.body, ['Rocket skates', 'Giant magnet', 'Anvil']);
      const failed = await request(app)
        .post('/projects')
        .set('X-Tenant', 'acme')
        .send({ name: 'Decoy', fail: true })
        .expect(500);
      assert.deepEqual(failed.body, { error: 'the app rolled back its own transaction' });
      const after = await request(app).get('/projects').set('X-Tenant', 'acme').expect(200);
      assert.deepEqual(after.body, ['Rocket skates', 'Giant magnet', 'Anvil']);
      // Stamped with the request's tenant, in the test's transaction.
      const anvil = await lifted(() => dbSwitch.knex('projects').where({ name: 'Anvil' }).select('tenant_id'))();
      assert.deepEqual(
        anvil.map((row: { tenant_id: number }) => Number(row.tenant_id)),
        [tenantIds.acme],
      );
    });

    it("the previous test's writes are gone, the factory's rows are back", async () => {
      const names = await lifted(() => dbSwitch.knex('projects').orderBy('id').pluck('name'))();
      assert.deepEqual(names, ['Rocket skates', 'World domination', 'Giant magnet']);
    });

    it('the test transaction is scoped: a query without a scope is refused', async () => {
      const error = await assertRefused(() => dbSwitch.knex('projects').pluck('name'));
      assert.deepEqual([error.code, error.table], ['SCOPE_MISSING', 'projects']);
    });
  });

  describe('after the last rollback', () => {
    it('nothing is left in the tables, and the handle is back on the root', async () => {
      const base = testDb.knex();
      assert.equal(dbSwitch.current(), dbSwitch.root);
      assert.deepEqual(await base('projects').pluck('name'), []);
      assert.deepEqual(await base('tenants').pluck('slug'), []);
    });
  });
});
