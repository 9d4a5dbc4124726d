// The state of one table with the owner of each row, read without any scoping (joins along
// the FK paths, written out by hand: the oracle must not reuse the code under test), and split
// by where each row stands relative to a scope.
import type { Knex } from 'knex';
import { normValue } from './compare';
import { DIMENSIONS, type OracleScope, type Scalar, type Standing, standing, TABLE } from './world';

export interface OwnedRow {
  /** The row's values, normalised, in column order. */
  readonly key: string;
  readonly owner: Readonly<Record<string, Scalar>>;
}

type Owners = (db: Knex) => Knex.QueryBuilder;

// The owner columns are named __<dimension>.
const OWNERS: Record<string, Owners> = {
  tenants: (db) => db('tenants as x').select('x.*', 'x.id as __tenant'),
  projects: (db) => db('projects as x').select('x.*', 'x.tenant_id as __tenant'),
  tasks: (db) =>
    db('tasks as x').leftJoin('projects as p', 'p.id', 'x.project_id').select('x.*', 'p.tenant_id as __tenant'),
  comments: (db) =>
    db('comments as x')
      .leftJoin('tasks as t', 't.id', 'x.task_id')
      .leftJoin('projects as p', 'p.id', 't.project_id')
      .select('x.*', 'p.tenant_id as __tenant'),
  notes: (db) => db('notes as x').select('x.*', 'x.tenant_id as __tenant', 'x.user_id as __user'),
  project_tags: (db) =>
    db('project_tags as x').leftJoin('projects as p', 'p.id', 'x.project_id').select('x.*', 'p.tenant_id as __tenant'),
  tags: (db) => db('tags as x').select('x.*'),
  statuses: (db) => db('statuses as x').select('x.*'),
  audit: (db) => db('audit as x').select('x.*'),
};

export async function snapshot(db: Knex, table: string): Promise<OwnedRow[]> {
  const columns = TABLE.get(table)!.columns.map((c) => c.name);
  const rows = (await OWNERS[table]!(db)) as Record<string, unknown>[];
  return rows.map((row) => {
    const owner: Record<string, Scalar> = {};
    for (const d of DIMENSIONS) {
      if (`__${d}` in row) owner[d] = (row[`__${d}`] ?? null) as Scalar;
    }
    return { key: columns.map((c) => normValue(row[c])).join(', '), owner };
  });
}

export type Partition = Record<Standing, string[]>;

export function partition(rows: readonly OwnedRow[], scope: OracleScope): Partition {
  const out: Partition = { in: [], out: [], none: [] };
  for (const row of rows) out[standing(row.owner, scope.values)].push(row.key);
  for (const list of Object.values(out)) list.sort();
  return out;
}
