// MySQL-family single-table UPDATE and DELETE through an FK path, sent as the multi-table write a
// hand-written query is (issue 26), so MariaDB plans it by key.
//
// Why: MariaDB before 11.1 runs a single-table UPDATE/DELETE without the join optimiser, so its
// `tasks.project_id in (select projects.id from projects where …)` is neither flattened into a
// semi-join nor read as a constant: the written table is scanned by range (or in full when the
// WHERE names no key: 3–5 s for a 100-row tenant's `delete from comments where body = ?` at 1 M
// rows) and the subquery probed per row. The hand-written `update tasks t join projects p …` goes
// through the join optimiser: `const` by primary key on both tables.
//
// The form, each path filter as inner joins up its path, the tenant filter on the last parent:
//   update tasks inner join projects as ks_path_1 on ks_path_1.id = tasks.project_id
//     set tasks.title = ? where ks_path_1.organization_id = ? and tasks.id = ?
//   delete comments from comments inner join tasks as ks_path_1 on ks_path_1.id = comments.task_id
//     inner join projects as ks_path_2 on ks_path_2.id = ks_path_1.project_id where ks_path_2.organization_id = ? and …
// Same rows: a row matches when some parent chain from its key reaches the scope, which is what
// `key in (select parent.key …)` says (a NULL key matches neither); a multi-table write touches a
// row at most once, so a parent key that is not unique writes nothing twice; its values are
// constants or the row's own columns, never the joined rows'. The parents are aliased, so only
// `ks_path_n.…` names them, and every column of the app's is qualified with the written table, so
// none binds to a parent. The joins bind no value (the releases that compile a DELETE's joins
// after its WHERE keep their order, compiler-quirks.ts); the tenant values stay in the WHERE.
//
// Rejected forms (bench/data at 1 M rows, MariaDB 10.11): a join to a derived table of the filtered
// parent keys is materialised in a multi-table UPDATE (the tenant's 1 611 projects for a one-row
// write, 0.49 ms); a join to a one-row `(select 1)` plans by key too but its temporary table costs
// the statement more than the range plan it replaces (+13–21 µs a write, client-side).
//
// Kept single-table (the form before): ORDER BY / LIMIT / RETURNING (a multi-table write allows
// none), an aliased DELETE (Knex writes `delete t as x from …`, which MySQL refuses), a WHERE of the
// app's with anything but column-to-value predicates on the written table (a subquery, callback or
// raw could read the written table, which MariaDB refuses in a multi-table DELETE), values that are
// not plain data (MySQL does not promise left-to-right assignment in a multi-table UPDATE), an
// update that also increments, names it cannot qualify, and anything but one table and WHERE clauses.
import type { ScopeKey } from '../scope-values';
import type { DimensionRule, TablePolicy } from '../table-paths';
import {
  type BuilderLike,
  type Clause,
  isRaw,
  type JoinClauseLike,
  type SingleLike,
  type Statement,
} from './knex-internals';
import { type Filter, guardWhereGroup, type Rewrite } from './predicates';
import type { TableRef } from './table-refs';
import { isPlainRecord } from './write-guards';

/** A path filter of the write, and the value (the subquery) its WHERE statement carries. */
export interface PlacedPath {
  readonly filter: Filter;
  readonly value: unknown;
  readonly materialized: boolean;
}

const ALIAS = 'ks_path_';

/** Marks the joins this file adds: in-statement-checks.ts still takes the UPDATE as one table's. */
const PATH_WRITE_JOIN: unique symbol = Symbol('knex-scopes.pathWriteJoin');

export function isPathWriteJoin(statement: Statement): boolean {
  return (statement as Statement & { [PATH_WRITE_JOIN]?: true })[PATH_WRITE_JOIN] === true;
}

/**
 * The rewrite of `builder`, a top-level MySQL UPDATE/DELETE of `target` alone, with its path
 * filters (`paths`) as joins when it can take them; else `rewrite` as it is.
 */
