// The schemas the doctor's suites build: one it must find clean, one that triggers every
// finding but the RLS ones (rls.test.ts builds its own) and PATH_KEY_NOT_UNIQUE (the path keys'
// schema below).
import { defineScopes } from '@knex-scopes/core';
import type { Dialect } from '@knex-scopes/doctor';
import type { Knex } from 'knex';

/** Indexed, composite keys where two tenant tables meet, unique keys per tenant. */
export const cleanScopes = defineScopes({
  tables: {
    tenants: { tenant: 'id' },
    projects: { tenant: 'tenant_id' },
    tasks: { tenant: 'tenant_id' },
    comments: { tenant: 'task_id -> tasks.tenant_id' },
  },
});

/** Shared by every tenant on purpose, though it has a tenant column. */
export const cleanGlobal = ['tenant_settings'];

export async function createCleanSchema(knex: Knex): Promise<void> {
  await knex.schema.createTable('plans', (t) => {
    t.increments('id');
    t.string('name', 50).notNullable().unique();
  });
  await knex.schema.createTable('tenants', (t) => {
    t.increments('id');
    t.string('slug', 63).notNullable().unique(); // the tenant table: each row is its own tenant
    t.integer('plan_id').unsigned().references('plans.id');
    t.integer('parent_id').unsigned().references('tenants.id'); // owners linked on purpose
  });
  await knex.schema.createTable('tenant_settings', (t) => {
    t.increments('id');
    t.integer('tenant_id').unsigned().notNullable().references('tenants.id');
    t.string('key', 50).notNullable();
  });
  await knex.schema.createTable('projects', (t) => {
    t.increments('id');
    t.integer('tenant_id').unsigned().notNullable().references('tenants.id');
    t.string('name', 200).notNullable();
    t.unique(['tenant_id', 'name']);
    t.unique(['tenant_id', 'id']); // the target of tasks' composite key
  });
  await knex.schema.createTable('tasks', (t) => {
    t.increments('id');
    t.integer('tenant_id').unsigned().notNullable().references('tenants.id');
    t.integer('project_id').unsigned().notNullable();
    t.index(['tenant_id', 'project_id']);
    t.foreign(['tenant_id', 'project_id']).references(['tenant_id', 'id']).inTable('projects');
  });
  await knex.schema.createTable('comments', (t) => {
    t.increments('id');
    t.integer('task_id').unsigned().notNullable().references('tasks.id').index();
    t.string('body', 2000).notNullable();
  });
}

/** Every declaration error and warning, each table named for what it gets wrong. */
export const driftScopes = defineScopes({
  tables: {
    tenants: { tenant: 'id' },
    projects: { tenant: 'tenant_id' }, // no index on tenant_id, unique (name) across tenants
    tasks: { tenant: 'tenant_id' }, // project_id → projects.id without the tenant column
    ghosts: { tenant: 'tenant_id' }, // no such table
    notes: { tenant: 'tenant_id' }, // no such column
    links: { tenant: 'task_id -> tasks.tenant_id' }, // no foreign key on task_id
    tags: { tenant: 'task_ref -> tasks.tenant_id' }, // task_ref is text, tasks.id an integer
    labels: { tenant: 'task_id -> tasks(uuid).tenant_id' }, // tasks has no uuid
    stickers: { tenant: 'sheet_id -> tasks.tenant_id' }, // stickers has no sheet_id
  },
});

export const driftGlobal = ['tenant_settings', 'retired_table'];

export async function createDriftSchema(knex: Knex): Promise<void> {
  await knex.schema.createTable('tenants', (t) => {
    t.increments('id');
    t.string('slug', 63).notNullable().unique();
  });
  await knex.schema.createTable('tenant_settings', (t) => {
    t.increments('id');
    t.integer('tenant_id').unsigned().notNullable();
  });
  await knex.schema.createTable('plans', (t) => {
    t.increments('id');
    t.string('name', 50);
  });
  await knex.schema.createTable('projects', (t) => {
    t.increments('id');
    // No foreign key either: MySQL would index the column for one.
    t.integer('tenant_id').unsigned().notNullable();
    t.string('name', 200).notNullable().unique();
  });
  await knex.schema.createTable('tasks', (t) => {
    t.increments('id');
    t.integer('tenant_id').unsigned().notNullable().references('tenants.id').index();
    t.integer('project_id').unsigned().notNullable().references('projects.id');
  });
  await knex.schema.createTable('notes', (t) => {
    t.increments('id');
    t.integer('owner_id').unsigned();
  });
  await knex.schema.createTable('links', (t) => {
    t.increments('id');
    t.integer('task_id').unsigned().notNullable().index();
  });
  await knex.schema.createTable('tags', (t) => {
    t.increments('id');
    t.string('task_ref', 36).notNullable().index();
  });
  await knex.schema.createTable('labels', (t) => {
    t.increments('id');
    t.integer('task_id').unsigned().notNullable().references('tasks.id').index();
  });
  await knex.schema.createTable('stickers', (t) => {
    t.increments('id');
    t.integer('task_id').unsigned().references('tasks.id').index();
  });
  // Undeclared: a tenant column, and a key into a scoped table.
  await knex.schema.createTable('audit_events', (t) => {
    t.increments('id');
    t.integer('tenant_id').unsigned().notNullable();
    t.string('action', 50);
  });
  await knex.schema.createTable('attachments', (t) => {
    t.increments('id');
    t.integer('task_id').unsigned().notNullable().references('tasks.id');
  });
}

