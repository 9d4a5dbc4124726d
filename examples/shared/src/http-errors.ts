// One mapping from errors to HTTP answers, shared by the three apps.
import { isScopeError } from '@knex-scopes/core';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export const notFound = (what: string) => new HttpError(404, 'NOT_FOUND', `No such ${what}.`);
export const badRequest = (message: string) => new HttpError(400, 'BAD_REQUEST', message);
export const unauthorized = () => new HttpError(401, 'UNAUTHORIZED', 'Log in first: POST /api/login.');

export interface ErrorAnswer {
  readonly status: number;
  readonly body: { readonly error: string; readonly message: string };
}

export function toHttpError(error: unknown): ErrorAnswer {
  if (error instanceof HttpError) return { status: error.status, body: { error: error.code, message: error.message } };
  // A foreign key the client sent points at a row outside its organization (or nowhere): the
  // write guard refused it before anything was written.
  if (isScopeError(error, 'CROSS_SCOPE_WRITE')) {
    return { status: 422, body: { error: error.code, message: error.message } };
  }
  // Framework errors that are the client's fault (malformed JSON, …) carry their status.
  const status =
    (error as { status?: unknown; statusCode?: unknown }).statusCode ?? (error as { status?: unknown }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, body: { error: 'BAD_REQUEST', message: (error as Error).message } };
  }
  // Anything else is a bug; a ScopeError here (SCOPE_MISSING, RAW_SQL_REFUSED) is the safety net
  // catching one. Shown in full because this is an example.
  console.error(error);
  const code = isScopeError(error) ? error.code : 'INTERNAL';
  return { status: 500, body: { error: code, message: (error as Error).message ?? String(error) } };
}
