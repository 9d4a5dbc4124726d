// Declared → database: every declared table, tenant column and path hop must exist, and each
// hop must be a foreign key between columns of one type.
import type { DimensionRule, TablePolicy } from '@knex-scopes/core';
import { sameFamily } from './column-types';
import { type Declaration, declarationLine, type PathRule, policyOf, ruleText } from './declaration';
import { type Finding, finding } from './findings';
import {
  findColumn,
  findForeignKey,
  findTable,
  type LiveColumn,
  type LiveSchema,
  type LiveTable,
  same,
} from './live-schema';
import { addForeignKey, quote, SQLITE_REBUILD } from './sql-text';
import { describePlace } from './where';

export function checkDeclarations(live: LiveSchema, declaration: Declaration): Finding[] {
  const findings: Finding[] = [];
  for (const policy of declaration.policies) {
    const table = findTable(live, policy.table);
    if (!table) {
      findings.push(missingTable(live, policy));
      continue;
    }
    for (const rule of policy.rules) {
      const column = findColumn(table, rule.column);
      if (!column) {
        findings.push(missingColumn(live, declaration, table, rule));
        continue;
      }
      if (rule.kind === 'path') findings.push(...checkHop(live, declaration, table, column, rule));
    }
  }
  return findings;
}

function missingTable(live: LiveSchema, policy: TablePolicy): Finding {
  const line = declarationLine(policy.table, new Map(policy.rules.map((r) => [r.dimension, ruleText(r)])));
  return finding('MISSING_TABLE', {
    table: policy.table,
    message: `"${policy.table}" is declared in defineScopes({ tables }) but is not a table of ${describePlace(live)}.`,
    why:
      'A declared name that matches no table is usually a renamed table, whose new name is then not declared and not ' +
      'filtered; or the doctor is reading another database or schema than the app.',
    fix:
      `Create the table, or remove or rename its line in defineScopes({ tables }):\n  ${line}\n` +
      'If the app uses another schema, run the doctor with --schema <name>.',
  });
}

function missingColumn(live: LiveSchema, declaration: Declaration, table: LiveTable, rule: DimensionRule): Finding {
  const { column } = rule;
  const type = rule.kind === 'path' ? parentKeyType(live, rule) : typeElsewhere(live, declaration, column);
  const add = `ALTER TABLE ${quote(live.dialect, table.name)} ADD COLUMN ${quote(live.dialect, column)} ${type};`;
  return finding('MISSING_COLUMN', {
    table: table.name,
    column,
    message: `"${table.name}" is declared with { ${rule.dimension}: '${ruleText(rule)}' }, but has no column "${column}".`,
    why: `Every query the scoped Knex sends for "${table.name}" filters or stamps "${column}": each one fails in the database.`,
    fix:
      `Add the column (then fill it in and make it NOT NULL${rule.kind === 'path' ? ', with its foreign key' : ''}):\n` +
      `  ${add}\nor correct the declaration to the column that holds the owner.`,
  });
}

/** The type the same column has on another declared table, as a hint for ADD COLUMN. */
function typeElsewhere(live: LiveSchema, declaration: Declaration, column: string): string {
  for (const policy of declaration.policies) {
    const other = findTable(live, policy.table);
    const found = other && findColumn(other, column);
    if (found) return found.type;
  }
  return '<type of the tenant key>';
}

/** A path key's column takes the type of the parent key it names. */
function parentKeyType(live: LiveSchema, rule: PathRule): string {
  const parent = findTable(live, rule.parentTable);
  return (parent && findColumn(parent, rule.parentKey)?.type) || `<type of ${rule.parentTable}.${rule.parentKey}>`;
}

function checkHop(
  live: LiveSchema,
  declaration: Declaration,
  table: LiveTable,
  column: LiveColumn,
  rule: PathRule,
): Finding[] {
  const parent = findTable(live, rule.parentTable);
  // A missing parent is the parent's own MISSING_TABLE finding (a path's parent is declared).
  if (!parent || !policyOf(declaration, rule.parentTable)) return [];
  const key = findColumn(parent, rule.parentKey);
  if (!key) {
    return [
      finding('MISSING_COLUMN', {
        table: parent.name,
        column: rule.parentKey,
        message: `The path of "${table.name}" ("${rule.path}") reaches "${parent.name}" by its column "${rule.parentKey}", which "${parent.name}" does not have.`,
        why: `The filter of "${table.name}" is "${rule.column}" in (select "${rule.parentKey}" from "${parent.name}" …): every query on it fails in the database.`,
        fix: `Write the key "${parent.name}" really has in the path: "${rule.column} -> ${parent.name}(<key>).…", or "${parent.name}.…" when it is "id".`,
      }),
    ];
  }
  const findings: Finding[] = [];
  if (!findForeignKey(table, column.name, parent.name, key.name))
    findings.push(noForeignKey(live, table, column, parent, key, rule));
  if (!sameFamily(column.type, key.type)) findings.push(typeMismatch(live, table, column, parent, key, rule));
  return findings;
}

function noForeignKey(
  live: LiveSchema,
  table: LiveTable,
  column: LiveColumn,
  parent: LiveTable,
  key: LiveColumn,
  rule: PathRule,
): Finding {
  const elsewhere = table.foreignKeys.find((fk) => fk.columns.some((c) => same(c, column.name)));
  const instead = elsewhere
    ? ` (it references "${elsewhere.refTable}"(${elsewhere.refColumns.join(', ')}) instead)`
    : '';
  return finding('PATH_NO_FOREIGN_KEY', {
    table: table.name,
    column: column.name,
    message:
      `"${table.name}"."${column.name}" has no foreign key to "${parent.name}"("${key.name}")${instead}, ` +
      `though the declared path "${rule.path}" follows it.`,
    why:
      `The path says a row of "${table.name}" belongs to the tenant of the "${parent.name}" row its "${column.name}" names. ` +
      `Without the key the database accepts a "${column.name}" that names no row, or a row deleted later: such rows ` +
      'belong to no tenant, or to whichever tenant later gets that id. If the column does not reference ' +
      `"${parent.name}" at all, the declaration is wrong.`,
    fix: addForeignKey(live.dialect, table.name, [column.name], parent.name, [key.name]),
  });
}

function typeMismatch(
  live: LiveSchema,
  table: LiveTable,
  column: LiveColumn,
  parent: LiveTable,
  key: LiveColumn,
  rule: PathRule,
): Finding {
  const q = (n: string) => quote(live.dialect, n);
  const fix =
    live.dialect === 'pg'
      ? `ALTER TABLE ${q(table.name)} ALTER COLUMN ${q(column.name)} TYPE ${key.type} USING ${q(column.name)}::${key.type};`
      : live.dialect === 'mysql'
        ? `ALTER TABLE ${q(table.name)} MODIFY ${q(column.name)} ${key.type}${column.nullable ? '' : ' NOT NULL'};`
        : `${SQLITE_REBUILD}, declaring ${q(column.name)} ${key.type}.`;
  return finding('PATH_TYPE_MISMATCH', {
    table: table.name,
    column: column.name,
    message:
      `"${table.name}"."${column.name}" is ${column.type || 'untyped'} but "${parent.name}"."${key.name}", which its ` +
      `path "${rule.path}" follows, is ${key.type}.`,
    why:
      `The filter compares them ("${column.name}" in (select "${key.name}" from "${parent.name}" …)): PostgreSQL refuses ` +
      'the comparison, MySQL and SQLite convert one side row by row (no index, and loose matches such as ' +
      "'1abc' = 1 on MySQL); no foreign key can join them.",
    fix,
  });
}
