// koa-session defines `ctx.session` on app.context, so it reads even before its middleware ran:
// a cookie session still parses lazily, but an external-store session comes back silently
// empty. Both order mistakes are turned into a MIDDLEWARE_ORDER error here.
import { sessionMiddlewareMissing } from '@knex-scopes/core/http';
import type { Context } from 'koa';

const SESSION_FIRST = 'mount koa-session (app.use(session(app))) before scopingMiddleware()';

type SessionContext = Context & {
  session?: Record<string, unknown> | null;
  sessionOptions?: { store?: unknown; ContextStore?: unknown };
};

// koa-session 7 keeps its per-request session object under a private symbol; it has loaded an
// external store once that object's `session` field is set. Unknown layouts are not flagged.
function externalStoreNotLoaded(ctx: SessionContext): boolean {
  const options = ctx.sessionOptions;
  if (!options?.store && !options?.ContextStore) return false;
  const key = Object.getOwnPropertySymbols(ctx).find((s) => s.description === 'contextSession instance');
  const instance = key === undefined ? undefined : (ctx as unknown as Record<symbol, { session?: unknown }>)[key];
  return instance !== undefined && instance.session === undefined;
}

/** A session field; throws MIDDLEWARE_ORDER when koa-session is missing or mounted later. */
export function sessionValue(ctx: Context, key: string): unknown {
  const sessionCtx = ctx as SessionContext;
  if (!('session' in sessionCtx) || externalStoreNotLoaded(sessionCtx)) throw sessionMiddlewareMissing(SESSION_FIRST);
  return sessionCtx.session?.[key];
}
