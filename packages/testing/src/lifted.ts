// Factories and seeds with protection lifted: they write across tenants, tenant_id as given.
import { type ScopedResult, scopesDisabled } from '@knex-scopes/core';

type Fn = (...args: never[]) => unknown;

/** What `lifted()` returns: the same calls, each run in `scopesDisabled()` and awaitable. */
export type Lifted<T> = T extends (...args: infer A) => infer R
  ? (...args: A) => ScopedResult<R>
  : { readonly [K in keyof T]: T[K] extends Fn ? Lifted<T[K]> : T[K] };

/**
 * Runs a factory, or every method of a factory object, with protection lifted
 * (`scopesDisabled()`): its inserts write `tenant_id` as given, whatever scope the test runs in.
 * A lazy result (a Knex builder, an Objection query) is started inside, and comes back as a
 * promise. Queries published as bypasses (`CHANNELS.bypass`), not refusals.
 *
 * `const createProject = lifted((row: NewProject) => db('projects').insert(row).returning('*'))`
 * `const factories = lifted({ project(row) { … }, tenant(row) { … } })`
 */
export function lifted<T extends object>(factory: T): Lifted<T> {
  if (typeof factory === 'function') {
    const fn = factory as unknown as (this: unknown, ...args: unknown[]) => unknown;
    return function (this: unknown, ...args: unknown[]) {
      return scopesDisabled(() => fn.apply(this, args));
    } as Lifted<T>;
  }
  // An object or class instance: methods are read from it (prototype included) and called on it.
  return new Proxy(factory, {
    get(target, property) {
      const member: unknown = Reflect.get(target, property);
      if (typeof member !== 'function' || property === 'constructor') return member;
      return (...args: unknown[]) => scopesDisabled(() => (member as Fn).apply(target, args as never[]));
    },
  }) as Lifted<T>;
}
