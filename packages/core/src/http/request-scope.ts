// How an adapter runs the rest of a request: always in a store of its own (scopeStorage().run,
// never enterWith), so nothing leaks in from where the server or the test was started.
import { type ScopeState, scopeStorage } from '../scope-state';

const NO_VALUES = Object.freeze({});

/** Runs `fn` with no tenant: enforcement on, no values, so scoped queries throw SCOPE_MISSING. */
export function runWithoutTenant<T>(fn: () => T): T {
  return scopeStorage().run(Object.freeze({ enabled: true, values: NO_VALUES }), fn);
}

/** Runs `fn` in a resolved request's own state (`TenantResolution.state`). */
export function runInTenantScope<T>(state: ScopeState, fn: () => T): T {
  return scopeStorage().run(state, fn);
}
