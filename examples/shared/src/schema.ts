// The tables, created with the unscoped Knex instance (migrations never need a scope).
import type { Knex } from 'knex';

export async function createSchema(base: Knex): Promise<void> {
  await base.schema.createTable('organizations', (t) => {
    t.increments('id');
    t.string('slug', 63).notNullable().unique();
    t.string('name', 200).notNullable();
  });
  await base.schema.createTable('users', (t) => {
    t.increments('id');
    t.integer('organization_id').unsigned().notNullable().references('organizations.id');
    t.string('email', 200).notNullable();
    t.string('name', 200).notNullable();
    t.unique(['organization_id', 'email']);
  });
  await base.schema.createTable('sessions', (t) => {
    t.increments('id');
    t.integer('user_id').unsigned().notNullable().references('users.id').onDelete('CASCADE');
    t.string('token', 64).notNullable().unique();
  });
  await base.schema.createTable('projects', (t) => {
    t.increments('id');
    t.integer('organization_id').unsigned().notNullable().references('organizations.id');
    t.string('name', 200).notNullable();
  });
  await base.schema.createTable('tasks', (t) => {
    t.increments('id');
    t.integer('project_id').unsigned().notNullable().references('projects.id').onDelete('CASCADE');
    t.string('title', 200).notNullable();
    t.boolean('done').notNullable().defaultTo(false);
  });
  await base.schema.createTable('comments', (t) => {
    t.increments('id');
    t.integer('task_id').unsigned().notNullable().references('tasks.id').onDelete('CASCADE');
    t.integer('author_id').unsigned().nullable().references('users.id').onDelete('SET NULL');
    t.string('body', 2000).notNullable();
  });
  await base.schema.createTable('jobs', (t) => {
    t.increments('id');
    t.integer('organization_id').unsigned().notNullable().references('organizations.id');
    t.string('kind', 50).notNullable();
    t.text('payload').notNullable();
    // The scope the job was queued in (captureScope(), as JSON): the worker runs it there.
    t.text('scope').nullable();
    t.string('status', 20).notNullable().defaultTo('queued');
    t.text('result').nullable();
  });
}
