// The differential oracle for one case. A read runs under scope() on the full database and
// unscoped on the oracle database of that scope: the rows must be equal. A write runs in a
// rolled-back transaction on both: rows the scope cannot see must be untouched, and the
// visible effect must equal the oracle's, unless the write was refused with a ScopeError.
import { isScopeError, scope, scopesDisabled } from '@knex-scopes/core';
import type { Knex } from 'knex';
import type { Read, Write } from './ast';
import { type Case, printCase } from './cases';
import { compareRows, minus } from './compare';
import type { Expectation } from './gen-context';
import { knownFindings, MISSING_ROWS } from './known-findings';
import type { FuzzDatabases } from './oracle-databases';
import { renderRead, renderWrite } from './render';
import { type OwnedRow, partition, snapshot } from './snapshot';
import type { FuzzStats } from './stats';
import {
  DECLARATION,
  inScopeValue,
  ORACLE_SCOPES,
  type OracleScope,
  type Row,
  SEED,
  seedOwner,
  standing,
  TABLE,
} from './world';

type Outcome =
  | { readonly kind: 'ok'; readonly rows: Record<string, unknown>[] }
  | { readonly kind: 'refused'; readonly code: string; readonly message: string }
  | { readonly kind: 'error'; readonly code: string; readonly message: string };

async function settle(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    const result = await run();
    return { kind: 'ok', rows: Array.isArray(result) ? (result as Record<string, unknown>[]) : [] };
  } catch (error) {
    if (isScopeError(error)) return { kind: 'refused', code: error.code, message: error.message };
    const e = error as { code?: unknown; message?: string };
    return { kind: 'error', code: String(e.code ?? 'ERROR'), message: String(e.message ?? error).split('\n')[0]! };
  }
}

/** A scoped-side database error on a query shaped like a known finding: counted, not failed. */
function tolerated(node: Read | Write, dialect: string, stats: FuzzStats): boolean {
  const known = knownFindings(node, dialect);
  for (const finding of known) stats.knownFinding(finding);
  return known.size > 0;
}

/** Rows missing (never extra) on a query shaped like a known finding with that symptom. */
function toleratedMissingRows(q: Read, dialect: string, stats: FuzzStats): boolean {
  const known = [...knownFindings(q, dialect)].filter((f) => MISSING_ROWS.has(f));
  for (const finding of known) stats.knownFinding(finding);
  return known.length > 0;
}

/** A case that fails the property: a leak, a wrong result, or a refusal of a safe read. */
export class CaseFailure extends Error {
  override name = 'CaseFailure';
}

const show = (o: Outcome) =>
  o.kind === 'ok' ? `${o.rows.length} row(s)` : `${o.kind} ${o.code}: ${o.message.slice(0, 300)}`;

const EXPECTED_CODES: Record<Expectation, string> = {
  'raw-scoped': 'RAW_SQL_REFUSED',
  'cte-shadow': 'UNSUPPORTED_QUERY',
  'insert-select': 'UNSUPPORTED_QUERY',
  'mysql-merge': 'UNSUPPORTED_QUERY',
  'scope-increment': 'CROSS_SCOPE_WRITE',
};

/** Shapes refused whatever the scope (scope-increment is not: ALL lifts it). */
function mustRefuse(c: Case): boolean {
  return [...c.expect].some((e) => e !== 'scope-increment');
}

function expectedRefusal(c: Case, code: string): boolean {
  if (code === 'AMBIGUOUS_INSERT') return ambiguousInsert(c);
  if (code === 'CROSS_SCOPE_WRITE' && namesOutOfScope(c)) return true;
  return [...c.expect].some((e) => EXPECTED_CODES[e] === code);
}

