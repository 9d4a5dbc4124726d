// Path filters an inner join already implies. In `comments c join tasks t on t.id = c.task_id`,
// with `t` filtered to the tenant, every row's comment has a task of the tenant: exactly what
// c's own filter (`c.task_id in (select tasks.id from tasks where <tasks' filter>)`) says.
// Repeating it cost PostgreSQL 14x a hand-written join at 1 M rows (bench:sql): the planner
// built the tenant's whole task set and sorted every comment of it. A filter is dropped only
// where that implication holds by construction, and anything unclear keeps it.
import type { BuilderLike, Clause, JoinClauseLike, Statement } from './knex-internals';
import type { Filter } from './predicates';
import { qualifierOfTable, type TableRef } from './table-refs';

/** A reference whose rows are filtered by every conjunct of the query: the FROM, or an inner join. */
function isCore(ref: TableRef): boolean {
  return ref.site.kind === 'from' || (ref.site.kind === 'join' && ref.site.join.joinType === 'inner');
}

/**
 * Every table of the builder's FROM and joins is a named table (no derived table, raw or object
 * form), and their qualifiers differ in any case (SQLite and MySQL fold the case of some names):
 * `t.id` then names one reference and nothing else.
 */
function distinctQualifiers(builder: BuilderLike): boolean {
  const seen = new Set<string>();
  const add = (qualifier: string | undefined): boolean => {
    if (qualifier === undefined) return false;
    const key = qualifier.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  const single = builder._single;
  if (single.using !== undefined || single.updateFrom !== undefined) return false;
  if (!add(qualifierOfTable(single.table, single.schema))) return false;
  const statements = builder._statements;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i] as Statement;
    if (s.grouping === 'with') return false;
    if (s.grouping !== 'join') continue;
    const join = s as JoinClauseLike;
    if (join.joinType === 'raw' || !add(qualifierOfTable(join.table, join.schema))) return false;
  }
  return true;
}

/**
 * `a = b` conjuncts of the inner joins' ON clauses, both ways, as "a\u0000b". A join whose
 * clauses are not all ANDed gives none (`x = y or …` implies nothing).
 */
function equalities(builder: BuilderLike, frozenJoins: ReadonlyMap<number, JoinClauseLike> | undefined): Set<string> {
  const out = new Set<string>();
  const statements = builder._statements;
  for (let i = 0; i < statements.length; i++) {
    const s = statements[i] as Statement;
    if (s.grouping !== 'join') continue;
    const join = frozenJoins?.get(i) ?? (s as JoinClauseLike);
    if (join.joinType !== 'inner') continue;
    const clauses = join.clauses;
    let conjunctive = true;
    for (let j = 1; j < clauses.length; j++) if ((clauses[j] as Clause).bool !== 'and') conjunctive = false;
    if (!conjunctive) continue;
    for (const c of clauses) {
      if (c.type !== 'onBasic' || c.operator !== '=' || c.not === true) continue;
      if (typeof c.column !== 'string' || typeof c.value !== 'string') continue;
      out.add(`${c.column}\u0000${c.value}`);
      out.add(`${c.value}\u0000${c.column}`);
    }
  }
  return out;
}

/**
 * The path filters of `refs` (with `filters[i]` those of `refs[i]`) that inner joins imply: a
 * path filter of R on dimension d is implied when R is joined by `R.column = S.parentKey` to a
 * reference S of the parent table (same schema) that is itself filtered on d, by its own
 * predicate or by one implied in turn. Chains are followed only from a kept filter, so two
 * references can never vouch for each other. `undefined` when nothing is implied.
 */
export function impliedFilters(
  builder: BuilderLike,
  refs: readonly TableRef[],
  filters: ReadonlyArray<readonly Filter[] | undefined>,
  frozenJoins: ReadonlyMap<number, JoinClauseLike> | undefined,
): Set<Filter> | undefined {
  if (refs.length < 2 || !distinctQualifiers(builder)) return undefined;
  const eq = equalities(builder, frozenJoins);
  if (eq.size === 0) return undefined;

  // per path filter that could be implied: the references (by index) that would imply it
  interface Candidate {
    readonly filter: Filter;
    readonly via: number[];
  }
  const candidates: Candidate[] = [];
  const owner = new Map<Filter, number>();
  for (let i = 0; i < refs.length; i++) {
    const ref = refs[i] as TableRef;
    const own = filters[i];
    if (!own || !isCore(ref)) continue;
    for (const f of own) {
      const rule = f.rule;
      if (rule.kind !== 'path') continue;
      const via: number[] = [];
      for (let j = 0; j < refs.length; j++) {
        const parent = refs[j] as TableRef;
        if (j === i || parent.policy.table !== rule.parentTable || parent.schema !== ref.schema || !isCore(parent)) {
          continue;
        }
        if (!filters[j]?.some((g) => g.rule.dimension === rule.dimension)) continue;
        if (eq.has(`${ref.qualifier}.${rule.column}\u0000${parent.qualifier}.${rule.parentKey}`)) via.push(j);
      }
      if (via.length > 0) {
        candidates.push({ filter: f, via });
        owner.set(f, i);
      }
    }
  }
  if (candidates.length === 0) return undefined;

  // A reference is anchored on d once its filter on d is kept or implied. Start from the kept
  // ones (every filter that is not a candidate), drop what an anchor implies, and when a cycle
  // is left undecided, keep one of its filters and go on: every dropped filter then leads, by
  // join equalities, to a filter that is in the SQL.
  const anchored = new Set<string>();
  const anchor = (index: number, dimension: string) => anchored.add(`${index}\u0000${dimension}`);
  const isCandidate = new Set<Filter>(candidates.map((c) => c.filter));
  for (let i = 0; i < refs.length; i++) {
    for (const f of filters[i] ?? []) if (!isCandidate.has(f)) anchor(i, f.rule.dimension);
  }
  const dropped = new Set<Filter>();
  let open = candidates;
  while (open.length > 0) {
    const next: Candidate[] = [];
    for (const c of open) {
      const d = c.filter.rule.dimension;
      if (c.via.some((j) => anchored.has(`${j}\u0000${d}`))) {
        dropped.add(c.filter);
        anchor(owner.get(c.filter) as number, d);
      } else next.push(c);
    }
    if (next.length === open.length) {
      // nothing implied this round: keep the first undecided filter, which anchors its reference
      const kept = next.shift() as Candidate;
      anchor(owner.get(kept.filter) as number, kept.filter.rule.dimension);
    }
    open = next;
  }
  return dropped.size > 0 ? dropped : undefined;
}
