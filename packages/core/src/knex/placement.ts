// Where a rewrite's filters go: the WHERE it adds, and the join statements it replaces.
import { type Clause, isRaw, type JoinClauseLike, type SingleLike, type Statement } from './knex-internals';
import { guardJoinClauses } from './predicates';

export interface Placement {
  where: Statement[];
  /** Join statements replaced by index; made at the first join that needs it. */
  joins: Map<number, JoinClauseLike> | undefined;
  /** Joins whose own ON clauses were already made safe to be followed by a filter. */
  guarded: Set<number> | undefined;
  single: SingleLike;
}

export function replaceJoinTable(placement: Placement, join: JoinClauseLike, index: number, table: unknown): void {
  placement.joins ??= new Map();
  const joins = placement.joins;
  joins.set(index, {
    grouping: 'join',
    table,
    joinType: join.joinType,
    schema: undefined,
    clauses: (joins.get(index) ?? join).clauses,
  });
}

export function addOnClauses(placement: Placement, join: JoinClauseLike, index: number, clauses: Clause[]): void {
  placement.joins ??= new Map();
  const joins = placement.joins;
  const current = joins.get(index) ?? join;
  placement.guarded ??= new Set();
  const own = placement.guarded.has(index) ? current.clauses : guardJoinClauses(current.clauses, isRaw);
  placement.guarded.add(index);
  joins.set(index, { ...copyJoin(current), clauses: [...own, ...clauses] });
}

function copyJoin(join: JoinClauseLike): JoinClauseLike {
  return { grouping: 'join', table: join.table, joinType: join.joinType, schema: join.schema, clauses: join.clauses };
}
