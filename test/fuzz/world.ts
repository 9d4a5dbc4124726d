// The fuzzed world: a schema of scoped tables (a direct column, one- and two-hop FK paths, two
// dimensions, a many-to-many join table) and unscoped ones, its seed, who owns each seeded row,
// and the scopes the oracle databases are cut for.
import { ALL, type ScopeValue } from '@knex-scopes/core';

export type Ty = 'int' | 'str';
export type Scalar = number | string | null;
export type Row = Record<string, Scalar>;

export interface ColumnDef {
  readonly name: string;
  readonly ty: Ty;
  readonly nullable: boolean;
}

/** `column` references `table.id` (or `table.code`). */
export interface ForeignKey {
  readonly column: string;
  readonly table: string;
  readonly ref: string;
}

export interface TableDef {
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  readonly key: readonly string[];
  readonly fks: readonly ForeignKey[];
  readonly scoped: boolean;
}

const int = (name: string, nullable = false): ColumnDef => ({ name, ty: 'int', nullable });
const str = (name: string, nullable = false): ColumnDef => ({ name, ty: 'str', nullable });

// In creation order: referenced tables first.
export const TABLES: readonly TableDef[] = [
  { name: 'tags', columns: [int('id'), str('name')], key: ['id'], fks: [], scoped: false },
  { name: 'statuses', columns: [str('code'), str('label'), int('rank')], key: ['code'], fks: [], scoped: false },
  {
    // undeclared although it has a tenant_id and a project_id: never filtered, never refused
    name: 'audit',
    columns: [int('id'), int('tenant_id'), int('project_id', true), str('note')],
    key: ['id'],
    fks: [],
    scoped: false,
  },
  { name: 'tenants', columns: [int('id'), str('name'), str('plan')], key: ['id'], fks: [], scoped: true },
  {
    name: 'projects',
    columns: [int('id'), int('tenant_id'), str('name'), int('budget', true)],
    key: ['id'],
    fks: [{ column: 'tenant_id', table: 'tenants', ref: 'id' }],
    scoped: true,
  },
  {
    name: 'tasks',
    columns: [int('id'), int('project_id', true), str('title'), int('points', true), str('status')],
    key: ['id'],
    fks: [{ column: 'project_id', table: 'projects', ref: 'id' }],
    scoped: true,
  },
  {
    name: 'comments',
    columns: [int('id'), int('task_id'), str('body'), int('likes')],
    key: ['id'],
    fks: [{ column: 'task_id', table: 'tasks', ref: 'id' }],
    scoped: true,
  },
  {
    // two dimensions; no FK to tenants, so deleting a tenant never depends on invisible notes
    name: 'notes',
    columns: [int('id'), int('tenant_id'), str('user_id'), str('body'), int('stars', true)],
    key: ['id'],
    fks: [],
    scoped: true,
  },
  {
    name: 'project_tags',
    columns: [int('project_id'), int('tag_id')],
    key: ['project_id', 'tag_id'],
    fks: [
      { column: 'project_id', table: 'projects', ref: 'id' },
      { column: 'tag_id', table: 'tags', ref: 'id' },
    ],
    scoped: true,
  },
];

export const TABLE: ReadonlyMap<string, TableDef> = new Map(TABLES.map((t) => [t.name, t]));
export const SCOPED_TABLES = TABLES.filter((t) => t.scoped).map((t) => t.name);
export const UNSCOPED_TABLES = TABLES.filter((t) => !t.scoped).map((t) => t.name);

/** The declaration handed to defineScopes(). */
export const DECLARATION = {
  tenants: { tenant: 'id' },
  projects: { tenant: 'tenant_id' },
  tasks: { tenant: 'project_id -> projects.tenant_id' },
  comments: { tenant: 'task_id -> tasks.project_id -> projects.tenant_id' },
  notes: { tenant: 'tenant_id', user: 'user_id' },
  project_tags: { tenant: 'project_id -> projects.tenant_id' },
} as const;

export const DIMENSIONS = ['tenant', 'user'] as const;
export type Dimension = (typeof DIMENSIONS)[number];