export function pathWriteJoins(
  builder: BuilderLike,
  target: TableRef,
  rewrite: Rewrite,
  paths: readonly PlacedPath[],
  policies: ReadonlyMap<string, TablePolicy>,
): Rewrite {
  const { single, statements } = rewrite;
  if (!fitsMultiTable(builder, target, single, statements)) return rewrite;
  const own = (column: unknown) => ownColumn(column, target);
  const userWheres: Statement[] = [];
  for (const s of builder._statements) {
    const column = plainWhere(s) ? own(s.column) : undefined;
    if (column === undefined) return rewrite;
    userWheres.push({ ...s, column });
  }
  const update = single.update === undefined ? undefined : ownKeys(single.update, own);
  const counter = single.counter === undefined ? undefined : ownKeys(single.counter, own);
  if (update === null || counter === null) return rewrite;
  // The filters are what precedes the app's WHERE (predicates.ts filtersFirst): rebuilt around the
  // qualified copy of that WHERE, guarded the same way
  const appWhere = guardWhereGroup(builder._statements, isRaw).length;
  if (appWhere >= statements.length) return rewrite;
  const filters = statements.slice(0, statements.length - appWhere);
  const joins: JoinClauseLike[] = [];
  const out: Statement[] = [];
  for (const s of filters) {
    const path = s.type === 'whereIn' ? placedFor(paths, s.value) : undefined;
    if (path === undefined) {
      out.push(s);
      continue;
    }
    const last = joinPath(path.filter, target, policies, joins);
    if (last === undefined || path.materialized) return rewrite;
    out.push(lastFilter(last, path.filter.value));
  }
  if (joins.length === 0) return rewrite;
  for (const s of guardWhereGroup(userWheres, isRaw)) out.push(s);
  for (const j of joins) out.push(j);
  const written = builder._method === 'update' ? { ...single, update, counter } : single;
  return { statements: out, single: written };
}

function placedFor(paths: readonly PlacedPath[], value: unknown): PlacedPath | undefined {
  for (let i = 0; i < paths.length; i++) if ((paths[i] as PlacedPath).value === value) return paths[i];
  return undefined;
}

/** A top-level one-table MySQL UPDATE/DELETE the multi-table form writes the same. */
function fitsMultiTable(
  builder: BuilderLike,
  target: TableRef,
  single: SingleLike,
  statements: readonly Statement[],
): boolean {
  const verb = builder._method;
  if (builder.client.dialect !== 'mysql' || (verb !== 'update' && verb !== 'del')) return false;
  if (typeof single.table !== 'string' || target.site.kind !== 'from' || !isName(target.name)) return false;
  if (target.alias !== undefined && (verb === 'del' || !isName(target.alias))) return false;
  if (target.schema !== undefined && !isName(target.schema)) return false;
  if ((target.alias ?? target.name).toLowerCase().startsWith(ALIAS)) return false;
  if (single.limit !== undefined || single.offset !== undefined || single.returning !== undefined) return false;
  if (single.using !== undefined || single.updateFrom !== undefined || single.only === true) return false;
  for (const s of statements) if (s.grouping !== 'where') return false;
  for (const s of builder._statements) if (s.grouping !== 'where') return false;
  // values are plain data, or it only increments: `col = col + ?` reads its own column alone, so
  // no assignment reads another's (Knex drops a counter on a column the update also sets)
  if (verb === 'update') {
    if (single.update !== undefined && single.counter !== undefined) return false;
    if (single.update === undefined ? !isPlainRecord(single.counter) : !plainValues(single.update)) return false;
  }
  return true;
}

