// The callback-style hook that opens the scope: app-wide (the plugin's onRequest) or route-level
// (scopeHook, after the route's auth). It calls done() inside run(), so every later stage runs in
// the scope; an async hook cannot do this (see index.ts).
import {
  type AppTenant,
  adapterRejections,
  type BaseScopingOptions,
  runInTenantScope,
  runWithoutTenant,
  type TenantRejection,
  type TenantResolution,
  type TenantResolver,
  whenResolved,
} from '@knex-scopes/core/http';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { FastifyTenantRequest } from './tenant-request';

/** Answers a request refused before any scope was opened (instead of the default JSON). */
export type FastifyRejectionHandler = (
  rejection: TenantRejection,
  request: FastifyRequest,
  reply: FastifyReply,
) => unknown;

/** Options of `scopeHook` (and, with `resolveTenant`, of the plugin). */
export interface ScopeHookOptions extends BaseScopingOptions<FastifyRequest> {
  readonly onRejected?: FastifyRejectionHandler;
}

/** A callback-style hook for a route's `onRequest` or `preHandler`. */
export type ScopeHook = (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction) => void;

// Marks scopeHook's hooks with their resolver, so the plugin can check routes at start-up.
export const HOOK_RESOLVER: unique symbol = Symbol('knex-scopes.hookResolver');

function defaultRejection(rejection: TenantRejection, _request: FastifyRequest, reply: FastifyReply): void {
  reply.code(rejection.status).send(rejection.body);
}

/** The hook; `routeExempt` honours `config: { knexScopes: { exempt: true } }` (app-wide use). */
export function openingHook(
  resolveTenant: TenantResolver<AppTenant, FastifyRequest>,
  options: ScopeHookOptions,
  usage: string,
  routeExempt: boolean,
): ScopeHook {
  const toRejection = adapterRejections(resolveTenant, options.statuses, usage);
  const { exempt } = options;
  const onRejected = options.onRejected ?? defaultRejection;

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
  const open = (request: FastifyRequest, reply: FastifyReply, hookDone: HookHandlerDoneFunction) => {
    if ((routeExempt && request.routeOptions.config?.knexScopes?.exempt === true) || exempt?.(request)) {
      return hookDone();
    }
    whenResolved(resolveTenant.resolve(new FastifyTenantRequest(request)), settle, request, reply, hookDone);
  };
  // A store of its own for everything below: nothing inherited, no tenant during the lookup.
  return (request, reply, hookDone) => runWithoutTenant(open, request, reply, hookDone);
}

const USAGE = 'onRequest: [fastify.authenticate, scopeHook(userTenant({ tenant }))]';

/**
 * The scope opener as a route-level hook, placed after the route's auth:
 * `{ onRequest: [fastify.authenticate, scopeHook(resolver)] }` (validation, handler, onSend and
 * onResponse in scope) or `{ preHandler: scopeHook(resolver) }` (from the handler on). Inside the
 * scope the plugin opened, a different tenant is refused (TENANT_CONFLICT).
 */
export function scopeHook<T extends AppTenant>(
  resolveTenant: TenantResolver<T, FastifyRequest>,
  options: ScopeHookOptions = {},
): ScopeHook {
  const resolver = resolveTenant as TenantResolver<AppTenant, FastifyRequest>;
  const hook = openingHook(resolver, options, USAGE, false);
  return Object.assign(hook, { [HOOK_RESOLVER]: resolver });
}
