// Typing of the per-query overrides on builders of a wrapped instance.
import type { ScopeValues } from '../scope-values';

declare module 'knex' {
  namespace Knex {
    // The type parameters must repeat Knex's declaration exactly for the merge to apply.
    // biome-ignore lint/suspicious/noExplicitAny: mirrors Knex's own declaration
    interface QueryBuilder<TRecord extends {} = any, TResult = any> {
      /**
       * Runs this query in exactly this scope, replacing the active one (django-scopes'
       * `with_scope`). Only on builders of an instance returned by `scopes.wrap(knex)`.
       */
      withScope(values: ScopeValues): this;
      /** Runs this one query with scopes disabled. Only on builders of a wrapped instance. */
      withScopesDisabled(): this;
    }
  }
}
