// The scope state: one AsyncLocalStorage, shared by every copy of the package in the process.
import { AsyncLocalStorage } from 'node:async_hooks';
import { ScopeError } from './errors';
import {
  ALL,
  type FrozenScopeValues,
  normalizeScopeValue,
  normalizeScopeValues,
  type ScopeKey,
  type ScopeValue,
  type ScopeValues,
} from './scope-values';

/** An immutable view of the scope in force. */
export interface ScopeState {
  /** False inside `scopesDisabled()`: scoped queries run unfiltered. */
  readonly enabled: boolean;
  readonly values: FrozenScopeValues;
}

const STORAGE_KEY = Symbol.for('knex-scopes.storage.v1');
type Holder = { [STORAGE_KEY]?: AsyncLocalStorage<ScopeState> };
const holder = globalThis as Holder;
// Two copies of core (a dedupe miss, a bundled adapter) must see the same state, or a scope
// opened by one would be invisible to queries checked by the other.
const storage: AsyncLocalStorage<ScopeState> = holder[STORAGE_KEY] ?? new AsyncLocalStorage<ScopeState>();
holder[STORAGE_KEY] = storage;

const OUTSIDE: ScopeState = Object.freeze({ enabled: true, values: Object.freeze({}) });

/** The storage itself, for the query layer and the HTTP adapters (never `enterWith`). */
export function scopeStorage(): AsyncLocalStorage<ScopeState> {
  return storage;
}

/** A frozen snapshot of the state in force (`{ enabled: true, values: {} }` outside any scope). */
export function getScope(): ScopeState {
  return storage.getStore() ?? OUTSIDE;
}

function freezeState(enabled: boolean, values: Record<string, ScopeValue>): ScopeState {
  return Object.freeze({ enabled, values: Object.freeze(values) });
}

type Thenable = { then: (onFulfilled: (v: unknown) => unknown, onRejected: (e: unknown) => unknown) => unknown };

function isLazyThenable(value: unknown): value is Thenable {
  // A native promise has already started; anything else with a `then` (a Knex builder, an
  // Objection query) starts when `then` is called, which must happen inside the scope.
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    !(value instanceof Promise) &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** The awaited type of a lazy thenable, the plain type of anything else. */
export type ScopedResult<T> =
  T extends Promise<unknown>
    ? T
    : T extends PromiseLike<infer U>
      ? Promise<U>
      : T extends { then(onfulfilled: (value: infer V) => unknown, ...rest: never[]): unknown }
        ? Promise<V>
        : T;

/** Runs `fn` with `state` in force, starting a lazy thenable result while still inside. */
export function runWithState<T>(state: ScopeState, fn: () => T): ScopedResult<T> {
  return storage.run(state, () => {
    const result = fn();
    if (!isLazyThenable(result)) return result;
    return new Promise((resolve, reject) => {
      result.then(resolve, reject);
    });
  }) as ScopedResult<T>;
}

/**
 * Runs `fn` in a scope: the current values overlaid with `values`, enforcement on.
 * The outer state is back in force when `fn` returns or throws.
 */
export function scope<T>(values: ScopeValues, fn: () => T): ScopedResult<T> {
  const overlay = normalizeScopeValues(values);
  const current = getScope();
  return runWithState(freezeState(true, { ...current.values, ...overlay }), fn);
}

/** Runs `fn` with enforcement lifted; the current values are kept (a nested `scope()` re-enables). */
export function scopesDisabled<T>(fn: () => T): ScopedResult<T> {
  const current = getScope();
  return runWithState(freezeState(false, { ...current.values }), fn);
}

/** Wrapper form of `scope()`: every call of the returned function runs in the scope. */
export function wrapInScope<A extends unknown[], T>(
  values: ScopeValues,
  fn: (...args: A) => T,
): (...args: A) => ScopedResult<T> {
  const overlay = normalizeScopeValues(values); // validate now, not at the first call
  return (...args: A) => scope(overlay as ScopeValues, () => fn(...args));
}

/** Wrapper form of `scopesDisabled()`. */
export function wrapScopesDisabled<A extends unknown[], T>(fn: (...args: A) => T): (...args: A) => ScopedResult<T> {
  return (...args: A) => scopesDisabled(() => fn(...args));
}

/**
 * Binds `fn` to the scope in force now: it runs in that scope wherever it is called from
 * (an EventEmitter listener, a callback handed to a library that pools its own work).
 */
export function bindScope<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  const state = storage.getStore();
  if (state === undefined) return (...args: A) => storage.exit(() => fn(...args));
  return (...args: A) => storage.run(state, () => fn(...args));
}

