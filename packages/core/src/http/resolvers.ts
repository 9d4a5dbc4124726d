// Where a tenant key comes from: path, header, session, a custom function, or the first of
// several. Host-based resolvers live in host-resolvers.ts.
import { ScopeError } from '../errors';
import { checkKey, compileKeyRule, DEFAULT_RULE, isKeyOutcome, type KeyOutcome, type KeyRule } from './keys';
import type { TenantRequest } from './request';

/** What a resolver returns: an outcome (built-in resolvers), a raw key, or nothing. */
export type ResolverResult = KeyOutcome | string | number | bigint | null | undefined;

/**
 * Finds the tenant key of a request. A plain function returning a string is a resolver too:
 * its result is validated with the default key rule (use `fromFunction` for another rule).
 */
export interface KeyResolver<Raw = unknown> {
  (req: TenantRequest<Raw>): ResolverResult | PromiseLike<ResolverResult>;
  /** True when the resolver reads the session, so an adapter can check the order at start-up. */
  readonly usesSession?: boolean;
  /** True when the resolver reads the signed-in user: no key then answers 401/403, not 400. */
  readonly usesUser?: boolean;
}

type Settled = KeyOutcome | undefined;

function settle(result: ResolverResult, source: string, rule = DEFAULT_RULE): Settled {
  return isKeyOutcome(result) ? result : checkKey(result, source, rule);
}

function isThenable(value: unknown): value is PromiseLike<ResolverResult> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** Runs any resolver (built-in or a plain function) to a validated outcome. */
export function runResolver<Raw>(resolver: KeyResolver<Raw>, req: TenantRequest<Raw>): Settled | Promise<Settled> {
  const result = resolver(req);
  if (isThenable(result)) return Promise.resolve(result).then((r) => settle(r, 'custom'));
  return settle(result, 'custom');
}

function definitionError(message: string, value?: unknown): ScopeError {
  return new ScopeError('INVALID_DEFINITION', message, { value });
}

/** Options of `fromPath`: a route param, or a segment of the path as sent. */
export type PathOptions = KeyRule &
  ({ readonly param: string; readonly segment?: never } | { readonly segment: number; readonly param?: never });

/**
 * The key from the path: `{ param: 'tenant' }` reads a route param (decoded by the router, so
 * `%2F` arrives as `/` and is refused), `{ segment: 0 }` the first segment as sent (not decoded).
 */
export function fromPath(options: PathOptions): KeyResolver {
  const rule = compileKeyRule(options);
  const { param, segment } = options;
  if (typeof param === 'string' && param !== '' && segment === undefined) {
    return (req) => checkKey(req.params[param], 'path', rule);
  }
  if (Number.isSafeInteger(segment) && (segment as number) >= 0 && param === undefined) {
    const index = (segment as number) + 1; // the path starts with "/"
    return (req) => {
      const value = req.path.split('/')[index];
      return value === '' ? undefined : checkKey(value, 'path', rule);
    };
  }
  throw definitionError('fromPath() takes either { param: name } or { segment: index >= 0 }.', options);
}

/**
 * The key from a request header. Repeated headers arrive joined ("a, b") and are refused; a
 * header that is present but empty is invalid, not absent.
 */
export function fromHeader(name: string, rule?: KeyRule): KeyResolver {
  if (typeof name !== 'string' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name)) {
    throw definitionError(`fromHeader() needs a header name, got ${String(name)}.`, name);
  }
  const header = name.toLowerCase();
  const compiled = compileKeyRule(rule);
  return (req) => checkKey(req.header(header), 'header', compiled);
}

/**
 * The key from a session field (`req.session[field]`, `ctx.session[field]`,
 * `request.session.get(field)`). A number is accepted as its decimal string; any other type is
 * invalid. Throws a MIDDLEWARE_ORDER error when the session middleware has not run.
 */
export function fromSession(field: string, rule?: KeyRule): KeyResolver {
  if (typeof field !== 'string' || field === '') throw definitionError('fromSession() needs a field name.', field);
  const compiled = compileKeyRule(rule);
  return Object.assign((req: TenantRequest) => checkKey(req.sessionValue(field), 'session', compiled), {
    usesSession: true,
  });
}

/** A custom function with its own key rule (a plain function gets the default rule). */
export function fromFunction<Raw = unknown>(
  fn: (req: TenantRequest<Raw>) => ResolverResult | PromiseLike<ResolverResult>,
  options: KeyRule & { readonly source?: string } = {},
): KeyResolver<Raw> {
  const rule = compileKeyRule(options);
  const source = options.source ?? 'custom';
  return (req) => {
    const result = fn(req);
    if (isThenable(result)) return Promise.resolve(result).then((r) => settle(r, source, rule));
    return settle(result, source, rule);
  };
}

/**
 * Tries resolvers in order and takes the first that finds something. A key that is present but
 * invalid stops the chain: a lower-priority source never overrides a bad higher-priority one.
 */
export function firstOf<Raw = unknown>(...resolvers: readonly KeyResolver<Raw>[]): KeyResolver<Raw> {
  if (resolvers.length === 0 || !resolvers.every((r) => typeof r === 'function')) {
    throw definitionError('firstOf() needs at least one resolver function.');
  }
  // Synchronous as long as the resolvers are: no promise per request for the common case.
  const from = (req: TenantRequest<Raw>, index: number): Settled | Promise<Settled> => {
    for (let i = index; i < resolvers.length; i++) {
      const outcome = runResolver(resolvers[i] as KeyResolver<Raw>, req);
      if (outcome instanceof Promise) return outcome.then((found) => found ?? from(req, i + 1));
      if (outcome !== undefined) return outcome;
    }
    return undefined;
  };
  return Object.assign((req: TenantRequest<Raw>) => from(req, 0), {
    usesSession: resolvers.some((r) => r.usesSession === true),
    usesUser: resolvers.some((r) => r.usesUser === true),
  });
}
