// Which FK-path parent checks travel inside the write itself (issue 26), so a path write costs
// no round trip of its own: the top-level INSERT or UPDATE of a compile, in enforce mode, on a
// driver whose affected-row count affected-rows.ts reads. Its checks become conditions the
// statement carries (parent-conditions.ts): an INSERT writes its rows through
// `SELECT … WHERE <conditions>` (guarded-insert.ts), an UPDATE gets them ANDed to its WHERE. A
// parent out of scope then writes nothing, and the runner verifies the keys afterwards only when
// no row was written (parent-checks.ts sendCheckedWrite), to tell that from
// "no matching row" or "a conflict left alone". Every other shape keeps the check before the
// write: report mode (the write must still run), a row Knex would fill with DEFAULT, a joined or
// FROM update, a MySQL write whose parent path reads the written table (error 1093), a MySQL
// batch, a SQLite batch past 500 rows, more than 1 000 keys, a template that does not compile, a
// driver other than pg, mysql2, better-sqlite3.
import type { DimensionRule, TablePolicy } from '../table-paths';
import { countingDriver } from './affected-rows';
import type { CompileRun } from './compile-run';
import { INSERT_GUARD, type InsertGuard } from './guarded-insert';
import { type BuilderLike, type ClientLike, isRaw, type SingleLike, type Statement } from './knex-internals';
import { isPathWriteJoin } from './mysql-path-writes';
import type { ParentCheck } from './parent-checks';
import { type ParentCondition, parentCondition } from './parent-conditions';
import { guardWhereGroup, needsParentheses, type Rewrite, SELF_CONTAINED_WHERE } from './predicates';
import { parseTableName } from './table-refs';
import { isPlainRecord } from './write-guards';

/** More distinct keys than this per check keep the pre-check (it runs in chunks). */
const MAX_KEYS = 1000;
/** Bindings a guarded batch may reach (SQLite's default variable limit is 32 766). */
const MAX_BINDINGS = 30_000;

/**
 * Moves the parent checks of `builder`, the top-level write of `run`, into its statement where it
 * can carry them; returns the rewrite to compile (`rewrite` unchanged when they stay pre-checks).
 * Called right after the builder's own rewrite, before anything nested compiles: the run's checks
 * are then this statement's own.
 */
export function placeParentChecks(
  client: ClientLike,
  builder: BuilderLike,
  run: CompileRun,
  rewrite: Rewrite | null,
): Rewrite | null {
  const checks = run.parentChecks;
  if (checks === undefined || run.policy.mode !== 'enforce' || countingDriver(client) === undefined) return rewrite;
  const method = builder._method;
  const single = rewrite ? rewrite.single : builder._single;
  const statements = rewrite ? rewrite.statements : builder._statements;
  let expected = 0;
  if (method === 'insert') expected = insertRows(client.dialect, single, checks);
  else if (method === 'update' && updateFits(single, statements)) expected = 1;
  if (expected === 0 || (client.dialect === 'mysql' && readsTarget(run, single, checks))) return rewrite;
  const state = run.state();
  const conditions: ParentCondition[] = [];
  for (const check of checks) {
    const condition = parentCondition(run.policy, client, state, check);
    if (condition === undefined) return rewrite;
    conditions.push(condition);
  }
  run.inStatementChecks = checks;
  run.parentChecks = undefined;
  if (method === 'insert') {
    const guard: InsertGuard = { conditions };
    return { statements, single: { ...single, [INSERT_GUARD]: guard } as SingleLike };
  }
  return { statements: withConditions(client, statements, conditions), single };
}

/**
 * The rows of an insert that can be written through a SELECT: plain objects that all name the
 * same columns, none undefined or a raw DEFAULT (Knex writes DEFAULT there, which a SELECT has
 * not), within the key and binding limits; 0 when it cannot.
 */
