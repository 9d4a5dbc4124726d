// What the RLS suites share: a schema with a direct tenant column and an FK path, the policies
// of rlsPolicySql() installed by the owner, and an app role that is not the owner, not a
// superuser and has no BYPASSRLS, connecting through the scoped instance.
import { randomBytes } from 'node:crypto';
import { defineScopes, type Scopes } from '@knex-scopes/core';
import knex, { type Knex } from 'knex';
import type { TestDb } from '../../../../test/support/databases';

export const SETTING = 'knex_scopes.scope';

export const TABLES = {
  tenants: { tenant: 'id' },
  items: { tenant: 'tenant_id' },
  notes: { tenant: 'item_id -> items.tenant_id' },
} as const;

export const scopes: Scopes = defineScopes({ tables: TABLES, rls: { setting: SETTING } });

/** tenants 1..3; items 10·t + 1, 10·t + 2 of tenant t; one note per item (id = 10·item). */
export async function createSchema(owner: Knex): Promise<void> {
  await owner.schema.createTable('tenants', (t) => t.integer('id').primary());
  await owner.schema.createTable('items', (t) => {
    t.integer('id').primary();
    t.integer('tenant_id').notNullable().references('tenants.id').index();
    t.string('name');
  });
  await owner.schema.createTable('notes', (t) => {
    t.integer('id').primary();
    t.integer('item_id').notNullable().references('items.id').index();
    t.string('body');
  });
  // a global table: not declared, no policy
  await owner.schema.createTable('plans', (t) => {
    t.integer('id').primary();
    t.string('name');
  });
  await owner('tenants').insert([{ id: 1 }, { id: 2 }, { id: 3 }]);
  const items = [1, 2, 3].flatMap((tenant) =>
    [1, 2].map((n) => ({ id: 10 * tenant + n, tenant_id: tenant, name: `t${tenant}-${n}` })),
  );
  await owner('items').insert(items);
  await owner('notes').insert(items.map((i) => ({ id: 10 * i.id, item_id: i.id, body: `note of ${i.name}` })));
  await owner('plans').insert([{ id: 1, name: 'free' }]);
}

export interface AppRole {
  readonly name: string;
  /** A plain Knex connected as the app role (no scopes, no bridge). */
  readonly base: Knex;
  /** The scoped instance with the bridge, on `base`'s pool. */
  readonly db: Knex;
  /** Another base + scoped pair as the app role, with its own config. */
  connect(config?: Partial<Knex.Config>): { base: Knex; db: Knex };
  drop(): Promise<void>;
}

/** Creates a login role that is not the owner, not a superuser and has no BYPASSRLS. */
export async function createAppRole(tdb: TestDb, owner: Knex, config: Partial<Knex.Config> = {}): Promise<AppRole> {
  const name = `ks_rls_app_${randomBytes(4).toString('hex')}`;
  await owner.raw(`create role ${name} login nosuperuser nobypassrls noinherit`);
  await owner.raw(`grant select, insert, update, delete on all tables in schema public to ${name}`);
  await owner.raw(`grant usage on all sequences in schema public to ${name}`);
  const opened: Knex[] = [];
  const connect = (extra: Partial<Knex.Config> = {}) => {
    const base = tdb.config();
    const instance = knex({
      ...base,
      ...config,
      ...extra,
      connection: { ...(base.connection as object), user: name, ...((extra.connection as object) ?? {}) },
    });
    opened.push(instance);
    return { base: instance, db: scopes.wrap(instance) };
  };
  const first = connect();
  return {
    name,
    base: first.base,
    db: first.db,
    connect,
    async drop() {
      await Promise.all(opened.map((k) => k.destroy()));
      await owner.raw(`drop owned by ${name}`);
      await owner.raw(`drop role ${name}`);
    },
  };
}

export const ids = (rows: ReadonlyArray<{ id: number }>) => rows.map((r) => r.id).sort((a, b) => a - b);

/** Rows of a raw pg result. */
export const rowsOf = <T>(result: unknown): T[] => (result as { rows: T[] }).rows;

export const RLS_ERROR = /new row violates row-level security policy/;
