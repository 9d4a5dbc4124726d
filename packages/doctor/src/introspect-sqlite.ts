// SQLite: sqlite_master and the table-valued pragma functions.
import type { Knex } from 'knex';
import type { LiveForeignKey, LiveIndex, LiveSchema, LiveTable } from './live-schema';
import { flag, groupBy, num, optionalText, type Row, rowsOf, text } from './rows';

async function query(knex: Knex, sql: string, bindings: readonly string[] = []): Promise<Row[]> {
  return rowsOf(await knex.raw(sql, bindings));
}

export async function introspectSqlite(knex: Knex): Promise<LiveSchema> {
  const names = await query(
    knex,
    "select name from sqlite_master where type = 'table' and name not like 'sqlite\\_%' escape '\\' order by name",
  );
  const tables: LiveTable[] = [];
  for (const row of names) tables.push(await readTable(knex, text(row, 'name')));
  return { dialect: 'sqlite', schema: 'main', tables: tables.map((t) => resolveImplicitKeys(t, tables)) };
}

async function readTable(knex: Knex, name: string): Promise<LiveTable> {
  const info = await query(knex, 'select * from pragma_table_info(?) order by cid', [name]);
  const columns = info.map((r) => ({
    name: text(r, 'name'),
    type: optionalText(r, 'type') ?? '',
    // SQLite lets a primary key column hold NULL unless it is the rowid; close enough here.
    nullable: !flag(r, 'notnull') && num(r, 'pk') === 0,
  }));
  const primaryKey = info
    .filter((r) => num(r, 'pk') > 0)
    .sort((a, b) => num(a, 'pk') - num(b, 'pk'))
    .map((r) => text(r, 'name'));

  const fkRows = await query(knex, 'select * from pragma_foreign_key_list(?) order by id, seq', [name]);
  const foreignKeys: LiveForeignKey[] = [...groupBy(fkRows, (r) => text(r, 'id')).values()].map((rows) => ({
    name: null,
    columns: rows.map((r) => text(r, 'from')),
    refTable: text(rows[0] as Row, 'table'),
    // An empty `to` means "the parent's primary key", filled in by resolveImplicitKeys().
    refColumns: rows.map((r) => optionalText(r, 'to') ?? ''),
  }));

  const indexes: LiveIndex[] = [];
  if (primaryKey.length > 0) {
    // Also stands for the rowid of an INTEGER PRIMARY KEY, which has no index of its own.
    indexes.push({
      name: 'PRIMARY KEY',
      columns: primaryKey,
      unique: true,
      primary: true,
      constraint: true,
      partial: false,
    });
  }
  for (const idx of await query(knex, 'select * from pragma_index_list(?) order by seq', [name])) {
    const origin = text(idx, 'origin');
    if (origin === 'pk') continue;
    const keyRows = await query(knex, 'select * from pragma_index_info(?) order by seqno', [text(idx, 'name')]);
    indexes.push({
      name: text(idx, 'name'),
      columns: keyRows.map((r) => optionalText(r, 'name')),
      unique: flag(idx, 'unique'),
      primary: false,
      constraint: origin === 'u',
      partial: flag(idx, 'partial'),
    });
  }
  return { name, columns, primaryKey, foreignKeys, indexes };
}

function resolveImplicitKeys(table: LiveTable, all: readonly LiveTable[]): LiveTable {
  if (!table.foreignKeys.some((fk) => fk.refColumns.includes(''))) return table;
  const foreignKeys = table.foreignKeys.map((fk) => {
    if (!fk.refColumns.includes('')) return fk;
    const parent = all.find((t) => t.name.toLowerCase() === fk.refTable.toLowerCase());
    return { ...fk, refColumns: fk.refColumns.map((c, i) => c || (parent?.primaryKey[i] ?? '')) };
  });
  return { ...table, foreignKeys };
}
