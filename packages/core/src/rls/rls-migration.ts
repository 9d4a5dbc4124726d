// A Knex migration that installs (up) or removes (down) the policies of rlsPolicySql(), with each
// key column cast to its real type, read from the database.
import type { Knex } from 'knex';
import type { TablePolicy } from '../table-paths';
import type { RlsConfig } from './rls-options';
import { type RlsPolicySqlOptions, rlsDropSql, rlsPolicySql } from './rls-policy-sql';

export interface RlsMigration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/** The types of the tables' direct key columns, as `'table.column' → type`. */
async function columnTypes(
  knex: Knex,
  policies: ReadonlyMap<string, TablePolicy>,
  schema: string | undefined,
): Promise<Record<string, string>> {
  const wanted = [...policies.values()].flatMap((p) =>
    p.rules.flatMap((r) => (r.kind === 'direct' ? [[p.table, r.column] as const] : [])),
  );
  const types: Record<string, string> = {};
  if (wanted.length === 0) return types;
  const result = (await knex.raw(
    `select c.relname as tbl, a.attname as col, format_type(a.atttypid, null) as type
       from pg_attribute a
       join pg_class c on c.oid = a.attrelid
       join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = coalesce(?, current_schema()) and a.attnum > 0 and not a.attisdropped
        and c.relname = any(?)`,
    [schema ?? null, [...new Set(wanted.map(([t]) => t))]],
  )) as { rows: Array<{ tbl: string; col: string; type: string }> };
  for (const row of result.rows) types[`${row.tbl}.${row.col}`] = row.type;
  return types;
}

export function rlsMigration(
  policies: ReadonlyMap<string, TablePolicy>,
  rls: RlsConfig,
  options: RlsPolicySqlOptions = {},
): RlsMigration {
  return Object.freeze({
    async up(knex: Knex): Promise<void> {
      const found = await columnTypes(knex, policies, options.schema);
      const statements = rlsPolicySql(policies, rls, { ...options, types: { ...found, ...options.types } });
      for (const statement of statements) await knex.raw(statement);
    },
    async down(knex: Knex): Promise<void> {
      for (const statement of rlsDropSql(policies, options)) await knex.raw(statement);
    },
  });
}
