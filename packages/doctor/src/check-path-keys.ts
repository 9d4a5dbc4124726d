// A path hop names one parent row per key: the parent's key must be unique on its own, or a row
// belongs to every tenant whose parent row shares its key, and a join to the parent repeats it.
import type { Declaration, PathRule } from './declaration';
import { type Finding, finding } from './findings';
import {
  findColumn,
  findForeignKey,
  findTable,
  isWholePrimaryKey,
  type LiveIndex,
  type LiveSchema,
  type LiveTable,
  same,
} from './live-schema';
import { addUnique, quote } from './sql-text';

export function checkPathKeys(live: LiveSchema, declaration: Declaration): Finding[] {
  const findings: Finding[] = [];
  const reported = new Set<string>();
  for (const policy of declaration.policies) {
    for (const rule of policy.rules) {
      // Each hop of a path is the first hop of some table's rule: the rest is the parent's own.
      if (rule.kind !== 'path') continue;
      const parent = findTable(live, rule.parentTable);
      const key = parent && findColumn(parent, rule.parentKey);
      // A missing parent or key is MISSING_TABLE or MISSING_COLUMN already.
      if (!parent || !key) continue;
      const id = `${parent.name}.${key.name}`;
      if (reported.has(id) || isUniqueKey(parent, key.name)) continue;
      reported.add(id);
      findings.push(notUnique(live, policy.table, rule, parent, key.name));
    }
  }
  return findings;
}

/**
 * The primary key is this column alone, or a unique index is. A partial index leaves rows out, an
 * expression is not the column, and a wider key lets the column repeat.
 */
function isUniqueKey(table: LiveTable, column: string): boolean {
  return (
    isWholePrimaryKey(table, column) ||
    table.indexes.some((i) => i.unique && !i.partial && i.columns.length === 1 && same(i.columns[0] ?? '', column))
  );
}

function notUnique(live: LiveSchema, childName: string, rule: PathRule, parent: LiveTable, key: string): Finding {
  const child = findTable(live, childName);
  const fk = child && findForeignKey(child, rule.column, parent.name, key);
  const innodb =
    live.dialect === 'mysql' && fk
      ? ` InnoDB accepted the foreign key ${fk.name ? `"${fk.name}" ` : ''}of "${childName}" onto it all the same: it asks the referenced column for an index only.`
      : '';
  const q = (n: string) => quote(live.dialect, n);
  return finding('PATH_KEY_NOT_UNIQUE', {
    table: parent.name,
    column: key,
    message:
      `"${parent.name}"."${key}" is not unique: no primary key or unique index of "${parent.name}" is on "${key}" ` +
      `alone, though the path of "${childName}" ("${rule.path}") follows it.` +
      nearMisses(parent, key) +
      innodb,
    why:
      `The path says a row of "${childName}" belongs to the tenant of the one "${parent.name}" row its "${rule.column}" ` +
      `names. Two "${parent.name}" rows of different tenants can have the same "${key}": the filter "${rule.column}" in ` +
      `(select "${key}" from "${parent.name}" …) then shows that "${childName}" row to both tenants. On PostgreSQL the ` +
      "scoped Knex may also filter a table two or more hops from its owner by an inner join to its parent's filtered " +
      'keys, the same filter only while the key is unique: a repeated key returns the row once per repeat. Standard ' +
      'SQL lets a foreign key reference only a unique key, so real foreign keys already ensure this, except on InnoDB ' +
      '(MySQL, MariaDB), which accepts one onto any indexed column.',
    fix:
      `Make "${key}" unique (this fails while two rows have the same "${key}"; ` +
      `SELECT ${q(key)} FROM ${q(parent.name)} GROUP BY ${q(key)} HAVING count(*) > 1 lists them):\n` +
      `  ${addUnique(live.dialect, parent.name, key)}\n` +
      `or, if "${key}" repeats on purpose (unique only per tenant), a path cannot follow it: make ` +
      `"${childName}"."${rule.column}" reference a unique key of "${parent.name}" and write that key in the path.`,
  });
}

/** The keys that hold the column but do not make it unique, so the message says why they fall short. */
function nearMisses(table: LiveTable, column: string): string {
  const misses = table.indexes
    .filter((i) => i.unique && i.columns.some((c) => c !== null && same(c, column)))
    .map((i) => {
      const shown = `(${i.columns.map((c) => c ?? '<expression>').join(', ')})`;
      if (i.columns.length > 1) return ` ${describe(i)} ${shown} lets "${column}" repeat with the other columns.`;
      return ` ${describe(i)} ${shown} is partial: it leaves rows out.`;
    });
  return misses.join('');
}

function describe(index: LiveIndex): string {
  if (index.primary) return 'The primary key';
  return `The unique ${index.constraint ? 'constraint' : 'index'} "${index.name}"`;
}