/** The payload sets a scope column to a key outside the scope, or a path column to a parent the scope cannot see. */
function namesOutOfScope(c: Case): boolean {
  if (c.op.k !== 'write') return false;
  const w = c.op.w;
  const payloads = w.k === 'insert' ? w.rows : w.k === 'update' ? [w.set] : [];
  const table = TABLE.get(w.table)!;
  const rules = (DECLARATION as Record<string, Record<string, string>>)[w.table] ?? {};
  const values = ORACLE_SCOPES[c.scope]!.values;
  return payloads.some((row) =>
    Object.entries(rules).some(([dimension, rule]) => {
      const column = rule.split('->')[0]!.trim();
      if (!(column in row)) return false;
      const value = row[column] ?? null;
      if (!rule.includes('->')) return !inScopeValue(values[dimension as keyof typeof values], value);
      if (value === null) return false;
      const fk = table.fks.find((f) => f.column === column)!;
      const parent = (SEED[fk.table] ?? []).find((r) => String(r[fk.ref]) === String(value));
      return !parent || standing(seedOwner(fk.table, parent), values) !== 'in';
    }),
  );
}

/** An insert leaving out a direct scope column whose scope value is not one key: by design. */
function ambiguousInsert(c: Case): boolean {
  if (c.op.k !== 'write' || c.op.w.k !== 'insert') return false;
  const rules = (DECLARATION as Record<string, Record<string, string>>)[c.op.w.table] ?? {};
  const values = ORACLE_SCOPES[c.scope]!.values;
  return c.op.w.rows.some((row) =>
    Object.entries(rules).some(([dimension, rule]) => {
      const value = values[dimension as keyof typeof values];
      return !rule.includes('->') && !(rule in row) && typeof value !== 'number' && typeof value !== 'string';
    }),
  );
}

/** The SQL each side runs, for failure messages. */
function sqlOf(dbs: FuzzDatabases, c: Case): string {
  const oracle = dbs.oracles[c.scope]!;
  const render = (db: Knex) => (c.op.k === 'read' ? renderRead(db, c.op.q) : renderWrite(db, c.op.w));
  let scoped: string;
  try {
    scoped = scope(oracle.scope.values, () => render(dbs.scoped).toString());
  } catch (error) {
    scoped = `(refused: ${(error as Error).message})`;
  }
  return `scoped SQL: ${scoped}\noracle SQL: ${render(oracle.knex).toString()}`;
}

function fail(dbs: FuzzDatabases, c: Case, what: string): never {
  throw new CaseFailure(`${what}\n${sqlOf(dbs, c)}`);
}

export async function checkCase(dbs: FuzzDatabases, c: Case, stats: FuzzStats): Promise<void> {
  stats.cases++;
  if (c.op.k === 'read') {
    stats.reads++;
    await checkRead(dbs, c, c.op.q, stats);
  } else {
    stats.writes++;
    try {
      await checkWrite(dbs, c, c.op.w, stats);
    } finally {
      if (process.env.FUZZ_PARANOID) await assertRolledBack(dbs, c);
    }
  }
}

function orderedRead(q: Read): boolean {
  return q.order.k === 'total';
}

async function checkRead(dbs: FuzzDatabases, c: Case, q: Read, stats: FuzzStats): Promise<void> {
  const oracle = dbs.oracles[c.scope]!;
  const [s, o] = await Promise.all([
    settle(() => scope(oracle.scope.values, () => renderRead(dbs.scoped, q).then((rows) => rows))),
    settle(() => renderRead(oracle.knex, q).then((rows) => rows)),
  ]);
  if (s.kind === 'refused') {
    stats.refused(s.code, expectedRefusal(c, s.code));
    if (expectedRefusal(c, s.code)) return;
    stats.mismatches++;
    fail(dbs, c, `a read was refused (${s.code}: ${s.message}); the oracle gave ${show(o)}`);
  }
  if (mustRefuse(c)) {
    stats.leaks++;
    fail(dbs, c, `a read that must be refused (${[...c.expect].join(', ')}) ran: ${show(s)}`);
  }
  if (s.kind === 'error' && o.kind === 'error') {
    stats.invalidQuery(o.code);
    if (process.env.FUZZ_DEBUG) console.log(`INVALID read ${o.message}\n  ${printCase(c)}`);
    return;
  }
  if (s.kind === 'error' && o.kind === 'ok' && tolerated(q, dbs.dialect, stats)) return;
  if (s.kind !== 'ok' || o.kind !== 'ok') {
    stats.mismatches++;
    fail(dbs, c, `the scoped run gave ${show(s)}, the oracle ${show(o)}`);
  }
  const diff = compareRows(s.rows, o.rows, orderedRead(q));
  if (!diff) return;
  if (diff.extra.length === 0 && toleratedMissingRows(q, dbs.dialect, stats)) return;
  if (diff.extra.length > 0) stats.leaks++;
  else stats.mismatches++;
  fail(
    dbs,
    c,
    diff.orderOnly
      ? 'same rows, different order'
      : `scoped rows not in the oracle: ${JSON.stringify(diff.extra.slice(0, 8))}\n` +
          `oracle rows missing from the scoped run: ${JSON.stringify(diff.missing.slice(0, 8))}`,
  );
}

