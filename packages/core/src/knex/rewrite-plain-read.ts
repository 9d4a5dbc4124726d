// The rewrite of the query most requests make: a read from one table, named bare, whose
// statements hold only names and values, filtered on columns of the table itself with one key
// per dimension. It is a short function apart from rewriteBuilder(), which handles everything:
// a server runs this once per request between everything else, so what it costs is mostly
// the machine code it brings into the instruction cache, and this brings a fraction of
// rewriteBuilder()'s. For every builder and scope it takes, it returns what rewriteBuilder()
// would (property-tested); it declines (`undefined`) the rest.
import { ALL } from '../scope-values';
import type { DimensionRule } from '../table-paths';
import { ONLY_DIMENSIONS } from './builder-symbols';
import type { CompileRun } from './compile-run';
import { type BuilderLike, isRaw, type Statement } from './knex-internals';
import { type Filter, filtersFirst, type PathSubquery, type Rewrite, wherePredicate } from './predicates';
import { holdsOnlyNames, isBareName } from './table-refs';

const NO_PATHS: PathSubquery = () => {
  throw new Error('knex-scopes: a plain read has no FK-path filter'); // unreachable: direct rules only
};

export function rewritePlainRead(builder: BuilderLike, run: CompileRun): Rewrite | null | undefined {
  const method = builder._method;
  if (method !== 'select' && method !== 'first' && method !== 'pluck') return undefined;
  const single = builder._single;
  const table = single.table;
  if (typeof table !== 'string' || single.schema !== undefined || !isBareName(table)) return undefined;
  if (!holdsOnlyNames(builder)) return undefined;
  const statements = builder._statements;
  const policy = run.policy.matcher.match(table);
  if (policy === undefined) return null; // an unscoped table, and no raw SQL to refuse
  if ((builder as unknown as Record<symbol, unknown>)[ONLY_DIMENSIONS] !== undefined) return undefined;
  const state = run.state();
  if (state === undefined || !state.enabled) return undefined; // refusals and bypass events
  // The only table of a whole statement: the bare column, as in rewriteBuilder()
  const qualifier = run.statement === builder ? undefined : table;
  const out: Statement[] = [];
  const rules = policy.rules;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as DimensionRule;
    const value = state.values[rule.dimension];
    if (rule.kind !== 'direct' || value === undefined || value === ALL || typeof value === 'object') return undefined;
    const filter: Filter = { rule, value };
    out.push(wherePredicate(builder.client, qualifier, undefined, filter, NO_PATHS));
  }
  return { statements: filtersFirst(out, statements, undefined, isRaw), single };
}
