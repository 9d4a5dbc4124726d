// c11: bound values carrying `toSqlString()`. mysql2 (through sql-escaper) writes what such a
// value's method returns into the SQL unescaped: at the top of a binding, inside an array or a Set
// it expands into a list, inside a Map's or a plain object's values (`key = value`). mysql2.raw()
// returns such an object, and any object can carry the method (a typed array, a Date, a class
// instance). Now and then a bound value of a read or a write is replaced by one whose SQL, spliced,
// would read or touch another tenant's rows; the core refuses every such value on every dialect,
// before anything is sent: UNSUPPORTED_QUERY as a builder value (walk.ts), RAW_SQL_REFUSED as a
// raw's binding (expand-raw.ts). The oracle run is skipped (refusals.ts skipsOracle): unscoped,
// it would run the spliced SQL.
import { ALL } from '@knex-scopes/core';
import type { BoundValue, SqlStringShape, SqlStringValue } from './ast';
import type { Gen } from './gen-context';
import type { Scalar, Ty } from './world';

/** The chance, per slot, that its value is replaced: at most one per case (its slot decides the code). */
const SQL_STRING_PERCENT = 3;

/**
 * How Knex hands the slot's value to the driver. `value`: as it is (`onVal`, update and merge
 * values); `where`: as it is, but Knex's MySQL compiler asserts a `where(col, op, v)` value is no
 * plain object or array; `raw`: a raw's `?` binding, as it is; `rawWhere`: a binding of a raw that
 * Knex compiles as a whereRaw (the same MySQL assertion); `insert` and `in`: through
 * `parameterize()`, which JSON-stringifies a plain object (so none there: it would never reach
 * mysql2 as an object), and for `in` an array first in the list would be read as a tuple.
 */
export type SqlStringSlot = 'value' | 'where' | 'raw' | 'rawWhere' | 'insert' | 'in';

const ALL_SHAPES: readonly SqlStringShape[] = ['object', 'typed array', 'Date', 'class instance'];
const NOT_PLAIN: readonly SqlStringShape[] = ['typed array', 'Date', 'class instance'];

/** Whether Knex would not hand a plain object (or, but for `insert`, an array) in this slot to the driver. */
function noPlain(x: Gen, slot: SqlStringSlot): boolean {
  return slot === 'insert' || slot === 'in' || (x.dialect === 'mysql' && (slot === 'where' || slot === 'rawWhere'));
}

function nests(x: Gen, slot: SqlStringSlot): readonly NonNullable<SqlStringValue['nest']>[] {
  if (slot === 'insert') return ['array', 'Set', 'Map'];
  if (noPlain(x, slot)) return ['Set', 'Map'];
  return ['array', 'Set', 'Map', 'object'];
}

/** A tenant the case's scope cannot see (under ALL there is none: tenant 2's rows then). */
function otherTenant(x: Gen): number {
  const value = x.scope?.tenant;
  const visible = value === undefined || value === ALL ? [] : Array.isArray(value) ? value : [value];
  const others = [1, 2, 3, 4].filter((t) => !visible.some((k) => String(k) === String(t)));
  return others.length > 0 ? x.pick(others) : 2;
}

/** SQL that, spliced where a value of type `ty` stands, reads another tenant's rows or widens a predicate to all. */
function evilSql(x: Gen, ty: Ty): string {
  const t = otherTenant(x);
  const int = [
    '0 or 1 = 1',
    `(select max(id) from projects where tenant_id = ${t})`,
    `(select max(budget) from projects where tenant_id = ${t})`,
    `(select count(*) from notes where tenant_id = ${t})`,
  ];
  const str = [
    "'' or 1 = 1",
    `(select min(name) from projects where tenant_id = ${t})`,
    `(select min(body) from notes where tenant_id = ${t})`,
    `(select min(title) from tasks where project_id in (select id from projects where tenant_id = ${t}))`,
  ];
  return x.pick(ty === 'int' ? int : str);
}

const shapeText = (v: SqlStringValue) =>
  v.nest
    ? `${v.shape} in ${v.nest === 'object' ? 'an object' : v.nest === 'array' ? 'an array' : `a ${v.nest}`}`
    : v.shape;

/** A carrier of `toSqlString()` for a slot named `name` (the tag), of a value of type `ty`. */
export function sqlStringValue(x: Gen, ty: Ty, name: string, slot: SqlStringSlot): SqlStringValue {
  x.sqlStringPlaced = true;
  const shape = x.pick(noPlain(x, slot) ? NOT_PLAIN : ALL_SHAPES);
  const sql = evilSql(x, ty);
  const nest = x.chance(40) ? x.pick(nests(x, slot)) : undefined;
  const beside = (): Scalar => (ty === 'int' ? x.int(0, 5) : x.pick(['alpha', 'open']));
  const value: SqlStringValue = {
    k: 'sqlString',
    shape,
    sql,
    ...(nest ? { nest } : {}),
    ...(nest === 'array' ? { beside: beside() } : {}),
  };
  x.expect.add(slot === 'raw' || slot === 'rawWhere' ? 'sql-string-binding' : 'sql-string');
  x.tag('c11', `${name}: ${shapeText(value)}`);
  return value;
}

/**
 * Whether this slot gets a carrier: now and then, one slot per case at most, and never where the
 * generator keeps to undeclared tables (the transparency property: those compile as plain Knex).
 */
export function drawSqlString(x: Gen): boolean {
  return !x.unscopedOnly && !x.sqlStringPlaced && x.chance(SQL_STRING_PERCENT);
}

/** A carrier instead of a value, now and then (drawSqlString). */
export function maybeSqlString(x: Gen, ty: Ty, name: string, slot: SqlStringSlot): SqlStringValue | undefined {
  return drawSqlString(x) ? sqlStringValue(x, ty, name, slot) : undefined;
}

/** A list of values (an IN list) with one of them, now and then, replaced by a carrier. */
export function withSqlString(x: Gen, values: readonly Scalar[], ty: Ty, name: string): BoundValue[] {
  if (values.length === 0) return [...values];
  const carrier = maybeSqlString(x, ty, name, 'in');
  if (!carrier) return [...values];
  const out: BoundValue[] = [...values];
  out[x.int(0, values.length - 1)] = carrier;
  return out;
}
