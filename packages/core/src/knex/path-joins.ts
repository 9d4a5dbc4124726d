// PostgreSQL reads of a table two or more hops down a path: the filter as an inner join to the
// filtered parent keys instead of `fk in (select …)`.
//
// Why: `c.task_id in (select tasks.id from tasks where tasks.project_id in (select …))` is a
// semi-join whose inner side spans two tables. PostgreSQL 15 proves such a side unique only when
// it is one base table, so it makes the task ids unique first (a HashAggregate) and probes
// `comments` in hash order: a big tenant's count cost 2.4× the hand-written join (bench:sql,
// docs/performance.md). `inner join (select …) as ks_path_1 (ks_key) on ks_path_1.ks_key =
// c.task_id` is flattened into the plain join the hand-written query is, and planned the same,
// paging and lookups by key included. It keeps the same rows because a path's parent key is
// unique (what a foreign key references; the doctor's PATH_KEY_NOT_UNIQUE), and the derived
// table shows one column of an unlikely name, so the app's unqualified names bind as before.

import type { DimensionRule, TablePolicy } from '../table-paths';
import {
  type BuilderLike,
  type ClientLike,
  isBuilder,
  isRaw,
  type JoinClauseLike,
  type Statement,
} from './knex-internals';
import type { Filter } from './predicates';
import { isPlainRecord } from './write-guards';

/** Builds the derived table `(<filtered parent keys>) as "<alias>" ("ks_key")`, or undefined (no cached template). */
export type PathJoinTable = (
  client: ClientLike,
  f: Filter & { rule: { kind: 'path' } },
  schema: string | undefined,
  alias: string,
) => unknown;

export const PATH_JOIN_KEY = 'ks_key';

/**
 * Whether this builder's FROM table may take its path filters as joins: a whole PostgreSQL read
 * statement (in a subquery, `ks_path_1` and `ks_key` could capture a name the app's correlated
 * reference meant for an enclosing query, and an enclosing lock would reach the parents), with
 * one table in its FROM (a join attaches to the last item of `from a, b`, where the ON clause
 * cannot see `a`), no row lock (it would lock the parents' rows too) and no `*` in its select
 * list (it would show the derived table's column).
 */
export function canJoinPaths(builder: BuilderLike, isStatement: boolean): boolean {
  if (!isStatement || builder.client.dialect !== 'postgresql') return false;
  const method = builder._method;
  if (method !== 'select' && method !== 'first' && method !== 'pluck') return false;
  const single = builder._single;
  if (single.lock !== undefined || !isOneTable(single.table)) return false;
  return !selectsStar(builder._statements);
}

function isOneTable(table: unknown): boolean {
  if (typeof table === 'string') return !table.includes(',');
  // the object form `{ alias: 'table' }` of one table; a raw, a builder or a list is not
  if (!isPlainRecord(table)) return false;
  const values = Object.values(table);
  return values.length === 1 && typeof values[0] === 'string' && !values[0].includes(',');
}

// Column statement types that compile to expressions of their own, never to `*` alone.
const EXPRESSION_TYPES = new Set(['aggregate', 'aggregateRaw', 'analytic', 'json']);

function selectsStar(statements: readonly Statement[]): boolean {
  let columns = 0;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i] as Statement & { type?: string; distinctOn?: unknown };
    if (s.grouping !== 'columns' || s.distinctOn) continue;
    if (s.type !== undefined && EXPRESSION_TYPES.has(s.type)) {
      columns++;
      continue;
    }
    // anything else that is not a plain column list may stand for `*`: keep the IN form
    if (s.type !== undefined && s.type !== 'pluck') return true;
    const values = Array.isArray(s.value) ? s.value : [s.value];
    for (const v of values) {
      if (!isColumn(v)) return true;
      columns++;
    }
  }
  return columns === 0; // no column at all compiles to `select *`
}

function isColumn(v: unknown): boolean {
  if (typeof v === 'string') return v.trim() !== '*';
  if (isBuilder(v)) return true; // a subquery as a column
  if (isRaw(v) || v === null || typeof v !== 'object') return false;
  return Object.values(v).every((c) => (typeof c === 'string' ? c.trim() !== '*' : isBuilder(c)));
}

/** True for a path rule whose parent reaches the owner through a path in turn (two hops or more). */
export function isDeepPath(policies: ReadonlyMap<string, TablePolicy>, rule: DimensionRule): boolean {
  if (rule.kind !== 'path') return false;
  const parent = policies.get(rule.parentTable)?.rules;
  if (!parent) return false;
  for (let i = 0; i < parent.length; i++) {
    const r = parent[i] as DimensionRule;
    if (r.dimension === rule.dimension) return r.kind === 'path';
  }
  return false;
}

/** `inner join (<parent keys>) as "ks_path_<n>" ("ks_key") on "ks_path_<n>"."ks_key" = <qualifier>.<fk>`. */
export function pathJoin(table: unknown, alias: string, qualifier: string, column: string): JoinClauseLike {
  return {
    grouping: 'join',
    joinType: 'inner',
    table,
    schema: undefined,
    clauses: [
      {
        type: 'onBasic',
        column: `${alias}.${PATH_JOIN_KEY}`,
        operator: '=',
        value: `${qualifier}.${column}`,
        bool: 'and',
      },
    ],
  };
}