function insertRows(dialect: string, single: SingleLike, checks: readonly ParentCheck[]): number {
  if (typeof single.table !== 'string') return 0;
  const rows: unknown[] = Array.isArray(single.insert) ? single.insert : [single.insert];
  const first = rows[0];
  if (!isPlainRecord(first)) return 0;
  const columns = Object.keys(first).length;
  if (columns === 0) return 0;
  for (const row of rows) {
    if (!isPlainRecord(row)) return 0;
    const keys = Object.keys(row);
    if (keys.length !== columns) return 0;
    for (const key of keys) {
      if (!Object.hasOwn(first, key)) return 0;
      const value = row[key];
      if (value === undefined || (isRaw(value) && /^\s*default\s*$/i.test(String(value.sql)))) return 0;
    }
  }
  // Knex's own SQLite batch is a compound SELECT too, refused past 500 terms: the pre-check
  // refuses a foreign parent there first, as it always did
  if (dialect === 'sqlite3' && rows.length > 500) return 0;
  // MySQL/MariaDB batches keep the pre-check: they have no portable VALUES table (MySQL 8 spells it
  // ROW(…)), an INSERT … SELECT over a derived table costs about 2 µs a row more than VALUES (more
  // than the round trip it saves past ~50 rows on loopback), and InnoDB reserves the ids of such
  // a "bulk insert" in doubling blocks, leaving gaps in AUTO_INCREMENT after it
  if (dialect === 'mysql' && rows.length > 1) return 0;
  let bindings = rows.length * columns;
  for (const check of checks) {
    if (check.keys.size > MAX_KEYS) return 0;
    bindings += check.keys.size + check.dimensions.length * 8;
  }
  return bindings > MAX_BINDINGS ? 0 : rows.length;
}

/** An UPDATE of one table whose WHERE can take the conditions. */
function updateFits(single: SingleLike, statements: readonly Statement[]): boolean {
  if (!isPlainRecord(single.update) || single.updateFrom !== undefined || typeof single.table !== 'string')
    return false;
  // the path joins of mysql-path-writes.ts only read parents: the UPDATE still writes one table
  for (const s of statements) if (s.grouping === 'join' && !isPathWriteJoin(s)) return false;
  return true;
}

/**
 * MySQL refuses a subquery that reads the table an UPDATE writes (error 1093), and its manual
 * says the same of INSERT … SELECT: a parent path through the written table keeps the pre-check.
 */
function readsTarget(run: CompileRun, single: SingleLike, checks: readonly ParentCheck[]): boolean {
  const target = run.policy.matcher.match(parseTableName(single.table as string, single.schema).name)?.table;
  return target === undefined || checks.some((check) => readsTable(run.policy.policies, check, target));
}

/** True when a check's parent, or a parent further up its path, is `table`. */
function readsTable(policies: ReadonlyMap<string, TablePolicy>, check: ParentCheck, table: string): boolean {
  for (const dimension of check.dimensions) {
    const seen = new Set<string>();
    for (let parent: string | undefined = check.parentTable; parent !== undefined && !seen.has(parent); ) {
      if (parent === table) return true;
      seen.add(parent);
      const rule: DimensionRule | undefined = policies.get(parent)?.rules.find((r) => r.dimension === dimension);
      parent = rule?.kind === 'path' ? rule.parentTable : undefined;
    }
  }
  return false;
}

/**
 * The statements with the conditions ANDed after the WHERE, which must be a closed group (only
 * ANDs of predicates that keep their precedence) so no OR can take a condition's place; it is
 * parenthesised when not. The rewrite's own path filter, `col in (<raw subquery>)`, is closed:
 * Knex parenthesises an IN list, and no raw may close a parenthesis (check-raw.ts).
 */
function withConditions(
  client: ClientLike,
  statements: readonly Statement[],
  conditions: readonly ParentCondition[],
): Statement[] {
  const wheres: Statement[] = [];
  const rest: Statement[] = [];
  for (const s of statements) (s.grouping === 'where' ? wheres : rest).push(s);
  const inList = (s: Statement) => s.type === 'whereIn' && typeof s.column === 'string' && isRaw(s.value);
  const closed = !needsParentheses(
    wheres.map((s) => (inList(s) ? { ...s, value: [] } : s)),
    SELF_CONTAINED_WHERE,
    isRaw,
  );
  const out = closed ? wheres : [...guardWhereGroup(wheres, isRaw)];
  for (const { sql, bindings } of conditions) {
    out.push({ grouping: 'where', type: 'whereRaw', value: client.raw(sql, bindings), not: false, bool: 'and' });
  }
  for (const s of rest) out.push(s);
  return out;
}
