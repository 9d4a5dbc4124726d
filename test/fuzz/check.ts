// The differential oracle for one case. A read runs under scope() on the full database and
// unscoped on the oracle database of that scope: the rows must be equal. A write runs in a
// rolled-back transaction on both: rows the scope cannot see must be untouched, and the
// visible effect must equal the oracle's, unless the write was refused with a ScopeError.
import { ALL, scope } from '@knex-scopes/core';
import type { Knex } from 'knex';
import { forOracle, type Read, type Write } from './ast';
import { type Case, printCase } from './cases';
import { compareRows, minus, normRow } from './compare';
import { knownFindings } from './known-findings';
import type { FuzzDatabases } from './oracle-databases';
import { type Outcome, settle, show } from './outcome';
import { expectedRefusal, hasSqlStringValue, mustRefuse, skipsOracle } from './refusals';
import { readRows, renderRead, renderWrite } from './render';
import { serverQuirk } from './server-quirks';
import { type OwnedRow, partition, snapshot } from './snapshot';
import type { FuzzStats } from './stats';
import { type OracleScope, TABLE } from './world';
import { beforeState, collides, oracleWrite, runWrite, type WriteRun } from './write-run';

/** A symptom of an open finding (known-findings.ts) on a case of its shape: counted, not failed. */
function tolerated(c: Case, dialect: string, symptom: 'scoped-error' | 'missing-rows', stats: FuzzStats) {
  const known = knownFindings(c, dialect, symptom);
  for (const finding of known) stats.knownFinding(finding);
  return known.length > 0;
}

/** A case that fails the property: a leak, a wrong result, or a refusal of a safe read. */
export class CaseFailure extends Error {
  override name = 'CaseFailure';
}

/** The SQL each side runs, for failure messages. */
function sqlOf(dbs: FuzzDatabases, c: Case): string {
  const oracle = dbs.oracles[c.scope]!;
  const render = (db: Knex, oracleSide: boolean) => {
    if (c.op.k === 'write') return renderWrite(db, c.op.w);
    return renderRead(db, oracleSide ? forOracle(c.op.q) : c.op.q);
  };
  let scoped: string;
  try {
    scoped = scope(oracle.scope.values, () => render(dbs.scoped, false).toString());
  } catch (error) {
    scoped = `(refused: ${(error as Error).message})`;
  }
  let plain: string;
  try {
    plain = render(oracle.knex, true).toString();
  } catch (error) {
    plain = `(does not compile: ${(error as Error).message})`;
  }
  return `scoped SQL: ${scoped}\noracle SQL: ${plain}`;
}

function fail(dbs: FuzzDatabases, c: Case, what: string): never {
  throw new CaseFailure(`${what}\n${sqlOf(dbs, c)}`);
}

/** A refusal seen: counted by code, and (c11) as a carrier of toSqlString() refused. */
function refusal(c: Case, code: string, expected: boolean, stats: FuzzStats): void {
  stats.refused(code, expected);
  if (hasSqlStringValue(c)) stats.sqlStringsRefused++;
}

/** What a skipped oracle run stands for (skipsOracle): never compared, the case must be refused. */
const NOT_RUN: Outcome = { kind: 'ok', rows: [] };

export async function checkCase(dbs: FuzzDatabases, c: Case, stats: FuzzStats): Promise<void> {
  stats.cases++;
  stats.attack(c.tags);
  if (hasSqlStringValue(c)) stats.sqlStrings++;
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
  return q.k !== 'rawRead' && q.order.k === 'total';
}

