// A foreign key between two scoped tables that does not carry the tenant column lets the
// database store a row of one tenant that points at another tenant's row.
import type { DimensionRule, TablePolicy } from '@knex-scopes/core';
import { type Declaration, policyOf } from './declaration';
import { type Finding, finding } from './findings';
import {
  findTable,
  isWholePrimaryKey,
  type LiveForeignKey,
  type LiveSchema,
  type LiveTable,
  mapsColumn,
  same,
} from './live-schema';
import { addForeignKey, createIndex } from './sql-text';

export function checkForeignKeys(live: LiveSchema, declaration: Declaration): Finding[] {
  const findings: Finding[] = [];
  for (const policy of declaration.policies) {
    const table = findTable(live, policy.table);
    if (!table) continue;
    for (const fk of table.foreignKeys) {
      const target = policyOf(declaration, fk.refTable);
      if (!target) continue;
      for (const rule of policy.rules) {
        const targetRule = target.rules.find((r) => r.dimension === rule.dimension);
        if (!targetRule || carriesTenant(fk, rule, targetRule)) continue;
        // The tenant table pointing at itself (a parent organization) links owners on purpose.
        if (same(fk.refTable, table.name) && rule.kind === 'direct' && isWholePrimaryKey(table, rule.column)) continue;
        findings.push(withoutTenant(live, table, fk, rule, target, targetRule));
      }
    }
  }
  return findings;
}

/**
 * The key keeps both rows in one owner: it is the table's own path hop (the hop is what makes the
 * owner the parent's), or it maps the table's tenant column onto the parent's.
 */
function carriesTenant(fk: LiveForeignKey, rule: DimensionRule, targetRule: DimensionRule): boolean {
  if (rule.kind === 'path') {
    return same(fk.refTable, rule.parentTable) && mapsColumn(fk, rule.column, rule.parentKey);
  }
  return targetRule.kind === 'direct' && mapsColumn(fk, rule.column, targetRule.column);
}

function withoutTenant(
  live: LiveSchema,
  table: LiveTable,
  fk: LiveForeignKey,
  rule: DimensionRule,
  target: TablePolicy,
  targetRule: DimensionRule,
): Finding {
  const name = fk.name ? `"${fk.name}" ` : '';
  const keyText = `${name}(${fk.columns.join(', ')}) → "${fk.refTable}"(${fk.refColumns.join(', ')})`;
  return finding('FOREIGN_KEY_WITHOUT_TENANT', {
    table: table.name,
    column: fk.columns.join(', '),
    message: `The foreign key ${keyText} links two tables scoped on "${rule.dimension}" without carrying the owner's column.`,
    why:
      `Nothing in the database stops a row of one tenant from pointing at another tenant's "${fk.refTable}" row, and ` +
      "knex-scopes' write guards check only the keys of a declared path: a form that posts another tenant's id " +
      'here is stored. Scoped reads still filter both tables, but unscoped code (reports, jobs, the base instance) ' +
      'follows the link across tenants.',
    fix: compositeKeyFix(live, table, fk, rule, target, targetRule),
  });
}

function compositeKeyFix(
  live: LiveSchema,
  table: LiveTable,
  fk: LiveForeignKey,
  rule: DimensionRule,
  target: TablePolicy,
  targetRule: DimensionRule,
): string {
  if (rule.kind !== 'direct' || targetRule.kind !== 'direct') {
    const which = rule.kind === 'direct' ? `"${target.table}"` : `"${table.name}"`;
    return (
      `${which} reaches its owner through a path, so no key can include the tenant column. Either check ` +
      `${fk.columns.join(', ')} in the app before writing it, or give ${which} its own tenant column (declared ` +
      'directly) and make this key composite over it.'
    );
  }
  const columns = [rule.column, ...fk.columns.filter((c) => !same(c, rule.column))];
  const refColumns = [targetRule.column, ...fk.refColumns.filter((c) => !same(c, targetRule.column))];
  const parent = findTable(live, fk.refTable);
  const hasUnique = parent?.indexes.some(
    (i) =>
      i.unique &&
      i.columns.length === refColumns.length &&
      refColumns.every((c) => i.columns.some((k) => k !== null && same(k, c))),
  );
  const steps = [
    ...(hasUnique ? [] : [createIndex(live.dialect, fk.refTable, refColumns, true)]),
    addForeignKey(live.dialect, table.name, columns, fk.refTable, refColumns, { name: fk.name }),
  ];
  return steps.join('\n');
}
