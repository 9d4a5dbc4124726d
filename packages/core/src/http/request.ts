// The one view of a request that resolvers read. Each adapter maps its framework's request onto
// it, so every resolver and every rule in this folder is written once for the three frameworks.
import { ScopeError } from '../errors';

/** What a tenant resolver may read from a request. */
export interface TenantRequest<Raw = unknown> {
  /** The framework's own request object (Express `req`, Koa `ctx`, Fastify `request`). */
  readonly raw: Raw;
  /**
   * The host as the framework's proxy-aware getter gives it (Express `req.hostname`, Koa
   * `ctx.host`, Fastify `request.host`); it may still carry a port.
   */
  readonly host: string | undefined;
  /** The request path as sent (still percent-encoded), without the query string. */
  readonly path: string;
  /** Route params as the framework decoded them; empty where no router has run yet. */
  readonly params: Readonly<Record<string, unknown>>;
  /** A request header by lower-case name; repeated headers joined with ", " as Node does. */
  header(name: string): string | undefined;
  /**
   * A value of the session. Throws a `MIDDLEWARE_ORDER` ScopeError when the session
   * middleware has not run before the adapter.
   */
  sessionValue(key: string): unknown;
  /**
   * The signed-in user as the auth middleware left it (Express `req.user`, Koa
   * `ctx.state.user`, Fastify `request.user`); `undefined`/`null` when there is none.
   */
  user(): unknown;
  /**
   * Asked only when `user()` gave nothing: what to mount first when the framework's markers
   * show that authentication has not run yet on this request (a configuration mistake), or
   * `undefined` when it ran and the visitor is anonymous.
   */
  authOrderHint(): string | undefined;
}

/** The path part of a request URL (the query string removed, nothing decoded). */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query < 0 ? url : url.slice(0, query);
}

/** A header value as one string, whatever shape Node's `IncomingHttpHeaders` gave it. */
export function headerValue(value: string | readonly string[] | undefined): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  return value.join(', ');
}

/**
 * The error an adapter throws when a session resolver runs before the session middleware:
 * a configuration mistake, reported loudly rather than read as "logged out".
 */
export function sessionMiddlewareMissing(mountFirst: string): Error {
  return new ScopeError(
    'MIDDLEWARE_ORDER',
    `fromSession() found no session on the request: ${mountFirst}. ` +
      'The tenant scope is opened from the session, so the session must be loaded first.',
  );
}
