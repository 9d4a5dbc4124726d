// The condition a write carries to check its FK-path parents itself: for one key
// `exists (select parent.key from parent where <parent's scope filter> and parent.key = ?)`, for
// several `(select count(distinct parent.key) from parent where <filter> and parent.key in (…)) = n`
// (true only when every key names a parent in scope: all or nothing, whatever the row count).
// The parent's filter is the one a read of it gets (the rewrite, on the dimensions the path
// carries), compiled once per shape in a run of its own, as path-cache.ts does for FK-path
// subqueries: a SELECT run, so MySQL's materialised write form never applies, and a template
// reused with fresh bindings, so a write pays no compile for it.
import type { ScopeState } from '../scope-state';
import type { ScopeKey, ScopeValue } from '../scope-values';
import { ONLY_DIMENSIONS } from './builder-symbols';
import { CompileRun, type ScopedPolicy, withRun } from './compile-run';
import type { BuilderLike, ClientLike } from './knex-internals';
import type { ParentCheck } from './parent-checks';

/** Where a binding of the template comes from: a dimension's value (its index in a list), or a key. */
type Slot = { readonly dimension: number; readonly index: number } | { readonly key: number };

interface Template {
  readonly sql: string;
  readonly slots: readonly Slot[];
}

const LIMIT = 500;
const templates = new WeakMap<ScopedPolicy, Map<string, Template | null>>();

type CheckBuilder = BuilderLike & {
  select(c: string): CheckBuilder;
  countDistinct(c: string): CheckBuilder;
  from(t: string): CheckBuilder;
  where(c: string, v: unknown): CheckBuilder;
  whereIn(c: string, v: unknown[]): CheckBuilder;
};

/** A condition's SQL (`?` placeholders, compiled: nothing left for Knex to expand) and its values. */
export interface ParentCondition {
  readonly sql: string;
  readonly bindings: readonly unknown[];
}

/**
 * The condition for `check` under `state`; undefined when it cannot be built as a template (the
 * write then keeps the pre-check).
 */
export function parentCondition(
  policy: ScopedPolicy,
  client: ClientLike,
  state: ScopeState | undefined,
  check: ParentCheck,
): ParentCondition | undefined {
  const values: Array<ScopeKey | readonly ScopeKey[]> = [];
  for (const dimension of check.dimensions) {
    const value = state?.values[dimension] as ScopeValue | undefined;
    // a checked dimension has a key or a list (ALL carries no filter, so no check)
    if (value === undefined || typeof value === 'symbol') return undefined;
    values.push(value as ScopeKey | readonly ScopeKey[]);
  }
  const keys = [...check.keys.values()];
  const shape = values.map((v) => (Array.isArray(v) ? `a${v.length}` : 's')).join(',');
  const cacheKey = `${check.schema ?? ''}\u0000${check.parentTable}\u0000${check.parentKey}\u0000${check.dimensions.join(',')}\u0000${shape}\u0000${keys.length}`;
  let cache = templates.get(policy);
  if (!cache) {
    cache = new Map();
    templates.set(policy, cache);
  }
  let template = cache.get(cacheKey);
  if (template === undefined) {
    template = compileTemplate(client, policy, check, values, keys.length) ?? null;
    if (cache.size >= LIMIT) cache.clear();
    cache.set(cacheKey, template);
  }
  if (template === null) return undefined;
  const bindings = template.slots.map((slot) => {
    if ('key' in slot) return keys[slot.key];
    const value = values[slot.dimension];
    return Array.isArray(value) ? value[slot.index] : value;
  });
  return { sql: template.sql, bindings };
}

/**
 * Compiles the check with sentinel values in every slot and keeps it only when each binding is
 * one of them, each key's sentinel and each dimension value's appears (the key predicate and the
 * parent's filter are really there), and the SQL has one placeholder per binding.
 */
function compileTemplate(
  client: ClientLike,
  policy: ScopedPolicy,
  check: ParentCheck,
  values: ReadonlyArray<ScopeKey | readonly ScopeKey[]>,
  keyCount: number,
): Template | undefined {
  let next = 7_302_001;
  const slotOf = new Map<number, Slot>();
  const sentinels: Record<string, ScopeKey | readonly ScopeKey[]> = {};
  check.dimensions.forEach((dimension, d) => {
    const value = values[d];
    if (Array.isArray(value)) {
      sentinels[dimension] = value.map((_, index) => {
        slotOf.set(next, { dimension: d, index });
        return next++;
      });
    } else {
      slotOf.set(next, { dimension: d, index: -1 });
      sentinels[dimension] = next++;
    }
  });
  const keySentinels = Array.from({ length: keyCount }, (_, key) => {
    slotOf.set(next, { key });
    return next++;
  });
  const parent = check.schema ? `${check.schema}.${check.parentTable}` : check.parentTable;
  const keyColumn = `${check.parentTable}.${check.parentKey}`;
  const q = client.queryBuilder() as CheckBuilder;
  if (keyCount === 1) q.select(keyColumn).from(parent).where(keyColumn, keySentinels[0]);
  else q.countDistinct(keyColumn).from(parent).whereIn(keyColumn, keySentinels);
  // the parent is filtered on the dimensions this path carries, as a read through it is
  (q as unknown as Record<symbol, unknown>)[ONLY_DIMENSIONS] = check.dimensions;
  const state = Object.freeze({ enabled: true, values: Object.freeze(sentinels) });
  let compiled: { sql: string; bindings: readonly unknown[] };
  try {
    const run = new CompileRun(policy, undefined, undefined, state);
    compiled = withRun(run, () => client.queryCompiler(q).toSQL()) as typeof compiled;
  } catch {
    return undefined; // the pre-check will meet the same refusal, and report it
  }
  const slots: Slot[] = [];
  const seen = new Set<number>();
  for (const binding of compiled.bindings) {
    const slot = typeof binding === 'number' ? slotOf.get(binding) : undefined;
    if (slot === undefined) return undefined;
    slots.push(slot);
    seen.add(binding as number);
  }
  if (seen.size !== slotOf.size) return undefined;
  if (compiled.sql.split('?').length - 1 !== compiled.bindings.length) return undefined;
  const sql = keyCount === 1 ? `exists (${compiled.sql})` : `(${compiled.sql}) = ${keyCount}`;
  return { sql, slots };
}
