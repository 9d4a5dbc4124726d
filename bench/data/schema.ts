// The issue-26 dataset: organizations (the tenants) → projects (direct tenant column) → tasks
// (one hop) → comments (two hops). The indexes are the ones docs/doctor.md asks for
// (MISSING_INDEX): on every table, one index that starts with its tenant column or path key;
// primary keys on `id`. No foreign-key constraints: they change nothing in a read plan and slow
// the bulk load (MariaDB would build the same indexes for them anyway).
import type { Knex } from 'knex';

export const TABLES = {
  organizations: { tenant: 'id' },
  projects: { tenant: 'organization_id' },
  tasks: { tenant: 'project_id -> projects.organization_id' },
  comments: { tenant: 'task_id -> tasks.project_id -> projects.organization_id' },
} as const;

/** Tables without secondary indexes (they are built after the load, which is faster). */
export async function createTables(base: Knex): Promise<void> {
  await base.schema.createTable('organizations', (t) => {
    t.integer('id').primary();
    t.string('name', 64).notNullable();
  });
  await base.schema.createTable('projects', (t) => {
    t.integer('id').primary();
    t.integer('organization_id').notNullable();
    t.string('name', 64).notNullable();
  });
  await base.schema.createTable('tasks', (t) => {
    t.integer('id').primary();
    t.integer('project_id').notNullable();
    t.smallint('status').notNullable();
    t.string('title', 64).notNullable();
  });
  await base.schema.createTable('comments', (t) => {
    t.integer('id').primary();
    t.integer('task_id').notNullable();
    t.string('body', 100).notNullable();
  });
}

/** The tenant-leading / path-key indexes (docs/doctor.md, MISSING_INDEX). */
export const INDEXES: ReadonlyArray<readonly [table: string, column: string]> = [
  ['projects', 'organization_id'],
  ['tasks', 'project_id'],
  ['comments', 'task_id'],
];

export async function createIndexes(base: Knex): Promise<void> {
  for (const [table, column] of INDEXES) {
    await base.schema.alterTable(table, (t) => {
      t.index([column]);
    });
  }
}
