// Issue 23: Objection models bound to the scoped instance go through the bridge like any query,
// their raw escape hatches included.
import assert from 'node:assert/strict';
import { scope, trustRaw } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { Model } from 'objection';
import { forEachDialect } from '../../../../test/support/databases';
import { type AppRole, createAppRole, createSchema, ids, RLS_ERROR, scopes } from './rls-fixture';

class Item extends Model {
  static override tableName = 'items';
  declare id: number;
  declare tenant_id: number;
  declare name: string;
  static override get relationMappings() {
    return {
      notes: { relation: Model.HasManyRelation, modelClass: Note, join: { from: 'items.id', to: 'notes.item_id' } },
    };
  }
}

class Note extends Model {
  static override tableName = 'notes';
  declare id: number;
  declare item_id: number;
}

forEachDialect('RLS bridge: Objection models bound to the scoped instance', (tdb) => {
  if (tdb.dialect !== 'pg') return;
  let app: AppRole;
  let owner: Knex;
  let BoundItem: typeof Item;

  before(async () => {
    owner = tdb.knex();
    await createSchema(owner);
    await scopes.rlsMigration().up(owner);
    app = await createAppRole(tdb, owner);
    BoundItem = Item.bindKnex(app.db);
  });
  after(async () => {
    await app?.drop();
  });

  it('reads, eager loads and raw queries (trustRaw) see only the scope', async () => {
    await scope({ tenant: 2 }, async () => {
      assert.deepEqual(ids(await BoundItem.query()), [21, 22]);
      const withNotes = await BoundItem.query().withGraphFetched('notes').orderBy('id');
      assert.deepEqual(
        withNotes.map((i) => (i as Item & { notes: Note[] }).notes.map((n) => n.id)),
        [[210], [220]],
      );
      const raw = await trustRaw(BoundItem.knex().raw('select id from items'));
      assert.deepEqual(ids((raw as { rows: Array<{ id: number }> }).rows), [21, 22]);
      // a raw fragment vouched for inside an Objection query
      const leaked = await BoundItem.query().select(
        'id',
        trustRaw(app.db.raw('(select count(*) from items) as n')) as never,
      );
      assert.deepEqual(
        leaked.map((r) => Number((r as unknown as { n: string }).n)),
        [2, 2],
      );
    });
  });

  it('writes in a transaction of the bound knex: other tenants refused by the database, rollback undone', async () => {
    await scope({ tenant: 1 }, () =>
      assert.rejects(
        Model.transaction(app.db, async (trx) => {
          await BoundItem.query(trx).insert({ id: 15, name: 'obj' });
          assert.deepEqual(ids(await BoundItem.query(trx)), [11, 12, 15]);
          await trustRaw(trx.raw("insert into items (id, tenant_id, name) values (16, 2, 'x')"));
        }),
        RLS_ERROR,
      ),
    );
    assert.deepEqual(ids(await owner('items').select('id')), [11, 12, 21, 22, 31, 32]);
  });
});