/** Appends the joins up `f`'s path; returns the alias of its last table, or undefined. */
function joinPath(
  f: Filter,
  target: TableRef,
  policies: ReadonlyMap<string, TablePolicy>,
  joins: JoinClauseLike[],
): { alias: string; column: string } | undefined {
  let rule: DimensionRule | undefined = f.rule;
  let from = target.qualifier;
  // declared names are plain identifiers (table-paths.ts), and a path has no cycle
  for (let hops = 0; rule?.kind === 'path'; hops++) {
    if (hops > 32) return undefined;
    const alias = `${ALIAS}${joins.length + 1}`;
    const parent = target.schema === undefined ? rule.parentTable : `${target.schema}.${rule.parentTable}`;
    const on: Clause = {
      type: 'onBasic',
      column: `${alias}.${rule.parentKey}`,
      operator: '=',
      value: `${from}.${rule.column}`,
      bool: 'and',
    };
    joins.push({
      grouping: 'join',
      joinType: 'inner',
      table: `${parent} as ${alias}`,
      schema: undefined,
      clauses: [on],
      [PATH_WRITE_JOIN]: true,
    });
    from = alias;
    const dimension: string = rule.dimension;
    rule = policies.get(rule.parentTable)?.rules.find((r) => r.dimension === dimension);
  }
  return rule?.kind === 'direct' ? { alias: from, column: rule.column } : undefined;
}

/** The tenant filter on the path's last table, as the subquery had it (an empty list never gets here). */
function lastFilter(last: { alias: string; column: string }, value: Filter['value']): Statement {
  const column = `${last.alias}.${last.column}`;
  if (Array.isArray(value)) {
    return { grouping: 'where', type: 'whereIn', column, value: [...(value as ScopeKey[])], not: false, bool: 'and' };
  }
  return {
    grouping: 'where',
    type: 'whereBasic',
    column,
    operator: '=',
    value,
    not: false,
    bool: 'and',
    asColumn: false,
  };
}

const NAME = /^[A-Za-z_][A-Za-z0-9_$]*$/;

function isName(value: string): boolean {
  return NAME.test(value);
}

/**
 * `column` as a column of the written table, qualified (`title` → `tasks.title`); undefined when it
 * names another table or is not a plain name.
 */
function ownColumn(column: unknown, target: TableRef): string | undefined {
  if (typeof column !== 'string') return undefined;
  if (isName(column)) return `${target.qualifier}.${column}`;
  const dot = column.lastIndexOf('.');
  if (dot === -1 || !isName(column.slice(dot + 1))) return undefined;
  const qualifier = column.slice(0, dot).toLowerCase();
  if (!qualifier.split('.').every(isName)) return undefined;
  const own =
    qualifier === target.qualifier.toLowerCase() ||
    (target.alias === undefined && qualifier === target.name.toLowerCase());
  return own ? column : undefined;
}

/** A copy of the written values with each key qualified; null when one is not the written table's. */
function ownKeys(values: unknown, own: (c: string) => string | undefined): Record<string, unknown> | null {
  if (!isPlainRecord(values)) return null;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(values)) {
    const column = own(key);
    if (column === undefined || Object.hasOwn(out, column)) return null;
    out[column] = values[key];
  }
  return out;
}

// WHERE statement types that compare a column with values, and nothing else.
const PLAIN_WHERE = new Set(['whereBasic', 'whereIn', 'whereNull', 'whereBetween', 'whereLike', 'whereILike']);

/** A column-to-value predicate: no subquery, callback, raw or second column to read another table. */
function plainWhere(s: Statement): boolean {
  if (s.grouping !== 'where' || s.type === undefined || !PLAIN_WHERE.has(s.type)) return false;
  if (s.asColumn === true || (s.operator !== undefined && typeof s.operator !== 'string')) return false;
  const values = Array.isArray(s.value) ? s.value : [s.value];
  for (let v = 0; v < values.length; v++) if (!isPlainValue(values[v])) return false;
  return true;
}

/** An UPDATE's values are plain data: no raw, no subquery, no object a driver could write as SQL. */
function plainValues(update: unknown): boolean {
  if (!isPlainRecord(update)) return false;
  for (const key of Object.keys(update)) if (!isPlainValue(update[key])) return false;
  return true;
}

function isPlainValue(value: unknown): boolean {
  if (value === null) return true;
  if (typeof value === 'object') return value instanceof Date || ArrayBuffer.isView(value);
  return typeof value !== 'function' && typeof value !== 'symbol';
}
