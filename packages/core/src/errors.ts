// The one error class of knex-scopes. Ground floor: imports nothing.

/** Every reason knex-scopes refuses something. */
export type ScopeErrorCode =
  | 'SCOPE_MISSING'
  | 'SCOPE_MISMATCH'
  | 'INVALID_SCOPE_VALUE'
  | 'INVALID_SNAPSHOT'
  | 'INVALID_DEFINITION'
  | 'AMBIGUOUS_INSERT'
  | 'CROSS_SCOPE_WRITE'
  | 'RAW_SQL_REFUSED'
  | 'UNSUPPORTED_QUERY'
  | 'UNSUPPORTED_KNEX_VERSION'
  | 'TENANT_KEY_MISSING'
  | 'TENANT_KEY_INVALID'
  | 'TENANT_NOT_FOUND'
  | 'TENANT_USER_MISSING'
  | 'TENANT_USER_UNASSIGNED'
  | 'TENANT_CONFLICT'
  | 'MIDDLEWARE_ORDER';

/** Structured fields a ScopeError may carry, beside its code. */
export interface ScopeErrorDetails {
  /** The dimensions concerned (missing ones for SCOPE_MISSING), in declaration order. */
  readonly dimensions?: readonly string[];
  /** The scoped table concerned. */
  readonly table?: string;
  /** The column concerned (a tenant column or a path key). */
  readonly column?: string;
  /** The SQL that was refused, when there is one. */
  readonly sql?: string;
  /** The offending value as given: INVALID_SCOPE_VALUE's, a CROSS_SCOPE_WRITE's value or keys. */
  readonly value?: unknown;
}

/**
 * The HTTP status each code means, read by Express, Koa and Fastify's default error handling
 * (`status`, `statusCode`, `expose`): a refusal the request's data caused is the client's (4xx,
 * its message shown); anything else is the app's bug (500, its message and SQL kept back).
 */
export const SCOPE_ERROR_STATUS: Readonly<Record<ScopeErrorCode, number>> = Object.freeze({
  CROSS_SCOPE_WRITE: 403,
  AMBIGUOUS_INSERT: 422,
  TENANT_KEY_MISSING: 400,
  TENANT_KEY_INVALID: 400,
  TENANT_NOT_FOUND: 404,
  TENANT_USER_MISSING: 401,
  TENANT_USER_UNASSIGNED: 403,
  TENANT_CONFLICT: 403,
  SCOPE_MISSING: 500,
  SCOPE_MISMATCH: 500,
  INVALID_SCOPE_VALUE: 500,
  INVALID_SNAPSHOT: 500,
  INVALID_DEFINITION: 500,
  RAW_SQL_REFUSED: 500,
  UNSUPPORTED_QUERY: 500,
  UNSUPPORTED_KNEX_VERSION: 500,
  MIDDLEWARE_ORDER: 500,
});

// Brand shared by every copy of the package in a process, so `isScopeError` works across copies.
const BRAND: unique symbol = Symbol.for('knex-scopes.ScopeError');

export class ScopeError extends Error implements ScopeErrorDetails {
  readonly code: ScopeErrorCode;
  /** The HTTP status the code means (SCOPE_ERROR_STATUS); frameworks answer with it. */
  readonly status: number;
  /** The same, under the name Fastify and Express also read. */
  readonly statusCode: number;
  /** True for 4xx: the message may be shown to the client (it holds no SQL, no other tenant's data). */
  readonly expose: boolean;
  readonly dimensions?: readonly string[];
  readonly table?: string;
  readonly column?: string;
  readonly sql?: string;
  readonly value?: unknown;

  constructor(code: ScopeErrorCode, message: string, details: ScopeErrorDetails = {}) {
    super(message);
    this.name = 'ScopeError';
    this.code = code;
    this.status = SCOPE_ERROR_STATUS[code] ?? 500;
    this.statusCode = this.status;
    this.expose = this.status < 500;
    if (details.dimensions !== undefined) this.dimensions = Object.freeze([...details.dimensions]);
    if (details.table !== undefined) this.table = details.table;
    if (details.column !== undefined) this.column = details.column;
    if (details.sql !== undefined) this.sql = details.sql;
    if ('value' in details) this.value = details.value;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for a ScopeError from any copy of the package, optionally with the given code. */
export function isScopeError(error: unknown, code?: ScopeErrorCode): error is ScopeError {
  if (typeof error !== 'object' || error === null) return false;
  if ((error as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (error as ScopeError).code === code;
}
