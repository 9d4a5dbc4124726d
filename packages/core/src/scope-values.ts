// What a scope value is, and the one place that decides whether a value is acceptable.
import { ScopeError } from './errors';

/**
 * Lifts protection for one dimension explicitly. A symbol registered globally, so two copies
 * of the package agree on it.
 */
export const ALL: unique symbol = Symbol.for('knex-scopes.ALL');
export type All = typeof ALL;

/** A key that identifies an owner (a tenant id, a user id, …). */
export type ScopeKey = string | number | bigint;

/** One key, several keys (an empty list matches nothing), or ALL. */
export type ScopeValue<K extends ScopeKey = ScopeKey> = K | readonly K[] | All;

/**
 * Declare your dimensions once, and a misspelt dimension becomes a compile error:
 *
 * ```ts
 * declare module '@knex-scopes/core' {
 *   interface ScopeDimensions { tenant: number; user: string }
 * }
 * ```
 * Without a declaration, any dimension name is accepted.
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the application through declaration merging
export interface ScopeDimensions {}

type Declared = keyof ScopeDimensions extends never ? false : true;

/** The dimension names an application may use. */
export type DimensionName = Declared extends true ? Extract<keyof ScopeDimensions, string> : string;

type KeyOf<D> = D extends keyof ScopeDimensions
  ? ScopeDimensions[D] extends ScopeKey
    ? ScopeDimensions[D]
    : never
  : ScopeKey;

/** The values one may pass to `scope()`: some dimensions, each with its value. */
export type ScopeValues = Declared extends true
  ? { readonly [D in Extract<keyof ScopeDimensions, string>]?: ScopeValue<KeyOf<D>> }
  : { readonly [dimension: string]: ScopeValue };

/** A validated, frozen map of dimension to value. */
export type FrozenScopeValues = Readonly<Record<string, ScopeValue>>;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a nested array';
  if (typeof value === 'number') return String(value);
  return typeof value === 'object' ? 'an object' : typeof value;
}

function invalid(dimension: string, value: unknown, why: string): ScopeError {
  return new ScopeError(
    'INVALID_SCOPE_VALUE',
    `Invalid scope value for dimension "${dimension}": ${why}. ` +
      'A scope value is a key (string, number or bigint), an array of keys, or ALL ' +
      '(import { ALL } from "@knex-scopes/core") to lift the dimension explicitly.',
    { dimensions: [dimension], value },
  );
}

function checkKey(dimension: string, key: unknown): ScopeKey {
  if (typeof key === 'string') {
    if (key.length === 0) throw invalid(dimension, key, 'the empty string is not a key');
    return key;
  }
  if (typeof key === 'number') {
    if (!Number.isFinite(key)) throw invalid(dimension, key, `${key} is not a key`);
    return key;
  }
  if (typeof key === 'bigint') return key;
  if (key === null || key === undefined) {
    throw invalid(dimension, key, `${String(key)} never means "all"; a resolver probably found no tenant`);
  }
  if (typeof key === 'object' && !Array.isArray(key)) {
    throw invalid(dimension, key, 'got an object; pass the key (e.g. tenant.id), not the row');
  }
  throw invalid(dimension, key, `got ${describe(key)}`);
}

/** Validates one value; arrays come back copied and frozen. */
export function normalizeScopeValue(dimension: string, value: unknown): ScopeValue {
  if (value === ALL) return ALL;
  if (Array.isArray(value)) {
    const keys = value.map((key: unknown) => {
      if (Array.isArray(key)) throw invalid(dimension, value, 'nested arrays are not allowed');
      return checkKey(dimension, key);
    });
    return Object.freeze(keys);
  }
  return checkKey(dimension, value);
}

/** Validates a whole `scope()` argument into a fresh frozen object. */
export function normalizeScopeValues(values: unknown): Record<string, ScopeValue> {
  if (typeof values !== 'object' || values === null || Array.isArray(values)) {
    throw new ScopeError(
      'INVALID_SCOPE_VALUE',
      'scope() takes an object of dimension to value, e.g. scope({ tenant: 42 }, fn).',
      { value: values },
    );
  }
  const out: Record<string, ScopeValue> = {};
  for (const dimension of Object.keys(values)) {
    out[dimension] = normalizeScopeValue(dimension, (values as Record<string, unknown>)[dimension]);
  }
  return out;
}

/** True when the value of a dimension would match a given key. */
export function scopeValueIncludes(value: ScopeValue, key: ScopeKey): boolean {
  if (value === ALL) return true;
  if (Array.isArray(value)) return (value as readonly ScopeKey[]).some((k) => keysEqual(k, key));
  return keysEqual(value as ScopeKey, key);
}

// Keys compare by value across types the database would equate: 1, 1n and '1'.
export function keysEqual(a: ScopeKey, b: ScopeKey): boolean {
  if (a === b) return true;
  return String(a) === String(b);
}
