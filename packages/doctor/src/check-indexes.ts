// Every query on a scoped table filters on its tenant column or path key: without an index
// leading with that column, each one scans the whole table, every tenant's rows.
import type { Declaration } from './declaration';
import { type Finding, finding } from './findings';
import { findColumn, findTable, type LiveSchema, same } from './live-schema';
import { createIndex } from './sql-text';

export function checkIndexes(live: LiveSchema, declaration: Declaration): Finding[] {
  const findings: Finding[] = [];
  for (const policy of declaration.policies) {
    const table = findTable(live, policy.table);
    if (!table) continue;
    const columns = new Set(policy.rules.map((r) => r.column.toLowerCase()));
    for (const name of columns) {
      const column = findColumn(table, name);
      // A missing column is a MISSING_COLUMN error already.
      if (!column) continue;
      if (table.indexes.some((i) => same(i.columns[0] ?? '', column.name))) continue;
      const rule = policy.rules.find((r) => same(r.column, column.name));
      const filter =
        rule?.kind === 'path'
          ? `"${column.name}" in (select "${rule.parentKey}" from "${rule.parentTable}" …)`
          : `"${column.name}" = ?`;
      findings.push(
        finding('MISSING_INDEX', {
          table: table.name,
          column: column.name,
          message: `No index of "${table.name}" starts with "${column.name}", the column every scoped query filters on.`,
          why:
            `Each query on "${table.name}" adds where ${filter}. Without an index the database reads every ` +
            "tenant's rows to find one tenant's, and each tenant's queries slow down as the others grow.",
          fix: createIndex(live.dialect, table.name, [column.name]),
        }),
      );
    }
  }
  return findings;
}
