// @knex-scopes/core/http: tenant resolution shared by the Express, Koa and Fastify adapters.

export type { SubdomainOptions } from './host-resolvers';
export { fromHost, fromSubdomain, requestHost } from './host-resolvers';
export type { ParsedHost } from './hostname';
export { normalizeDomain, parseHost } from './hostname';
export type { KeyOutcome, KeyRule } from './keys';
export type { Found, LookupCacheOptions } from './lookup-cache';
export type { BaseScopingOptions, RejectionBody, RejectionStatuses, TenantRejection } from './rejection';
export { adapterRejections, rejectionOf, rejectionStatuses } from './rejection';
export type { TenantRequest } from './request';
export { headerValue, pathOf, sessionMiddlewareMissing } from './request';
export { runInTenantScope, runWithoutTenant, whenResolved } from './request-scope';
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

/**
 * Declare your tenant type once and `req.tenant`, `ctx.state.tenant` and `request.tenant` are
 * typed by it:
 *
 * ```ts
 * declare module '@knex-scopes/core/http' {
 *   interface TenantTypes { tenant: { id: number; slug: string } }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the application through declaration merging
export interface TenantTypes {}

/** The application's tenant type (`unknown` until declared in `TenantTypes`). */
export type AppTenant = TenantTypes extends { tenant: infer T } ? T : unknown;
