// Which refusals a case calls for: shapes refused by design (raw SQL naming a scoped table, a
// shadowing CTE, INSERT … SELECT into a scoped table, merge on MySQL, an unaliased
// schema-qualified table the rewrite must replace), payloads naming keys outside the scope,
// inserts with no single key to stamp.
import { type Join, selectsIn } from './ast';
import type { Case } from './cases';
import type { Expectation } from './gen-context';
import { DECLARATION, inScopeValue, ORACLE_SCOPES, SCOPED_TABLES, SEED, seedOwner, standing, TABLE } from './world';

const EXPECTED_CODES: Record<Expectation, string> = {
  'raw-scoped': 'RAW_SQL_REFUSED',
  'cte-shadow': 'UNSUPPORTED_QUERY',
  'insert-select': 'UNSUPPORTED_QUERY',
  'mysql-merge': 'UNSUPPORTED_QUERY',
  'scope-increment': 'CROSS_SCOPE_WRITE',
};

/** Shapes refused whatever the scope (scope-increment is not: ALL lifts it). */
export function mustRefuse(c: Case): boolean {
  return [...c.expect].some((e) => e !== 'scope-increment');
}

export function expectedRefusal(c: Case, code: string): boolean {
  if (code === 'AMBIGUOUS_INSERT') return ambiguousInsert(c);
  if (code === 'UNSUPPORTED_QUERY' && unaliasedSchemaTableReplaced(c)) return true;
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

const keepsRight = (j: Join) => j.kind === 'right' || j.kind === 'full';
const outerUsing = (j: Join) => 'using' in j.on && j.kind !== 'inner';

/**
 * A scoped table written `schema.table` without an alias, where the rewrite must replace it by
 * a filtered derived table (a right or full join in its SELECT, or an outer USING join on it):
 * refused, since the query's `schema.table.column` references could not reach it (was F1).
 */
function unaliasedSchemaTableReplaced(c: Case): boolean {
  const node = c.op.k === 'read' ? c.op.q : c.op.w;
  for (const select of selectsIn(node)) {
    const replaced = select.joins.some(keepsRight)
      ? [select.from, ...select.joins.map((j) => j.source)]
      : select.joins.filter(outerUsing).map((j) => j.source);
    for (const s of replaced) {
      if (s.k === 'table' && s.schema && !s.alias && SCOPED_TABLES.includes(s.table)) return true;
    }
  }
  return false;
}
