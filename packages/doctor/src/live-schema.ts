// What the doctor reads from the database, the same shape for every dialect.

export type Dialect = 'sqlite' | 'pg' | 'mysql';

export interface LiveColumn {
  readonly name: string;
  /** The type as the database prints it (`integer`, `character varying(255)`, `int(10) unsigned`). */
  readonly type: string;
  readonly nullable: boolean;
}

export interface LiveForeignKey {
  /** The constraint's name; SQLite's are often unnamed. */
  readonly name: string | null;
  readonly columns: readonly string[];
  readonly refTable: string;
  readonly refColumns: readonly string[];
}

export interface LiveIndex {
  readonly name: string;
  /** Key columns in order; `null` for an expression. */
  readonly columns: readonly (string | null)[];
  readonly unique: boolean;
  readonly primary: boolean;
  /**
   * Backs a UNIQUE or PRIMARY KEY constraint of the table: it is dropped with the constraint
   * (PostgreSQL) or only by rebuilding the table (SQLite), not with DROP INDEX.
   */
  readonly constraint: boolean;
  /** Has a WHERE clause. */
  readonly partial: boolean;
}

export interface LiveTable {
  readonly name: string;
  readonly columns: readonly LiveColumn[];
  readonly primaryKey: readonly string[];
  readonly foreignKeys: readonly LiveForeignKey[];
  /** Every index, the primary key's included (SQLite's rowid key gets a synthetic entry). */
  readonly indexes: readonly LiveIndex[];
}

export interface LiveSchema {
  readonly dialect: Dialect;
  /** PostgreSQL's schema, MySQL's database, SQLite's `main`. */
  readonly schema: string;
  readonly tables: readonly LiveTable[];
}

/** Names are compared case-insensitively, as the core compares table names. */
export const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

export function findTable(schema: LiveSchema, name: string): LiveTable | undefined {
  return schema.tables.find((t) => same(t.name, name));
}

export function findColumn(table: LiveTable, name: string): LiveColumn | undefined {
  return table.columns.find((c) => same(c.name, name));
}

/** The foreign key of `table` that maps `column` to `refTable.refColumn`, composite ones included. */
export function findForeignKey(
  table: LiveTable,
  column: string,
  refTable: string,
  refColumn: string,
): LiveForeignKey | undefined {
  return table.foreignKeys.find((fk) => same(fk.refTable, refTable) && mapsColumn(fk, column, refColumn));
}

/** Whether the key maps `column` to `refColumn` at the same position. */
export function mapsColumn(fk: LiveForeignKey, column: string, refColumn: string): boolean {
  return fk.columns.some((c, i) => same(c, column) && same(fk.refColumns[i] ?? '', refColumn));
}

/** The table's primary key is exactly this one column (the tenant table declared `{ tenant: 'id' }`). */
export function isWholePrimaryKey(table: LiveTable, column: string): boolean {
  return table.primaryKey.length === 1 && same(table.primaryKey[0] ?? '', column);
}
