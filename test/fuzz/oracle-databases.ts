// The databases of one dialect's fuzz run: the full database (every tenant), scoped through
// knex-scopes, and one oracle database per oracle scope holding only the rows visible in that
// scope (plus the unscoped tables), queried with no scoping at all.
//
// Oracles are separate databases (a file per oracle on SQLite, `CREATE DATABASE` on the
// servers) rather than schemas or table prefixes: the same table names, the same AST and the
// same SQL run on both sides, and nothing in the scoped declaration has to change.
import { rmSync } from 'node:fs';
import { defineScopes } from '@knex-scopes/core';
import knex, { type Knex } from 'knex';
import type { TestDb } from '../support/databases';
import { withoutDerivedPushdown } from './server-quirks';
import { DECLARATION, ORACLE_SCOPES, type OracleScope, seedFor, TABLES } from './world';

export interface Oracle {
  readonly scope: OracleScope;
  readonly knex: Knex;
}

export interface FuzzDatabases {
  readonly dialect: TestDb['dialect'];
  /** The full database, unscoped (for snapshots and drift checks). */
  readonly base: Knex;
  /** The same database through knex-scopes. */
  readonly scoped: Knex;
  /**
   * MySQL only: `scoped` again, on connections with the optimisation off that a server quirk
   * needs off (server-quirks.ts), to rerun a read that failed with that quirk's error.
   */
  readonly scopedRerun?: Knex;
  /** The same database through knex-scopes with `colocateJoins` (compared in one-key scopes). */
  readonly colocated: Knex;
  readonly oracles: readonly Oracle[];
  close(): Promise<void>;
}

/** Creates the world's tables and fills them with the rows `scope` sees (all without a scope). */
export async function createWorld(db: Knex, scope?: OracleScope): Promise<void> {
  await createTables(db);
  await fill(db, scope);
}

async function createTables(db: Knex): Promise<void> {
  for (const table of TABLES) {
    await db.schema.createTable(table.name, (t) => {
      for (const c of table.columns) {
        const column = c.ty === 'int' ? t.integer(c.name) : t.string(c.name, 40);
        if (c.nullable) column.nullable();
        else column.notNullable();
      }
      t.primary([...table.key]);
      for (const fk of table.fks) t.foreign(fk.column).references(`${fk.table}.${fk.ref}`);
    });
  }
}

async function fill(db: Knex, scope: OracleScope | undefined): Promise<void> {
  const data = seedFor(scope);
  for (const table of TABLES) {
    const rows = data[table.name] ?? [];
    if (rows.length > 0) await db(table.name).insert(rows);
  }
}

const quiet = { warn: () => {}, error: () => {}, debug: () => {}, deprecate: () => {} };

/** Another database beside the suite's one, with a config of its own. */
async function sibling(testDb: TestDb, suffix: string): Promise<{ config: Knex.Config; drop(): Promise<void> }> {
  const config = testDb.config();
  const admin = testDb.knex();
  if (testDb.dialect === 'sqlite') {
    const filename = `${(config.connection as { filename: string }).filename}.${suffix}`;
    return {
      config: { ...config, connection: { filename } },
      drop: async () => {
        for (const end of ['', '-journal', '-wal', '-shm']) rmSync(`${filename}${end}`, { force: true });
      },
    };
  }
  const name = `${testDb.database()}_${suffix}`;
  if (testDb.dialect === 'pg') await admin.raw('create database ??', [name]);
  else await admin.raw('create database ?? character set utf8mb4 collate utf8mb4_unicode_ci', [name]);
  return {
    config: {
      ...config,
      connection: { ...(config.connection as object), database: name },
      pool: { min: 0, max: 3 },
    },
    drop: async () => {
      await admin.raw(
        testDb.dialect === 'pg' ? 'drop database if exists ?? with (force)' : 'drop database if exists ??',
        [name],
      );
    },
  };
}

export type Declaration = Parameters<typeof defineScopes>[0]['tables'];

/**
 * Creates and seeds the full database (the suite's own) and the oracle databases beside it.
 * `declaration` replaces the real one, to prove the oracle notices a weakened library.
 */
export async function openFuzzDatabases(
  testDb: TestDb,
  declaration: Declaration = DECLARATION,
): Promise<FuzzDatabases> {
  const base = testDb.knex();
  const drops: Array<() => Promise<void>> = [];
  const opened: Knex[] = [];
  const close = async () => {
    for (const db of opened) await db.destroy();
    for (const drop of drops) await drop();
    for (const table of [...TABLES].reverse()) await base.schema.dropTableIfExists(table.name);
  };
  try {
    await createWorld(base);
    const scopes = defineScopes({ tables: declaration });
    const scoped = scopes.wrap(base);
    const colocated = defineScopes({ tables: declaration, colocateJoins: 'tenant' }).wrap(base);
    let scopedRerun: Knex | undefined;
    if (testDb.dialect === 'mysql') {
      const rerun = knex({ ...withoutDerivedPushdown(testDb.config()), log: quiet });
      opened.push(rerun);
      scopedRerun = scopes.wrap(rerun);
    }
    const oracles: Oracle[] = [];
    for (const [i, scope] of ORACLE_SCOPES.entries()) {
      const { config, drop } = await sibling(testDb, `o${i}`);
      drops.push(drop);
      const db = knex({ ...config, log: quiet });
      opened.push(db);
      await createWorld(db, scope);
      oracles.push({ scope, knex: db });
    }
    return {
      dialect: testDb.dialect,
      base,
      scoped,
      colocated,
      ...(scopedRerun ? { scopedRerun } : {}),
      oracles,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
