// Where a job carries its scope, and the one check every reader and writer of it goes through.
import { captureScope, isScopeError, runInScope, ScopeError, type ScopeSnapshot } from '@knex-scopes/core';

/**
 * The reserved key of `job.data` that holds the snapshot. In the data (not in `job.opts`)
 * because BullMQ documents and keeps `data` through retries, flows, schedulers, sandboxes and
 * `Job.fromId`, and dashboards show it.
 */
export const SCOPE_KEY = '__knexScope';
export type ScopeKeyName = typeof SCOPE_KEY;

/** Job data stamped with the scope of whoever queued it. */
export type ScopedJobData<T extends object = Record<string, unknown>> = T & { readonly [SCOPE_KEY]: ScopeSnapshot };

/**
 * The snapshot `value` describes, normalised and frozen; throws ScopeError INVALID_SNAPSHOT
 * for anything else. Core decodes it (runInScope) so that there is only one definition of a
 * valid snapshot; a bad value inside one is reported as the snapshot being invalid.
 */
export function validSnapshot(value: unknown): ScopeSnapshot {
  try {
    return runInScope(value as ScopeSnapshot, captureScope);
  } catch (error) {
    if (!isScopeError(error) || error.code === 'INVALID_SNAPSHOT') throw error;
    throw new ScopeError('INVALID_SNAPSHOT', `Cannot restore scope snapshot: ${error.message}`, { value });
  }
}

/** The snapshot stored in a job's data, or `undefined` when it has none or an invalid one. */
export function readJobScope(job: { readonly data?: unknown }): ScopeSnapshot | undefined {
  const data = job.data;
  if (typeof data !== 'object' || data === null || !(SCOPE_KEY in data)) return undefined;
  try {
    return validSnapshot((data as Record<string, unknown>)[SCOPE_KEY]);
  } catch (error) {
    if (isScopeError(error, 'INVALID_SNAPSHOT')) return undefined;
    throw error;
  }
}
