// Which refusals a case calls for: shapes refused by design (raw SQL naming a scoped table, a
// shadowing CTE, INSERT … SELECT into a scoped table, merge on MySQL, an unaliased
// schema-qualified table the rewrite must replace), payloads naming keys outside the scope,
// inserts with no single key to stamp; and the shapes of issue 21 (raw key values and raw
// insert bodies, unless the scope lifts the dimension; REPLACE INTO; a scope column named
// twice; unbalanced raws); and values carrying toSqlString() (c11), refused on every dialect.
import { ALL } from '@knex-scopes/core';
import { isFrag, isSqlString, type Join, type Payload, selectsIn, type Write } from './ast';
import type { Case } from './cases';
import type { Expectation } from './gen-context';
import { DECLARATION, inScopeValue, ORACLE_SCOPES, SCOPED_TABLES, SEED, seedOwner, standing, TABLE } from './world';

/** The codes a refusal of each shape may have; `*` any ScopeError. */
const EXPECTED_CODES: Record<Expectation, readonly string[]> = {
  'raw-scoped': ['RAW_SQL_REFUSED'],
  'cte-shadow': ['UNSUPPORTED_QUERY'],
  'dotted-alias': ['UNSUPPORTED_QUERY'],
  'raw-cte-shadow': ['RAW_SQL_REFUSED', 'UNSUPPORTED_QUERY'],
  'insert-select': ['UNSUPPORTED_QUERY'],
  'mysql-merge': ['UNSUPPORTED_QUERY'],
  'mysql-upsert': ['UNSUPPORTED_QUERY'],
  'merge-where-dropped': ['UNSUPPORTED_QUERY'],
  'scope-increment': ['CROSS_SCOPE_WRITE'],
  'raw-key': ['CROSS_SCOPE_WRITE', 'RAW_SQL_REFUSED'],
  'raw-insert': ['UNSUPPORTED_QUERY', 'RAW_SQL_REFUSED', 'CROSS_SCOPE_WRITE'],
  'case-duplicate': ['CROSS_SCOPE_WRITE', 'UNSUPPORTED_QUERY', 'AMBIGUOUS_INSERT'],
  unbalanced: ['*'],
  'raw-odd': ['RAW_SQL_REFUSED'],
  // the walk of the builder (walk.ts) or the reading of a raw's bindings (expand-raw.ts)
  'sql-string': ['UNSUPPORTED_QUERY'],
  'sql-string-binding': ['RAW_SQL_REFUSED'],
};

/** Shapes refused whatever the scope. */
const ALWAYS_REFUSED: ReadonlySet<Expectation> = new Set([
  'raw-scoped',
  'cte-shadow',
  'dotted-alias',
  'raw-cte-shadow',
  'insert-select',
  'mysql-merge',
  'sql-string',
  'sql-string-binding',
]);

/**
 * Cases whose oracle run is skipped: they are refused before any SQL is sent, and the same query
 * unscoped would do harm. A dotted alias: that SQL has taken MariaDB 10.11 down (the server closed
 * every connection). A value carrying toSqlString() (c11): mysql2 would splice its SQL.
 */
export function skipsOracle(c: Case): boolean {
  return c.expect.has('dotted-alias') || hasSqlStringValue(c);
}

/** A case with a value carrying toSqlString() (c11) in a builder slot or a raw's binding. */
export function hasSqlStringValue(c: Case): boolean {
  return c.expect.has('sql-string') || c.expect.has('sql-string-binding');
}

type Rules = Record<string, string>;
const rulesOf = (table: string): Rules => (DECLARATION as Record<string, Rules>)[table] ?? {};
const ruleColumn = (rule: string) => rule.split('->')[0]!.trim();
const sameColumn = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Every key of a payload that names `column`, in any letter case. */
function keysFor(row: Payload, column: string): string[] {
  return Object.keys(row).filter((k) => sameColumn(k, column));
}

function payloads(w: Write): Payload[] {
  if (w.k === 'insert') return [...w.rows, ...(w.conflict?.mergeValues ? [w.conflict.mergeValues] : [])];
  if (w.k === 'upsert') return [...w.rows];
  if (w.k === 'update') return [w.set];
  return [];
}

const scopeValues = (c: Case) => ORACLE_SCOPES[c.scope]!.values as Record<string, unknown>;

