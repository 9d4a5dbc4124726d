// The transaction-per-test recipe, end to end on every available database and on each adapter:
// the same app (support/apps.ts: Express 5, Koa 3, Fastify 5, with Objection) on a module-level
// handle, each test inside one transaction that the app's queries, its tenant lookup and its
// own transactions all go through, rolled back after the test.
import assert from 'node:assert/strict';
import { defineScopes } from '@knex-scopes/core';
import { fromHeader, type TenantResolver, tenantResolver } from '@knex-scopes/core/http';
import {
  assertRefused,
  type KnexSwitch,
  knexSwitch,
  lifted,
  type RefusalRecorder,
  recordRefusals,
  transactionPerTest,
} from '@knex-scopes/testing';
import type { Knex } from 'knex';
import { Model } from 'objection';
import request from 'supertest';
import { forEachDialect } from '../../../test/support/databases';
import { buildApp, FRAMEWORKS, type Framework, type Tenant, type TestApp } from './support/apps';

const scopes = defineScopes({ tables: { projects: { tenant: 'tenant_id' } } });

/** The app's resolver: tenants by slug from `lookupDb` (the app's handle, unless a test says otherwise). */
function resolverOn(lookupDb: Knex): TenantResolver<Tenant> {
  return tenantResolver({
    from: fromHeader('x-tenant'),
    lookup: async (slug) => {
      const row = await lookupDb('tenants').where({ slug }).first<Tenant | undefined>();
      return row === undefined ? undefined : { id: Number(row.id), slug: row.slug };
    },
  });
}

interface QueryEvent {
  readonly sql: string;
  readonly bindings?: readonly unknown[];
}

