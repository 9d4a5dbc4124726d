// Express 4 and 5: resolve the tenant, then continue the chain inside `run()`. Express calls the
// rest of the stack synchronously from next(), and body-parser/raw-body bind their callbacks, so
// body parsing, handlers, error middleware and streamed responses all inherit the scope. Nothing
// here relies on Express 5 catching a handler's rejected promise: no promise is handed to Express,
// and a failing lookup goes to next(err) (docs/framework-versions.md).
import {
  type AppTenant,
  adapterRejections,
  type BaseScopingOptions,
  headerValue,
  pathOf,
  runInTenantScope,
  runWithoutTenant,
  sessionMiddlewareMissing,
  type TenantRejection,
  type TenantRequest,
  type TenantResolution,
  type TenantResolver,
  whenResolved,
} from '@knex-scopes/core/http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';

declare global {
  namespace Express {
    interface Request {
      /**
       * The tenant @knex-scopes/express resolved (undefined on exempt routes). For reporting
       * and authorisation; queries are scoped by the scope, not by this property.
       */
      tenant?: AppTenant;
    }
  }
}

/** Answers a request refused before any scope was opened (instead of the default JSON). */
export type ExpressRejectionHandler = (
  rejection: TenantRejection,
  req: Request,
  res: Response,
  next: NextFunction,
) => void;

export interface ExpressScopingOptions extends BaseScopingOptions<Request> {
  readonly onRejected?: ExpressRejectionHandler;
}

const SESSION_FIRST = 'mount express-session (app.use(session(...))) before scopingMiddleware()';
const AUTH_FIRST =
  'mount scopingMiddleware() after your auth middleware, e.g. ' +
  'router.get(path, passport.authenticate(strategy), scopingMiddleware(resolver), handler)';
const PASSPORT_SESSION_FIRST =
  'the session holds a Passport login but req.user is not set: mount passport.session() before scopingMiddleware()';

/** What Passport (0.7) leaves on a request: the markers that tell "anonymous" from "not run yet". */
interface AuthMarkers {
  user?: unknown;
  _userProperty?: string;
  isAuthenticated?: unknown;
  session?: { passport?: { user?: unknown } } | null;
}

class ExpressTenantRequest implements TenantRequest<Request> {
  constructor(readonly raw: Request) {}
  get host(): string | undefined {
    return this.raw.hostname; // honours the app's `trust proxy` setting
  }
  get path(): string {
    return pathOf(this.raw.originalUrl);
  }
  get params(): Readonly<Record<string, unknown>> {
    return this.raw.params ?? {};
  }
  header(name: string): string | undefined {
    return headerValue(this.raw.headers[name]);
  }
  sessionValue(key: string): unknown {
    const session = (this.raw as { session?: Record<string, unknown> | null }).session;
    if (session === undefined || session === null) throw sessionMiddlewareMissing(SESSION_FIRST);
    return session[key];
  }
  user(): unknown {
    const req = this.raw as unknown as AuthMarkers & Record<string, unknown>;
    return req[req._userProperty ?? 'user']; // passport.initialize({ userProperty }) moves it
  }
  authOrderHint(): string | undefined {
    const req = this.raw as AuthMarkers;
    if (req.session?.passport?.user != null) return PASSPORT_SESSION_FIRST;
    // Passport (initialize or authenticate) ran, or the app's own auth set `req.user = null`
    if (typeof req.isAuthenticated === 'function' || req.user === null) return undefined;
    return AUTH_FIRST;
  }
}

function defaultRejection(rejection: TenantRejection, _req: Request, res: Response): void {
  res.status(rejection.status).json(rejection.body);
}

const USAGE = 'app.use(scopingMiddleware(tenantResolver({ from, lookup })))';

/**
 * The middleware: `app.use(scopingMiddleware(resolveTenant, options))`, after the session and
 * before anything that queries. Mount it at `/t/:tenant` to resolve from a route param.
 */
export function scopingMiddleware<T extends AppTenant>(
  resolveTenant: TenantResolver<T, Request>,
  options: ExpressScopingOptions = {},
): RequestHandler {
  const toRejection = adapterRejections(resolveTenant, options.statuses, USAGE);
  const { exempt } = options;
  const onRejected = options.onRejected ?? defaultRejection;

  // The request's parts are passed along rather than captured: no closure per request.
  const settle = (resolution: TenantResolution<T>, req: Request, res: Response, next: NextFunction) => {
    if (!resolution.ok) return onRejected(toRejection(resolution.error), req, res, next);
    req.tenant = resolution.tenant;
    runInTenantScope(resolution.state, next);
  };
  const handle = (req: Request, res: Response, next: NextFunction) => {
    if (exempt?.(req)) return next();
    whenResolved(resolveTenant.resolve(new ExpressTenantRequest(req)), settle, req, res, next);
  };
  // Everything below runs in a store of its own: nothing inherited from where the server was
  // started, and lookups, rejections and lookup errors see no tenant.
  return (req, res, next) => runWithoutTenant(handle, req, res, next);
}
