// A unique key of a tenant's table that leaves the tenant column out is checked across tenants.
import type { Declaration } from './declaration';
import { type Finding, finding } from './findings';
import { findTable, isWholePrimaryKey, type LiveIndex, type LiveSchema, type LiveTable, same } from './live-schema';
import { createIndex, quote, quoteList, SQLITE_REBUILD } from './sql-text';

export function checkUniques(live: LiveSchema, declaration: Declaration): Finding[] {
  const findings: Finding[] = [];
  for (const policy of declaration.policies) {
    const table = findTable(live, policy.table);
    if (!table) continue;
    for (const rule of policy.rules) {
      // Path-scoped tables have no tenant column to add; the tenant table's rows are each their own tenant.
      if (rule.kind !== 'direct' || isWholePrimaryKey(table, rule.column)) continue;
      for (const index of table.indexes) {
        // A surrogate primary key is unique across tenants by design, and names no tenant's data.
        if (!index.unique || index.primary) continue;
        if (index.columns.some((c) => c !== null && same(c, rule.column))) continue;
        // A key that paths follow must stay unique on its own (PATH_KEY_NOT_UNIQUE): widening it breaks them.
        if (isPathKey(declaration, table, index)) continue;
        findings.push(uniqueWithoutTenant(live, table, index, rule.column));
      }
    }
  }
  return findings;
}

function isPathKey(declaration: Declaration, table: LiveTable, index: LiveIndex): boolean {
  const [column] = index.columns;
  if (index.columns.length !== 1 || !column || index.partial) return false;
  return declaration.policies.some((p) =>
    p.rules.some((r) => r.kind === 'path' && same(r.parentTable, table.name) && same(r.parentKey, column)),
  );
}

function uniqueWithoutTenant(live: LiveSchema, table: LiveTable, index: LiveIndex, tenant: string): Finding {
  const shown = index.columns.map((c) => c ?? '<expression>').join(', ');
  return finding('UNIQUE_WITHOUT_TENANT', {
    table: table.name,
    column: shown,
    message: `The unique ${index.constraint ? 'constraint' : 'index'} "${index.name}" of "${table.name}" (${shown}) does not include the tenant column "${tenant}".`,
    why:
      'Uniqueness is then checked across all tenants: a tenant that writes a value another tenant already has gets ' +
      'a duplicate-key error, which tells it the value exists elsewhere (an oracle for emails, slugs, numbers) and ' +
      'keeps it from using the value.',
    fix: widenUnique(live, table, index, tenant),
  });
}

function widenUnique(live: LiveSchema, table: LiveTable, index: LiveIndex, tenant: string): string {
  const keys = index.columns.filter((c): c is string => c !== null);
  if (keys.length !== index.columns.length || index.partial) {
    return `Recreate "${index.name}" with "${tenant}" as its first key column (keep its expressions and WHERE clause).`;
  }
  const columns = [tenant, ...keys];
  const q = (n: string) => quote(live.dialect, n);
  switch (live.dialect) {
    case 'pg':
      return index.constraint
        ? `ALTER TABLE ${q(table.name)} DROP CONSTRAINT ${q(index.name)}, ADD CONSTRAINT ${q(index.name)} UNIQUE (${quoteList(live.dialect, columns)});`
        : `DROP INDEX ${q(index.name)};\n${createIndex(live.dialect, table.name, columns, true)}`;
    case 'mysql':
      return `ALTER TABLE ${q(table.name)} DROP INDEX ${q(index.name)}, ADD UNIQUE INDEX ${q(index.name)} (${quoteList(live.dialect, columns)});`;
    case 'sqlite':
      return index.constraint
        ? `${SQLITE_REBUILD}, declaring UNIQUE (${quoteList(live.dialect, columns)}) in place of UNIQUE (${quoteList(live.dialect, keys)}).`
        : `DROP INDEX ${q(index.name)};\n${createIndex(live.dialect, table.name, columns, true)}`;
  }
}
