// The statements and join clauses that carry a scope filter, in Knex's own internal shapes.

import type { ScopeKey, ScopeValue } from '../scope-values';
import type { DimensionRule } from '../table-paths';
import { INTERNAL_WRAPPER, ONLY_DIMENSIONS } from './builder-symbols';
import type { BuilderLike, Clause, ClientLike, SingleLike, Statement } from './knex-internals';

/** One builder's rewrite, for one compile: its statements and `_single` as compiled. */
export interface Rewrite {
  readonly statements: Statement[];
  readonly single: SingleLike;
}

export type Filter = { readonly rule: DimensionRule; readonly value: Exclude<ScopeValue, symbol> };

/** `select parent.key from parent` — filtered by the parent's own rule when it is compiled. */
export function parentKeys(
  client: ClientLike,
  rule: DimensionRule & { kind: 'path' },
  schema: string | undefined,
): BuilderLike {
  const sub = client.queryBuilder() as BuilderLike & { select(c: string): BuilderLike; from(t: string): BuilderLike };
  sub.select(`${rule.parentTable}.${rule.parentKey}`);
  sub.from(schema ? `${schema}.${rule.parentTable}` : rule.parentTable);
  (sub as unknown as Record<symbol, unknown>)[ONLY_DIMENSIONS] = [rule.dimension];
  return sub;
}

// An empty scope matches no row, whatever the path: no subquery needed.
export function isEmptyList(value: Filter['value']): boolean {
  return Array.isArray(value) && value.length === 0;
}

function falseRaw(client: ClientLike) {
  return client.raw('1 = 0');
}

/** Builds (or takes from a cache) the filtered subquery of an FK path. */
export type PathSubquery = (
  client: ClientLike,
  f: Filter & { rule: { kind: 'path' } },
  schema: string | undefined,
  materialize?: boolean,
) => unknown;

/** `qualifier` undefined: the bare column, for a statement whose FROM is its only table. */
export function wherePredicate(
  client: ClientLike,
  qualifier: string | undefined,
  schema: string | undefined,
  f: Filter,
  pathSubquery: PathSubquery,
): Statement {
  const column = qualifier === undefined ? f.rule.column : `${qualifier}.${f.rule.column}`;
  if (isEmptyList(f.value))
    return { grouping: 'where', type: 'whereRaw', value: falseRaw(client), not: false, bool: 'and' };
  if (f.rule.kind === 'path') {
    const value = pathSubquery(client, f as Filter & { rule: { kind: 'path' } }, schema);
    return { grouping: 'where', type: 'whereIn', column, value, not: false, bool: 'and' };
  }
  if (Array.isArray(f.value)) {
    const keys = f.value as readonly ScopeKey[];
    if (keys.length === 0)
      return { grouping: 'where', type: 'whereRaw', value: falseRaw(client), not: false, bool: 'and' };
    return { grouping: 'where', type: 'whereIn', column, value: [...keys], not: false, bool: 'and' };
  }
  return {
    grouping: 'where',
    type: 'whereBasic',
    column,
    operator: '=',
    value: f.value,
    not: false,
    bool: 'and',
    asColumn: false,
  };
}

export function onPredicate(
  client: ClientLike,
  qualifier: string,
  schema: string | undefined,
  f: Filter,
  pathSubquery: PathSubquery,
): Clause {
  const column = `${qualifier}.${f.rule.column}`;
  if (isEmptyList(f.value)) return { type: 'onRaw', value: falseRaw(client), bool: 'and' };
  if (f.rule.kind === 'path') {
    const value = pathSubquery(client, f as Filter & { rule: { kind: 'path' } }, schema);
    return { type: 'onIn', column, value, not: false, bool: 'and' };
  }
  if (Array.isArray(f.value)) {
    const keys = f.value as readonly ScopeKey[];
    if (keys.length === 0) return { type: 'onRaw', value: falseRaw(client), bool: 'and' };
    return { type: 'onIn', column, value: [...keys], not: false, bool: 'and' };
  }
  return { type: 'onVal', column, operator: '=', value: f.value, bool: 'and' };
}

