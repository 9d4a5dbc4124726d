// Database → declared: a table that holds a tenant column, or points into a tenant's table, and
// is neither declared nor listed as global is read and written by every tenant alike.
import { type Declaration, type DirectRule, declarationLine, isGlobal, policyOf, ruleText } from './declaration';
import { type Finding, finding } from './findings';
import {
  findColumn,
  findTable,
  isWholePrimaryKey,
  type LiveForeignKey,
  type LiveSchema,
  type LiveTable,
  same,
} from './live-schema';
import { describePlace } from './where';

/**
 * The tenant column names: the columns of direct declarations, except a table's own primary key
 * (`tenants: { tenant: 'id' }` makes the tenant table scoped, not every table with an `id`).
 */
function tenantColumns(live: LiveSchema, declaration: Declaration): DirectRule[] {
  const rules: DirectRule[] = [];
  for (const policy of declaration.policies) {
    const table = findTable(live, policy.table);
    // Only live tables tell whether the column is their key; a missing one has its own finding.
    if (!table) continue;
    for (const rule of policy.rules) {
      if (rule.kind === 'direct' && !isWholePrimaryKey(table, rule.column)) rules.push(rule);
    }
  }
  return rules;
}

/** How a table reaches its owner on one dimension, declared or suggested. */
interface Owner {
  readonly dimension: string;
  readonly kind: 'direct' | 'path';
  /** The tenant column, or the path's key column. */
  readonly column: string;
  /** As written in defineScopes(): `'tenant_id'` or `'page_id -> pages.tenant_id'`. */
  readonly text: string;
}

interface Owned {
  readonly table: string;
  readonly owners: readonly Owner[];
}

interface Undeclared {
  readonly table: LiveTable;
  readonly reasons: readonly string[];
  /** The declaration suggested for it (no owner when none could be worked out). */
  readonly suggested: Owned;
}

export function checkUndeclared(live: LiveSchema, declaration: Declaration): Finding[] {
  const columns = tenantColumns(live, declaration);
  // Declared tables, then the undeclared ones found so far with the declaration they should
  // have: a table that points into an undeclared tenant table is found in the same run.
  const known: Owned[] = declaration.policies.map((p) => ({
    table: p.table,
    owners: p.rules.map((r) => ({ dimension: r.dimension, kind: r.kind, column: r.column, text: ruleText(r) })),
  }));
  const found: Undeclared[] = [];
  for (let grew = true; grew; ) {
    grew = false;
    for (const table of live.tables) {
      if (known.some((o) => same(o.table, table.name)) || isGlobal(declaration, table.name)) continue;
      const own = columns.filter((rule) => findColumn(table, rule.column));
      const keys = table.foreignKeys.filter((fk) => known.some((o) => same(o.table, fk.refTable)));
      if (own.length === 0 && keys.length === 0) continue;
      const reasons = [
        ...[...new Set(own.map((r) => r.column))].map((c) => `has the tenant column "${c}"`),
        ...keys.map((fk) => {
          const scoped = policyOf(declaration, fk.refTable) ? 'the scoped table' : 'the undeclared tenant table';
          return `has a foreign key (${fk.columns.join(', ')}) into ${scoped} "${fk.refTable}"`;
        }),
      ];
      const suggested = suggest(table, own, keys, known);
      found.push({ table, reasons, suggested });
      known.push(suggested);
      grew = true;
    }
  }
  return [...found.map((u) => undeclaredFinding(u)), ...staleGlobals(live, declaration)];
}

function undeclaredFinding({ table, reasons, suggested }: Undeclared): Finding {
  const line =
    suggested.owners.length > 0
      ? declarationLine(table.name, new Map(suggested.owners.map((o) => [o.dimension, o.text])))
      : `${table.name}: { tenant: '<column or path>' },`;
  return finding('UNDECLARED_TABLE', {
    table: table.name,
    message: `"${table.name}" ${reasons.join(' and ')}, but is not declared in defineScopes({ tables }).`,
    why:
      `Queries on "${table.name}" are never filtered: every tenant reads, updates and deletes every tenant's rows ` +
      'there, and inserts are not stamped.',
    fix:
      `Declare it:\n  ${line}\n` +
      `or, if every tenant shares it on purpose, list "${table.name}" in the doctor config's \`global\`.`,
  });
}

function staleGlobals(live: LiveSchema, declaration: Declaration): Finding[] {
  return declaration.global
    .filter((name) => !findTable(live, name))
    .map((name) =>
      finding('GLOBAL_TABLE_MISSING', {
        table: name,
        message: `"${name}" is listed as global in the doctor config but is not a table of ${describePlace(live)}.`,
        why: 'A stale entry can hide a later table of that name that does hold tenant rows.',
        fix: `Remove "${name}" from \`global\`.`,
      }),
    );
}

/** Per dimension: the table's own tenant column if it has one, else a path through a key. */
function suggest(
  table: LiveTable,
  own: readonly DirectRule[],
  keys: readonly LiveForeignKey[],
  known: readonly Owned[],
): Owned {
  const dimensions = [...new Set(known.flatMap((o) => o.owners.map((r) => r.dimension)))];
  const owners: Owner[] = [];
  for (const dimension of dimensions) {
    const column = own.find((r) => r.dimension === dimension);
    if (column) {
      owners.push({ dimension, kind: 'direct', column: column.column, text: column.column });
      continue;
    }
    for (const fk of preferRequired(table, keys)) {
      const owner = ownerThrough(fk, known, dimension);
      if (owner) {
        owners.push(owner);
        break;
      }
    }
  }
  return { table: table.name, owners };
}

/** Keys whose columns are NOT NULL first: a row with a NULL key would belong to no tenant. */
function preferRequired(table: LiveTable, keys: readonly LiveForeignKey[]): LiveForeignKey[] {
  const nullable = (fk: LiveForeignKey) => (fk.columns.some((c) => findColumn(table, c)?.nullable !== false) ? 1 : 0);
  return [...keys].sort((a, b) => nullable(a) - nullable(b));
}

function ownerThrough(fk: LiveForeignKey, known: readonly Owned[], dimension: string): Owner | undefined {
  const parent = known.find((o) => same(o.table, fk.refTable));
  const parentOwner = parent?.owners.find((r) => r.dimension === dimension);
  if (!parent || !parentOwner) return undefined;
  // A path hop is one column: of a composite key, the column that is not the parent's tenant column.
  const hops = fk.columns.map((column, i) => ({ column, key: fk.refColumns[i] ?? '' }));
  const isTenantPair = (h: { key: string }) => parentOwner.kind === 'direct' && same(h.key, parentOwner.column);
  const hop = hops.find((h) => !isTenantPair(h)) ?? hops[0];
  if (!hop) return undefined;
  // The key is the parent's tenant column itself (the tenant table's id): the column is the tenant.
  if (isTenantPair(hop)) return { dimension, kind: 'direct', column: hop.column, text: hop.column };
  const via = same(hop.key, 'id') ? parent.table : `${parent.table}(${hop.key})`;
  return { dimension, kind: 'path', column: hop.column, text: `${hop.column} -> ${via}.${parentOwner.text}` };
}