/** One parent table per way a path's key is unique or not; each child follows its parent's key. */
export const pathKeyScopes = defineScopes({
  tables: {
    tenants: { tenant: 'id' },
    projects: { tenant: 'tenant_id' }, // id: the primary key
    milestones: { tenant: 'project_code -> projects(code).tenant_id' }, // code: unique on its own
    boards: { tenant: 'project_id -> projects.tenant_id' },
    cards: { tenant: 'board_uuid -> boards(uuid).project_id -> projects.tenant_id' }, // uuid: unique index
    sheets: { tenant: 'tenant_id' }, // id: indexed, not unique
    cells: { tenant: 'sheet_id -> sheets.tenant_id' },
    charts: { tenant: 'sheet_id -> sheets.tenant_id' }, // the same key: one finding
    folders: { tenant: 'tenant_id' }, // id: unique only with tenant_id
    files: { tenant: 'folder_id -> folders.tenant_id' },
    stamps: { tenant: 'tenant_id' }, // id: a partial and an expression unique index (PostgreSQL, SQLite)
    prints: { tenant: 'stamp_id -> stamps.tenant_id' },
    kits: { tenant: 'tenant_id' }, // code: in the primary key (tenant_id, code), and indexed
    parts: { tenant: 'kit_code -> kits(code).tenant_id' }, // on MySQL, a foreign key onto code all the same
  },
});

export async function createPathKeySchema(knex: Knex, dialect: Dialect): Promise<void> {
  await knex.schema.createTable('tenants', (t) => t.increments('id'));
  await knex.schema.createTable('projects', (t) => {
    t.increments('id');
    t.integer('tenant_id').unsigned().notNullable().index();
    t.string('code', 20).notNullable().unique(); // unique across tenants, as a path's key must be
  });
  await knex.schema.createTable('milestones', (t) => {
    t.increments('id');
    t.string('project_code', 20).notNullable().references('projects.code').index();
  });
  await knex.schema.createTable('boards', (t) => {
    t.increments('id');
    t.integer('project_id').unsigned().notNullable().references('projects.id').index();
    t.string('uuid', 36).notNullable().unique();
  });
  await knex.schema.createTable('cards', (t) => {
    t.increments('id');
    t.string('board_uuid', 36).notNullable().references('boards.uuid').index();
  });
  // No foreign key onto a key that is not unique: PostgreSQL refuses one (kits shows MySQL's).
  await knex.schema.createTable('sheets', (t) => {
    t.integer('id').unsigned().notNullable().index();
    t.integer('tenant_id').unsigned().notNullable().index();
  });
  for (const name of ['cells', 'charts']) {
    await knex.schema.createTable(name, (t) => {
      t.increments('id');
      t.integer('sheet_id').unsigned().notNullable().index();
    });
  }
  await knex.schema.createTable('folders', (t) => {
    t.integer('id').unsigned().notNullable();
    t.integer('tenant_id').unsigned().notNullable();
    t.unique(['tenant_id', 'id']);
  });
  await knex.schema.createTable('files', (t) => {
    t.increments('id');
    t.integer('folder_id').unsigned().notNullable().index();
  });
  await knex.schema.createTable('stamps', (t) => {
    t.integer('id').unsigned().notNullable().index();
    t.integer('tenant_id').unsigned().notNullable().index();
  });
  if (dialect !== 'mysql') {
    // MariaDB has neither partial nor expression indexes.
    await knex.raw('create unique index stamps_id_partial on stamps (id) where tenant_id > 0');
    await knex.raw(`create unique index stamps_id_expression on stamps (${dialect === 'pg' ? '(id + 0)' : 'id + 0'})`);
  }
  await knex.schema.createTable('prints', (t) => {
    t.increments('id');
    t.integer('stamp_id').unsigned().notNullable().index();
  });
  await knex.schema.createTable('kits', (t) => {
    t.integer('tenant_id').unsigned().notNullable();
    t.integer('code').unsigned().notNullable().index();
    t.primary(['tenant_id', 'code']);
  });
  await knex.schema.createTable('parts', (t) => {
    t.increments('id');
    t.integer('kit_code').unsigned().notNullable().index();
    // InnoDB asks the referenced column for an index only (MariaDB; MySQL 8.4 refuses by default).
    if (dialect === 'mysql') t.foreign('kit_code').references('kits.code');
  });
}

/** The RLS suites' schema: tenants → projects (tenant_id) → tasks (a path), two rows per tenant. */
export async function createRlsSchema(base: Knex): Promise<void> {
  await base.schema.createTable('tenants', (t) => t.increments('id'));
  await base.schema.createTable('projects', (t) => {
    t.increments('id');
    t.integer('tenant_id').notNullable().references('tenants.id').index();
  });
  await base.schema.createTable('tasks', (t) => {
    t.increments('id');
    t.integer('project_id').notNullable().references('projects.id').index();
  });
  await base('tenants').insert([{ id: 1 }, { id: 2 }]);
  await base('projects').insert([
    { id: 10, tenant_id: 1 },
    { id: 20, tenant_id: 2 },
  ]);
  await base('tasks').insert([
    { id: 100, project_id: 10 },
    { id: 200, project_id: 20 },
  ]);
}
