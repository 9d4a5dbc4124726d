// Generators of writes: insert, upsert, insert … select, update (with increments), delete, with
// payloads that mix the scope's own keys, other tenants' keys, missing and dangling ones; and
// the write shapes of issue 21: explicit merge values and MySQL's REPLACE INTO (c1), scope
// columns named in another letter case (c2), raw insert bodies and raw key values (c3), raw
// values and returning(raw) (c4).
import type { ColRef, Conflict, Payload, Returning, Write, WriteJoin, WVal } from './ast';
import type { Gen } from './gen-context';
import { keyRaw, returningRaw, writtenRaw } from './gen-raw';
import { genSelect, genWhere } from './gen-read';
import { drawSqlString, type SqlStringSlot, sqlStringValue } from './gen-sql-string';
import { MYSQL_UPSERT, SQLITE_MULTI_ROW_MERGE_WHERE } from './knex-release';
import { DECLARATION, RELATIONS, SCOPED_TABLES, type Scalar, SEED, TABLE, TABLES, type TableDef } from './world';

/** Ids no seeded row has, for inserts (inserts always carry their keys: no sequences to drift). */
const FRESH_ID = 7000;
const USERS = ['u1', 'u2', 'u3'];

const WRITE_TABLES = [...SCOPED_TABLES, ...SCOPED_TABLES, 'tags', 'statuses', 'audit'];
const UNSCOPED_WRITE_TABLES = ['tags', 'statuses', 'audit'];

/** The column's role in the scope declaration. */
export function role(table: string, column: string): 'direct' | 'path' | undefined {
  const decl = (DECLARATION as Record<string, Record<string, string>>)[table];
  for (const rule of Object.values(decl ?? {})) {
    if (rule === column) return 'direct';
    if (rule.split('->')[0]?.trim() === column) return 'path';
  }
  return undefined;
}

const seededKeys = (table: string, column: string): Scalar[] =>
  (SEED[table] ?? []).map((r) => r[column] ?? null).filter((v) => v !== null);

/** A value for one column; `undefined` leaves the column out of the row. */
function payload(x: Gen, table: TableDef, column: string, i: number, insert: boolean): Scalar | undefined {
  const def = table.columns.find((c) => c.name === column)!;
  const fk = table.fks.find((f) => f.column === column);
  const kind = role(table.name, column);
  if (kind === 'direct') {
    const roll = x.int(0, 99);
    if (insert && roll < 35) return undefined; // stamped from the scope, or refused as ambiguous
    if (def.ty === 'str') return roll < 95 ? x.pick(USERS) : 'u9';
    if (table.name === 'tenants' && insert && roll < 85) return 5 + i;
    return roll < 95 ? x.int(1, 4) : 99;
  }
  if (fk) {
    const roll = x.int(0, 99);
    if (roll < 85) return x.pick(seededKeys(fk.table, fk.ref));
    if (roll < 90) return 99999;
    if (def.nullable) return roll < 95 || !insert ? null : undefined;
    return x.pick(seededKeys(fk.table, fk.ref));
  }
  if (def.nullable && x.chance(15)) return null;
  if (def.ty === 'int') return x.int(0, 9);
  return x.pick(['new', 'design', 'alpha', 'todo', 'open', 'x']);
}

/**
 * A plain key: fresh, or for an upsert a seeded one, inside the scope (a merge then updates a
 * visible row) or outside it (a conflict with another tenant's row, what REPLACE deletes).
 */
function keyValue(x: Gen, table: TableDef, column: string, i: number, upsert: boolean): Scalar {
  const def = table.columns.find((c) => c.name === column)!;
  if (upsert && x.chance(70)) {
    const row = x.seededRow(table.name, x.chance(50) ? 'in' : 'out');
    if (row && row[column] !== undefined) return row[column]!;
    return x.pick(seededKeys(table.name, column));
  }
  return def.ty === 'int' ? FRESH_ID + i : `new${i}`;
}

/** A key of the table that is a plain key (not a scope column or an FK). */
function plainKey(table: TableDef, column: string): boolean {
  return table.key.includes(column) && !role(table.name, column) && !table.fks.some((f) => f.column === column);
}

