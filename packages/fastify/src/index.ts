// Fastify 4 and 5: a callback-style onRequest hook that calls done() inside run(). Fastify routes
// before onRequest (params are known) and runs every later stage (parsers, preValidation,
// handler, onSend, onResponse, error and 404 handlers) from that call. An async hook cannot do
// this.

import { isScopeError, ScopeError } from '@knex-scopes/core';
import { type AppTenant, sessionMiddlewareMissing, type TenantResolver } from '@knex-scopes/core/http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { HOOK_RESOLVER, openingHook, type ScopeHookOptions } from './scope-hook';
import { SESSION_FIRST, USER_DECORATOR_MISSING } from './tenant-request';

export type { FastifyRejectionHandler, ScopeHook, ScopeHookOptions } from './scope-hook';
export { scopeHook } from './scope-hook';

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

export interface KnexScopesOptions extends ScopeHookOptions {
  /**
   * Required: `tenantResolver({ from, lookup })` from @knex-scopes/core/http, opened app-wide.
   * `null` when only routes open the scope (`scopeHook`): the plugin then only declares
   * `request.tenant`, hides 500 messages and checks those routes at start-up.
   */
  readonly resolveTenant: TenantResolver<AppTenant, FastifyRequest> | null;
}

const USAGE = 'app.register(knexScopes, { resolveTenant: tenantResolver({ from, lookup }) })';

function userDecoratorMissing(): ScopeError {
  return new ScopeError('MIDDLEWARE_ORDER', `The tenant comes from the signed-in user, but ${USER_DECORATOR_MISSING}.`);
}

function hooksOf(route: RouteOptions): unknown[] {
  return [route.onRequest, route.preParsing, route.preValidation, route.preHandler].flat().filter(Boolean);
}

// Async only so that a configuration error fails register()/ready() at start-up; the hook
// itself must stay callback-style.
const plugin: FastifyPluginAsync<KnexScopesOptions> = async (fastify, options) => {
  const { resolveTenant } = options;
  // Detected at start-up here, where the other adapters can only detect it per request.
  if (resolveTenant !== null) {
    const onRequest = openingHook(resolveTenant, options, USAGE, true);
    if (resolveTenant.usesSession && !fastify.hasRequestDecorator('session'))
      throw sessionMiddlewareMissing(SESSION_FIRST);
    if (resolveTenant.usesUser && !fastify.hasRequestDecorator('user')) throw userDecoratorMissing();
    fastify.addHook('onRequest', onRequest);
  }
  fastify.decorateRequest('tenant', null);
  // A route-level scopeHook reading the user where no plugin declares request.user: a route
  // declared in that state fails at start-up. Only when routes are added: nothing per request.
  fastify.addHook('onRoute', function (this: typeof fastify, route) {
    const readsUser = hooksOf(route).some(
      (hook) => (hook as { [HOOK_RESOLVER]?: TenantResolver<unknown> })[HOOK_RESOLVER]?.usesUser === true,
    );
    if (readsUser && !this.hasRequestDecorator('user')) throw userDecoratorMissing();
  });
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

/** The plugin: `await app.register(knexScopes, { resolveTenant, ... })`, after the session and auth. */
export const knexScopes = fp(plugin, { name: '@knex-scopes/fastify', fastify: '4.x || 5.x' });
export default knexScopes;

// The @fastify/* convention: `require('@knex-scopes/fastify')` and an ES module's default import
// are the plugin itself, with `.default` and `.knexScopes` on it (as `fp` and TypeScript expect).
module.exports = Object.assign(knexScopes, module.exports);