interface WriteRun {
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
async function runWrite(db: Knex, w: Write, scopeValues: OracleScope['values'] | undefined): Promise<WriteRun> {
  try {
    await db.transaction(async (trx) => {
      const outcome = await settle(() =>
        scopeValues
          ? scope(scopeValues, () => renderWrite(trx, w).then((rows) => rows))
          : renderWrite(trx, w).then((rows) => rows),
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
  if (w.k !== 'insert') return w;
  const rules = (DECLARATION as Record<string, Record<string, string>>)[w.table];
  if (!rules) return w;
  const rows = w.rows.map((row) => {
    const copy = { ...row };
    for (const [dimension, rule] of Object.entries(rules)) {
      const value = values[dimension as keyof typeof values];
      if (rule.includes('->') || rule in copy) continue;
      if (typeof value === 'number' || typeof value === 'string') copy[rule] = value;
    }
    return copy;
  });
  return { ...w, rows };
}

/** An inserted key that names a row the scope cannot see: the database refuses or skips it. */
function collides(w: Write, scopeDef: OracleScope): boolean {
  if (w.k !== 'insert') return false;
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

/** FUZZ_PARANOID=1: after every write, its table is back to its seed on both sides. */
async function assertRolledBack(dbs: FuzzDatabases, c: Case): Promise<void> {
  if (c.op.k !== 'write') return;
  const table = c.op.w.table;
  for (const db of [dbs.base, dbs.oracles[c.scope]!.knex]) {
    const now = (await snapshot(db, table)).map((r) => r.key).sort();
    const then = (await beforeState(db, table)).map((r) => r.key).sort();
    if (minus(now, then).length > 0 || minus(then, now).length > 0) {
      fail(dbs, c, `${table} was not rolled back on the ${db === dbs.base ? 'full' : 'oracle'} database`);
    }
  }
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

async function checkWrite(dbs: FuzzDatabases, c: Case, w: Write, stats: FuzzStats): Promise<void> {
  const oracle = dbs.oracles[c.scope]!;
  const scopeDef = oracle.scope;
  const [fullBefore, oracleBefore] = await Promise.all([
    beforeState(dbs.base, w.table),
    beforeState(oracle.knex, w.table),
  ]);
  const [s, o] = await Promise.all([
    runWrite(dbs.scoped, w, scopeDef.values),
    runWrite(oracle.knex, oracleWrite(w, scopeDef.values), undefined),
  ]);
  const full0 = partition(fullBefore, scopeDef);
  const report = () => `scoped: ${show(s.outcome)}; oracle: ${show(o.outcome)}`;

  // 1. Rows the scope cannot see (another owner's, or nobody's) are never touched.
  if (s.after) {
    const full1 = partition(s.after, scopeDef);
    const changedOut = [...minus(full0.out, full1.out), ...minus(full1.out, full0.out)];
    const removedNone = minus(full0.none, full1.none);
    if (changedOut.length > 0 || removedNone.length > 0) {
      stats.leaks++;
      fail(
        dbs,
        c,
        `rows outside the scope changed (${report()}): ${JSON.stringify([...changedOut, ...removedNone].slice(0, 8))}`,
      );
    }
  }

  // 2. A refusal is fine if it wrote nothing; note refusals of writes the oracle found harmless.
  if (s.outcome.kind === 'refused') {
    const expected = expectedRefusal(c, s.outcome.code);
    stats.refused(s.outcome.code, expected);
    if (s.after && (minus(fullBefore.map(key), s.after.map(key)).length > 0 || s.after.length !== fullBefore.length)) {
      stats.leaks++;
      fail(dbs, c, `a refused write changed the table (${report()})`);
    }
    if (!expected && o.outcome.kind === 'ok' && o.after && harmless(oracleBefore, o.after, scopeDef)) {
      stats.questionable.push({
        code: s.outcome.code,
        scope: scopeDef.name,
        text: `${printCase(c)}\n  ${s.outcome.message}`,
      });
    }
    return;
  }
  if (mustRefuse(c)) {
    stats.leaks++;
    fail(dbs, c, `a write that must be refused (${[...c.expect].join(', ')}) ran (${report()})`);
  }
  const collision = collides(w, scopeDef);
  if (s.outcome.kind === 'error' && o.outcome.kind === 'error') {
    stats.invalidQuery(o.outcome.code);
    if (process.env.FUZZ_DEBUG) console.log(`INVALID write ${o.outcome.message}\n  ${printCase(c)}`);
    return;
  }
  if (s.outcome.kind === 'error' || o.outcome.kind === 'error') {
    // deleting or updating an unscoped row that invisible rows still reference
    const referenced =
      !TABLE.get(w.table)!.scoped && s.outcome.kind === 'error' && /foreign|constraint/i.test(s.outcome.message);
    if (collision || referenced) {
      stats.collisions++;
      return;
    }
    if (s.outcome.kind === 'error' && tolerated(w, dbs.dialect, stats)) return;
    stats.mismatches++;
    fail(dbs, c, `one side failed: ${report()}`);
  }

  // 3. Both ran: the visible effect is the oracle's.
  if (!s.after || !o.after) {
    stats.mismatches++;
    fail(dbs, c, `could not read the table back after the write (${report()})`);
  }
  const full1 = partition(s.after, scopeDef);
  const oracle0 = partition(oracleBefore, scopeDef);
  const oracle1 = partition(o.after, scopeDef);
  const sameVisible = minus(full1.in, oracle1.in).length === 0 && minus(oracle1.in, full1.in).length === 0;
  const newNoneFull = minus(full1.none, full0.none);
  const newNoneOracle = minus(oracle1.none, oracle0.none);
  const sameNone = minus(newNoneFull, newNoneOracle).length === 0 && minus(newNoneOracle, newNoneFull).length === 0;
  const returned = compareRows(
    s.outcome.kind === 'ok' ? s.outcome.rows : [],
    o.outcome.kind === 'ok' ? o.outcome.rows : [],
    false,
  );
  if (sameVisible && sameNone && !returned) return;
  if (collision) {
    stats.collisions++;
    return;
  }
  stats.mismatches++;
  fail(
    dbs,
    c,
    `the write's visible effect differs from the oracle's (${report()})\n` +
      `only in the scoped database: ${JSON.stringify([...minus(full1.in, oracle1.in), ...minus(newNoneFull, newNoneOracle)].slice(0, 8))}\n` +
      `only in the oracle database: ${JSON.stringify([...minus(oracle1.in, full1.in), ...minus(newNoneOracle, newNoneFull)].slice(0, 8))}` +
      (returned ? `\nreturning differs: ${JSON.stringify(returned)}` : ''),
  );
}

const key = (r: OwnedRow) => r.key;

/** The oracle's write changed something, and everything it changed stays inside the scope. */
function harmless(beforeRows: readonly OwnedRow[], afterRows: readonly OwnedRow[], scopeDef: OracleScope): boolean {
  const b = partition(beforeRows, scopeDef);
  const a = partition(afterRows, scopeDef);
  const changed = minus(b.in, a.in).length + minus(a.in, b.in).length;
  return changed > 0 && a.out.length === 0 && a.none.length === b.none.length;
}