function genRow(x: Gen, table: TableDef, i: number, upsert: boolean): Record<string, Scalar> {
  const row: Record<string, Scalar> = {};
  for (const c of table.columns) {
    // a key that is also a scope column or FK (tenants.id, project_tags) is a payload
    const value = plainKey(table, c.name) ? keyValue(x, table, c.name, i, upsert) : payload(x, table, c.name, i, true);
    if (value !== undefined) row[c.name] = value;
  }
  return row;
}

/** Another letter case of a column name: `TENANT_ID`, `Project_Id`, `tenant_ID`. */
function otherCase(x: Gen, column: string): string {
  const roll = x.int(0, 2);
  if (roll === 0) return column.toUpperCase();
  if (roll === 1) return column.replace(/(^|_)([a-z])/g, (_, sep: string, c: string) => `${sep}${c.toUpperCase()}`);
  return column.replace(/[a-z]+$/, (tail) => tail.toUpperCase());
}

/**
 * c2: a scope column or path key of the payload written in another letter case, alone or beside
 * the original with another value, the same way in every row (Knex fills a column a row lacks
 * with NULL). Only where the dialect takes both as the same column (PostgreSQL quotes them into
 * other, missing columns); MySQL refuses a column twice in an INSERT.
 */
function caseVariants(x: Gen, table: TableDef, rows: Record<string, WVal>[], insert: boolean): void {
  if (x.dialect === 'pg' || rows.length === 0 || !x.chance(15)) return;
  const keys = Object.keys(rows[0]!).filter(
    (k) => role(table.name, k) && !table.key.includes(k) && rows.every((r) => k in r),
  );
  if (keys.length === 0) return;
  const column = x.pick(keys);
  const variant = otherCase(x, column);
  const duplicate = (x.dialect === 'sqlite' || !insert) && x.chance(60);
  // which one comes first varies: Knex sorts an insert's columns, keeps an update's order
  const variantFirst = x.chance(50);
  for (const row of rows) {
    const original = row[column]!;
    delete row[column];
    if (duplicate && variantFirst) {
      row[variant] = payload(x, table, column, 0, false) ?? null;
      row[column] = original;
    } else if (duplicate) {
      row[column] = original;
      row[variant] = payload(x, table, column, 0, false) ?? null;
    } else row[variant] = original;
  }
  if (duplicate) {
    x.expect.add('case-duplicate');
    x.tag('c2', `${column} and ${variant}`);
  } else x.tag('c2', `${variant} alone`);
}

/**
 * c3/c4: raw values in a payload. A raw scope column or path key cannot be checked (`raw-key`);
 * a raw value of another column is harmless, or reads a scoped table (`raw-scoped`).
 */
function rawValues(x: Gen, table: TableDef, row: Record<string, WVal>, update: boolean): void {
  if (!x.chance(update ? 14 : 10)) return;
  const columns = Object.keys(row).filter((k) => TABLE.get(table.name)!.columns.some((c) => c.name === k));
  const keys = columns.filter((k) => role(table.name, k) && row[k] !== null && !isObject(row[k]));
  const others = columns.filter(
    (k) => !role(table.name, k) && !table.key.includes(k) && !table.fks.some((f) => f.column === k),
  );
  if (keys.length > 0 && (others.length === 0 || x.chance(50))) {
    const column = x.pick(keys);
    row[column] = keyRaw(x, row[column] as string | number);
    return;
  }
  if (others.length === 0) return;
  const column = x.pick(others);
  const ty = table.columns.find((c) => c.name === column)!.ty;
  row[column] = writtenRaw(x, table.name, column, ty, update);
}

const isObject = (v: unknown) => typeof v === 'object' && v !== null;

/**
 * c11: now and then a written value of a column that is neither a key nor in the declaration
 * (a title, a body) replaced by a carrier of `toSqlString()`, whose SQL reads another tenant's
 * row: refused as a builder value (UNSUPPORTED_QUERY), whatever the table.
 */
function sqlStringValues(x: Gen, table: TableDef, row: Record<string, WVal>, name: string, slot: SqlStringSlot): void {
  if (!drawSqlString(x)) return;
  const columns = table.columns.filter(
    (c) =>
      c.name in row &&
      !isObject(row[c.name]) &&
      !role(table.name, c.name) &&
      !table.key.includes(c.name) &&
      !table.fks.some((f) => f.column === c.name),
  );
  if (columns.length === 0) return;
  const column = x.pick(columns);
  row[column.name] = sqlStringValue(x, column.ty, name, slot);
}

