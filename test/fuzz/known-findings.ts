// Bugs the fuzzer found and test/fuzz/findings.test.ts pins (skipped until fixed). F1–F3 make a
// valid query fail with a database error on the scoped side only (fail-closed); F4 makes
// MariaDB drop rows. None leaks. A case of that shape may fail that way (F4: with fewer rows);
// any other outcome, extra rows above all, is still checked. Remove an entry once fixed.
import type { Join, Read, Source, Write } from './ast';
import { selectsIn } from './ast';
import { DECLARATION, SCOPED_TABLES } from './world';

export type KnownFinding =
  | 'F1-schema-qualified-derived-table'
  | 'F2-object-alias-outer-join'
  | 'F3-mysql-joined-delete-through-target'
  | 'F4-mariadb-using-join-derived-table';

/** Findings whose symptom is rows missing from the scoped result (never extra rows). */
export const MISSING_ROWS: ReadonlySet<KnownFinding> = new Set(['F4-mariadb-using-join-derived-table']);

const isOuterKeepingRight = (j: Join) => j.kind === 'right' || j.kind === 'full';
const usingNotInner = (j: Join) => 'using' in j.on && j.kind !== 'inner';

/** The tables an FK path of `table` goes through (comments → tasks, projects). */
function pathTables(table: string): string[] {
  const rules = (DECLARATION as Record<string, Record<string, string>>)[table] ?? {};
  return Object.values(rules).flatMap((rule) =>
    rule
      .split('->')
      .slice(1)
      .map((step) => step.trim().split('.')[0]!),
  );
}

function scopedTable(source: Source): source is Extract<Source, { k: 'table' }> {
  return source.k === 'table' && SCOPED_TABLES.includes(source.table);
}

/** The known findings a case's shape may trigger. */
export function knownFindings(node: Read | Write, dialect: string): Set<KnownFinding> {
  const found = new Set<KnownFinding>();
  for (const select of selectsIn(node)) {
    const outer = select.joins.some(isOuterKeepingRight);
    // F1: a scoped table replaced by a filtered derived table loses its schema qualifier
    const derived = outer
      ? [select.from, ...select.joins.map((j) => j.source)]
      : select.joins.filter(usingNotInner).map((j) => j.source);
    for (const source of derived) {
      if (scopedTable(source) && source.schema && !source.alias) found.add('F1-schema-qualified-derived-table');
    }
    // F4: MariaDB loses rows of a LEFT/RIGHT JOIN … USING a derived table that holds an IN
    // subquery (a path filter), under ORDER BY and another join: a server bug the rewrite hits
    if (dialect === 'mysql') {
      for (const source of select.joins.filter(usingNotInner).map((j) => j.source)) {
        if (scopedTable(source) && pathTables(source.table).length > 0)
          found.add('F4-mariadb-using-join-derived-table');
      }
    }
    // F2: `{ alias: table }` under a right or full join becomes `((select …) as a) as a`
    if (outer) {
      for (const source of [select.from, ...select.joins.map((j) => j.source)]) {
        if (scopedTable(source) && source.objectForm) found.add('F2-object-alias-outer-join');
      }
    }
  }
  // F3: MariaDB refuses a joined DELETE when a path filter (of the joined table, or of a table
  // in a WHERE subquery) reads the deleted table
  if (dialect === 'mysql' && node.k === 'delete' && node.extra) {
    const read = [node.extra.table];
    for (const select of selectsIn(node)) {
      for (const source of [select.from, ...select.joins.map((j) => j.source)]) {
        if (source.k === 'table') read.push(source.table);
      }
    }
    if (read.some((t) => pathTables(t).includes(node.table))) found.add('F3-mysql-joined-delete-through-target');
  }
  return found;
}
