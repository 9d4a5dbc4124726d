// The contract of the test apps: the same routes on Express, Koa and Fastify (see handlers.ts),
// built from the same options, listening on loopback.
import type { Server } from 'node:http';
import type { ScopeValues } from '@knex-scopes/core';
import type { RejectionStatuses, TenantResolver } from '@knex-scopes/core/http';
import type { Knex } from 'knex';
import type { LifecycleLog } from './handlers';
import type { Tenant } from './schema';

export const FRAMEWORKS = ['express', 'koa', 'fastify'] as const;
export type Framework = (typeof FRAMEWORKS)[number];

export interface AppOptions {
  readonly resolver: TenantResolver<Tenant>;
  /** The scoped Knex instance. */
  readonly db: Knex;
  /** Where the session middleware goes relative to the adapter; none when left out. */
  readonly session?: 'before' | 'after';
  /** Koa only: a cookie session (default) or an external store. */
  readonly sessionStore?: 'cookie' | 'external';
  readonly trustProxy?: boolean;
  readonly statuses?: RejectionStatuses;
  /** Answer rejections with a custom handler: text "custom <CODE>", 410 instead of 404. */
  readonly customRejection?: boolean;
  /** Tenant from a route param: routes under /p/:tenant, the adapter mounted the framework's way. */
  readonly paramRoutes?: boolean;
  /** Start listening inside this scope (a server started in a scope must not leak it). */
  readonly listenInScope?: ScopeValues;
  /** Where response-lifecycle callbacks record the scope they saw (x-request-id → scope). */
  readonly lifecycle?: LifecycleLog;
}

export interface RunningApp {
  readonly server: Server;
  close(): Promise<void>;
}

export const SESSION_SECRET = 'a-session-secret-of-at-least-32-characters!';

export function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

export function listenOn(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

export async function buildApp(framework: Framework, options: AppOptions): Promise<RunningApp> {
  if (framework === 'express') return (await import('./express-app')).expressApp(options);
  if (framework === 'koa') return (await import('./koa-app')).koaApp(options);
  return (await import('./fastify-app')).fastifyApp(options);
}
