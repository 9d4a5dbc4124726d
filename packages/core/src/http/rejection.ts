// What an adapter answers when a request has no usable tenant: one status table and one body
// shape, so the three frameworks answer alike.
import { ScopeError, type ScopeErrorCode } from '../errors';

/** Statuses for requests without a usable tenant. */
export interface RejectionStatuses {
  /** No key in the request. Default 400. */
  readonly missing?: number;
  /** A key that fails validation (no lookup ran). Default 400. */
  readonly invalid?: number;
  /** A valid key the lookup does not know. Default 404. */
  readonly notFound?: number;
  /** The tenant comes from the signed-in user and there is none (auth let a visitor through). Default 401. */
  readonly unauthenticated?: number;
  /** A signed-in user that belongs to no tenant. Default 403. */
  readonly unassigned?: number;
  /** The request resolves to another tenant than the scope an earlier opener set. Default 403. */
  readonly conflict?: number;
}

/** The default JSON body: the code and a message that never echoes the key. */
export interface RejectionBody {
  readonly error: ScopeErrorCode;
  readonly message: string;
}

/** A request refused before any scope was opened. */
export interface TenantRejection {
  readonly status: number;
  readonly error: ScopeError;
  readonly body: RejectionBody;
}

/** Options every adapter takes. */
export interface BaseScopingOptions<Raw> {
  /** Requests that run without a tenant (health checks, sign-up); scoped queries there throw. */
  readonly exempt?: (req: Raw) => boolean;
  /** Statuses for missing, invalid and unknown tenants, absent users and conflicting scopes. */
  readonly statuses?: RejectionStatuses;
}

function checkStatus(name: string, status: number | undefined, fallback: number): number {
  if (status === undefined) return fallback;
  if (!Number.isInteger(status) || status < 400 || status > 599) {
    throw new ScopeError('INVALID_DEFINITION', `statuses.${name} must be an HTTP error status (400-599).`, {
      value: status,
    });
  }
  return status;
}

/** Validates the statuses once, when the adapter is created. */
export function rejectionStatuses(statuses: RejectionStatuses = {}): Readonly<Record<string, number>> {
  return Object.freeze({
    TENANT_KEY_MISSING: checkStatus('missing', statuses.missing, 400),
    TENANT_KEY_INVALID: checkStatus('invalid', statuses.invalid, 400),
    TENANT_NOT_FOUND: checkStatus('notFound', statuses.notFound, 404),
    TENANT_USER_MISSING: checkStatus('unauthenticated', statuses.unauthenticated, 401),
    TENANT_USER_UNASSIGNED: checkStatus('unassigned', statuses.unassigned, 403),
    TENANT_CONFLICT: checkStatus('conflict', statuses.conflict, 403),
  });
}

/** The rejection for a refused resolution. */
export function rejectionOf(error: ScopeError, statuses: Readonly<Record<string, number>>): TenantRejection {
  const status = statuses[error.code] ?? 400;
  return Object.freeze({ status, error, body: Object.freeze({ error: error.code, message: error.message }) });
}

/**
 * What every adapter checks when it is created: a tenant resolver was given (`usage` shows how)
 * and the statuses are valid. Returns the adapter's way from a refusal to its rejection.
 */
export function adapterRejections(
  resolveTenant: unknown,
  statuses: RejectionStatuses | undefined,
  usage: string,
): (error: ScopeError) => TenantRejection {
  if (typeof (resolveTenant as { resolve?: unknown } | undefined)?.resolve !== 'function') {
    throw new ScopeError('INVALID_DEFINITION', `A tenant resolver is required: ${usage}.`);
  }
  const table = rejectionStatuses(statuses);
  return (error) => rejectionOf(error, table);
}