/** Columns equal by construction, for joins that mean something (any same-typed pair also joins). */
export const RELATIONS: ReadonlyArray<readonly [string, string, string, string]> = [
  ['projects', 'tenant_id', 'tenants', 'id'],
  ['tasks', 'project_id', 'projects', 'id'],
  ['comments', 'task_id', 'tasks', 'id'],
  ['notes', 'tenant_id', 'tenants', 'id'],
  ['notes', 'tenant_id', 'projects', 'tenant_id'],
  ['project_tags', 'project_id', 'projects', 'id'],
  ['project_tags', 'tag_id', 'tags', 'id'],
  ['tasks', 'status', 'statuses', 'code'],
  ['audit', 'tenant_id', 'tenants', 'id'],
  ['audit', 'project_id', 'projects', 'id'],
];

const rows = (columns: string[], values: Scalar[][]): Row[] =>
  values.map((v) => Object.fromEntries(columns.map((c, i) => [c, v[i] ?? null])));

/** Tenant 4 owns no project; tasks 901 and 902 belong to no project (so to no tenant). */
export const SEED: Readonly<Record<string, readonly Row[]>> = {
  tenants: rows(
    ['id', 'name', 'plan'],
    [
      [1, 'acme', 'free'],
      [2, 'globex', 'pro'],
      [3, 'initech', 'pro'],
      [4, 'umbrella', 'free'],
    ],
  ),
  projects: rows(
    ['id', 'tenant_id', 'name', 'budget'],
    [
      [11, 1, 'alpha', 100],
      [12, 1, 'beta', null],
      [13, 1, 'gamma', 300],
      [21, 2, 'alpha', 100],
      [22, 2, 'delta', 50],
      [31, 3, 'beta', 200],
      [32, 3, 'omega', 0],
    ],
  ),
  tasks: rows(
    ['id', 'project_id', 'title', 'points', 'status'],
    [
      [101, 11, 'design', 3, 'open'],
      [102, 11, 'build', 5, 'done'],
      [103, 11, 'test', null, 'open'],
      [104, 12, 'design', 2, 'blocked'],
      [105, 13, 'ship', 8, 'done'],
      [201, 21, 'design', 3, 'open'],
      [202, 21, 'build', null, 'done'],
      [203, 22, 'test', 1, 'open'],
      [301, 31, 'design', 5, 'blocked'],
      [302, 32, 'ship', 2, 'done'],
      [901, null, 'design', 1, 'open'],
      [902, null, 'cleanup', null, 'done'],
    ],
  ),
  comments: rows(
    ['id', 'task_id', 'body', 'likes'],
    [
      [1001, 101, 'looks good', 2],
      [1002, 101, 'needs work', 0],
      [1003, 102, 'done', 1],
      [1004, 104, 'blocked', 0],
      [1005, 105, 'ship it', 5],
      [2001, 201, 'looks good', 1],
      [2002, 203, 'done', 3],
      [3001, 301, 'needs work', 0],
      [3002, 302, 'ship it', 2],
      [9001, 901, 'orphan', 0],
    ],
  ),
  notes: rows(
    ['id', 'tenant_id', 'user_id', 'body', 'stars'],
    [
      [501, 1, 'u1', 'todo', 1],
      [502, 1, 'u2', 'idea', 3],
      [503, 1, 'u1', 'idea', null],
      [504, 2, 'u1', 'todo', 2],
      [505, 2, 'u3', 'memo', 0],
      [506, 3, 'u2', 'todo', 5],
      [507, 4, 'u3', 'memo', 1],
      [508, 3, 'u1', 'idea', 2],
    ],
  ),
  project_tags: rows(
    ['project_id', 'tag_id'],
    [
      [11, 1],
      [11, 2],
      [12, 1],
      [13, 3],
      [21, 1],
      [21, 3],
      [31, 2],
      [32, 4],
    ],
  ),
  tags: rows(
    ['id', 'name'],
    [
      [1, 'urgent'],
      [2, 'backend'],
      [3, 'frontend'],
      [4, 'ops'],
    ],
  ),
  statuses: rows(
    ['code', 'label', 'rank'],
    [
      ['open', 'open', 1],
      ['done', 'closed', 2],
    ],
  ),
  audit: rows(
    ['id', 'tenant_id', 'project_id', 'note'],
    [
      [1, 1, 11, 'created'],
      [2, 2, 21, 'created'],
      [3, 3, null, 'login'],
      [4, 1, 12, 'deleted'],
    ],
  ),
};

