// The tenant lookup, optionally behind an LRU cache with TTLs, remembered misses and coalesced
// concurrent loads (a burst of requests for one new tenant makes one lookup).
import { LRUCache } from 'lru-cache';
import type { FrozenScopeValues } from '../scope-values';

/** Options of the lookup cache. */
export interface LookupCacheOptions {
  /** Most entries kept, found and unknown tenants together. Default 1000. */
  readonly max?: number;
  /** How long a found tenant is kept, in ms. Default 60 000. */
  readonly ttl?: number;
  /** How long an unknown key is remembered, in ms; 0 never remembers one. Default 5 000. */
  readonly negativeTtl?: number;
}

/** A tenant as the lookup found it, with its scope values computed once. */
export interface Found<T> {
  readonly tenant: T;
  readonly values: FrozenScopeValues;
}

/** A found tenant, nothing, or the promise of either (a cache hit answers synchronously). */
export type Lookup<T> = Found<T> | undefined | Promise<Found<T> | undefined>;

export interface TenantLookup<T> {
  find(key: string, source: string): Lookup<T>;
  /** Drops the entries for a key (from every source), or for every tenant the predicate picks. */
  evict(target: string | ((tenant: T) => boolean)): number;
  clear(): void;
}

type Load<T> = (key: string, source: string) => Promise<Found<T> | undefined>;

export function uncachedLookup<T>(load: Load<T>): TenantLookup<T> {
  return { find: load, evict: () => 0, clear: () => undefined };
}

const UNKNOWN = Object.freeze({ unknown: true });

export function cachedLookup<T>(load: Load<T>, options: LookupCacheOptions = {}): TenantLookup<T> {
  const negativeTtl = options.negativeTtl ?? 5_000;
  const max = options.max ?? 1000;
  const cache = new LRUCache<string, Found<T> | typeof UNKNOWN>({
    max,
    ttl: options.ttl ?? 60_000,
    // lru-cache's default (1 ms) caches the clock behind a new timer every millisecond: under
    // load that is a timer (and its async-context bookkeeping) every few requests, where reading
    // the clock on each hit costs under 0.1 µs.
    ttlResolution: 0,
  });
  const inflight = new Map<string, Promise<Found<T> | undefined>>();

  const store = (id: string, found: Found<T> | undefined) => {
    if (found !== undefined) cache.set(id, found);
    else if (negativeTtl > 0) cache.set(id, UNKNOWN, { ttl: negativeTtl });
  };

  // The cache's key for (source, key), made once: a string built per request would be hashed
  // afresh by every map that looks it up (that doubled the cost of a hit). Bounded like the cache.
  const ids = new Map<string, Map<string, string>>();
  const idOf = (key: string, source: string): string => {
    let bySource = ids.get(source);
    if (bySource === undefined) {
      bySource = new Map();
      ids.set(source, bySource);
    }
    let id = bySource.get(key);
    if (id === undefined) {
      if (bySource.size >= max) bySource.clear();
      id = `${source}\n${key}`;
      bySource.set(key, id);
    }
    return id;
  };

  const find = (key: string, source: string): Lookup<T> => {
    const id = idOf(key, source);
    const hit = cache.get(id);
    if (hit !== undefined) return hit === UNKNOWN ? undefined : (hit as Found<T>);
    const pending = inflight.get(id);
    if (pending !== undefined) return pending;
    const loading: Promise<Found<T> | undefined> = load(key, source).then(
      (found) => {
        // Only the load still registered stores its result: an evict() while it ran wins.
        if (inflight.get(id) === loading) {
          inflight.delete(id);
          store(id, found);
        }
        return found;
      },
      (error: unknown) => {
        if (inflight.get(id) === loading) inflight.delete(id);
        throw error;
      },
    );
    inflight.set(id, loading);
    return loading;
  };

  const evict = (target: string | ((tenant: T) => boolean)): number => {
    const matches = (id: string, entry: Found<T> | typeof UNKNOWN | undefined) =>
      typeof target === 'string'
        ? id.slice(id.indexOf('\n') + 1) === target
        : entry !== undefined && entry !== UNKNOWN && target((entry as Found<T>).tenant);
    const doomed = [...cache.keys()].filter((id) => matches(id, cache.peek(id)));
    for (const id of doomed) cache.delete(id);
    for (const id of [...inflight.keys()])
      if (typeof target !== 'string' || matches(id, undefined)) inflight.delete(id);
    return doomed.length;
  };

  return {
    find,
    evict,
    clear: () => {
      cache.clear();
      inflight.clear();
      ids.clear();
    },
  };
}
