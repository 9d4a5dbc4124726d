// Producer side: stamp a job's data with a scope snapshot.
import { captureScope, ScopeError, type ScopeSnapshot } from '@knex-scopes/core';
import { SCOPE_KEY, type ScopedJobData, validSnapshot } from './snapshot';

const HOW_TO_FIX =
  'Queue the job inside the scope it belongs to (the request, or scope({ tenant }, ...)), or pass a ' +
  'snapshot explicitly: scopedJobData(data, snapshot). For a job that serves every tenant, pass ' +
  'scope({ tenant: ALL }, captureScope).';

/**
 * The snapshot a job gets: the explicit one (validated), else the scope in force. No scope in
 * force is refused here, where the bug is, rather than in the worker later.
 */
export function snapshotToStamp(explicit: ScopeSnapshot | undefined, caller: string): ScopeSnapshot {
  if (explicit !== undefined) return validSnapshot(explicit);
  const snapshot = captureScope();
  // Outside any scope (or in an empty one) captureScope() returns enabled with no values: a job
  // stamped with that could run no scoped query, so it is a forgotten scope, not a choice.
  if (snapshot.enabled && Object.keys(snapshot.values).length === 0) {
    throw new ScopeError(
      'SCOPE_MISSING',
      `${caller} was called outside any scope: the job would carry no tenant. ${HOW_TO_FIX}`,
    );
  }
  return snapshot;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** `data` (a plain object, or undefined for none) with the snapshot under SCOPE_KEY. */
export function stamp<T extends object>(
  data: T | undefined,
  snapshot: ScopeSnapshot,
  caller: string,
): ScopedJobData<T> {
  if (data !== undefined && !isPlainObject(data)) {
    // The snapshot needs a key of its own, and BullMQ JSON-encodes data: arrays, primitives and
    // class instances (whose prototype is lost on the way) cannot carry it faithfully.
    throw new TypeError(`${caller}: job data must be a plain object to carry the scope, got ${describe(data)}`);
  }
  return { ...(data as T), [SCOPE_KEY]: snapshot };
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object' && value !== null) return `an instance of ${value.constructor?.name ?? 'a class'}`;
  return value === null ? 'null' : typeof value;
}

/**
 * Job data that carries a scope: `{ ...data, [SCOPE_KEY]: snapshot }`. The snapshot is the one
 * given, else the scope in force; with neither, throws ScopeError SCOPE_MISSING. A snapshot
 * already in `data` is replaced: what counts is the scope chosen when the job is queued.
 */
export function scopedJobData<T extends object>(data: T, snapshot?: ScopeSnapshot): ScopedJobData<T> {
  return stamp(data, snapshotToStamp(snapshot, 'scopedJobData()'), 'scopedJobData()');
}