// WHERE statement types whose compiled SQL is one predicate that cannot lower the precedence
// of what surrounds it. Anything else (raw, or an unknown type) is wrapped in parentheses.
export const SELF_CONTAINED_WHERE: ReadonlySet<string> = new Set([
  'whereBasic',
  'whereIn',
  'whereNull',
  'whereExists',
  'whereWrapped',
  'whereBetween',
  'whereLike',
  'whereILike',
]);
const SELF_CONTAINED_ON = new Set(['onBasic', 'onVal', 'onIn', 'onNull', 'onBetween', 'onExists', 'onWrapped']);

function hasRaw(s: { column?: unknown; value?: unknown }, isRaw: (v: unknown) => boolean): boolean {
  if (isRaw(s.column) || isRaw(s.value)) return true;
  return Array.isArray(s.value) && s.value.some(isRaw);
}

/** Whether a group must be parenthesised before a filter is ANDed to it. */
export function needsParentheses(
  group: ReadonlyArray<{ type?: string; bool?: string; column?: unknown; value?: unknown }>,
  selfContained: ReadonlySet<string>,
  isRaw: (v: unknown) => boolean,
): boolean {
  for (let i = 0; i < group.length; i++) {
    const s = group[i] as { type?: string; bool?: string; column?: unknown; value?: unknown };
    if (i > 0 && s.bool !== 'and') return true;
    if (s.type === undefined || !selfContained.has(s.type) || hasRaw(s, isRaw)) return true;
  }
  return false;
}

/** The user's WHERE statements, made safe to follow a filter: parenthesised, or first `bool` reset. */
export function guardWhereGroup(wheres: Statement[], isRaw: (v: unknown) => boolean): Statement[] {
  if (wheres.length === 0) return wheres;
  if (needsParentheses(wheres, SELF_CONTAINED_WHERE, isRaw)) {
    const inner = wheres;
    const wrapper = function (this: { _statements: Statement[] }) {
      (this as unknown as Record<symbol, unknown>)[INTERNAL_WRAPPER] = true;
      this._statements.push(...inner);
    };
    return [{ grouping: 'where', type: 'whereWrapped', value: wrapper, not: false, bool: 'and' }];
  }
  // a lone `.orWhere()` must not become `filter OR …`
  const first = wheres[0] as Statement;
  return first.bool === 'and' ? wheres : [{ ...first, bool: 'and' }, ...wheres.slice(1)];
}

/**
 * A rewritten builder's statements: the filters first, then the user's WHERE (guarded when
 * there are filters before it), then everything else in order, a join replaced where
 * `joins` has one for its index. Appends to `filters` (plain loops: a spread push cost more
 * than the rest of a rewrite).
 */
export function filtersFirst(
  filters: Statement[],
  original: readonly Statement[],
  joins: ReadonlyMap<number, Statement> | undefined,
  isRaw: (v: unknown) => boolean,
): Statement[] {
  const userWheres: Statement[] = [];
  for (let i = 0; i < original.length; i++) {
    const s = original[i] as Statement;
    if (s.grouping === 'where') userWheres.push(s);
  }
  const guarded = filters.length > 0 ? guardWhereGroup(userWheres, isRaw) : userWheres;
  for (let i = 0; i < guarded.length; i++) filters.push(guarded[i] as Statement);
  for (let i = 0; i < original.length; i++) {
    const s = original[i] as Statement;
    if (s.grouping !== 'where') filters.push(joins?.get(i) ?? s);
  }
  return filters;
}

/** The join's own ON clauses, made safe to be followed by `and <filter>`. */
export function guardJoinClauses(clauses: Clause[], isRaw: (v: unknown) => boolean): Clause[] {
  if (clauses.length === 0) return clauses;
  if (needsParentheses(clauses, SELF_CONTAINED_ON, isRaw)) {
    const inner = clauses;
    const wrapper = function (this: { clauses: Clause[] }) {
      this.clauses.push(...inner);
    };
    return [{ type: 'onWrapped', value: wrapper, bool: 'and' }];
  }
  const first = clauses[0] as Clause;
  return first.bool === 'and' ? clauses : [{ ...first, bool: 'and' }, ...clauses.slice(1)];
}
