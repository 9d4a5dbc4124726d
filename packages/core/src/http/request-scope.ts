// How an adapter runs the rest of a request: always in a store of its own (scopeStorage().run,
// never enterWith), so nothing leaks in from where the server or the test was started.
import { type ScopeState, scopeStorage } from '../scope-state';
import { isResolvedState, linkEnclosing } from './enclosing-scope';

const NO_VALUES = Object.freeze({});

/**
 * Runs `fn(a, b, c)` with no tenant: enforcement on, no values, so scoped queries throw
 * SCOPE_MISSING. Where no store is in force (the usual case) that is already so, and `fn` runs
 * as is. The request's parts are passed through rather than captured: no closure per request.
 * Inside a scope another adapter opened, the tenant resolved here must agree with it (see
 * enclosing-scope.ts); any other inherited scope is simply left behind.
 */
export function runWithoutTenant<A, B, C, T>(fn: (a: A, b: B, c: C) => T, a: A, b: B, c: C): T {
  const storage = scopeStorage();
  const inherited = storage.getStore();
  if (inherited === undefined) return fn(a, b, c);
  // A fresh state, as every request gets (only taken where a store was inherited: rare)
  const fresh: ScopeState = Object.freeze({ enabled: true, values: NO_VALUES });
  if (isResolvedState(inherited)) linkEnclosing(fresh, inherited);
  return storage.run(fresh, fn, a, b, c);
}

/** Runs `fn` in a resolved request's own state (`TenantResolution.state`). */
export function runInTenantScope<T>(state: ScopeState, fn: () => T): T {
  return scopeStorage().run(state, fn);
}

/**
 * Hands a resolution to `settle(resolution, a, b, fail)` at once when it is already known (a
 * cache hit: no promise, no extra turn of the event loop), else when it arrives. Whatever
 * throws, in `settle` too, goes to `fail`, in the context this was called from.
 */
export function whenResolved<R, A, B, F extends (error: Error) => void>(
  result: R | Promise<R>,
  settle: (resolution: R, a: A, b: B, fail: F) => void,
  a: A,
  b: B,
  fail: F,
): void {
  if (result instanceof Promise) {
    result.then((resolution) => settle(resolution, a, b, fail)).catch((error: Error) => fail(error));
    return;
  }
  try {
    settle(result, a, b, fail);
  } catch (error) {
    fail(error as Error);
  }
}
