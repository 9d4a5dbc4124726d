// The tenant lookup, optionally behind an LRU cache with TTLs, remembered misses and coalesced
// concurrent loads (a burst of requests for one new tenant makes one lookup).
import { LRUCache } from 'lru-cache';
import type { FrozenScopeValues } from '../scope-values';

/** Options of the lookup cache. */
export interface LookupCacheOptions {
  /** Most entries kept per key source (found and unknown tenants together). Default 1000. */
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
  const cacheOptions = {
    max: options.max ?? 1000,
    ttl: options.ttl ?? 60_000,
    // lru-cache's default (1 ms) caches the clock behind a new timer every millisecond: under
    // load that is a timer (and its async-context bookkeeping) every few requests, where reading
    // the clock on each hit costs under 0.1 µs.
    ttlResolution: 0,
  };
  // One cache per key source (a resolver has one, or a few under firstOf): the key a request
  // brings is looked up as it came, hashed once, with no (source, key) string to make or find.
  const caches = new Map<string, LRUCache<string, Found<T> | typeof UNKNOWN>>();
  const cacheOf = (source: string) => {
    let cache = caches.get(source);
    if (cache === undefined) {
      cache = new LRUCache(cacheOptions);
      caches.set(source, cache);
    }
    return cache;
  };
  // Loads in flight, per source and key (a miss only).
  const inflight = new Map<string, Promise<Found<T> | undefined>>();

  const find = (key: string, source: string): Lookup<T> => {
    const cache = cacheOf(source);
    const hit = cache.get(key);
    if (hit !== undefined) return hit === UNKNOWN ? undefined : (hit as Found<T>);
    const id = `${source}\n${key}`;
    const pending = inflight.get(id);
    if (pending !== undefined) return pending;
    const loading: Promise<Found<T> | undefined> = load(key, source).then(
      (found) => {
        // Only the load still registered stores its result: an evict() while it ran wins.
        if (inflight.get(id) === loading) {
          inflight.delete(id);
          if (found !== undefined) cache.set(key, found);
          else if (negativeTtl > 0) cache.set(key, UNKNOWN, { ttl: negativeTtl });
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
    let count = 0;
    for (const cache of caches.values()) {
      // peek() sees live entries only, as the count should
      if (typeof target === 'string') {
        if (cache.peek(target) !== undefined && cache.delete(target)) count++;
        continue;
      }
      for (const key of [...cache.keys()]) {
        const entry = cache.peek(key);
        if (entry !== undefined && entry !== UNKNOWN && target((entry as Found<T>).tenant) && cache.delete(key))
          count++;
      }
    }
    for (const id of [...inflight.keys()])
      if (typeof target !== 'string' || id.slice(id.indexOf('\n') + 1) === target) inflight.delete(id);
    return count;
  };

  return {
    find,
    evict,
    clear: () => {
      for (const cache of caches.values()) cache.clear();
      inflight.clear();
    },
  };
}
