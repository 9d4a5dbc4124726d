// Issue 23: through PgBouncer in transaction pooling mode (a server connection is lent for one
// transaction only), 400 concurrent requests over many tenants: with the bridge not one request
// sees a row of another tenant, and no server connection keeps a tenant afterwards. A negative
// control shows the test can see a leak: a session-level setting leaks through the same pooler.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { scope, trustRaw } from '@knex-scopes/core';
import knex, { type Knex } from 'knex';
import { forEachDialect } from '../../../../test/support/databases';
import { describeWithPgBouncer, type PgBouncer } from '../../../../test/support/pgbouncer';
import { SETTING, scopes } from './rls-fixture';

const TENANTS = 25;
const REQUESTS = 400;
const APPS = 4; // app processes, each with its own Knex pool
const POOL = 4; // client connections per app; PgBouncer lends them 2 server connections in all

describeWithPgBouncer('RLS bridge through PgBouncer (transaction pooling)', (startPgBouncer) => {
  forEachDialect('400 concurrent requests', (tdb) => {
    if (tdb.dialect !== 'pg') return;
    const role = `ks_rls_pgb_${randomBytes(4).toString('hex')}`;
    let owner: Knex;
    let bouncer: PgBouncer | undefined;
    const apps: Knex[] = [];

    before(async function () {
      this.timeout(60_000);
      owner = tdb.knex();
      await owner.schema.createTable('tenants', (t) => t.integer('id').primary());
      await owner.schema.createTable('items', (t) => {
        t.integer('id').primary();
        t.integer('tenant_id').notNullable().references('tenants.id').index();
      });
      await owner.schema.createTable('notes', (t) => {
        t.integer('id').primary();
        t.integer('item_id').notNullable().references('items.id');
      });
      await owner.schema.createTable('plans', (t) => t.integer('id').primary());
      const tenants = Array.from({ length: TENANTS }, (_, i) => i + 1);
      await owner('tenants').insert(tenants.map((id) => ({ id })));
      const items = tenants.flatMap((t) => [1, 2, 3].map((n) => ({ id: 100 * t + n, tenant_id: t })));
      await owner('items').insert(items);
      await owner('notes').insert(items.map((i) => ({ id: i.id, item_id: i.id })));
      await scopes.rlsMigration().up(owner);
      await owner.raw(`create role ${role} login nosuperuser nobypassrls`);
      await owner.raw(`grant select, insert, update, delete on all tables in schema public to ${role}`);
      const server = tdb.config().connection as { host: string; port: number; password?: string };
      bouncer = await startPgBouncer({ host: server.host, port: server.port, users: [{ name: role }], poolSize: 2 });
      for (let i = 0; i < APPS; i++) {
        apps.push(
          knex({
            client: 'pg',
            connection: { host: bouncer.host, port: bouncer.port, user: role, database: tdb.database() },
            pool: { min: 0, max: POOL },
          }),
        );
      }
    });

    after(async () => {
      await Promise.all(apps.map((a) => a.destroy()));
      await bouncer?.stop(); // before the suite's database is dropped
      await owner.raw(`drop owned by ${role}`);
      await owner.raw(`drop role ${role}`);
    });

    /** Runs `request(tenant, app, i)` 400 times at once, tenants round robin; returns the wrong answers. */
    async function storm(request: (tenant: number, app: Knex, i: number) => Promise<number[]>): Promise<string[]> {
      const wrong: string[] = [];
      await Promise.all(
        Array.from({ length: REQUESTS }, async (_, i) => {
          const tenant = 1 + ((i * 7) % TENANTS);
          const app = apps[i % APPS] as Knex;
          const seen = await request(tenant, app, i);
          const others = seen.filter((t) => t !== tenant);
          if (others.length > 0 || seen.length === 0)
            wrong.push(`request ${i} (tenant ${tenant}) saw ${JSON.stringify(seen)}`);
        }),
      );
      return wrong;
    }

    const tenantsOf = (result: unknown) =>
      (result as { rows: Array<{ tenant_id: number }> }).rows.map((r) => r.tenant_id);

    it(`with the bridge: 0 wrong-tenant results out of ${REQUESTS} (autocommit, transactions, streams of raw and built queries)`, async function () {
      this.timeout(60_000);
      const dbs = apps.map((a) => scopes.wrap(a));
      const wrong = await storm((tenant, app, i) =>
        scope({ tenant }, async () => {
          const db = dbs[apps.indexOf(app)] as Knex;
          const seen: number[] = [];
          switch (i % 4) {
            case 0: // autocommit raw statements with awaits in between
              seen.push(...tenantsOf(await trustRaw(db.raw('select tenant_id from items'))));
              await tick();
              seen.push(
                ...tenantsOf(
                  await trustRaw(db.raw('select i.tenant_id from notes n join items i on i.id = n.item_id')),
                ),
              );
              break;
            case 1: // a per-request transaction
              await db.transaction(async (trx) => {
                seen.push(...tenantsOf(await trustRaw(trx.raw('select tenant_id from items'))));
                await tick();
                seen.push(...(await trx('items').select('tenant_id')).map((r) => r.tenant_id as number));
              });
              break;
            case 2: // the query builder, and a global table in between
              await db('plans').select('id');
              seen.push(...(await db('items').select('tenant_id')).map((r) => r.tenant_id as number));
              break;
            default: {
              // a stream (a cursor on a transaction of its own)
              const rows: number[] = [];
              const stream = (trustRaw(db.raw('select tenant_id from items')) as unknown as Knex.Raw).stream();
              for await (const row of stream) rows.push((row as { tenant_id: number }).tenant_id);
              seen.push(...rows);
            }
          }
          return seen;
        }),
      );
      assert.deepEqual(wrong, [], `${wrong.length} of ${REQUESTS} requests saw another tenant's rows or none`);

      // and no server connection kept a tenant: unscoped statements through the pooler see nothing
      const plain = apps[0] as Knex;
      const leftovers = await Promise.all(
        Array.from({ length: 20 }, async () => {
          const [{ n, setting }] = (
            await plain.raw(`select count(*)::int as n, current_setting('${SETTING}', true) as setting from items`)
          ).rows;
          return { n, setting };
        }),
      );
      for (const { n, setting } of leftovers) {
        assert.equal(n, 0);
        assert.ok(setting === null || setting === '', `a server connection carries ${setting}`);
      }
    });

    it('negative control: a session-level setting through the same pooler gives requests another tenant', async function () {
      this.timeout(60_000);
      const wrong = await storm(async (tenant, app) => {
        const value = JSON.stringify({ enabled: true, values: { tenant: [String(tenant)] } });
        await app.raw('select set_config(?, ?, false)', [SETTING, value]);
        await tick();
        return tenantsOf(await app.raw('select tenant_id from items'));
      });
      console.log(
        `      (session-level setting: ${wrong.length} of ${REQUESTS} requests saw another tenant or nothing)`,
      );
      assert.ok(wrong.length > 0, 'the session-level strategy did not leak: the test cannot tell a leak');
    });
  });
});
