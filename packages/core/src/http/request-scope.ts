// How an adapter runs the rest of a request: always in a store of its own (scopeStorage().run,
// never enterWith), so nothing leaks in from where the server or the test was started.
import { type ScopeState, scopeStorage } from '../scope-state';

const NO_VALUES = Object.freeze({});

/**
 * Runs `fn` with no tenant: enforcement on, no values, so scoped queries throw SCOPE_MISSING.
 * Where no store is in force (the usual case) that is already so, and `fn` runs as is.
 */
export function runWithoutTenant<T>(fn: () => T): T {
  const storage = scopeStorage();
  if (storage.getStore() === undefined) return fn();
  return storage.run(Object.freeze({ enabled: true, values: NO_VALUES }), fn);
}

/** Runs `fn` in a resolved request's own state (`TenantResolution.state`). */
export function runInTenantScope<T>(state: ScopeState, fn: () => T): T {
  return scopeStorage().run(state, fn);
}

/**
 * Hands a resolution to `settle` at once when it is already known (a cache hit: no promise,
 * no extra turn of the event loop), else when it arrives. Whatever throws, in `settle` too,
 * goes to `fail`, in the context this was called from.
 */
export function whenResolved<R>(
  result: R | Promise<R>,
  settle: (resolution: R) => void,
  fail: (error: Error) => void,
): void {
  if (result instanceof Promise) {
    result.then(settle).catch((error: Error) => fail(error));
    return;
  }
  try {
    settle(result);
  } catch (error) {
    fail(error as Error);
  }
}
