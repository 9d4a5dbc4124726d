// Running a write on one side: inside a transaction that is always rolled back, with a
// snapshot of the written table taken before the rollback; and the oracle's version of it.
import { scope, scopesDisabled } from '@knex-scopes/core';
import type { Knex } from 'knex';
import type { Write } from './ast';
import { type Outcome, settle } from './outcome';
import { renderWrite } from './render';
import { type OwnedRow, snapshot } from './snapshot';
import { DECLARATION, type OracleScope, type Row, SEED, seedOwner, standing, TABLE } from './world';

export interface WriteRun {
  readonly outcome: Outcome;
  /** The written table after the write, inside the transaction; undefined if unreadable. */
  readonly after: OwnedRow[] | undefined;
}

class Rollback extends Error {
  constructor(readonly run: WriteRun) {
    super('rollback');
  }
}

/** Runs the write and snapshots its table in one transaction, then rolls it back. */
export async function runWrite(db: Knex, w: Write, scopeValues: OracleScope['values'] | undefined): Promise<WriteRun> {
  try {
    await db.transaction(async (trx) => {
      // REPLACE INTO answers the driver's header (rows deleted and inserted), not rows
      const rows = (result: unknown) => (w.k === 'upsert' ? [] : result);
      const outcome = await settle(() =>
        scopeValues ? scope(scopeValues, () => renderWrite(trx, w).then(rows)) : renderWrite(trx, w).then(rows),
      );
      let after: OwnedRow[] | undefined;
      try {
        after = await (scopeValues ? scopesDisabled(() => snapshot(trx, w.table)) : snapshot(trx, w.table));
      } catch {
        after = undefined; // PostgreSQL: the failed statement aborted the transaction
      }
      throw new Rollback({ outcome, after });
    });
  } catch (error) {
    if (error instanceof Rollback) return error.run;
    throw error;
  }
  throw new Error('unreachable: the transaction always rolls back');
}

/**
 * The write the oracle runs: the same, with a missing direct scope column set to the scope's
 * single key, as knex-scopes stamps it (the oracle database has no scoping to do it).
 */
export function oracleWrite(w: Write, values: OracleScope['values']): Write {
  if (w.k !== 'insert' && w.k !== 'upsert') return w;
  const rules = (DECLARATION as Record<string, Record<string, string>>)[w.table];
  if (!rules) return w;
  const rows = w.rows.map((row) => {
    const copy = { ...row };
    for (const [dimension, rule] of Object.entries(rules)) {
      const value = values[dimension as keyof typeof values];
      // a column given in another letter case is given (SQLite and MySQL take it as the same)
      if (rule.includes('->') || Object.keys(copy).some((k) => k.toLowerCase() === rule.toLowerCase())) continue;
      if (typeof value === 'number' || typeof value === 'string') copy[rule] = value;
    }
    return copy;
  });
  return { ...w, rows };
}

/** An inserted key that names a row the scope cannot see: the database refuses or skips it. */
export function collides(w: Write, scopeDef: OracleScope): boolean {
  if (w.k !== 'insert' && w.k !== 'upsert') return false;
  const table = TABLE.get(w.table)!;
  const seed = (SEED[w.table] ?? []) as Row[];
  return w.rows.some((row) =>
    seed.some(
      (s) =>
        table.key.every((k) => row[k] !== undefined && String(row[k]) === String(s[k])) &&
        standing(seedOwner(w.table, s), scopeDef.values) !== 'in',
    ),
  );
}

/** Cached snapshots of the untouched databases (every write is rolled back). */
const before = new WeakMap<Knex, Map<string, OwnedRow[]>>();

export async function beforeState(db: Knex, table: string): Promise<OwnedRow[]> {
  const tables = before.get(db) ?? new Map<string, OwnedRow[]>();
  before.set(db, tables);
  const rows = tables.get(table) ?? (await snapshot(db, table));
  tables.set(table, rows);
  return rows;
}
