// PostgreSQL: pg_catalog (information_schema hides constraints of tables the role does not own,
// and has no word for partial or expression indexes).
import type { Knex } from 'knex';
import type { LiveColumn, LiveForeignKey, LiveIndex, LiveSchema, LiveTable } from './live-schema';
import { flag, groupBy, type Row, rowsOf, text, textArray } from './rows';

export async function pgQuery(knex: Knex, sql: string, bindings: readonly string[] = []): Promise<Row[]> {
  return rowsOf(await knex.raw(sql, bindings));
}

/** The schema to check: the option, else the connection's current schema (search_path). */
export async function pgSchema(knex: Knex, schema: string | undefined): Promise<string> {
  if (schema) return schema;
  const [row] = await pgQuery(knex, 'select current_schema() as schema');
  if (!row || row.schema === null) throw new Error('PostgreSQL has no current schema (search_path is empty)');
  return text(row, 'schema');
}

// Ordinary and partitioned tables; partitions are left out (they follow their parent's declaration).
const TABLES = `from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where n.nspname = ? and c.relkind in ('r', 'p') and not c.relispartition`;

export async function introspectPg(knex: Knex, schemaOption?: string): Promise<LiveSchema> {
  const schema = await pgSchema(knex, schemaOption);
  const names = await pgQuery(knex, `select c.relname as name ${TABLES} order by c.relname`, [schema]);
  const columns = groupBy(
    await pgQuery(
      knex,
      `select c.relname as tbl, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
        not a.attnotnull as nullable
      from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ? and c.relkind in ('r', 'p') and a.attnum > 0 and not a.attisdropped
      order by c.relname, a.attnum`,
      [schema],
    ),
    (r) => text(r, 'tbl'),
  );
  const foreignKeys = groupBy(
    await pgQuery(
      knex,
      `select c.relname as tbl, k.conname as name, rc.relname as ref_table,
        array(select a.attname::text from unnest(k.conkey) with ordinality u(num, ord)
          join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.num order by u.ord) as columns,
        array(select a.attname::text from unnest(k.confkey) with ordinality u(num, ord)
          join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.num order by u.ord) as ref_columns
      from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace
        join pg_class rc on rc.oid = k.confrelid
      where k.contype = 'f' and n.nspname = ?
      order by c.relname, k.conname`,
      [schema],
    ),
    (r) => text(r, 'tbl'),
  );
  const indexes = groupBy(
    await pgQuery(
      knex,
      `select c.relname as tbl, i.relname as name, x.indisunique as is_unique, x.indisprimary as is_primary,
        x.indpred is not null as is_partial,
        exists (select 1 from pg_constraint k where k.conindid = x.indexrelid and k.conrelid = x.indrelid
          and k.contype in ('u', 'p')) as is_constraint,
        array(select a.attname::text from unnest(x.indkey::int2[]) with ordinality u(num, ord)
          left join pg_attribute a on a.attrelid = x.indrelid and a.attnum = u.num
          where u.ord <= x.indnkeyatts order by u.ord) as columns
      from pg_index x join pg_class c on c.oid = x.indrelid join pg_class i on i.oid = x.indexrelid
        join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ? and c.relkind in ('r', 'p')
      order by c.relname, i.relname`,
      [schema],
    ),
    (r) => text(r, 'tbl'),
  );

  const tables = names.map((row): LiveTable => {
    const name = text(row, 'name');
    const tableIndexes = (indexes.get(name) ?? []).map(
      (r): LiveIndex => ({
        name: text(r, 'name'),
        columns: textArray(r, 'columns'),
        unique: flag(r, 'is_unique'),
        primary: flag(r, 'is_primary'),
        constraint: flag(r, 'is_constraint'),
        partial: flag(r, 'is_partial'),
      }),
    );
    return {
      name,
      columns: (columns.get(name) ?? []).map(
        (r): LiveColumn => ({ name: text(r, 'name'), type: text(r, 'type'), nullable: flag(r, 'nullable') }),
      ),
      primaryKey: (tableIndexes.find((i) => i.primary)?.columns ?? []).filter((c): c is string => c !== null),
      foreignKeys: (foreignKeys.get(name) ?? []).map(
        (r): LiveForeignKey => ({
          name: text(r, 'name'),
          columns: textArray(r, 'columns').map(String),
          refTable: text(r, 'ref_table'),
          refColumns: textArray(r, 'ref_columns').map(String),
        }),
      ),
      indexes: tableIndexes,
    };
  });
  return { dialect: 'pg', schema, tables };
}