/** Cases that must be refused, under the case's scope: running them is a leak. */
export function mustRefuse(c: Case): boolean {
  for (const e of c.expect) if (ALWAYS_REFUSED.has(e)) return true;
  if (c.op.k !== 'write') return false;
  const w = c.op.w;
  const values = scopeValues(c);
  // a raw value for a scope column or a path key cannot be checked, unless ALL lifts the check
  if (c.expect.has('raw-key')) {
    const rules = rulesOf(w.table);
    for (const row of payloads(w)) {
      for (const [dimension, rule] of Object.entries(rules)) {
        if (values[dimension] === ALL) continue;
        if (keysFor(row, ruleColumn(rule)).some((k) => isFrag(row[k]))) return true;
      }
    }
  }
  // a raw body writes keys nobody checks, unless the scope lifts every dimension of the table
  if (c.expect.has('raw-insert')) {
    if (Object.keys(rulesOf(w.table)).some((dimension) => values[dimension] !== ALL)) return true;
  }
  return false;
}

export function expectedRefusal(c: Case, code: string): boolean {
  if (code === 'AMBIGUOUS_INSERT' && ambiguousInsert(c)) return true;
  if (code === 'UNSUPPORTED_QUERY' && unaliasedSchemaTableReplaced(c)) return true;
  if (code === 'CROSS_SCOPE_WRITE' && namesOutOfScope(c)) return true;
  return [...c.expect].some((e) => EXPECTED_CODES[e].includes(code) || EXPECTED_CODES[e].includes('*'));
}

/**
 * A payload (insert rows, update values, merge values, in any letter case) sets a scope column
 * to a key outside the scope or to a raw expression, or a path column to a parent the scope
 * cannot see.
 */
function namesOutOfScope(c: Case): boolean {
  if (c.op.k !== 'write') return false;
  const w = c.op.w;
  const table = TABLE.get(w.table)!;
  const values = ORACLE_SCOPES[c.scope]!.values;
  return payloads(w).some((row) =>
    Object.entries(rulesOf(w.table)).some(([dimension, rule]) =>
      keysFor(row, ruleColumn(rule)).some((key) => {
        const value = row[key] ?? null;
        if (isFrag(value) || isSqlString(value)) return true;
        if (!rule.includes('->')) return !inScopeValue(values[dimension as keyof typeof values], value);
        if (value === null) return false;
        const fk = table.fks.find((f) => f.column === ruleColumn(rule))!;
        const parent = (SEED[fk.table] ?? []).find((r) => String(r[fk.ref]) === String(value));
        return !parent || standing(seedOwner(fk.table, parent), values) !== 'in';
      }),
    ),
  );
}

/** An insert leaving out a direct scope column whose scope value is not one key: by design. */
function ambiguousInsert(c: Case): boolean {
  if (c.op.k !== 'write' || (c.op.w.k !== 'insert' && c.op.w.k !== 'upsert')) return false;
  const rules = rulesOf(c.op.w.table);
  const values = ORACLE_SCOPES[c.scope]!.values;
  return c.op.w.rows.some((row) =>
    Object.entries(rules).some(([dimension, rule]) => {
      const value = values[dimension as keyof typeof values];
      if (rule.includes('->') || keysFor(row, rule).length > 0) return false;
      // the owners' own table (`tenants: { tenant: 'id' }`): a row without its key is a new
      // owner, refused inside a scope of owners by design (write-guards.md), stamped never
      if (rule === 'id') return value !== ALL;
      return typeof value !== 'number' && typeof value !== 'string';
    }),
  );
}

const keepsRight = (j: Join) => j.kind === 'right' || j.kind === 'full';
const outerUsing = (j: Join) => 'on' in j && 'using' in j.on && j.kind !== 'inner';

/**
 * A scoped table written `schema.table` without an alias, where the rewrite must replace it by
 * a filtered derived table (a right or full join in its SELECT, or an outer USING join on it):
 * refused, since the query's `schema.table.column` references could not reach it (was F1).
 */
function unaliasedSchemaTableReplaced(c: Case): boolean {
  const node = c.op.k === 'read' ? c.op.q : c.op.w;
  for (const select of selectsIn(node)) {
    const replaced = select.joins.some(keepsRight)
      ? [select.from, ...select.joins.map((j) => ('source' in j ? j.source : undefined))]
      : select.joins.filter(outerUsing).map((j) => ('source' in j ? j.source : undefined));
    for (const s of replaced) {
      if (s?.k === 'table' && s.schema && !s.alias && SCOPED_TABLES.includes(s.table)) return true;
    }
  }
  return false;
}
