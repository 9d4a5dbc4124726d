// SQL for the fixes, in the dialect of the database that was read.
import type { Dialect } from './live-schema';

export function quote(dialect: Dialect, name: string): string {
  return dialect === 'mysql' ? `\`${name.replaceAll('`', '``')}\`` : `"${name.replaceAll('"', '""')}"`;
}

export function quoteList(dialect: Dialect, names: readonly string[]): string {
  return names.map((n) => quote(dialect, n)).join(', ');
}

/** Knex's own naming (`table_col_index`), cut to the 63 characters PostgreSQL keeps. */
export function indexName(table: string, columns: readonly string[], suffix: 'index' | 'unique' | 'foreign'): string {
  return `${table}_${columns.join('_')}_${suffix}`
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 63);
}

export function createIndex(dialect: Dialect, table: string, columns: readonly string[], unique = false): string {
  const name = indexName(table, columns, unique ? 'unique' : 'index');
  return `CREATE ${unique ? 'UNIQUE ' : ''}INDEX ${quote(dialect, name)} ON ${quote(dialect, table)} (${quoteList(dialect, columns)});`;
}

/** Makes one column unique: a constraint where the table can take one in place, else a unique index. */
export function addUnique(dialect: Dialect, table: string, column: string): string {
  const q = (n: string) => quote(dialect, n);
  const name = q(indexName(table, [column], 'unique'));
  switch (dialect) {
    case 'pg':
      return `ALTER TABLE ${q(table)} ADD CONSTRAINT ${name} UNIQUE (${q(column)});`;
    case 'mysql':
      return `ALTER TABLE ${q(table)} ADD UNIQUE INDEX ${name} (${q(column)});`;
    case 'sqlite':
      // A unique index is a parent key to SQLite as much as a UNIQUE constraint, and needs no rebuild.
      return createIndex(dialect, table, [column], true);
  }
}

export const SQLITE_REBUILD =
  'SQLite cannot change a column type or a table constraint in place: rebuild the table (create the new table, copy the rows, drop the old one, rename the new one; https://www.sqlite.org/lang_altertable.html#otheralter)';

/** Adds a foreign key, replacing `replace` when given; on SQLite, says how to get one (a rebuild). */
export function addForeignKey(
  dialect: Dialect,
  table: string,
  columns: readonly string[],
  refTable: string,
  refColumns: readonly string[],
  replace?: { readonly name: string | null },
): string {
  const q = (n: string) => quote(dialect, n);
  const clause = `FOREIGN KEY (${quoteList(dialect, columns)}) REFERENCES ${q(refTable)} (${quoteList(dialect, refColumns)})`;
  if (dialect === 'sqlite')
    return `${SQLITE_REBUILD}, declaring ${clause}${replace ? ' in place of the old key' : ''}.`;
  // A new name: MySQL keeps the old key's index under the old name after dropping the key.
  const name = indexName(table, columns, 'foreign');
  const drop = replace?.name
    ? `ALTER TABLE ${q(table)} DROP ${dialect === 'mysql' ? 'FOREIGN KEY' : 'CONSTRAINT'} ${q(replace.name)};\n`
    : '';
  return `${drop}ALTER TABLE ${q(table)} ADD CONSTRAINT ${q(name)} ${clause};`;
}