forEachDialect('testing: transaction per test, Express/Koa/Fastify + Objection', (testDb) => {
  // What an app's db module exports, built once the suite's database exists.
  let dbSwitch: KnexSwitch;
  let refusals: RefusalRecorder | undefined;
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
      // unsigned: MariaDB wants the same type as increments() for the foreign key.
      t.integer('tenant_id').unsigned().notNullable().references('tenants.id');
      t.string('name').notNullable();
    });
    dbSwitch = knexSwitch(scopes.wrap(base));
    Project.knex(dbSwitch.knex);
    refusals = recordRefusals();
  });
  after(() => refusals?.stop());

  for (const framework of FRAMEWORKS) {
    describeFramework(framework);
  }

  function describeFramework(framework: Framework): void {
    describe(framework, () => {
      const apps: TestApp[] = [];
      let app: TestApp;
      /** An app on the switch's handle, its tenant lookup on `lookupDb` (the handle by default). */
      const appWith = async (lookupDb: Knex = dbSwitch.knex): Promise<TestApp> => {
        const built = await buildApp(framework, { db: dbSwitch.knex, Project, resolver: resolverOn(lookupDb) });
        apps.push(built);
        return built;
      };
      const get = (path: string, tenant?: string, on: TestApp = app) => {
        const call = request(on.server).get(path);
        return tenant === undefined ? call : call.set('X-Tenant', tenant);
      };
      const post = (path: string, tenant: string, body: object) =>
        request(app.server).post(path).set('X-Tenant', tenant).send(body);

      before(async () => {
        app = await appWith();
      });
      after(async () => {
        for (let built = apps.pop(); built; built = apps.pop()) await built.close();
      });

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
        afterEach(() => refusals?.assertNone());

        it('the app answers from rows a factory wrote in the test transaction, each tenant its own', async () => {
          assert.equal(dbSwitch.current(), testTransaction.current());
          const acme = await get('/projects', 'acme').expect(200);
          const globex = await get('/projects', 'globex').expect(200);
          assert.deepEqual(acme.body, ['Rocket skates', 'Giant magnet']);
          assert.deepEqual(globex.body, ['World domination']);
          const missing = await get('/projects', 'initech').expect(404);
          assert.equal(missing.body.error, 'TENANT_NOT_FOUND');
          const keyless = await get('/projects').expect(400);
          assert.equal(keyless.body.error, 'TENANT_KEY_MISSING');
        });

        it('the tenant lookup and the scoped queries of a request run in the test transaction', async () => {
          const inTransaction: QueryEvent[] = [];
          testTransaction.current().on('query', (query: QueryEvent) => inTransaction.push(query));
          await get('/projects', 'globex').expect(200);
          const lookups = inTransaction.filter((q) => /\btenants\b/.test(q.sql));
          const scoped = inTransaction.filter((q) => /\bprojects\b/.test(q.sql));
          assert.deepEqual(
            lookups.map((q) => q.bindings?.[0]),
            ['globex'],
            'the one lookup went through the transaction',
          );
          assert.equal(scoped.length, 1);
          assert.ok(scoped[0]?.bindings?.includes(tenantIds.globex), `bindings ${JSON.stringify(scoped[0]?.bindings)}`);
        });

        it('the Objection model is bound to the switch handle: it reads the test transaction, in the scope', async () => {
          assert.equal(Project.knex(), dbSwitch.knex);
          const acme = await get('/orm/projects', 'acme').expect(200);
          const globex = await get('/orm/projects', 'globex').expect(200);
          assert.deepEqual(acme.body, ['Rocket skates', 'Giant magnet']);
          assert.deepEqual(globex.body, ['World domination']);
        });

        if (testDb.dialect !== 'sqlite') {
          // (On SQLite the one connection is the test's: a second one would wait for it.)
          it('a tenant lookup through a second connection cannot see them: why the lookup goes through the handle', async () => {
            const unscopedLookup = await appWith(testDb.knex());
            const response = await get('/projects', 'acme', unscopedLookup).expect(404);
            assert.equal(response.body.error, 'TENANT_NOT_FOUND');
            assert.deepEqual(await testDb.knex()('projects').pluck('name'), [], 'uncommitted, so invisible');
          });
        }

        it('app code that opens a transaction gets a savepoint: its commit and its rollback hold', async () => {
          const inTransaction: QueryEvent[] = [];
          testTransaction.current().on('query', (query: QueryEvent) => inTransaction.push(query));
          const added = await post('/projects', 'acme', { name: 'Anvil' }).expect(201);
          assert.deepEqual(added.body, ['Rocket skates', 'Giant magnet', 'Anvil']);
          const failed = await post('/projects', 'acme', { name: 'Decoy', fail: true }).expect(500);
          assert.deepEqual(failed.body, { error: 'the app rolled back its own transaction' });
          const after = await get('/projects', 'acme').expect(200);
          assert.deepEqual(after.body, ['Rocket skates', 'Giant magnet', 'Anvil']);
          // globex sees none of it; the test transaction is still the one open.
          assert.deepEqual((await get('/projects', 'globex').expect(200)).body, ['World domination']);
          assert.equal(testTransaction.current().isCompleted(), false);
          const savepoints = inTransaction.map((q) => q.sql).filter((sql) => /savepoint/i.test(sql));
          assert.deepEqual(
            savepoints.map((sql) => sql.replace(/\s*\w+;?$/, '').toUpperCase()),
            ['SAVEPOINT', 'RELEASE SAVEPOINT', 'SAVEPOINT', 'ROLLBACK TO SAVEPOINT'],
          );
          // Stamped with the request's tenant, in the test's transaction.
          const rows = await lifted(() => dbSwitch.knex('projects').orderBy('id').select('tenant_id', 'name'))();
          assert.deepEqual(
            rows.map((row: { tenant_id: number; name: string }) => [Number(row.tenant_id), row.name]),
            [
              [tenantIds.acme, 'Rocket skates'],
              [tenantIds.globex, 'World domination'],
              [tenantIds.acme, 'Giant magnet'],
              [tenantIds.acme, 'Anvil'],
            ],
          );
        });

        it("the previous test's writes are gone, the factory's rows are back", async () => {
          const names = await lifted(() => dbSwitch.knex('projects').orderBy('id').pluck('name'))();
          assert.deepEqual(names, ['Rocket skates', 'World domination', 'Giant magnet']);
          assert.deepEqual((await get('/projects', 'acme').expect(200)).body, ['Rocket skates', 'Giant magnet']);
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
  }
});