/** c1: `merge({ … })` with explicit values: scope columns and path keys in scope, out of it, dangling. */
function mergeValues(x: Gen, table: TableDef): Payload {
  // a key column moved by a merge mostly collides: rarely
  const keyToo = x.chance(30);
  const candidates = table.columns.filter((c) => !plainKey(table, c.name) && (keyToo || !table.key.includes(c.name)));
  const keys = candidates.filter((c) => role(table.name, c.name));
  const values: Record<string, WVal> = {};
  const n = x.int(1, 3);
  for (let i = 0; i < n && candidates.length > 0; i++) {
    // mostly the columns that move a row to another tenant
    const c = keys.length > 0 && x.chance(60) ? x.pick(keys) : x.pick(candidates);
    values[c.name] = payload(x, table, c.name, 0, false) ?? null;
  }
  if (n > 0 && candidates.length > 0) {
    x.tag('c1', Object.keys(values).some((k) => role(table.name, k)) ? 'merge() of a scope key' : 'merge() of values');
  }
  rawValues(x, table, values, true);
  caseVariants(x, table, [values], false);
  sqlStringValues(x, table, values, 'merge value', 'value');
  return values;
}

function genConflict(x: Gen, table: TableDef): Conflict {
  const others = table.columns.map((c) => c.name).filter((c) => !table.key.includes(c));
  const roll = Math.min(x.int(0, 4), 3);
  if (roll === 0 || (others.length === 0 && roll < 3)) return { columns: table.key, action: 'ignore' };
  if (x.dialect === 'mysql' && table.scoped) x.expect.add('mysql-merge');
  const conflict: Conflict =
    roll === 1
      ? { columns: table.key, action: 'merge' }
      : roll === 2
        ? { columns: table.key, action: 'mergeSome', mergeColumns: [x.pick(others)] }
        : mergeValuesConflict(x, table);
  // merge(…).where(…) (not on MySQL): a condition of the user's own, ORs included, beside the guard
  if (x.dialect === 'mysql' || !x.chance(20)) return conflict;
  x.tag('c1', 'merge().where()');
  const cols: ColRef[] = table.columns.map((c) => ({
    q: table.name,
    col: c.name,
    ty: c.ty,
    from: `${table.name}.${c.name}`,
  }));
  return { ...conflict, where: genWhere(x, cols, { depth: 1, ctes: [], avoid: [table.name] }, 1, 3) };
}

function mergeValuesConflict(x: Gen, table: TableDef): Conflict {
  const values = mergeValues(x, table);
  if (Object.keys(values).length === 0) return { columns: table.key, action: 'merge' };
  return { columns: table.key, action: 'mergeValues', mergeValues: values };
}

function genUpdateSet(x: Gen, table: TableDef): { set: Record<string, WVal>; increment?: { col: string; by: number } } {
  const settable = table.columns.filter((c) => !table.key.includes(c.name));
  const set: Record<string, WVal> = {};
  const n = settable.length === 0 ? 0 : x.int(0, 2);
  for (let i = 0; i < n; i++) {
    const c = x.pick(settable);
    set[c.name] = payload(x, table, c.name, i, false) ?? null;
  }
  const ints = settable.filter((c) => c.ty === 'int' && !(c.name in set));
  if (ints.length > 0 && (n === 0 || x.chance(20))) {
    let col = x.pick(ints).name;
    // incrementing a scope column or a path key is refused by design
    if (role(table.name, col)) {
      x.expect.add('scope-increment');
      if (x.dialect !== 'pg' && x.chance(30)) {
        col = otherCase(x, col);
        x.tag('c2', `increment('${col}')`);
      }
    }
    rawValues(x, table, set, true);
    sqlStringValues(x, table, set, 'update value', 'value');
    return { set, increment: { col, by: x.pick([1, 2, -1]) } };
  }
  if (n === 0) {
    // a table with only key columns (project_tags): move a key
    const c = x.pick(table.columns);
    set[c.name] = payload(x, table, c.name, 0, false) ?? null;
  }
  rawValues(x, table, set, true);
  caseVariants(x, table, [set], false);
  sqlStringValues(x, table, set, 'update value', 'value');
  return { set };
}

