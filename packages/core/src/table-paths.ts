// Parse and validate the table declarations of defineScopes() into a policy the compiler uses.
import { ScopeError } from './errors';

/** How one table reaches its owner on one dimension, as written by the app. */
export type DimensionPath = string;

/** A table's declaration: dimension name → column (`'tenant_id'`) or FK path. */
export type TableDeclaration<D extends string = string> = { readonly [K in D]?: DimensionPath };

/** The owner is a column of the table itself. */
export interface DirectRule {
  readonly kind: 'direct';
  readonly dimension: string;
  readonly column: string;
  /**
   * The column is the table's own key (`tenants: { tenant: 'id' }`, or the key other tables'
   * paths point at): the table holds the owners themselves. A new row's key is its own, never
   * stamped from the scope; see the write guards.
   */
  readonly ownKey: boolean;
}

/** The owner is reached through a foreign key to a parent table (which is scoped itself). */
export interface PathRule {
  readonly kind: 'path';
  readonly dimension: string;
  /** The FK column on this table. */
  readonly column: string;
  /** The parent table, as declared. */
  readonly parentTable: string;
  /** The parent's key the FK points at (`id` unless written `pages(uuid)`). */
  readonly parentKey: string;
  /** The full path as declared, for messages. */
  readonly path: string;
}

export type DimensionRule = DirectRule | PathRule;

export interface TablePolicy {
  /** The table name as declared. */
  readonly table: string;
  /** Rules in declaration order. */
  readonly rules: readonly DimensionRule[];
  /** Dimension names in declaration order. */
  readonly dimensions: readonly string[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;

function bad(table: string, message: string): ScopeError {
  return new ScopeError('INVALID_DEFINITION', `defineScopes: table "${table}": ${message}`, { table });
}

interface Hop {
  column: string;
  table: string;
  key: string;
}

/** `'page_id -> pages.tenant_id'` → hops [{page_id → pages(id)}] and the final column `tenant_id`. */
function parsePath(table: string, dimension: string, path: string): { hops: Hop[]; column: string } {
  const segments = path.split('->').map((s) => s.trim());
  const first = segments[0] ?? '';
  if (!IDENT.test(first)) {
    throw bad(
      table,
      `dimension "${dimension}": "${path}" must start with a column name, e.g. "tenant_id" or "page_id -> pages.tenant_id"`,
    );
  }
  const hops: Hop[] = [];
  let column = first;
  for (const segment of segments.slice(1)) {
    // `pages.tenant_id` or `pages(uuid).tenant_id`
    const m = /^([A-Za-z_][A-Za-z0-9_$]*)(?:\(\s*([A-Za-z_][A-Za-z0-9_$]*)\s*\))?\.([A-Za-z_][A-Za-z0-9_$]*)$/.exec(
      segment,
    );
    if (!m) {
      throw bad(
        table,
        `dimension "${dimension}": malformed path segment "${segment}" in "${path}"; write "table.column" or "table(key).column"`,
      );
    }
    hops.push({ column, table: m[1] as string, key: m[2] ?? 'id' });
    column = m[3] as string;
  }
  return { hops, column };
}

function normalizePath(hops: readonly Hop[], column: string): string {
  return [...hops.map((h) => `${h.column} -> ${h.table}(${h.key})`), column].join(' . ');
}

/**
 * Validates every declaration and returns one policy per table. A path must name a parent that
 * is declared on the same dimension, and the rest of the path must be that parent's own
 * declaration: so the filter can be built one hop at a time, each hop filtered by its own rule.
 */
export function compileTablePolicies(tables: unknown): Map<string, TablePolicy> {
  if (typeof tables !== 'object' || tables === null || Array.isArray(tables)) {
    throw new ScopeError('INVALID_DEFINITION', 'defineScopes: `tables` must be an object of table name → declaration.');
  }
  const entries = Object.entries(tables as Record<string, unknown>);
  const parsed = new Map<string, Map<string, { hops: Hop[]; column: string; path: string }>>();
  for (const [table, declaration] of entries) {
    if (!IDENT.test(table))
      throw bad(table, 'the table name must be a plain identifier (use the schema option for schemas)');
    if (typeof declaration !== 'object' || declaration === null || Array.isArray(declaration)) {
      throw bad(table, 'the declaration must be an object of dimension → column or path, e.g. { tenant: "tenant_id" }');
    }
    const dims = new Map<string, { hops: Hop[]; column: string; path: string }>();
    for (const [dimension, path] of Object.entries(declaration as Record<string, unknown>)) {
      if (typeof path !== 'string') throw bad(table, `dimension "${dimension}" must be a string (a column or a path)`);
      dims.set(dimension, { ...parsePath(table, dimension, path), path });
    }
    if (dims.size === 0) throw bad(table, 'declares no dimension');
    parsed.set(table, dims);
  }

  // the keys paths point at, per parent table: a direct column that is one of them is that table's own key
  const referencedKeys = new Map<string, Set<string>>();
  for (const dims of parsed.values()) {
    for (const { hops } of dims.values()) {
      for (const hop of hops) {
        const keys = referencedKeys.get(hop.table) ?? new Set<string>();
        keys.add(hop.key);
        referencedKeys.set(hop.table, keys);
      }
    }
  }
  const policies = new Map<string, TablePolicy>();
  for (const [table, dims] of parsed) {
    const rules: DimensionRule[] = [];
    for (const [dimension, { hops, column, path }] of dims) {
      const firstHop = hops[0];
      if (!firstHop) {
        const ownKey = column === 'id' || (referencedKeys.get(table)?.has(column) ?? false);
        rules.push({ kind: 'direct', dimension, column, ownKey });
        continue;
      }
      const seen = new Set([table.toLowerCase()]);
      for (const hop of hops) {
        if (seen.has(hop.table.toLowerCase())) {
          throw bad(table, `dimension "${dimension}": the path "${path}" visits table "${hop.table}" twice (a cycle)`);
        }
        seen.add(hop.table.toLowerCase());
      }
      const parent = parsed.get(firstHop.table);
      const parentDim = parent?.get(dimension);
      if (!parent) {
        throw bad(
          table,
          `dimension "${dimension}": unknown parent table "${firstHop.table}" in "${path}"; declare it in tables too`,
        );
      }
      if (!parentDim) {
        throw bad(
          table,
          `dimension "${dimension}": parent table "${firstHop.table}" declares no "${dimension}" dimension`,
        );
      }
      const rest = normalizePath(hops.slice(1), column);
      const parentOwn = normalizePath(parentDim.hops, parentDim.column);
      if (rest !== parentOwn) {
        throw bad(
          table,
          `dimension "${dimension}": the path "${path}" continues differently from the declaration of ` +
            `"${firstHop.table}" ("${parentDim.path}")`,
        );
      }
      rules.push({
        kind: 'path',
        dimension,
        column: firstHop.column,
        parentTable: firstHop.table,
        parentKey: firstHop.key,
        path,
      });
    }
    policies.set(
      table,
      Object.freeze({ table, rules: Object.freeze(rules), dimensions: Object.freeze([...dims.keys()]) }),
    );
  }
  return policies;
}