// ---- snapshots for background jobs -------------------------------------------------------

type EncodedKey = string | number | { readonly $bigint: string };
type EncodedValue = EncodedKey | readonly EncodedKey[] | { readonly $all: true };

/** A JSON-serialisable copy of a scope state, to carry a scope into a queue or a job. */
export interface ScopeSnapshot {
  readonly knexScopes: 1;
  readonly enabled: boolean;
  readonly values: Readonly<Record<string, EncodedValue>>;
}

function encodeKey(key: ScopeKey): EncodedKey {
  return typeof key === 'bigint' ? { $bigint: key.toString() } : key;
}

function encodeValue(value: ScopeValue): EncodedValue {
  if (value === ALL) return { $all: true };
  if (Array.isArray(value)) return (value as readonly ScopeKey[]).map(encodeKey);
  return encodeKey(value as ScopeKey);
}

function badSnapshot(why: string, value: unknown): ScopeError {
  return new ScopeError(
    'INVALID_SNAPSHOT',
    `Cannot restore scope snapshot: ${why}. Pass the object returned by captureScope() ` +
      '(after JSON round trips too) to runInScope().',
    { value },
  );
}

function decodeKey(key: unknown, snapshot: unknown): unknown {
  if (typeof key === 'object' && key !== null && !Array.isArray(key)) {
    const big = (key as { $bigint?: unknown }).$bigint;
    if (typeof big !== 'string' || !/^-?\d+$/.test(big)) throw badSnapshot('malformed bigint key', snapshot);
    return BigInt(big);
  }
  return key;
}

function decodeValue(dimension: string, value: unknown, snapshot: unknown): ScopeValue {
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    (value as { $all?: unknown }).$all === true
  ) {
    return ALL;
  }
  const decoded = Array.isArray(value) ? value.map((k) => decodeKey(k, snapshot)) : decodeKey(value, snapshot);
  return normalizeScopeValue(dimension, decoded);
}

/** Captures the scope in force as a JSON-serialisable snapshot. */
export function captureScope(): ScopeSnapshot {
  const state = getScope();
  const values: Record<string, EncodedValue> = {};
  for (const [dimension, value] of Object.entries(state.values)) values[dimension] = encodeValue(value);
  return Object.freeze({ knexScopes: 1, enabled: state.enabled, values: Object.freeze(values) });
}

/**
 * Runs `fn` in exactly the state a snapshot describes (not merged with the caller's).
 * A missing snapshot is an error: a scoped job must never run unscoped by accident.
 */
export function runInScope<T>(snapshot: ScopeSnapshot, fn: () => T): ScopedResult<T> {
  if (snapshot === undefined || snapshot === null) {
    throw new ScopeError(
      'INVALID_SNAPSHOT',
      'runInScope() got no scope snapshot: the job was enqueued without one. ' +
        'Call captureScope() where the job is enqueued and pass its result along with the job.',
      { value: snapshot },
    );
  }
  if (typeof snapshot !== 'object' || (snapshot as { knexScopes?: unknown }).knexScopes !== 1) {
    throw badSnapshot('not a knex-scopes snapshot', snapshot);
  }
  const { enabled, values } = snapshot as { enabled?: unknown; values?: unknown };
  if (typeof enabled !== 'boolean') throw badSnapshot('"enabled" is not a boolean', snapshot);
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw badSnapshot('"values" is not an object', snapshot);
  }
  const decoded: Record<string, ScopeValue> = {};
  for (const [dimension, value] of Object.entries(values)) decoded[dimension] = decodeValue(dimension, value, snapshot);
  return runWithState(freezeState(enabled, decoded), fn);
}