// Deletes mostly hit tables nothing references: deleting a parent usually fails on both sides.
const LEAF_TABLES = ['comments', 'notes', 'project_tags'];

function genReturning(x: Gen, table: string, qualified: boolean): Returning {
  if (x.dialect === 'mysql' || !x.chance(40)) return false;
  return x.chance(20) ? returningRaw(x, table, qualified) : true;
}

export function genWrite(x: Gen): Write {
  const roll = x.int(0, 99);
  const tables = x.unscopedOnly ? UNSCOPED_WRITE_TABLES : roll >= 72 && x.chance(85) ? LEAF_TABLES : WRITE_TABLES;
  const table = TABLE.get(x.pick(tables))!;
  const cols: ColRef[] = table.columns.map((c) => ({
    q: table.name,
    col: c.name,
    ty: c.ty,
    from: `${table.name}.${c.name}`,
  }));
  const where = (visible: readonly ColRef[]) => genWhere(x, visible, { depth: 1, ctes: [], avoid: [table.name] }, 0, 3);
  if (roll < 35 || roll >= 97) {
    const upsert = roll >= 97 || x.chance(35);
    // upsert() on MySQL: Knex 3.1 and later (knex-release.ts)
    if (upsert && x.dialect === 'mysql' && MYSQL_UPSERT && x.chance(35)) return genReplace(x);
    const generated = Array.from({ length: x.int(1, 3) }, (_, i) => genRow(x, table, i, upsert));
    // one statement may not hit the same key twice (ON CONFLICT cannot affect a row twice)
    const keyOf = (r: Record<string, Scalar>) => table.key.map((k) => String(r[k])).join('|');
    const unique = generated.filter((r, i) => generated.findIndex((o) => keyOf(o) === keyOf(r)) === i);
    const returning = genReturning(x, table.name, false);
    if (!upsert && x.chance(8)) return genRawBody(x, table, unique, returning);
    const rows: Record<string, WVal>[] = unique;
    for (const row of rows) rawValues(x, table, row, false);
    caseVariants(x, table, rows, true);
    for (const row of rows) sqlStringValues(x, table, row, 'insert value', 'insert');
    const conflict = upsert ? genConflict(x, table) : undefined;
    // Knex before 3.3 would drop a multi-row SQLite merge's WHERE, the guard: core refuses it then
    const dropsGuard = x.dialect === 'sqlite' && !SQLITE_MULTI_ROW_MERGE_WHERE && rows.length > 1;
    if (conflict && conflict.action !== 'ignore' && dropsGuard && table.scoped) x.expect.add('merge-where-dropped');
    return { k: 'insert', table: table.name, rows, ...(conflict ? { conflict } : {}), returning };
  }
  if (roll < 40 && !x.unscopedOnly) return genInsertSelect(x);
  const update = roll < 72;
  const extra = genWriteJoin(x, table.name, cols, update);
  const visible = extra ? [...cols, ...tableColsAs(extra.table, extra.alias)] : cols;
  const returning = genReturning(x, table.name, extra !== undefined);
  const common = { table: table.name, ...(extra ? { extra } : {}), where: where(visible), returning };
  if (update) return { k: 'update', ...genUpdateSet(x, table), ...common };
  return { k: 'delete', ...common };
}

/**
 * c3: `insert(knex.raw('(cols) values (…)'))`. Every direct scope column is given (nothing to
 * stamp in a raw body); into a scoped table it is refused unless every dimension is ALL.
 */
function genRawBody(x: Gen, table: TableDef, rows: Record<string, Scalar>[], returning: Returning): Write {
  for (const [i, row] of rows.entries()) {
    for (const c of table.columns) {
      if (role(table.name, c.name) === 'direct' && !(c.name in row)) row[c.name] = payload(x, table, c.name, i, false)!;
    }
  }
  if (table.scoped) x.expect.add('raw-insert');
  const style = x.pick(['bound', 'named', 'inline'] as const);
  x.tag('c3', `raw insert body (${style})`);
  return { k: 'insert', table: table.name, rows, returning, rawBody: style };
}

/**
 * c1: MySQL's `upsert(rows)`, REPLACE INTO: a key another tenant's row holds deletes that row.
 * Mostly on tables nothing references (a referenced row cannot be replaced).
 */
