// Koa 2 and 3: resolve the tenant, then return the scoped next() so the whole downstream chain
// and its errors stay inside the scope; a streamed body is bound before Koa pipes it.
import {
  type AppTenant,
  adapterRejections,
  type BaseScopingOptions,
  headerValue,
  pathOf,
  runInTenantScope,
  runWithoutTenant,
  type TenantRejection,
  type TenantRequest,
  type TenantResolution,
  type TenantResolver,
} from '@knex-scopes/core/http';
import type { Context, Middleware, Next } from 'koa';
import { bindStreamedBody } from './bind-body';
import { sessionValue } from './session';

export { bindStreamedBody } from './bind-body';

declare module 'koa' {
  interface DefaultState {
    /**
     * The tenant @knex-scopes/koa resolved (undefined on exempt routes). For reporting and
     * outer middleware; queries are scoped by the scope, not by this property.
     */
    tenant?: AppTenant;
  }
}

/** Answers a request refused before any scope was opened (instead of the default JSON). */
export type KoaRejectionHandler = (rejection: TenantRejection, ctx: Context) => void | Promise<void>;

export interface KoaScopingOptions extends BaseScopingOptions<Context> {
  readonly onRejected?: KoaRejectionHandler;
}

const AUTH_FIRST =
  'mount scopingMiddleware() after your auth middleware, e.g. ' +
  'router.get(path, jwt({ secret }), scopingMiddleware(resolver), handler) with koa-jwt, or after koa-passport';

class KoaTenantRequest implements TenantRequest<Context> {
  constructor(readonly raw: Context) {}
  get host(): string | undefined {
    return this.raw.host; // honours app.proxy; the port is parsed away in core
  }
  get path(): string {
    return pathOf(this.raw.originalUrl);
  }
  get params(): Readonly<Record<string, unknown>> {
    return (this.raw as { params?: Record<string, unknown> }).params ?? {};
  }
  header(name: string): string | undefined {
    return headerValue(this.raw.req.headers[name]);
  }
  sessionValue(key: string): unknown {
    return sessionValue(this.raw, key);
  }
  user(): unknown {
    return this.raw.state.user;
  }
  authOrderHint(): string | undefined {
    const { state } = this.raw;
    // koa-jwt with `passthrough` refused the token; koa-passport initialised; or the app's own
    // auth set `ctx.state.user = null`: auth ran, the visitor is anonymous. koa-jwt leaves no
    // marker before it runs, so no marker at all means it has not.
    if (state.jwtOriginalError !== undefined || state.user === null) return undefined;
    if (typeof (this.raw as { isAuthenticated?: unknown }).isAuthenticated === 'function') return undefined;
    return AUTH_FIRST;
  }
}

function defaultRejection(rejection: TenantRejection, ctx: Context): void {
  ctx.status = rejection.status;
  ctx.body = rejection.body;
}

const USAGE = 'app.use(scopingMiddleware(tenantResolver({ from, lookup })))';

/**
 * The middleware: `app.use(scopingMiddleware(resolveTenant, options))`, after the session and
 * before anything that queries. Use `router.use(...)` under a `/t/:tenant` prefix for params.
 */
export function scopingMiddleware<T extends AppTenant>(
  resolveTenant: TenantResolver<T, Context>,
  options: KoaScopingOptions = {},
): Middleware {
  const toRejection = adapterRejections(resolveTenant, options.statuses, USAGE);
  const { exempt } = options;
  const onRejected = options.onRejected ?? defaultRejection;

  // Returned, not just called: the chain's promise and its errors must stay in the scope.
  const enter = (ctx: Context, next: Next, resolution: TenantResolution<T>): unknown => {
    if (!resolution.ok) return onRejected(toRejection(resolution.error), ctx);
    ctx.state.tenant = resolution.tenant;
    return runInTenantScope(resolution.state, () => next().then(() => bindStreamedBody(ctx)));
  };

  // Plain functions rather than async ones: a cache hit then costs no extra promise.
  const handle = (ctx: Context, next: Next): unknown => {
    if (exempt?.(ctx)) return next();
    const result = resolveTenant.resolve(new KoaTenantRequest(ctx));
    return result instanceof Promise ? result.then((r) => enter(ctx, next, r)) : enter(ctx, next, result);
  };
  // A store of its own for everything below: nothing inherited, no tenant during the lookup.
  return (ctx, next) => runWithoutTenant(handle, ctx, next, undefined);
}
