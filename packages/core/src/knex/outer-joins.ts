// Right and full outer joins, where any table may be on a side that can be missing: a scoped
// table is kept with presence-aware predicates (PostgreSQL), or replaced by a filtered derived table.

import { ScopeError } from '../errors';
import { INTERNAL_WRAPPER } from './builder-symbols';
import type { CompileRun } from './compile-run';
import type { BuilderLike, Clause, ClientLike, JoinClauseLike, Statement } from './knex-internals';
import { addOnClauses, type Placement } from './placement';
import { type Filter, onPredicate, type PathSubquery, wherePredicate } from './predicates';
import type { TableRef } from './table-refs';
import { isPlainRecord } from './write-guards';

// MariaDB/MySQL merge derived tables into the outer query, and then hit server bugs (missing
// rows after a merge) and restrictions (reading a DELETE's target table): a LIMIT keeps a
// derived table materialised there.
const NO_MERGE_LIMIT = Number.MAX_SAFE_INTEGER;

/**
 * A filtered derived table standing in for a reference: `(select * from t) as alias`, filtered
 * when it is compiled. In Knex's object form the alias is the object key, so none is set here.
 */
export function derivedTable(run: CompileRun, client: ClientLike, ref: TableRef, aliased: boolean): BuilderLike {
  if (ref.schema && !ref.alias) {
    // the query's own `schema.table.column` references could not reach a derived table
    run.refuse(
      new ScopeError(
        'UNSUPPORTED_QUERY',
        `Give "${ref.schema}.${ref.name}" an alias: under a right/full join or an outer join with USING, a scoped ` +
          'table is replaced by a filtered derived table, which schema-qualified column references cannot reach.',
        { table: ref.policy.table },
      ),
    );
  }
  const sub = client.queryBuilder() as BuilderLike & {
    select(c: string): BuilderLike;
    from(t: string): BuilderLike;
    as(a: string): BuilderLike;
    limit(n: number): BuilderLike;
  };
  sub.select('*');
  sub.from(ref.schema ? `${ref.schema}.${ref.name}` : ref.name);
  if (aliased) sub.as(ref.alias ?? ref.name);
  if (client.dialect === 'mysql') sub.limit(NO_MERGE_LIMIT);
  return sub;
}

/**
 * The presence-aware form needs an ON clause on every join (no USING, raw or callback-less join)
 * and a whole-row reference for every scoped table (an alias, or an unqualified name).
 */
export function canKeepTables(builder: BuilderLike, refs: readonly TableRef[]): boolean {
  // a comma join (`from a, b`): a later join's ON clause sees only its last item, so the items
  // are filtered as derived tables instead
  const table = builder._single.table;
  if (Array.isArray(table) || (isPlainRecord(table) && Object.keys(table).length > 1)) return false;
  for (const s of builder._statements) {
    if (s.grouping !== 'join') continue;
    const join = s as JoinClauseLike;
    if (join.joinType === 'raw' || (join.joinType !== 'cross' && !Array.isArray(join.clauses)) || usesUsing(join))
      return false;
  }
  return refs.every((ref) => ref.alias !== undefined || ref.schema === undefined);
}

// Joins after which a table on their right (the joined one) or left side may be absent from a row.
const NULLS_RIGHT = new Set(['left', 'left outer', 'full outer', 'outer']);
const NULLS_LEFT = new Set(['right', 'right outer', 'full outer', 'outer']);

/**
 * One scoped table of a query with right or full joins, kept as it is. Its rows outside the scope
 * must act as if absent: they never match (its predicate, or its absence, in the ON clause of its
 * own join and of every outer join after it), and a row they would appear in is dropped (the same
 * in WHERE). `(t.*) is not distinct from null` is PostgreSQL's test that t is absent from a joined
 * row (`is null` would take a present row of nulls for absent); where t
 * cannot be absent yet (the ON clause of its own join, or of a join before any that can drop it;
 * WHERE when no join can) the predicate goes alone, so the planner (and Citus) can prune by it.
 */
export function keepTableFilters(
  placement: Placement,
  builder: BuilderLike,
  client: ClientLike,
  ref: TableRef,
  filters: Filter[],
  pathSubquery: PathSubquery,
): void {
  // not `(t.*) is null`: that is also true of a present row whose columns are all null
  const absent = () => client.raw('(??.*) is not distinct from null', [ref.qualifier]);
  const onFilters = filters.map((f) => onPredicate(client, ref.qualifier, ref.schema, f, pathSubquery));
  const whereFilters = filters.map((f) => wherePredicate(client, ref.qualifier, ref.schema, f, pathSubquery));
  const from = ref.site.kind === 'join' ? ref.site.index : -1;
  const statements = builder._statements;
  let mayBeAbsent = false;
  for (let i = Math.max(from, 0); i < statements.length; i++) {
    const join = statements[i] as JoinClauseLike;
    if (join.grouping !== 'join' || join.joinType === 'cross') continue;
    const own = i === from;
    const clause: Clause = mayBeAbsent
      ? {
          type: 'onWrapped',
          value: function (this: { clauses: Clause[] }) {
            this.clauses.push(
              { type: 'onWrapped', value: clausesGroup(onFilters), bool: 'and' },
              { type: 'onRaw', value: absent(), bool: 'or' },
            );
          },
          bool: 'and',
        }
      : { type: 'onWrapped', value: clausesGroup(onFilters), bool: 'and' };
    addOnClauses(placement, join, i, [clause]);
    if (own ? NULLS_RIGHT.has(join.joinType) : NULLS_LEFT.has(join.joinType)) mayBeAbsent = true;
  }
  placement.where.push({
    grouping: 'where',
    type: 'whereWrapped',
    value: mayBeAbsent
      ? function (this: { _statements: Statement[] }) {
          (this as unknown as Record<symbol, unknown>)[INTERNAL_WRAPPER] = true;
          this._statements.push(
            { grouping: 'where', type: 'whereWrapped', value: internalGroup(whereFilters), not: false, bool: 'and' },
            { grouping: 'where', type: 'whereRaw', value: absent(), not: false, bool: 'or' },
          );
        }
      : internalGroup(whereFilters),
    not: false,
    bool: 'and',
  });
}

function internalGroup(statements: Statement[]): (this: { _statements: Statement[] }) => void {
  return function (this: { _statements: Statement[] }) {
    (this as unknown as Record<symbol, unknown>)[INTERNAL_WRAPPER] = true;
    for (const s of statements) this._statements.push(s);
  };
}

function clausesGroup(clauses: Clause[]): (this: { clauses: Clause[] }) => void {
  return function (this: { clauses: Clause[] }) {
    for (const c of clauses) this.clauses.push(c);
  };
}

export function usesUsing(join: JoinClauseLike): boolean {
  return join.clauses.some((c) => c.type === 'onUsing');
}
