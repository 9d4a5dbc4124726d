// What the installed Knex release compiles, for the generators: the fuzzer runs against every
// supported release (scripts/test-knex.sh), and the shapes differ between them. Probed, not read
// off the version, like core's own (core/src/knex/compiler-quirks.ts).
import knex, { type Knex } from 'knex';

interface Compiled {
  bindings?: readonly unknown[];
}

function compile(client: string, build: (k: Knex) => { toSQL(): unknown }): Compiled[] | undefined {
  const k = knex({ client, useNullAsDefault: true });
  try {
    const compiled = build(k).toSQL() as Compiled | Compiled[];
    return Array.isArray(compiled) ? compiled : [compiled];
  } catch {
    return undefined;
  } finally {
    void k.destroy();
  }
}

/** MySQL's `upsert()` (REPLACE INTO): Knex 3.1.0 and later; before, the builder throws. */
export const MYSQL_UPSERT =
  compile('mysql2', (k) => (k('t') as unknown as { upsert(v: object): Knex.QueryBuilder }).upsert({ a: 1 })) !==
  undefined;

/**
 * A multi-row SQLite `onConflict().merge().where()` keeps its WHERE: Knex 3.3.0 and later
 * (knex#6185). Before, core refuses such an upsert when it must guard it, as the guard would be lost.
 */
export const SQLITE_MULTI_ROW_MERGE_WHERE = (
  compile('better-sqlite3', (k) =>
    k('t')
      .insert([{ a: 1 }, { a: 2 }])
      .onConflict('a')
      .merge()
      .where('b', 7_301_002),
  ) ?? []
).some((q) => q.bindings?.includes(7_301_002));
