// A TenantRequest built from plain values, for testing resolvers without a framework.
import { ScopeError } from '@knex-scopes/core';
import type { TenantRequest } from '@knex-scopes/core/http';

export interface FakeRequestInit {
  readonly host?: string;
  readonly path?: string;
  readonly params?: Record<string, unknown>;
  readonly headers?: Record<string, string>;
  /** `undefined`: no session middleware ran. */
  readonly session?: Record<string, unknown>;
  /** The signed-in user (`undefined`: none). */
  readonly user?: unknown;
  /** What the adapter would say is to be mounted first when there is no user (auth not run). */
  readonly authOrderHint?: string;
}

export function fakeRequest(init: FakeRequestInit = {}): TenantRequest<FakeRequestInit> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
  if (init.host !== undefined && headers.host === undefined) headers.host = init.host;
  return {
    raw: init,
    host: init.host,
    path: init.path ?? '/',
    params: init.params ?? {},
    header: (name) => headers[name],
    sessionValue(key) {
      if (init.session === undefined) throw new ScopeError('MIDDLEWARE_ORDER', 'no session in the fake request');
      return init.session[key];
    },
    user: () => init.user,
    authOrderHint: () => init.authOrderHint,
  };
}