function genReplace(x: Gen): Write {
  const table = TABLE.get(x.pick(x.unscopedOnly ? ['statuses', 'audit'] : [...LEAF_TABLES, 'audit']))!;
  const generated = Array.from({ length: x.int(1, 2) }, (_, i) => {
    const row = genRow(x, table, i, true);
    // the scope columns given: what is tested is the key a row collides with
    for (const c of table.columns) {
      if (role(table.name, c.name) === 'direct' && !(c.name in row)) row[c.name] = payload(x, table, c.name, i, false)!;
    }
    return row;
  });
  const keyOf = (r: Record<string, Scalar>) => table.key.map((k) => String(r[k])).join('|');
  const rows: Record<string, WVal>[] = generated.filter(
    (r, i) => generated.findIndex((o) => keyOf(o) === keyOf(r)) === i,
  );
  for (const row of rows) rawValues(x, table, row, false);
  caseVariants(x, table, rows, true);
  if (table.scoped) x.expect.add('mysql-upsert');
  x.tag('c1', 'upsert() (REPLACE INTO)');
  return { k: 'upsert', table: table.name, rows };
}

function tableColsAs(table: string, q: string): ColRef[] {
  return TABLE.get(table)!.columns.map((c) => ({ q, col: c.name, ty: c.ty, from: `${table}.${c.name}` }));
}

/** A second table in the write, where the dialect has a syntax for it (not SQLite). */
function genWriteJoin(x: Gen, target: string, cols: readonly ColRef[], update: boolean): WriteJoin | undefined {
  if (x.dialect === 'sqlite' || !x.chance(25)) return undefined;
  // (Knex turns a PostgreSQL DELETE with a join into USING, ANDing the ON clause to an
  // unparenthesised WHERE: `a or b and on`. That is Knex's bug, so it is not generated.)
  const via: WriteJoin['via'] =
    x.dialect === 'mysql' ? x.pick(['join', 'leftJoin'] as const) : update ? 'updateFrom' : 'using';
  const names = (x.unscopedOnly ? UNSCOPED_WRITE_TABLES : TABLES.map((t) => t.name)).filter((n) => n !== target);
  const table = x.pick(names);
  const alias = x.alias();
  const other = tableColsAs(table, alias);
  const related = RELATIONS.filter(([a, , b]) => (a === target && b === table) || (a === table && b === target));
  if (related.length > 0 && x.chance(70)) {
    const [a, ca, , cb] = x.pick(related);
    const [mine, theirs] = a === target ? [ca, cb] : [cb, ca];
    return { via, table, alias, left: cols.find((c) => c.col === mine)!, right: other.find((c) => c.col === theirs)! };
  }
  const left = x.pick(cols);
  const same = other.filter((c) => c.ty === left.ty);
  return same.length > 0 ? { via, table, alias, left, right: x.pick(same) } : undefined;
}

/** INSERT … SELECT: into an unscoped table it must run filtered; into a scoped one it is refused. */
function genInsertSelect(x: Gen): Write {
  if (x.chance(50)) {
    x.expect.add('insert-select');
    const table = TABLE.get(x.pick(SCOPED_TABLES))!;
    const select = genSelect(x, { depth: 1, ctes: [], shape: table.columns.map((c) => c.ty), avoid: [table.name] });
    return { k: 'insertSelect', table: table.name, columns: table.columns.map((c) => c.name), select };
  }
  // tags(id, name) from a scoped table whose ids never collide with the tags' own (1..4)
  const sources = TABLES.filter((t) => t.scoped && t.name !== 'tenants' && t.columns.some((c) => c.ty === 'str'));
  const avoid = TABLES.map((t) => t.name).filter((n) => !sources.some((s) => s.name === n));
  const select = genSelect(x, { depth: 1, ctes: [], shape: ['int', 'str'], avoid });
  const first = select.items[0];
  if (first?.k === 'col' && first.col.col !== 'id') {
    // keep the inserted ids unique: the source's own primary key
    const items = [{ ...first, col: { q: first.col.q, col: 'id', ty: 'int' as const } }, ...select.items.slice(1)];
    return { k: 'insertSelect', table: 'tags', columns: ['id', 'name'], select: { ...select, items, distinct: false } };
  }
  return { k: 'insertSelect', table: 'tags', columns: ['id', 'name'], select: { ...select, distinct: false } };
}
