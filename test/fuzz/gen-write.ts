// Generators of writes: insert, upsert, insert … select, update (with increments), delete, with
// payloads that mix the scope's own keys, other tenants' keys, missing and dangling ones.
import type { ColRef, Conflict, Write, WriteJoin } from './ast';
import type { Gen } from './gen-context';
import { genSelect, genWhere } from './gen-read';
import { DECLARATION, RELATIONS, SCOPED_TABLES, type Scalar, SEED, TABLE, TABLES, type TableDef } from './world';

/** Ids no seeded row has, for inserts (inserts always carry their keys: no sequences to drift). */
const FRESH_ID = 7000;
const USERS = ['u1', 'u2', 'u3'];

const WRITE_TABLES = [...SCOPED_TABLES, ...SCOPED_TABLES, 'tags', 'statuses'];

/** The column's role in the scope declaration. */
function role(table: string, column: string): 'direct' | 'path' | undefined {
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

function keyValue(x: Gen, table: TableDef, column: string, i: number, upsert: boolean): Scalar {
  const def = table.columns.find((c) => c.name === column)!;
  if (upsert && x.chance(70)) return x.pick(seededKeys(table.name, column));
  return def.ty === 'int' ? FRESH_ID + i : `new${i}`;
}

function genRow(x: Gen, table: TableDef, i: number, upsert: boolean): Record<string, Scalar> {
  const row: Record<string, Scalar> = {};
  for (const c of table.columns) {
    // a key that is also a scope column or FK (tenants.id, project_tags) is a payload
    const plainKey =
      table.key.includes(c.name) && !role(table.name, c.name) && !table.fks.some((f) => f.column === c.name);
    const value = plainKey ? keyValue(x, table, c.name, i, upsert) : payload(x, table, c.name, i, true);
    if (value !== undefined) row[c.name] = value;
  }
  return row;
}

function genConflict(x: Gen, table: TableDef): Conflict {
  const others = table.columns.map((c) => c.name).filter((c) => !table.key.includes(c));
  const roll = x.int(0, 2);
  if (roll === 0 || others.length === 0) return { columns: table.key, action: 'ignore' };
  if (x.dialect === 'mysql' && table.scoped) x.expect.add('mysql-merge');
  if (roll === 1) return { columns: table.key, action: 'merge' };
  return { columns: table.key, action: 'mergeSome', mergeColumns: [x.pick(others)] };
}

function genUpdateSet(
  x: Gen,
  table: TableDef,
): { set: Record<string, Scalar>; increment?: { col: string; by: number } } {
  const settable = table.columns.filter((c) => !table.key.includes(c.name));
  const set: Record<string, Scalar> = {};
  const n = settable.length === 0 ? 0 : x.int(0, 2);
  for (let i = 0; i < n; i++) {
    const c = x.pick(settable);
    set[c.name] = payload(x, table, c.name, i, false) ?? null;
  }
  const ints = settable.filter((c) => c.ty === 'int' && !(c.name in set));
  if (ints.length > 0 && (n === 0 || x.chance(20))) {
    const col = x.pick(ints).name;
    // incrementing a scope column or a path key is refused by design
    if (role(table.name, col)) x.expect.add('scope-increment');
    return { set, increment: { col, by: x.pick([1, 2, -1]) } };
  }
  if (n === 0) {
    // a table with only key columns (project_tags): move a key
    const c = x.pick(table.columns);
    set[c.name] = payload(x, table, c.name, 0, false) ?? null;
  }
  return { set };
}

// Deletes mostly hit tables nothing references: deleting a parent usually fails on both sides.
const LEAF_TABLES = ['comments', 'notes', 'project_tags'];

export function genWrite(x: Gen): Write {
  const roll = x.int(0, 99);
  const table = TABLE.get(x.pick(roll >= 72 && x.chance(85) ? LEAF_TABLES : WRITE_TABLES))!;
  const cols: ColRef[] = table.columns.map((c) => ({
    q: table.name,
    col: c.name,
    ty: c.ty,
    from: `${table.name}.${c.name}`,
  }));
  const returning = x.dialect !== 'mysql' && x.chance(40);
  const where = (visible: readonly ColRef[]) => genWhere(x, visible, { depth: 1, ctes: [], avoid: [table.name] }, 0, 3);
  if (roll < 35 || roll >= 97) {
    const upsert = roll >= 97 || x.chance(25);
    const generated = Array.from({ length: x.int(1, 3) }, (_, i) => genRow(x, table, i, upsert));
    // one statement may not hit the same key twice (ON CONFLICT cannot affect a row twice)
    const keyOf = (r: Record<string, Scalar>) => table.key.map((k) => String(r[k])).join('|');
    const rows = generated.filter((r, i) => generated.findIndex((o) => keyOf(o) === keyOf(r)) === i);
    return { k: 'insert', table: table.name, rows, ...(upsert ? { conflict: genConflict(x, table) } : {}), returning };
  }
  if (roll < 40) return genInsertSelect(x);
  const update = roll < 72;
  const extra = genWriteJoin(x, table.name, cols, update);
  const visible = extra ? [...cols, ...tableColsAs(extra.table, extra.alias)] : cols;
  const common = { table: table.name, ...(extra ? { extra } : {}), where: where(visible), returning };
  if (update) return { k: 'update', ...genUpdateSet(x, table), ...common };
  return { k: 'delete', ...common };
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
  const table = x.pick(TABLES.map((t) => t.name).filter((n) => n !== target));
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
