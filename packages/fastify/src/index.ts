// Fastify 5: a callback-style onRequest hook that calls done() inside run(). Fastify routes before
// onRequest (params are known) and runs every later stage (parsers, preValidation, handler,
// onSend, onResponse, error and 404 handlers) from that call. An async hook cannot do this.

import { isScopeError } from '@knex-scopes/core';
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
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyRequest {
    /** The tenant @knex-scopes/fastify resolved; null on exempt routes. For reporting. */
    tenant: AppTenant | null;
  }
  interface FastifyContextConfig {
    /** `{ exempt: true }` runs the route without a tenant (scoped queries there throw). */
    knexScopes?: { readonly exempt?: boolean };
  }
}

/** Answers a request refused before any scope was opened (instead of the default JSON). */
export type FastifyRejectionHandler = (
  rejection: TenantRejection,
  request: FastifyRequest,
  reply: FastifyReply,
) => unknown;

export interface KnexScopesOptions extends BaseScopingOptions<FastifyRequest> {
  /** Required: `tenantResolver({ from, lookup })` from @knex-scopes/core/http. */
  readonly resolveTenant: TenantResolver<AppTenant, FastifyRequest>;
  readonly onRejected?: FastifyRejectionHandler;
}

const USAGE = 'app.register(knexScopes, { resolveTenant: tenantResolver({ from, lookup }) })';
const SESSION_FIRST = 'register @fastify/cookie and @fastify/session before knexScopes';

class FastifyTenantRequest implements TenantRequest<FastifyRequest> {
  constructor(readonly raw: FastifyRequest) {}
  get host(): string | undefined {
    return this.raw.host; // honours trustProxy; keeps the port, parsed away in core
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
}

function defaultRejection(rejection: TenantRejection, _request: FastifyRequest, reply: FastifyReply): void {
  reply.code(rejection.status).send(rejection.body);
}

// Async only so that a configuration error fails register()/ready() at start-up; the hook
// itself must stay callback-style.
const plugin: FastifyPluginAsync<KnexScopesOptions> = async (fastify, options) => {
  const { resolveTenant, exempt } = options;
  const toRejection = adapterRejections(resolveTenant, options.statuses, USAGE);
  // Detected at start-up here, where the other adapters can only detect it per request.
  if (resolveTenant.usesSession && !fastify.hasRequestDecorator('session'))
    throw sessionMiddlewareMissing(SESSION_FIRST);
  const onRejected = options.onRejected ?? defaultRejection;
  fastify.decorateRequest('tenant', null);

  // The request's parts are passed along rather than captured: no closure per request.
  const settle = (
    resolution: TenantResolution<AppTenant>,
    request: FastifyRequest,
    reply: FastifyReply,
    hookDone: HookHandlerDoneFunction,
  ) => {
    if (resolution.ok) {
      request.tenant = resolution.tenant;
      return runInTenantScope(resolution.state, hookDone);
    }
    // Answered here without calling hookDone(): the route never runs.
    const answered = onRejected(toRejection(resolution.error), request, reply);
    if (answered instanceof Promise) answered.catch(hookDone);
  };
  const onRequest = (request: FastifyRequest, reply: FastifyReply, hookDone: HookHandlerDoneFunction) => {
    if (request.routeOptions.config?.knexScopes?.exempt === true || exempt?.(request)) return hookDone();
    whenResolved(resolveTenant.resolve(new FastifyTenantRequest(request)), settle, request, reply, hookDone);
  };
  // A store of its own for everything below: nothing inherited, no tenant during the lookup.
  fastify.addHook('onRequest', (request, reply, hookDone) => runWithoutTenant(onRequest, request, reply, hookDone));
  // Fastify answers every error with its message; a ScopeError that is the app's bug (500) keeps
  // its message and SQL back, as Express and Koa do. Only on errors: nothing per request.
  fastify.addHook('onError', (_request, reply, error, hookDone) => {
    if (isScopeError(error) && !error.expose) keepMessageBack(reply, error);
    hookDone();
  });
};

/** This reply sends `error` (the error handler's `reply.send(error)`) as a bare 500 with its code. */
function keepMessageBack(reply: FastifyReply, error: Error & { code: string; statusCode: number }): void {
  const send = reply.send;
  reply.send = function (this: FastifyReply, payload?: unknown) {
    if (payload !== error) return send.call(this, payload);
    const bare = Object.assign(new Error('Internal Server Error'), { code: error.code, statusCode: error.statusCode });
    return send.call(this, bare);
  };
}

/** The plugin: `await app.register(knexScopes, { resolveTenant, ... })`, after the session. */
export const knexScopes = fp(plugin, { name: '@knex-scopes/fastify', fastify: '5.x' });
export default knexScopes;

// The @fastify/* convention: `require('@knex-scopes/fastify')` and an ES module's default import
// are the plugin itself, with `.default` and `.knexScopes` on it (as `fp` and TypeScript expect).
module.exports = Object.assign(knexScopes, module.exports);
