// What a one-row FK-path write holds, read once for write-cache.ts: the parts its compiled SQL
// depends on (its shape), and the values it binds. Only a narrow, common shape is read:
//   insert: db(t).insert(row | [row]) [.returning(names)] [.onConflict(names).ignore()]
//   update: db(t).where(col, [op,] value)….update(values) [.returning(names)]
// into a bare, scoped table whose every rule is an FK path, each value a plain scalar (bound as
// one `?` whatever it is), inside an enabled scope of keys. Anything else (`undefined`, a raw, a
// builder, an object, a schema, an alias, a CTE, a merge, a counter, a comment, a query
// context, ALL, scopesDisabled, a direct tenant column whose value would have to be checked)
// is declined, and compiles as it always did.
import { types } from 'node:util';
import type { ScopeKey } from '../scope-values';
import { INTERNAL_WRAPPER, ONLY_DIMENSIONS } from './builder-symbols';
import type { CompileRun } from './compile-run';
import { type BuilderLike, isRaw, type Statement } from './knex-internals';
import { carriesSqlString } from './sql-string-values';
import { isBareName } from './table-refs';

/** A WHERE predicate of the shape: `column operator ?`, its `not` and its `and`/`or`. */
export interface ShapeWhere {
  readonly column: string;
  readonly operator: string;
  readonly not: boolean;
  readonly bool: 'and' | 'or';
}

/** Everything the compiled SQL of a write depends on (write-cache.ts compares every field). */
export interface Shape {
  readonly method: 'insert' | 'update';
  readonly table: string;
  /** `insert([row])` rather than `insert(row)`. */
  readonly array: boolean;
  /** `returning` and `onConflict` columns: undefined, one name, a list of names; onConflict() alone: true. */
  readonly returning: string | readonly string[] | undefined;
  readonly onConflict: true | string | readonly string[] | undefined;
  /** Column names as written, in the object's order: the row's or the update's. */
  readonly columns: readonly string[];
  readonly wheres: readonly ShapeWhere[];
  /** The scope's dimensions in the state's order, and per dimension its list's length (-1: one key). */
  readonly dimensions: readonly string[];
  readonly lengths: readonly number[];
}

export interface WriteShape extends Shape {
  /** The values bound: the row's (or the update's) in `columns` order, then the WHERE's in order. */
  readonly values: readonly unknown[];
  /** The scope's keys, dimension after dimension, a list's in order. */
  readonly scope: readonly ScopeKey[];
}

/**
 * A value Knex binds as one `?` and never reads: a string, number, boolean, bigint, null or a
 * plain Date (another object, even a Date, could carry `isRawInstance` and be spliced as SQL).
 */
export function isBoundScalar(value: unknown): boolean {
  switch (typeof value) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'bigint':
      return true;
    case 'object':
      return (
        value === null ||
        (types.isDate(value) &&
          Object.getPrototypeOf(value) === Date.prototype &&
          !isRaw(value) &&
          !carriesSqlString(value))
      );
    default:
      return false;
  }
}

/** A value an FK path key may take (write-guards.ts requireParents takes these, refuses others). */
export function isPathKey(value: unknown): value is ScopeKey {
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint';
}

/** Column names: absent, one name or a list of names; false when anything else. */
function isNames(value: unknown): value is string | readonly string[] | undefined {
  if (value === undefined || typeof value === 'string') return true;
  if (!Array.isArray(value) || types.isProxy(value)) return false;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== 'string') return false;
  return true;
}

/** The `_single` fields a shape holds (read by name below); any other with a value declines. */
function isShapeField(method: 'insert' | 'update', field: string): boolean {
  switch (field) {
    case 'table':
    case 'returning':
    case 'only':
      return true;
    case 'insert':
    case 'onConflict':
    case 'ignore':
      return method === 'insert';
    case 'update':
      return method === 'update';
    default:
      return false;
  }
}

/** The fields of Knex's whereBasic statement. */
function isWhereField(field: string): boolean {
  switch (field) {
    case 'grouping':
    case 'type':
    case 'column':
    case 'operator':
    case 'value':
    case 'not':
    case 'bool':
    case 'asColumn':
      return true;
    default:
      return false;
  }
}

