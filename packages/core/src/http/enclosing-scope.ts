// Stacked openers: an app-wide adapter opened the tenant's scope (from the host, say) and a
// route-level one (from the signed-in user) runs inside it. The inner one must agree with the
// outer one, never silently replace it. A scope the server was started in, or one the app
// opened itself, is not an adapter's and stays ignored, as runWithoutTenant always did.
import { ScopeError } from '../errors';
import { type ScopeState, scopeStorage } from '../scope-state';
import { ALL, type FrozenScopeValues, keysEqual, type ScopeKey, type ScopeValue } from '../scope-values';
import type { TenantResolution } from './tenant-resolver';

// The values of tenant resolutions, marked where they are computed: once per lookup when the
// lookup is cached, so telling an adapter's scope apart costs nothing per request.
const RESOLVED = new WeakSet<FrozenScopeValues>();
// A request's "no tenant yet" state → the adapter's state it was entered from (stacking only).
const ENCLOSING = new WeakMap<ScopeState, ScopeState>();

/** Marks frozen scope values as a tenant resolution's (and returns them). */
export function resolvedValues(values: FrozenScopeValues): FrozenScopeValues {
  RESOLVED.add(values);
  return values;
}

/** True when `state` carries the values of a tenant resolution: an adapter opened it. */
export function isResolvedState(state: ScopeState): boolean {
  return state.enabled && RESOLVED.has(state.values);
}

/** Remembers that `inner` (a request's state without tenant) was entered from `outer`. */
export function linkEnclosing(inner: ScopeState, outer: ScopeState): void {
  ENCLOSING.set(inner, outer);
}

/** The scope an adapter already opened for this request, when another one resolves inside it. */
export function enclosingScope(): ScopeState | undefined {
  const store = scopeStorage().getStore();
  return store === undefined ? undefined : ENCLOSING.get(store);
}

function keysOf(value: ScopeValue): readonly ScopeKey[] {
  return Array.isArray(value) ? (value as readonly ScopeKey[]) : [value as ScopeKey];
}

function sameValue(a: ScopeValue, b: ScopeValue): boolean {
  if (a === ALL || b === ALL) return a === b;
  const left = keysOf(a);
  const right = keysOf(b);
  return left.every((k) => right.some((r) => keysEqual(k, r))) && right.every((k) => left.some((l) => keysEqual(k, l)));
}

/** The outer dimensions the inner values drop or change (it may add dimensions: a narrowing). */
function disagreements(outer: FrozenScopeValues, inner: FrozenScopeValues): string[] {
  return Object.keys(outer).filter(
    (dimension) => !(dimension in inner) || !sameValue(outer[dimension] as ScopeValue, inner[dimension] as ScopeValue),
  );
}

/** A resolution checked against the scope it runs inside: a different tenant is TENANT_CONFLICT. */
export function agreeWithEnclosing<T>(resolution: TenantResolution<T>, outer: ScopeState): TenantResolution<T> {
  if (!resolution.ok) return resolution;
  const dimensions = disagreements(outer.values, resolution.state.values);
  if (dimensions.length === 0) return resolution;
  const error = new ScopeError(
    'TENANT_CONFLICT',
    `This request resolves to another scope (${dimensions.join(', ')}) than the one an earlier ` +
      'scoping middleware opened for it.',
    { dimensions },
  );
  return { ok: false, error };
}

/** `resolve()`'s result, checked against the enclosing adapter scope when there is one. */
export function withinEnclosing<T>(
  result: TenantResolution<T> | Promise<TenantResolution<T>>,
  outer: ScopeState | undefined,
): TenantResolution<T> | Promise<TenantResolution<T>> {
  if (outer === undefined) return result;
  return result instanceof Promise
    ? result.then((r) => agreeWithEnclosing(r, outer))
    : agreeWithEnclosing(result, outer);
}