async function checkRead(dbs: FuzzDatabases, c: Case, q: Read, stats: FuzzStats): Promise<void> {
  if (process.env.FUZZ_TRACE) console.log(`TRACE ${printCase(c)}`);
  const oracle = dbs.oracles[c.scope]!;
  const rows = (result: unknown) => readRows(q, dbs.dialect, result);
  const scoped = (db: Knex) => settle(() => scope(oracle.scope.values, () => renderRead(db, q).then(rows)));
  // a dotted alias, a value carrying toSqlString() (c11): refused before any SQL is sent; their
  // oracle run is not needed, and unscoped it would do harm (skipsOracle)
  // which reads took a deep path as a join (PostgreSQL, path-joins.ts): the stats show the fuzzer reaches it
  const sent: string[] = [];
  const listen = (query: { sql: string }) => sent.push(query.sql);
  dbs.scoped.on('query', listen);
  const [first, o] = await Promise.all([
    scoped(dbs.scoped).finally(() => dbs.scoped.off('query', listen)),
    skipsOracle(c) ? Promise.resolve(NOT_RUN) : settle(() => renderRead(oracle.knex, forOracle(q)).then(rows)),
  ]);
  let s = first;
  if (sent.some((sql) => sql.includes('ks_path_'))) stats.pathJoins++;
  if (c.expect.has('unbalanced')) {
    await checkUnbalanced(dbs, c, s, o, stats);
    return;
  }
  // a server bug the tenant predicate set off (server-quirks.ts): the rows it gives without
  // the faulty optimisation are checked instead; failing again, it is a mismatch as before
  const quirk = dbs.scopedRerun ? serverQuirk(dbs.dialect, s, o) : undefined;
  let rerunOf = '';
  if (quirk && dbs.scopedRerun) {
    stats.serverQuirk(quirk);
    rerunOf = `\n(rerun for ${quirk}, which first gave ${show(s)})`;
    s = await scoped(dbs.scopedRerun);
  }
  if (s.kind === 'refused') {
    refusal(c, s.code, expectedRefusal(c, s.code), stats);
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
  if (s.kind === 'error' && o.kind === 'ok' && tolerated(c, dbs.dialect, 'scoped-error', stats)) return;
  if (s.kind !== 'ok' || o.kind !== 'ok') {
    stats.mismatches++;
    fail(dbs, c, `the scoped run gave ${show(s)}${rerunOf}, the oracle ${show(o)}`);
  }
  const diff = compareRows(s.rows, o.rows, orderedRead(q));
  if (!diff) {
    // (not after a server-quirk rerun: the colocated instance has no such pool)
    if (!quirk) await checkColocated(dbs, c, q, o.rows, stats);
    return;
  }
  if (diff.extra.length === 0 && tolerated(c, dbs.dialect, 'missing-rows', stats)) return;
  if (diff.extra.length > 0) stats.leaks++;
  else stats.mismatches++;
  fail(
    dbs,
    c,
    (diff.orderOnly
      ? 'same rows, different order'
      : `scoped rows not in the oracle: ${JSON.stringify(diff.extra.slice(0, 8))}\n` +
        `oracle rows missing from the scoped run: ${JSON.stringify(diff.missing.slice(0, 8))}`) + rerunOf,
  );
}

/**
 * A read the scoped run got right, again through the `colocateJoins` instance: in a scope of one
 * key per dimension the added `b.tenant_id = a.tenant_id` equates two columns already pinned to
 * that key, so the rows must be the oracle's. (Under a list or ALL the option means to change
 * them: it pairs rows of the same tenant only.)
 */
async function checkColocated(
  dbs: FuzzDatabases,
  c: Case,
  q: Read,
  expected: Record<string, unknown>[],
  stats: FuzzStats,
): Promise<void> {
  const values = dbs.oracles[c.scope]!.scope.values;
  if (Object.values(values).some((v) => v === ALL || Array.isArray(v))) return;
  stats.colocated++;
  const s = await settle(() =>
    scope(values, () => renderRead(dbs.colocated, q).then((r) => readRows(q, dbs.dialect, r))),
  );
  if (s.kind !== 'ok') {
    stats.mismatches++;
    fail(dbs, c, `with colocateJoins the scoped run gave ${show(s)}; without, the oracle's rows`);
  }
  const diff = compareRows(s.rows, expected, orderedRead(q));
  if (!diff) return;
  if (diff.extra.length > 0) stats.leaks++;
  else stats.mismatches++;
  fail(
    dbs,
    c,
    `with colocateJoins: scoped rows not in the oracle: ${JSON.stringify(diff.extra.slice(0, 8))}\n` +
      `oracle rows missing: ${JSON.stringify(diff.missing.slice(0, 8))}`,
  );
}

/**
 * An unbalanced raw (c8): the oracle ran its balanced superset, so a scoped run must be
 * refused, fail (fail-closed: the raw broke the statement), or return a subset of its rows.
 */
async function checkUnbalanced(dbs: FuzzDatabases, c: Case, s: Outcome, o: Outcome, stats: FuzzStats): Promise<void> {
  if (s.kind === 'refused') {
    refusal(c, s.code, true, stats);
    return;
  }
  if (mustRefuse(c)) {
    stats.leaks++;
    fail(dbs, c, `a read that must be refused (${[...c.expect].join(', ')}) ran: ${show(s)}`);
  }
  if (o.kind !== 'ok') {
    stats.invalidQuery(o.code);
    if (process.env.FUZZ_DEBUG) console.log(`INVALID read ${o.message}\n  ${printCase(c)}`);
    return;
  }
  if (s.kind === 'error') {
    stats.failedClosed++;
    return;
  }
  const extra = minus(s.rows.map(normRow), o.rows.map(normRow));
  if (extra.length === 0) return;
  stats.leaks++;
  fail(
    dbs,
    c,
    `an unbalanced raw let rows through that its balanced superset does not have: ${JSON.stringify(extra.slice(0, 8))}`,
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

async function checkWrite(dbs: FuzzDatabases, c: Case, w: Write, stats: FuzzStats): Promise<void> {
  const oracle = dbs.oracles[c.scope]!;
  const scopeDef = oracle.scope;
  const [fullBefore, oracleBefore] = await Promise.all([
    beforeState(dbs.base, w.table),
    beforeState(oracle.knex, w.table),
  ]);
  const [s, o] = await Promise.all([
    runWrite(dbs.scoped, w, scopeDef.values),
    skipsOracle(c)
      ? Promise.resolve<WriteRun>({ outcome: NOT_RUN, after: undefined })
      : runWrite(oracle.knex, oracleWrite(w, scopeDef.values), undefined),
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
    refusal(c, s.outcome.code, expected, stats);
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
    if (s.outcome.kind === 'error' && tolerated(c, dbs.dialect, 'scoped-error', stats)) return;
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
