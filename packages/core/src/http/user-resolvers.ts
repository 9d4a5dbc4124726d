// The tenant of the signed-in user: a key on the user for the usual cached lookup (fromUser),
// or the tenant itself read off the user with no lookup at all (userTenant), for apps whose
// auth already loaded it (Passport's deserializeUser, a JWT claim).
import { ScopeError } from '../errors';
import type { ScopeState } from '../scope-state';
import { type All, normalizeScopeValues, type ScopeKey, type ScopeValues } from '../scope-values';
import { enclosingScope, resolvedValues, withinEnclosing } from './enclosing-scope';
import type { AppUser } from './index';
import { checkKey, compileKeyRule, type KeyRule } from './keys';
import type { TenantRequest } from './request';
import type { KeyResolver } from './resolvers';
import { signedInUser, userRefusal } from './signed-in-user';
import type { ScopeValuesOf, TenantResolution, TenantResolver } from './tenant-resolver';

/**
 * The key from the signed-in user: `fromUser((user) => user.orgSlug)` for
 * `tenantResolver({ from, lookup })`. No user: no key (a `firstOf` tries the next resolver; at
 * the end, 401 TENANT_USER_MISSING, or 403 TENANT_USER_UNASSIGNED for a user without a key).
 * Auth that has not run yet is a MIDDLEWARE_ORDER error. The lookup's `source` is 'user'.
 */
export function fromUser<U = AppUser>(
  pick: (user: U) => string | number | bigint | null | undefined,
  rule?: KeyRule,
): KeyResolver {
  if (typeof pick !== 'function') {
    throw new ScopeError('INVALID_DEFINITION', 'fromUser() needs a function from the user to its tenant key.');
  }
  const compiled = compileKeyRule(rule);
  const resolver = (req: TenantRequest) => {
    const user = signedInUser(req);
    return user === undefined ? undefined : checkKey(pick(user as U), 'user', compiled);
  };
  return Object.assign(resolver, { usesUser: true });
}

/** Options of `userTenant`. */
export interface UserTenantOptions<T, U = AppUser, Raw = unknown> {
  /**
   * The tenant of the signed-in user, read off it: an object (`user.organization`), its key
   * (`user.tenantId`, a JWT claim), or `ALL` for a user who may see every tenant. `null` or
   * `undefined` refuses the request (403 TENANT_USER_UNASSIGNED), never "all tenants".
   * Synchronous: for a lookup, use `tenantResolver({ from: fromUser(...), lookup })`.
   */
  readonly tenant: (user: U, req: TenantRequest<Raw>) => T | null | undefined;
  /**
   * The scope of the tenant's requests. Default `{ tenant: tenant.id }` for an object,
   * `{ tenant: tenant }` for a key or `ALL`.
   */
  readonly scopeValues?: ScopeValuesOf<T>;
}

const keyOrId = (tenant: unknown): ScopeValues =>
  ({ tenant: typeof tenant === 'object' && tenant !== null ? (tenant as { id: ScopeKey }).id : tenant }) as ScopeValues;

function isThenable(value: unknown): boolean {
  return typeof (value as { then?: unknown }).then === 'function';
}

/**
 * A resolver with no lookup: the tenant comes off the signed-in user, so no query runs to open
 * the scope. Works with every adapter's `scopingMiddleware(resolver)` / Fastify `scopeHook`.
 * The resolution's `source` is 'user' and its `key` empty (no key was used).
 */
// Overloads as in tenantResolver: T is inferred from an unannotated `tenant` accessor.
export function userTenant<T, U = AppUser, Raw = unknown>(
  options: UserTenantOptions<T, U, Raw> & { readonly scopeValues: ScopeValuesOf<T> },
): TenantResolver<T, Raw>;
export function userTenant<T extends { readonly id: ScopeKey } | ScopeKey | All, U = AppUser, Raw = unknown>(
  options: UserTenantOptions<T, U, Raw> & { readonly scopeValues?: undefined },
): TenantResolver<T, Raw>;
export function userTenant<T, U = AppUser, Raw = unknown>(
  options: UserTenantOptions<T, U, Raw>,
): TenantResolver<T, Raw> {
  const accessor = options?.tenant;
  if (typeof accessor !== 'function') {
    throw new ScopeError('INVALID_DEFINITION', 'userTenant() needs a `tenant` function from the user to its tenant.');
  }
  const scopeValues: ScopeValuesOf<T> = options.scopeValues ?? keyOrId;

  const resolveUser = (req: TenantRequest<Raw>): TenantResolution<T> => {
    const user = signedInUser(req);
    if (user === undefined) return userRefusal(req);
    const tenant = accessor(user as U, req);
    if (tenant === undefined || tenant === null) return userRefusal(req);
    if (isThenable(tenant)) {
      throw new ScopeError(
        'INVALID_DEFINITION',
        "userTenant()'s `tenant` returned a promise: it reads the tenant off the user. For a lookup, " +
          'use tenantResolver({ from: fromUser(...), lookup }).',
      );
    }
    // Validated per request (there is no lookup to cache it on): a bad value throws, never widens.
    const values = resolvedValues(Object.freeze(normalizeScopeValues(scopeValues(tenant))));
    const state: ScopeState = Object.freeze({ enabled: true, values });
    return { ok: true, tenant, key: '', source: 'user', state };
  };

  return {
    resolve(req) {
      const outer = enclosingScope();
      let resolution: TenantResolution<T>;
      try {
        resolution = resolveUser(req);
      } catch (error) {
        return Promise.reject(error);
      }
      return withinEnclosing(resolution, outer);
    },
    evict: () => 0,
    clear: () => undefined,
    usesSession: false,
    usesUser: true,
  };
}
