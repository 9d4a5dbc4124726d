// From a request to a tenant and its scope: find the key, validate it, look the tenant up
// (cached), compute its scope values. Every adapter calls this and only translates the result.
import { ScopeError } from '../errors';
import type { ScopeState } from '../scope-state';
import { normalizeScopeValues, type ScopeKey, type ScopeValues } from '../scope-values';
import { enclosingScope, resolvedValues, withinEnclosing } from './enclosing-scope';
import type { KeyOutcome } from './keys';
import { cachedLookup, type Found, type LookupCacheOptions, uncachedLookup } from './lookup-cache';
import type { TenantRequest } from './request';
import { type KeyResolver, runResolver } from './resolvers';
import { userRefusal } from './signed-in-user';

/** What the lookup is told besides the key. */
export interface LookupContext {
  /** Which resolver found the key: 'subdomain', 'host', 'path', 'header', 'session', 'user', 'custom'. */
  readonly source: string;
}

type MaybePromise<T> = T | PromiseLike<T>;

/** Options of `tenantResolver`. */
export interface TenantResolverOptions<T, Raw = unknown> {
  /** Where the key comes from: one resolver, a plain function, or `firstOf(...)`. */
  readonly from: KeyResolver<Raw>;
  /** The tenant for a valid key; `undefined` or `null` for an unknown one (404). */
  readonly lookup: (key: string, context: LookupContext) => MaybePromise<T | null | undefined>;
  /** Cache lookups in an LRU (`true` for the defaults). Default: no cache. */
  readonly cache?: LookupCacheOptions | boolean;
  /**
   * The scope a tenant's requests run in; several dimensions allowed. Default
   * `(tenant) => ({ tenant: tenant.id })`, so it is required when the tenant has no `id`.
   */
  readonly scopeValues?: ScopeValuesOf<T>;
}

/** The scope values of a tenant. */
export type ScopeValuesOf<T> = (tenant: T) => ScopeValues;

/** A resolved request, or the reason it has no tenant (a ScopeError with a TENANT_* code). */
export type TenantResolution<T> =
  | {
      readonly ok: true;
      readonly tenant: T;
      readonly key: string;
      readonly source: string;
      /** A fresh, frozen state for this request: exactly the tenant's values, nothing inherited. */
      readonly state: ScopeState;
    }
  | { readonly ok: false; readonly error: ScopeError };

/** Resolves the tenant of requests; shareable between adapters and apps. */
export interface TenantResolver<T, Raw = unknown> {
  /**
   * Resolves one request: at once when the key resolvers are synchronous and the lookup is a
   * cache hit (or the key is refused), else through a promise. Never throws synchronously: a
   * resolver or lookup error is a rejected promise. Called inside a scope another adapter
   * opened for the request, a resolution that disagrees with it is refused (TENANT_CONFLICT).
   */
  resolve(req: TenantRequest<Raw>): TenantResolution<T> | Promise<TenantResolution<T>>;
  /** Drops cached entries for a key, or for every tenant the predicate picks; returns the count. */
  evict(target: string | ((tenant: T) => boolean)): number;
  /** Empties the lookup cache. */
  clear(): void;
  /** True when the key resolver reads the session. */
  readonly usesSession: boolean;
  /** True when the tenant comes from the signed-in user (an adapter checks its auth at start-up). */
  readonly usesUser: boolean;
}

const defaultScopeValues = (tenant: unknown): ScopeValues =>
  ({ tenant: (tenant as { id: ScopeKey }).id }) as ScopeValues;

function refused(code: 'TENANT_KEY_MISSING' | 'TENANT_KEY_INVALID' | 'TENANT_NOT_FOUND', message: string) {
  return { ok: false as const, error: new ScopeError(code, message) };
}

/** Builds the resolver an adapter takes: `scopingMiddleware(tenantResolver({ from, lookup }))`. */
// Two overloads rather than a conditional type, so T is still inferred from a lookup whose
// parameter is not annotated; the one with `scopeValues` comes first so that its callback's
// parameter is typed from the lookup, not from the `id` constraint.
export function tenantResolver<T, Raw = unknown>(
  options: TenantResolverOptions<T, Raw> & { readonly scopeValues: ScopeValuesOf<T> },
): TenantResolver<T, Raw>;
export function tenantResolver<T extends { readonly id: ScopeKey }, Raw = unknown>(
  options: TenantResolverOptions<T, Raw> & { readonly scopeValues?: undefined },
): TenantResolver<T, Raw>;
export function tenantResolver<T, Raw = unknown>(options: TenantResolverOptions<T, Raw>): TenantResolver<T, Raw> {
  const { from, lookup } = options;
  if (typeof from !== 'function' || typeof lookup !== 'function') {
    throw new ScopeError('INVALID_DEFINITION', 'tenantResolver() needs a `from` resolver and a `lookup` function.');
  }
  const scopeValues: ScopeValuesOf<T> = options.scopeValues ?? defaultScopeValues;
  const load = async (key: string, source: string): Promise<Found<T> | undefined> => {
    const tenant = await lookup(key, { source });
    if (tenant === undefined || tenant === null) return undefined;
    // Validated here, once per load: a tenant without an id is an error, never an unscoped request.
    return { tenant, values: resolvedValues(Object.freeze(normalizeScopeValues(scopeValues(tenant)))) };
  };
  const cache = options.cache;
  const tenants = cache ? cachedLookup(load, cache === true ? {} : cache) : uncachedLookup(load);

  const resolved = (outcome: KeyOutcome & { kind: 'key' }, found: Found<T> | undefined): TenantResolution<T> => {
    if (found === undefined) return refused('TENANT_NOT_FOUND', `No tenant for the key from ${outcome.source}.`);
    const state: ScopeState = Object.freeze({ enabled: true, values: found.values });
    return { ok: true, tenant: found.tenant, key: outcome.key, source: outcome.source, state };
  };
  const usesUser = from.usesUser === true;
  const afterKey = (
    outcome: KeyOutcome | undefined,
    req: TenantRequest<Raw>,
  ): TenantResolution<T> | Promise<TenantResolution<T>> => {
    if (outcome === undefined)
      return usesUser ? userRefusal(req) : refused('TENANT_KEY_MISSING', 'The request names no tenant.');
    if (outcome.kind === 'invalid') {
      return refused('TENANT_KEY_INVALID', `Invalid tenant key from ${outcome.source}: ${outcome.reason}.`);
    }
    const found = tenants.find(outcome.key, outcome.source);
    return found instanceof Promise ? found.then((f) => resolved(outcome, f)) : resolved(outcome, found);
  };

  return {
    resolve(req) {
      let outcome: ReturnType<typeof runResolver>;
      try {
        outcome = runResolver(from, req);
      } catch (error) {
        return Promise.reject(error);
      }
      const result = outcome instanceof Promise ? outcome.then((o) => afterKey(o, req)) : afterKey(outcome, req);
      return withinEnclosing(result, enclosingScope());
    },
    evict: tenants.evict,
    clear: tenants.clear,
    usesSession: from.usesSession === true,
    usesUser,
  };
}