/** String values that occur in the seed, per column, so predicates and joins hit rows. */
export function seedValues(table: string, column: string): Scalar[] {
  return [...new Set((SEED[table] ?? []).map((r) => r[column] ?? null))];
}

export interface OracleScope {
  readonly name: string;
  readonly values: Readonly<Record<Dimension, ScopeValue>>;
}

export const ORACLE_SCOPES: readonly OracleScope[] = [
  { name: 'tenant 1, user u1', values: { tenant: 1, user: 'u1' } },
  { name: 'tenant 2, user ALL', values: { tenant: 2, user: ALL } },
  { name: 'tenants [1,3], users [u1,u2]', values: { tenant: [1, 3], user: ['u1', 'u2'] } },
  { name: 'tenant ALL, user u2', values: { tenant: ALL, user: 'u2' } },
  { name: 'tenants [], user ALL', values: { tenant: [], user: ALL } },
];

export function describeScope(values: Readonly<Record<string, ScopeValue>>): string {
  const show = (v: ScopeValue) =>
    v === ALL ? 'ALL' : Array.isArray(v) ? `[${v.map((k) => JSON.stringify(k)).join(', ')}]` : JSON.stringify(v);
  return `{ ${Object.entries(values)
    .map(([k, v]) => `${k}: ${show(v)}`)
    .join(', ')} }`;
}

/** Whether an owner key (null: owned by nobody) is inside a scope value. */
export function inScopeValue(value: ScopeValue, key: Scalar): boolean {
  if (value === ALL) return true;
  if (key === null) return false;
  if (Array.isArray(value)) return value.some((k) => String(k) === String(key));
  return String(value) === String(key);
}

/** Where a row stands relative to a scope: visible in it, owned by another, or owned by nobody. */
export type Standing = 'in' | 'out' | 'none';

export function standing(owner: Readonly<Record<string, Scalar>>, scopeValues: OracleScope['values']): Standing {
  let none = false;
  for (const [dimension, key] of Object.entries(owner)) {
    const value = scopeValues[dimension as Dimension];
    if (inScopeValue(value, key)) continue;
    if (key === null) none = true;
    else return 'out';
  }
  return none ? 'none' : 'in';
}

/** The owner keys of every seeded row, computed in JavaScript by following the paths. */
export function seedOwner(table: string, row: Row): Record<string, Scalar> {
  const find = (t: string, id: Scalar) => (SEED[t] ?? []).find((r) => r.id === id);
  switch (table) {
    case 'tenants':
      return { tenant: row.id ?? null };
    case 'projects':
      return { tenant: row.tenant_id ?? null };
    case 'tasks':
      return { tenant: find('projects', row.project_id ?? null)?.tenant_id ?? null };
    case 'comments': {
      const task = find('tasks', row.task_id ?? null);
      return { tenant: find('projects', task?.project_id ?? null)?.tenant_id ?? null };
    }
    case 'notes':
      return { tenant: row.tenant_id ?? null, user: row.user_id ?? null };
    case 'project_tags':
      return { tenant: find('projects', row.project_id ?? null)?.tenant_id ?? null };
    default:
      return {};
  }
}

/** The seed an oracle database holds: the rows visible in the scope, and every unscoped row. */
export function seedFor(scope: OracleScope | undefined): Record<string, Row[]> {
  const out: Record<string, Row[]> = {};
  for (const table of TABLES) {
    const all = SEED[table.name] ?? [];
    out[table.name] =
      scope === undefined || !table.scoped
        ? [...all]
        : all.filter((row) => standing(seedOwner(table.name, row), scope.values) === 'in');
  }
  return out;
}
