// @knex-scopes/core/http: tenant resolution shared by the Express, Koa and Fastify adapters.

import * as request from './request';
import * as requestScope from './request-scope';

export type { SubdomainOptions } from './host-resolvers';
export { fromHost, fromSubdomain, requestHost } from './host-resolvers';
export type { ParsedHost } from './hostname';
export { normalizeDomain, parseHost } from './hostname';
export type { KeyOutcome, KeyRule } from './keys';
export type { Found, LookupCacheOptions } from './lookup-cache';
export type { BaseScopingOptions, RejectionBody, RejectionStatuses, TenantRejection } from './rejection';
export { adapterRejections, rejectionOf, rejectionStatuses } from './rejection';
export type { TenantRequest } from './request';
export { sessionMiddlewareMissing } from './request';
export type { KeyResolver, PathOptions, ResolverResult } from './resolvers';
export { firstOf, fromFunction, fromHeader, fromPath, fromSession } from './resolvers';
export type {
  LookupContext,
  ScopeValuesOf,
  TenantResolution,
  TenantResolver,
  TenantResolverOptions,
} from './tenant-resolver';
export { tenantResolver } from './tenant-resolver';
export type { UserTenantOptions } from './user-resolvers';
export { fromUser, userTenant } from './user-resolvers';

// What the adapters call on every request: plain properties of this module rather than the
// getters tsc makes of re-exports, which cost a call each time (seen in bench:instructions).
export const headerValue = request.headerValue;
export const pathOf = request.pathOf;
export const runInTenantScope = requestScope.runInTenantScope;
export const runWithoutTenant = requestScope.runWithoutTenant;
export const whenResolved = requestScope.whenResolved;

/**
 * Declare your tenant type once and `req.tenant`, `ctx.state.tenant` and `request.tenant` are
 * typed by it; declare `user` too and `fromUser`/`userTenant` accessors get it:
 *
 * ```ts
 * declare module '@knex-scopes/core/http' {
 *   interface TenantTypes { tenant: { id: number; slug: string }; user: { orgSlug: string } }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the application through declaration merging
export interface TenantTypes {}

/** The application's tenant type (`unknown` until declared in `TenantTypes`). */
export type AppTenant = TenantTypes extends { tenant: infer T } ? T : unknown;

/** The application's signed-in user type, for `fromUser`/`userTenant` (`unknown` until declared). */
export type AppUser = TenantTypes extends { user: infer U } ? U : unknown;
