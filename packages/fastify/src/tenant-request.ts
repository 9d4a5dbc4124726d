// Fastify's request as the one view core's resolvers read.
import { headerValue, pathOf, sessionMiddlewareMissing, type TenantRequest } from '@knex-scopes/core/http';
import type { FastifyRequest } from 'fastify';

export const SESSION_FIRST = 'register @fastify/cookie and @fastify/session before knexScopes';
export const USER_DECORATOR_MISSING =
  'nothing decorates request.user: register @fastify/jwt (or the auth plugin that sets request.user) ' +
  'before knexScopes and before the routes that use scopeHook()';
const JWT_FIRST =
  "@fastify/jwt has not verified this request (request.user is still null): put scopeHook(resolver) after the route's " +
  'auth hook, onRequest: [fastify.authenticate, scopeHook(resolver)], or in its preHandler (an app-wide ' +
  "onRequest hook runs before the route's own)";

export class FastifyTenantRequest implements TenantRequest<FastifyRequest> {
  constructor(readonly raw: FastifyRequest) {}
  get host(): string | undefined {
    // Honours trustProxy; keeps the port, parsed away in core. Fastify 5's `host` is Fastify 4's
    // `hostname` (which has the port); Fastify 5's `hostname` has none. Feature-detected.
    const { host } = this.raw as { host?: string };
    return host !== undefined ? host : (this.raw as { hostname?: string }).hostname;
  }
  get path(): string {
    return pathOf(this.raw.url);
  }
  get params(): Readonly<Record<string, unknown>> {
    return (this.raw.params ?? {}) as Record<string, unknown>;
  }
  header(name: string): string | undefined {
    return headerValue(this.raw.headers[name]);
  }
  sessionValue(key: string): unknown {
    const session = (this.raw as { session?: { get(key: string): unknown } | null }).session;
    if (session === undefined || session === null) throw sessionMiddlewareMissing(SESSION_FIRST);
    return session.get(key);
  }
  user(): unknown {
    return (this.raw as { user?: unknown }).user;
  }
  authOrderHint(): string | undefined {
    const request = this.raw as { user?: unknown; jwtVerify?: unknown };
    if (!('user' in request)) return USER_DECORATOR_MISSING;
    // @fastify/jwt decorates `user` with null and sets it only once jwtVerify() succeeded
    if (typeof request.jwtVerify === 'function' && request.user === null) return JWT_FIRST;
    return undefined;
  }
}
