// The `colocateJoins` option: a join between two tables that both carry a dimension's column
// also gets `b.tenant_id = a.tenant_id` in its ON clause. Citus routes or co-locates a join of
// distributed tables only with that equality on the distribution column; each side pinned to
// the same tenant is not enough once a scope holds several tenants or ALL.
import type { DirectRule } from '../table-paths';
import type { CompileRun } from './compile-run';
import type { Clause } from './knex-internals';
import { usesUsing } from './outer-joins';
import { addOnClauses, type Placement } from './placement';
import type { TableRef } from './table-refs';

const COLOCATED_JOINS = new Set(['inner', 'left', 'left outer']);

/** A reference every row of the result has (the FROM or an inner join), never a nullable side. */
function isCore(ref: TableRef): boolean {
  return ref.site.kind === 'from' || (ref.site.kind === 'join' && ref.site.join.joinType === 'inner');
}

function directRule(ref: TableRef, dimension: string): DirectRule | undefined {
  for (const rule of ref.policy.rules) if (rule.kind === 'direct' && rule.dimension === dimension) return rule;
  return undefined;
}

/**
 * Adds the equalities to `placement`: for each inner or left join of a table with a direct column
 * on a dimension the scope restricts (a value, a list, or ALL), one equality with the first
 * earlier FROM or inner-joined table that has that column too. An earlier left-joined table is
 * never used: the equality would drop the rows it null-extends.
 */
export function colocateJoins(run: CompileRun, refs: readonly TableRef[], placement: Placement): void {
  const dimension = run.policy.colocateJoins;
  const state = run.state();
  if (!state?.enabled || dimension === undefined) return;
  for (let j = 0; j < refs.length; j++) {
    const ref = refs[j] as TableRef;
    const site = ref.site;
    if (site.kind !== 'join' || site.key !== undefined || !COLOCATED_JOINS.has(site.join.joinType)) continue;
    if (usesUsing(site.join)) continue; // USING already equates its columns; ON cannot be added
    const clauses: Clause[] = [];
    for (const rule of ref.policy.rules) {
      // the distribution dimension only: equating another (a user) would change a scope's rows
      if (rule.kind !== 'direct' || rule.dimension !== dimension || state.values[rule.dimension] === undefined)
        continue;
      for (let e = 0; e < j; e++) {
        const earlier = refs[e] as TableRef;
        const other = isCore(earlier) ? directRule(earlier, rule.dimension) : undefined;
        if (!other) continue;
        clauses.push({
          type: 'onBasic',
          column: `${ref.qualifier}.${rule.column}`,
          operator: '=',
          value: `${earlier.qualifier}.${other.column}`,
          bool: 'and',
        });
        break;
      }
    }
    if (clauses.length > 0) addOnClauses(placement, site.join, site.index, clauses);
  }
}
