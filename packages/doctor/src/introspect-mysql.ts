// MySQL and MariaDB: information_schema. Every column is aliased in lower case, because the
// servers disagree on the case of information_schema's own column names.
import type { Knex } from 'knex';
import type { LiveIndex, LiveSchema, LiveTable } from './live-schema';
import { flag, groupBy, num, optionalText, type Row, rowsOf, text } from './rows';

async function query(knex: Knex, sql: string, bindings: readonly string[]): Promise<Row[]> {
  return rowsOf(await knex.raw(sql, bindings));
}

export async function introspectMysql(knex: Knex, schemaOption?: string): Promise<LiveSchema> {
  let schema = schemaOption;
  if (!schema) {
    const [row] = await query(knex, 'select database() as db', []);
    if (!row || row.db === null) throw new Error('the MySQL connection has no database selected');
    schema = text(row, 'db');
  }
  const names = await query(
    knex,
    `select table_name as tbl from information_schema.tables
    where table_schema = ? and table_type = 'BASE TABLE' order by table_name`,
    [schema],
  );
  const columns = groupBy(
    await query(
      knex,
      `select table_name as tbl, column_name as col, column_type as type, is_nullable as nullable
      from information_schema.columns where table_schema = ? order by table_name, ordinal_position`,
      [schema],
    ),
    (r) => text(r, 'tbl'),
  );
  const fkColumns = groupBy(
    await query(
      knex,
      `select table_name as tbl, constraint_name as name, column_name as col,
        referenced_table_name as ref_table, referenced_column_name as ref_col
      from information_schema.key_column_usage
      where table_schema = ? and referenced_table_name is not null
      order by table_name, constraint_name, ordinal_position`,
      [schema],
    ),
    (r) => text(r, 'tbl'),
  );
  const indexColumns = groupBy(
    await query(
      knex,
      `select table_name as tbl, index_name as name, non_unique, column_name as col
      from information_schema.statistics where table_schema = ?
      order by table_name, index_name, seq_in_index`,
      [schema],
    ),
    (r) => text(r, 'tbl'),
  );

  const tables = names.map((row): LiveTable => {
    const name = text(row, 'tbl');
    const indexes = [...groupBy(indexColumns.get(name) ?? [], (r) => text(r, 'name')).entries()].map(
      ([indexName, rows]): LiveIndex => ({
        name: indexName,
        // A functional key part (MySQL 8) has no column name.
        columns: rows.map((r) => optionalText(r, 'col')),
        unique: num(rows[0] as Row, 'non_unique') === 0,
        primary: indexName === 'PRIMARY',
        constraint: indexName === 'PRIMARY',
        partial: false,
      }),
    );
    return {
      name,
      columns: (columns.get(name) ?? []).map((r) => ({
        name: text(r, 'col'),
        type: text(r, 'type'),
        nullable: flag(r, 'nullable'),
      })),
      primaryKey: (indexes.find((i) => i.primary)?.columns ?? []).filter((c): c is string => c !== null),
      foreignKeys: [...groupBy(fkColumns.get(name) ?? [], (r) => text(r, 'name')).entries()].map(([fkName, rows]) => ({
        name: fkName,
        columns: rows.map((r) => text(r, 'col')),
        refTable: text(rows[0] as Row, 'ref_table'),
        refColumns: rows.map((r) => text(r, 'ref_col')),
      })),
      indexes,
    };
  });
  return { dialect: 'mysql', schema, tables };
}
