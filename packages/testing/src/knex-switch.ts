// A Knex handle the app imports at module level, which a test points at its transaction: the
// app's queries, its tenant lookup and its ORM then all run on that one connection.
import type { Knex } from 'knex';

export interface KnexSwitch<K extends Knex = Knex> {
  /**
   * The handle to give the app (`export const db = …knex`, `Model.knex(…knex)`): a Knex
   * instance that forwards every call and property read to `current()`.
   */
  readonly knex: K;
  /** The instance the switch was made with, where `knex` forwards outside a test. */
  readonly root: K;
  /** Where `knex` forwards now: the transaction given to `use()`, else the root. */
  current(): K | Knex.Transaction;
  /** Forwards to `trx` from now on; `use(undefined)` goes back to the root. */
  use(trx: Knex.Transaction | undefined): void;
}

/**
 * Makes a switchable handle over `root`, which should be the scoped instance
 * (`scopes.wrap(base)`): a transaction opened on it is scoped, and so are its savepoints.
 * Listeners (`on('query')`) belong on the root: added through the handle, they would go to
 * whatever it forwards to at that moment.
 */
export function knexSwitch<K extends Knex>(root: K): KnexSwitch<K> {
  let current: K | Knex.Transaction = root;
  const knex = new Proxy(root, {
    apply: (_target, _this, args: unknown[]) => Reflect.apply(current as unknown as Fn, undefined, args),
    get(_target, property) {
      const target = current as unknown as object;
      const value: unknown = Reflect.get(target, property);
      // Methods run on what they were read from (a transaction's `transaction()` opens a savepoint).
      return typeof value === 'function' ? (value as Fn).bind(target) : value;
    },
    set: (_target, property, value) => Reflect.set(current as unknown as object, property, value),
    has: (_target, property) => Reflect.has(current as unknown as object, property),
  });
  return Object.freeze({
    knex,
    root,
    current: () => current,
    use(trx: Knex.Transaction | undefined) {
      current = trx ?? root;
    },
  });
}

type Fn = (...args: unknown[]) => unknown;