/** The shape of the top-level write `builder` compiled in `run`, or undefined to compile it as usual. */
export function readWriteShape(builder: BuilderLike, run: CompileRun): WriteShape | undefined {
  const method = builder._method;
  if (method !== 'insert' && method !== 'update') return undefined;
  const single = builder._single;
  const table = single.table;
  if (typeof table !== 'string' || !isBareName(table)) return undefined;
  const policy = run.policy.matcher.match(table);
  if (policy === undefined) return undefined;
  const rules = policy.rules;
  for (let i = 0; i < rules.length; i++) if (rules[i]?.kind !== 'path') return undefined;
  for (const field of Object.keys(single)) {
    if (!isShapeField(method, field) && single[field] !== undefined) return undefined;
  }
  // Knex's table() sets `only: false`; `only: true` is PostgreSQL's `update only`
  if (single.only !== undefined && single.only !== false) return undefined;
  const marks = builder as unknown as Record<symbol, unknown>;
  if (marks[ONLY_DIMENSIONS] !== undefined || marks[INTERNAL_WRAPPER] !== undefined) return undefined;
  // a query context reaches the app's wrapIdentifier; comments are written into MySQL's statement
  const { _queryContext, _comments } = builder as BuilderLike & { _comments?: unknown[] };
  if (_queryContext !== undefined || (_comments !== undefined && _comments.length > 0)) return undefined;
  const returning = single.returning;
  if (!isNames(returning)) return undefined;

  let record: unknown = method === 'insert' ? single.insert : single.update;
  const array = Array.isArray(record);
  let onConflict: Shape['onConflict'];
  if (method === 'insert') {
    if (array) {
      if (types.isProxy(record) || (record as unknown[]).length !== 1) return undefined;
      record = (record as unknown[])[0];
    }
    if (builder._statements.length > 0) return undefined;
    // onConflict(…).ignore() or neither (merge() is declined with the fields above)
    const conflict = single.onConflict;
    if (conflict === undefined ? single.ignore !== undefined : single.ignore !== true) return undefined;
    if (conflict !== true && !isNames(conflict)) return undefined;
    onConflict = conflict;
  }
  // a plain object (write-guards.ts isPlainRecord: no builder has these prototypes), not a raw;
  // a proxy or a getter could answer this read and Knex's differently (walk.ts refuses them)
  if (typeof record !== 'object' || record === null || types.isProxy(record) || isRaw(record)) return undefined;
  const proto: unknown = Object.getPrototypeOf(record);
  if (proto !== Object.prototype && proto !== null) return undefined;
  const columns = Object.keys(record);
  if (columns.length === 0) return undefined;
  const values: unknown[] = [];
  for (let i = 0; i < columns.length; i++) {
    // read from the descriptor: a getter is never called (an accessor has no value: declined)
    const own = Object.getOwnPropertyDescriptor(record, columns[i] as string);
    if (own === undefined || !isBoundScalar(own.value)) return undefined;
    values.push(own.value);
  }
  const statements = builder._statements;
  const wheres: ShapeWhere[] = [];
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i] as Statement;
    if (s.grouping !== 'where' || s.type !== 'whereBasic') return undefined;
    for (const field of Object.keys(s)) if (!isWhereField(field)) return undefined;
    const { column, operator, value, not, bool, asColumn } = s;
    if (typeof column !== 'string' || typeof operator !== 'string' || !isBoundScalar(value)) return undefined;
    if (typeof not !== 'boolean' || (bool !== 'and' && bool !== 'or') || (asColumn !== undefined && asColumn !== false))
      return undefined;
    values.push(value);
    wheres.push({ column, operator, not, bool });
  }

  // the scope, last: resolving it throws what the usual compile would (SCOPE_MISMATCH)
  const state = run.state();
  if (state === undefined || !state.enabled) return undefined;
  const dimensions = Object.keys(state.values);
  const scope: ScopeKey[] = [];
  const lengths: number[] = [];
  for (let d = 0; d < dimensions.length; d++) {
    const value = state.values[dimensions[d] as string];
    if (isPathKey(value)) {
      scope.push(value);
      lengths.push(-1);
    } else if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const key: unknown = value[i];
        if (!isPathKey(key)) return undefined;
        scope.push(key);
      }
      lengths.push(value.length);
    } else return undefined; // ALL: a bypass to report, compiled as usual
  }
  return {
    method,
    table,
    array,
    returning,
    onConflict,
    columns,
    wheres,
    dimensions,
    lengths,
    values,
    scope,
  };
}
