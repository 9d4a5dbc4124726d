// Database-server bugs that the scoped query walks into and the oracle's does not: the tenant
// predicate is what sets them off, the same SQL with a hand-written filter fails the same way,
// and the library is not at fault. The oracle runs no filter, so such a case would read as a
// mismatch. Instead of keeping the shape off the dialect (and the leak check with it), the
// fuzzer reruns the scoped read with the server's faulty optimisation off and checks its rows
// against the oracle's as usual; a rerun that fails again is a mismatch as before. Counted per
// quirk in the dialect's result line (`server quirks rerun`). See docs/isolation.md, "Findings".
import type { Knex } from 'knex';
import type { Outcome } from './outcome';

/**
 * Q1, MariaDB 10.11: condition pushdown into a derived table resolves a pushed column by name
 * inside it, where a select alias (`t.id as id`) shadows a grouped column of its FROM
 * (`group by t.id, u.id`), and fails with ER_NON_UNIQ_ERROR "Column 'id' in ORDER BY (or ON,
 * or whatever clause was last resolved) is ambiguous". It takes an outer condition that pushes
 * an OR of that column and an aggregate into the derived table: a tenant filter `a0.id = 1`
 * next to `on a4.id = a0.id or a4.c = 12` makes `a4.id = 1 or a4.c = 12`. Gone with
 * `optimizer_switch='condition_pushdown_for_derived=off'`. The fuzzer's derived tables name
 * every output `o0`, `o1`…, so a derived table over another one readily shadows its columns.
 */
export const PUSHDOWN_AMBIGUITY = 'Q1 MariaDB derived pushdown ambiguity';

/** What Q1 needs switched off, for every connection of the rerun's pool. */
export const NO_DERIVED_PUSHDOWN = "set session optimizer_switch = 'condition_pushdown_for_derived=off'";

/** The quirk a scoped read's failure may be, given the oracle's outcome; undefined if none. */
export function serverQuirk(dialect: string, scoped: Outcome, oracle: Outcome): string | undefined {
  if (dialect !== 'mysql' || scoped.kind !== 'error' || oracle.kind !== 'ok') return undefined;
  return scoped.code === 'ER_NON_UNIQ_ERROR' ? PUSHDOWN_AMBIGUITY : undefined;
}

/**
 * The config of a small pool like `config`'s whose connections have derived-table condition
 * pushdown off. MySQL does not know the flag: its connections fail, so a rerun there fails and
 * the case stays a mismatch.
 */
export function withoutDerivedPushdown(config: Knex.Config): Knex.Config {
  type Conn = { query(sql: string, done: (error: Error | null) => void): void };
  return {
    ...config,
    pool: {
      ...(config.pool ?? {}),
      min: 0,
      max: 2,
      afterCreate: (conn: Conn, done: (error: Error | null, conn: Conn) => void) => {
        conn.query(NO_DERIVED_PUSHDOWN, (error) => done(error, conn));
      },
    },
  };
}
