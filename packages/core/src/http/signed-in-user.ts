// The signed-in user of a request, and what it means when there is none: an anonymous visitor
// (refused, 401) or an auth middleware that has not run yet (a configuration mistake, 500).
// The adapters say which from their framework's markers; the decision is made here, once.
import { ScopeError } from '../errors';
import type { TenantRequest } from './request';

function present(user: unknown): boolean {
  // Passport's logout leaves null, a failed custom callback false: neither is a user
  return user !== undefined && user !== null && user !== false;
}

/**
 * The user, or `undefined` for an anonymous visitor. Throws a MIDDLEWARE_ORDER ScopeError when
 * the adapter sees that authentication has not run on this request yet.
 */
export function signedInUser(req: TenantRequest): unknown {
  const user = req.user();
  if (present(user)) return user;
  const hint = req.authOrderHint();
  if (hint !== undefined) {
    throw new ScopeError(
      'MIDDLEWARE_ORDER',
      `The tenant comes from the signed-in user, but authentication has not run yet on this request: ${hint}.`,
    );
  }
  return undefined;
}

/** Why a tenant from the user could not be found: no user (401), or a user with no tenant (403). */
export function userRefusal(req: TenantRequest): { readonly ok: false; readonly error: ScopeError } {
  const error = present(req.user())
    ? new ScopeError('TENANT_USER_UNASSIGNED', 'The signed-in user belongs to no tenant.')
    : new ScopeError('TENANT_USER_MISSING', 'The tenant comes from the signed-in user: sign in first.');
  return { ok: false, error };
}
